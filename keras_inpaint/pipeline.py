"""The inference pipeline of an inpainter, one function per step.

``Inpainter.inpaint`` (numpy in and out, eager) and the SavedModel's ``serve`` signature (a
TensorFlow graph) both run these functions, so an export cannot drift from ``inpaint``:

    validate (:mod:`keras_inpaint.inputs`, ``inpaint`` only) -> normalise to [0, 1]
    -> :func:`fill_holes`: working size -> pad -> generator -> crop -> enlarge
    -> Poisson blend (:mod:`keras_inpaint.blending`, ``inpaint`` only) -> :func:`to_levels`
    -> :func:`composite` -> the caller's dtype.

Each function takes numpy arrays or backend tensors and is written with ``keras.ops``: in the
eager path shapes are Python ints, in a traced graph they are tensors, and the working-size
branch becomes a graph conditional there.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from keras import ops

PAD_MODES = ("reflect", "symmetric")


def _is_static(*values) -> bool:
    return all(isinstance(v, int) for v in values)


def working_shape(height, width, working_size: int):
    """(h, w) with the longer side ``working_size`` and the aspect ratio kept (sides >= 1).

    Images already no larger than ``working_size`` keep their shape. Ints in, ints out;
    tensors in a graph, tensors out (same float64 rounding, half to even).
    """
    if int(working_size) < 1:
        raise ValueError(f"working_size must be a positive number of pixels; got {working_size}.")
    longer = ops.cast(ops.maximum(height, width), "float64")
    scale = ops.minimum(ops.cast(working_size, "float64") / longer, 1.0)

    def side(length):
        return ops.maximum(ops.cast(ops.round(ops.cast(length, "float64") * scale), "int32"), 1)

    if _is_static(height, width):
        return int(side(height)), int(side(width))
    return side(height), side(width)


def _resize(x, shape, method: str):
    """``keras.ops.image.resize``; in a traced TensorFlow graph, where the sizes are tensors that
    Keras's argument checks cannot read, the same TensorFlow resize it would run."""
    if _is_static(*shape):
        return ops.image.resize(x, shape, interpolation=method)
    import tensorflow as tf  # only the SavedModel's graph has dynamic sizes

    return tf.image.resize(x, shape, method=method)


MASK_RESIZES = ("any", "nearest", "nearest_exact")
# How the image goes to the working size and the fill back: "area" (area average down, bilinear
# up) or "bicubic" both ways, what MI-GAN's demo does (PIL bicubic, OpenCV INTER_CUBIC).
IMAGE_RESIZES = ("area", "bicubic")


def check_image_resize(image_resize: str) -> None:
    if image_resize not in IMAGE_RESIZES:
        raise ValueError(f"unknown image_resize {image_resize!r}; choose one of {IMAGE_RESIZES}.")


def _resize_image(images, shape, method: str):
    """Images in [0, 1] resized with ``method``; bicubic overshoots at edges, so it is clipped."""
    resized = _resize(images, shape, method)
    return ops.clip(resized, 0.0, 1.0) if method == "bicubic" else resized


def _nearest_indices(length, size, offset: float = 0.0):
    """Nearest rows for ``length`` -> ``size``: floor((i + offset) * length / size) in float32.

    ``offset=0``: torch's legacy ``nearest``; ``0.5``: the pixel whose span holds the new
    pixel's centre (torch's ``nearest-exact``, PIL's ``NEAREST``).
    """
    scale = ops.cast(length, "float32") / ops.cast(size, "float32")
    rows = ops.cast(ops.floor((ops.cast(ops.arange(size), "float32") + offset) * scale), "int32")
    return ops.minimum(rows, ops.cast(length, "int32") - 1)


def shrink(images, masks, shape, mask_resize: str = "any", image_resize: str = "area"):
    """Resize images (N, H, W, 3) in [0, 1] and masks (N, H, W, 1) in {0, 1} to ``shape``.

    ``image_resize`` (:data:`IMAGE_RESIZES`): ``"area"`` averages the pixels each small pixel
    covers; ``"bicubic"`` is keras's bicubic resize, clipped to [0, 1].

    ``mask_resize="any"``: a small pixel is a hole if any of the full-size pixels it covers is
    one, so the small hole covers the whole full-size hole once enlarged. ``"nearest"``: the
    pixel at floor(i * H / h), torchvision's nearest resize, which MI-GAN's pipeline uses (it can
    miss thin parts of the hole). ``"nearest_exact"``: the pixel at floor((i + 0.5) * H / h),
    PIL's nearest resize, which MI-GAN's demo uses. (Used to enlarge too, for a generator of
    fixed input size.) Returns float32 (N, h, w, 3) and (N, h, w, 1).
    """
    if mask_resize not in MASK_RESIZES:
        raise ValueError(f"unknown mask_resize {mask_resize!r}; choose one of {MASK_RESIZES}.")
    check_image_resize(image_resize)
    small_images = _resize_image(ops.cast(images, "float32"), shape, image_resize)
    if mask_resize in ("nearest", "nearest_exact"):
        offset = 0.5 if mask_resize == "nearest_exact" else 0.0
        rows = _nearest_indices(ops.shape(masks)[1], shape[0], offset)
        columns = _nearest_indices(ops.shape(masks)[2], shape[1], offset)
        return small_images, ops.cast(ops.take(ops.take(masks, rows, axis=1), columns, axis=2) > 0.5, "float32")
    small_masks = _resize(ops.cast(masks, "float32"), shape, "area")
    return small_images, ops.cast(small_masks > 0, "float32")


def enlarge(prediction, shape, image_resize: str = "area"):
    """Upscale a (N, h, w, 3) prediction in [0, 1] to ``shape``: float32 (N, H, W, 3).

    ``image_resize="area"``: bilinear (an area resize up would copy pixels into blocks);
    ``"bicubic"``: keras's bicubic resize, clipped to [0, 1].
    """
    check_image_resize(image_resize)
    return _resize_image(prediction, shape, "bilinear" if image_resize == "area" else "bicubic")


def _padded_indices(side, multiple: int, minimum: int, mode: str):
    """Source rows for a side padded at the end to a length >= ``minimum`` that divides by
    ``multiple``: ``reflect`` repeats numpy's reflection (edge not repeated) as often as needed,
    ``symmetric`` numpy's mirror (edge repeated)."""
    target = ops.maximum(side, minimum)
    target = target + (-target) % multiple
    positions = ops.arange(target)
    if mode == "reflect":
        period = ops.maximum(2 * side - 2, 1)
        phase = positions % period
        return ops.where(phase < side, phase, period - phase)
    period = 2 * side
    phase = positions % period
    return ops.where(phase < side, phase, period - 1 - phase)


def pad_to_multiple(array, multiple: int, minimum: int = 1, mode: str = "reflect"):
    """Pad (N, H, W, C) at the bottom and right to sides that divide by ``multiple`` and are at
    least ``minimum``, by reflection (``mode``, see :data:`PAD_MODES`). Works for pads larger
    than the side (a 1×1 image). Returns the padded array and the original (H, W)."""
    if mode not in PAD_MODES:
        raise ValueError(f"unknown pad mode {mode!r}; choose one of {PAD_MODES}.")
    h, w = ops.shape(array)[1], ops.shape(array)[2]
    rows = _padded_indices(h, multiple, minimum, mode)
    columns = _padded_indices(w, multiple, minimum, mode)
    return ops.take(ops.take(array, rows, axis=1), columns, axis=2), (h, w)


def masked_input(images, masks):
    """The generator's input: images (N,H,W,3) in [-1, 1] with the hole zeroed, and the mask
    (N,H,W,1), 1 = hole, appended: (N, H, W, 4)."""
    masks = ops.cast(masks, images.dtype)
    return ops.concatenate([images * (1.0 - masks), masks], axis=-1)


def fill_holes(images, masks, run_generator: Callable, size_multiple: int, working_size: int | None = None,
               pad_mode: str = "reflect", keep_known: bool = True, input_size: int | None = None,
               mask_resize: str = "any", image_resize: str = "area"):
    """The generator's fill for images (N,H,W,3) float32 in [0, 1] and masks (N,H,W,1), 1 = hole.

    With ``working_size``, images whose longer side exceeds it are filled at that size
    (:func:`shrink`) and the fill enlarged back (:func:`enlarge`). A generator that only takes
    one size (``input_size``: MI-GAN's official layout, R x R) gets every image resized to
    ``input_size`` x ``input_size``, smaller ones enlarged and the aspect ratio not kept, as
    MI-GAN's own scripts do; ``working_size`` then plays no part. Inputs are padded to the
    generator's ``size_multiple`` (and at least two cells at the coarsest scale, which the
    generators' reflection padding needs), run through ``run_generator`` (N,h,w,4) ->
    (N,h,w,3) in [-1, 1], and cropped back. ``keep_known`` composites at the size the generator
    ran at, so that an enlarged fill takes its colours at the seam from the (shrunk) photo;
    Poisson blending wants the generator's own colours there instead (``keep_known=False``).
    ``mask_resize`` is :func:`shrink`'s; with a nearest rule the small hole may miss full-size
    hole pixels, so nothing is composited at the small size (MI-GAN's pipeline neither does).
    ``image_resize`` (:data:`IMAGE_RESIZES`) is how the image is shrunk and the fill enlarged.
    Returns float32 (N, H, W, 3) in about [0, 1] for every pixel: :func:`composite` then keeps
    the caller's known pixels.
    """
    height, width = ops.shape(images)[1], ops.shape(images)[2]

    def at_size(photos, holes, h, w, keep=keep_known):
        padded_photos, _ = pad_to_multiple(photos * 2.0 - 1.0, size_multiple, 2 * size_multiple, pad_mode)
        padded_holes, _ = pad_to_multiple(holes, size_multiple, 2 * size_multiple, pad_mode)
        generated = ops.cast(run_generator(masked_input(padded_photos, padded_holes)), "float32")
        fill = (generated[:, :h, :w, :] + 1.0) / 2.0
        return composite(fill, ops.cast(photos, "float32"), holes) if keep else fill

    if input_size is not None:
        small_h, small_w = int(input_size), int(input_size)
    elif working_size is None:
        return at_size(images, masks, height, width)
    else:
        small_h, small_w = working_shape(height, width, working_size)

    def shrunk():
        small_images, small_masks = shrink(images, masks, (small_h, small_w), mask_resize, image_resize)
        fill = at_size(small_images, small_masks, small_h, small_w, keep_known and mask_resize == "any")
        return enlarge(fill, (height, width), image_resize)

    def full_size():
        return at_size(images, masks, height, width)

    if _is_static(height, width):
        return full_size() if (small_h, small_w) == (height, width) else shrunk()
    return ops.cond(ops.logical_and(small_h == height, small_w == width), full_size, shrunk)


# uint8 level v -> v / 255 in float32, as numpy computes it. A traced graph must not divide by 255
# itself: TensorFlow's graph optimiser turns x / 255 into x * (1 / 255), one float32 step off for
# about a third of the levels, which moved a few uint8 outputs by 1 at 2560 x 1600.
UNIT_LEVELS = np.arange(256, dtype=np.float32) / np.float32(255.0)


def from_levels(levels):
    """uint8 levels (any shape) -> float32 in [0, 1], bit for bit ``levels.astype(float32) / 255``
    in numpy, eagerly and in a graph (a table lookup, no division)."""
    return ops.take(UNIT_LEVELS, ops.cast(levels, "int32"), axis=0)


def to_levels(fill):
    """A fill in [0, 1] as whole uint8 levels 0..255, still float (rounded half to even)."""
    return ops.round(ops.clip(fill, 0.0, 1.0) * 255.0)


def composite(fill, images, masks):
    """The fill where ``masks`` (N,H,W,1) is 1, ``images`` elsewhere: a selection, so a known
    pixel keeps its bits whatever the fill holds. ``fill`` and ``images`` share a float dtype
    (uint8 photos are composited as float levels 0..255, which TFLite selects natively)."""
    return ops.where(ops.cast(masks, "float32") > 0.5, fill, images)

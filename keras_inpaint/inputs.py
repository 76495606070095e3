"""Validation and conversion of user images and masks for inference.

Conventions used everywhere in keras_inpaint:

* images are RGB, channels last. Callers may pass ``uint8`` in [0, 255] or floats in
  [0, 1]; models see floats in [-1, 1].
* masks are 1 where pixels are missing (the hole) and 0 where they are known.
  Accepted values: ``bool``, {0, 1} of any numeric dtype, or ``uint8`` {0, 255}
  (the usual PNG mask). Soft masks (values strictly between 0 and 1) are refused:
  binarise them first, e.g. ``mask > 0.5``.

:func:`validate_batch` checks the caller's arrays without copying them (values are checked a
band of rows at a time), so a crop of a large photo can be converted alone
(:meth:`CallerBatch.region`); :func:`prepare_batch` converts whole frames.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np

from keras_inpaint.errors import InpaintInputError
from keras_inpaint.pipeline import UNIT_LEVELS, composite, to_levels

# Validation reads the caller's arrays in bands of about this many pixels, so its temporaries
# stay small whatever the photo's size.
CHUNK_PIXELS = 1 << 20


@dataclasses.dataclass
class CallerBatch:
    """The caller's images and masks, validated, as views of the caller's arrays (no copies).

    Attributes:
        images: (N, H, W, 3) in the caller's dtype (uint8 in [0, 255] or float in [0, 1]).
        masks: (M, H, W), M = 1 (one mask for every image) or N, the caller's dtype; any
            nonzero value is the hole (validated: {0, 1}, bool or uint8 {0, 255}).
        batched: whether the caller passed a batch (NHWC) or a single image (HWC).
    """

    images: np.ndarray
    masks: np.ndarray
    batched: bool

    @property
    def dtype(self) -> np.dtype:
        return self.images.dtype

    def hole(self, index: int, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Bool (h, w): the hole of image ``index`` inside ``box`` = (y0, y1, x0, x1), or everywhere."""
        mask = self.masks[index if self.masks.shape[0] > 1 else 0]
        if box is not None:
            y0, y1, x0, x1 = box
            mask = mask[y0:y1, x0:x1]
        return mask != 0

    def region(self, index: int, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Image ``index`` inside ``box`` = (y0, y1, x0, x1) as the model's input: float32
        (1, h, w, 3) in [0, 1] and float32 (1, h, w, 1) in {0, 1}; the same values
        :func:`prepare_batch` gives for those pixels."""
        y0, y1, x0, x1 = box
        image = to_unit_float(self.images[index, y0:y1, x0:x1])
        return image[None], self.hole(index, box)[None, ..., None].astype(np.float32)

    def whole_frames(self) -> "PreparedBatch":
        """Every image and mask converted whole (float32 copies of the frames)."""
        n, h, w, _ = self.images.shape
        holes = np.broadcast_to((self.masks != 0)[..., None], (n, h, w, 1)).astype(np.float32)
        return PreparedBatch(to_unit_float(self.images), holes, self.images, self.batched, self.dtype)


@dataclasses.dataclass
class PreparedBatch:
    """Images and masks in the model's layout, plus what is needed to give results back.

    Attributes:
        images: float32 (N, H, W, 3) in [0, 1].
        masks: float32 (N, H, W, 1), values in {0, 1}; 1 marks the hole.
        original: the caller's images as an (N, H, W, 3) array of the caller's dtype.
        batched: whether the caller passed a batch (NHWC) or a single image (HWC).
        dtype: the caller's image dtype (``uint8`` or a float dtype).
    """

    images: np.ndarray
    masks: np.ndarray
    original: np.ndarray
    batched: bool
    dtype: np.dtype


def _to_numpy(x, what: str) -> np.ndarray:
    if hasattr(x, "numpy"):
        x = x.numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # pragma: no cover - exotic inputs
        raise InpaintInputError(f"{what} could not be converted to an array: {e}") from e


def _bands(array: np.ndarray) -> Iterator[np.ndarray]:
    """(N, H, ...) -> views of about :data:`CHUNK_PIXELS` pixels: a band of rows of one item."""
    rows = max(1, CHUNK_PIXELS // max(1, array.shape[2] if array.ndim > 2 else 1))
    for item in array:
        for start in range(0, item.shape[0], rows):
            yield item[start : start + rows]


def to_unit_float(array: np.ndarray) -> np.ndarray:
    """Validated uint8 [0, 255] or float [0, 1] pixels as float32 in [0, 1] (a new array; uint8 by
    :data:`keras_inpaint.pipeline.UNIT_LEVELS`, the values the SavedModel uses)."""
    if array.dtype == np.uint8:
        return UNIT_LEVELS[array]
    return np.clip(array.astype(np.float32), 0.0, 1.0)


def _check_float_values(array: np.ndarray) -> None:
    low, high = np.inf, -np.inf
    for band in _bands(array):
        floats = band.astype(np.float32)
        if not np.all(np.isfinite(floats)):
            raise InpaintInputError("images contain NaN or infinite values.")
        low, high = min(low, float(floats.min())), max(high, float(floats.max()))
    if low < -1e-6 or high > 1 + 1e-6:
        raise InpaintInputError(
            f"float images must be in [0, 1]; got values in [{low:g}, {high:g}]. "
            "Pass uint8 for 0-255 data or divide by 255."
        )


def validate_images(images) -> tuple[np.ndarray, bool]:
    """Validate images; return (the caller's array as NHWC, batched?). No copy of the pixels."""
    array = _to_numpy(images, "images")
    if array.ndim not in (3, 4):
        raise InpaintInputError(
            f"images must have rank 3 (H, W, 3) or rank 4 (N, H, W, 3); got rank {array.ndim} "
            f"with shape {array.shape}."
        )
    batched = array.ndim == 4
    if not batched:
        array = array[None]
    if array.shape[-1] != 3:
        raise InpaintInputError(
            f"images must have 3 channels (RGB, channels last); got {array.shape[-1]} channels "
            f"in shape {array.shape}. Convert grayscale or RGBA images to RGB first."
        )
    if min(array.shape[:3]) == 0:
        raise InpaintInputError(f"images must not be empty; got shape {array.shape}.")
    if np.issubdtype(array.dtype, np.floating):
        _check_float_values(array)
    elif array.dtype != np.uint8:
        raise InpaintInputError(
            f"images must be uint8 in [0, 255] or float in [0, 1]; got dtype {array.dtype}."
        )
    return array, batched


def _mask_values(array: np.ndarray) -> np.ndarray:
    values = np.unique(np.concatenate([np.unique(band) for band in _bands(array)]))
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(values)):
        raise InpaintInputError("masks contain NaN or infinite values.")
    return values


def validate_masks(masks, image_shape: tuple[int, ...]) -> np.ndarray:
    """Validate masks against images of shape (N, H, W, 3); return the caller's masks as
    (M, H, W), M = 1 or N, nonzero = hole. No copy of the pixels."""
    n, h, w = image_shape[:3]
    array = _to_numpy(masks, "masks")
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.number)):
        raise InpaintInputError(f"masks must be numeric or bool; got dtype {array.dtype}.")
    # Accept (H, W), (H, W, 1), (N, H, W) and (N, H, W, 1).
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 3:
        # (H, W, 1) for a single mask, otherwise (N, H, W).
        is_single = array.shape[-1] == 1 and array.shape[:2] == (h, w)
        array = array[None, ..., 0] if is_single else array
    elif array.ndim == 4:
        if array.shape[-1] != 1:
            raise InpaintInputError(f"masks must have 1 channel; got shape {array.shape}.")
        array = array[..., 0]
    else:
        raise InpaintInputError(
            f"masks must have rank 2 (H, W), 3 (H, W, 1) or 4 (N, H, W, 1); got rank {array.ndim} "
            f"with shape {array.shape}."
        )
    if array.shape[1:3] != (h, w):
        raise InpaintInputError(
            f"image and mask sizes differ: images are {h}x{w} (HxW) but masks are "
            f"{array.shape[1]}x{array.shape[2]}."
        )
    if array.shape[0] not in (1, n):
        raise InpaintInputError(f"got {n} images but {array.shape[0]} masks.")
    if array.dtype != bool:
        values = _mask_values(array)
        binary = np.all(np.isin(values, (0, 1))) or (array.dtype == np.uint8 and np.all(np.isin(values, (0, 255))))
        if not binary:
            shown = ", ".join(f"{v:g}" for v in values[:6].astype(np.float64))
            raise InpaintInputError(
                f"masks must be binary: 0 (known) and 1 (hole), bool, or uint8 0/255; got values "
                f"[{shown}{', ...' if values.size > 6 else ''}]. Binarise soft masks, e.g. mask > 0.5."
            )
    return array


def validate_batch(images, masks) -> CallerBatch:
    """Validate a caller's images and masks (see module docstring) without copying them."""
    array, batched = validate_images(images)
    return CallerBatch(array, validate_masks(masks, array.shape), batched)


def prepare_batch(images, masks) -> PreparedBatch:
    """Validate and convert a caller's images and masks to whole float32 frames."""
    return validate_batch(images, masks).whole_frames()


def restore_output(prediction: np.ndarray, batch: PreparedBatch) -> np.ndarray:
    """Composite a float [0, 1] prediction into the caller's images, in the caller's dtype.

    Known pixels (mask 0) are copied from the caller's array, so they come back to the bit.
    """
    if batch.dtype == np.uint8:
        levels = np.asarray(to_levels(prediction), np.float32)
        result = np.asarray(composite(levels, batch.original.astype(np.float32), batch.masks)).astype(np.uint8)
    else:
        filled = np.clip(np.asarray(prediction), 0.0, 1.0).astype(batch.dtype)
        result = np.asarray(composite(filled, batch.original, batch.masks))
    return result if batch.batched else result[0]


def paste_fill(output: np.ndarray, fill: np.ndarray, hole: np.ndarray) -> None:
    """Write a float [0, 1] fill (h, w, 3) into ``output`` (h, w, 3) (a view of the result, the
    caller's dtype) where ``hole`` (h, w) is True: the values :func:`restore_output` gives there."""
    if output.dtype == np.uint8:
        output[hole] = np.asarray(to_levels(fill[hole]), np.float32).astype(np.uint8)
    else:
        output[hole] = np.clip(fill[hole], 0.0, 1.0).astype(output.dtype)

"""Validation and conversion of user images and masks for inference.

Conventions used everywhere in keras_inpaint:

* images are RGB, channels last. Callers may pass ``uint8`` in [0, 255] or floats in
  [0, 1]; models see floats in [-1, 1].
* masks are 1 where pixels are missing (the hole) and 0 where they are known.
  Accepted values: ``bool``, {0, 1} of any numeric dtype, or ``uint8`` {0, 255}
  (the usual PNG mask). Soft masks (values strictly between 0 and 1) are refused:
  binarise them first, e.g. ``mask > 0.5``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_inpaint.errors import InpaintInputError
from keras_inpaint.pipeline import composite, to_levels


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


def prepare_images(images) -> tuple[np.ndarray, bool, np.ndarray]:
    """Validate images; return (float32 NHWC in [0, 1], batched?, original NHWC)."""
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
    if array.dtype == np.uint8:
        floats = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        floats = array.astype(np.float32)
        if not np.all(np.isfinite(floats)):
            raise InpaintInputError("images contain NaN or infinite values.")
        low, high = float(floats.min()), float(floats.max())
        if low < -1e-6 or high > 1 + 1e-6:
            raise InpaintInputError(
                f"float images must be in [0, 1]; got values in [{low:g}, {high:g}]. "
                "Pass uint8 for 0-255 data or divide by 255."
            )
        floats = np.clip(floats, 0.0, 1.0)
    else:
        raise InpaintInputError(
            f"images must be uint8 in [0, 255] or float in [0, 1]; got dtype {array.dtype}."
        )
    return floats, batched, array


def prepare_masks(masks, image_shape: tuple[int, ...]) -> np.ndarray:
    """Validate masks against images of shape (N, H, W, 3); return float32 (N, H, W, 1)."""
    n, h, w = image_shape[:3]
    array = _to_numpy(masks, "masks")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.number)):
        raise InpaintInputError(f"masks must be numeric or bool; got dtype {array.dtype}.")
    # Accept (H, W), (H, W, 1), (N, H, W) and (N, H, W, 1).
    if array.ndim == 2:
        array = array[None, :, :, None]
    elif array.ndim == 3:
        # (H, W, 1) for a single mask, otherwise (N, H, W).
        is_single = array.shape[-1] == 1 and array.shape[:2] == (h, w)
        array = array[None] if is_single else array[..., None]
    elif array.ndim != 4:
        raise InpaintInputError(
            f"masks must have rank 2 (H, W), 3 (H, W, 1) or 4 (N, H, W, 1); got rank {array.ndim} "
            f"with shape {array.shape}."
        )
    if array.shape[-1] != 1:
        raise InpaintInputError(f"masks must have 1 channel; got shape {array.shape}.")
    if array.shape[1:3] != (h, w):
        raise InpaintInputError(
            f"image and mask sizes differ: images are {h}x{w} (HxW) but masks are "
            f"{array.shape[1]}x{array.shape[2]}."
        )
    if array.shape[0] not in (1, n):
        raise InpaintInputError(f"got {n} images but {array.shape[0]} masks.")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise InpaintInputError("masks contain NaN or infinite values.")
    values = np.unique(array)
    if np.all(np.isin(values, (0, 1))):
        binary = array.astype(np.float32)
    elif array.dtype == np.uint8 and np.all(np.isin(values, (0, 255))):
        binary = (array == 255).astype(np.float32)
    else:
        shown = ", ".join(f"{v:g}" for v in values[:6].astype(np.float64))
        raise InpaintInputError(
            f"masks must be binary: 0 (known) and 1 (hole), bool, or uint8 0/255; got values "
            f"[{shown}{', ...' if values.size > 6 else ''}]. Binarise soft masks, e.g. mask > 0.5."
        )
    return np.broadcast_to(binary, (n, h, w, 1)).copy()


def prepare_batch(images, masks) -> PreparedBatch:
    """Validate and convert a caller's images and masks (see module docstring)."""
    floats, batched, original = prepare_images(images)
    binary = prepare_masks(masks, floats.shape)
    return PreparedBatch(floats, binary, original, batched, original.dtype)


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

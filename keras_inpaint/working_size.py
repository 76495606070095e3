"""Inpaint large images at a smaller working size, then bring the fill back to full size.

A generator trained on 256-px crops has never seen holes several hundred pixels wide. Tools
built around LaMa offer the same remedy (a "resize" strategy): shrink the image so that its
longer side is the working size, inpaint there, enlarge the result and paste only the hole
back into the full-size photo, so that every known pixel stays the caller's own.
"""

from __future__ import annotations

import numpy as np
from keras import ops


def working_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    """(h, w) with the longer side ``working_size`` and the aspect ratio kept (sides >= 1).

    Images already no larger than ``working_size`` keep their shape.
    """
    if int(working_size) < 1:
        raise ValueError(f"working_size must be a positive number of pixels; got {working_size}.")
    longer = max(height, width)
    if longer <= working_size:
        return height, width
    scale = working_size / longer
    return max(1, round(height * scale)), max(1, round(width * scale))


def shrink(images: np.ndarray, masks: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Area-downscale images (N, H, W, 3) in [0, 1] and masks (N, H, W, 1) in {0, 1} to ``shape``.

    A small pixel is a hole if any of the full-size pixels it covers is one, so the small hole
    covers the whole full-size hole once enlarged. Returns float32 (N, h, w, 3) and (N, h, w, 1).
    """
    small_images = ops.image.resize(images, shape, interpolation="area")
    small_masks = ops.image.resize(masks.astype(np.float32), shape, interpolation="area")
    return (np.asarray(small_images, np.float32),
            (np.asarray(small_masks) > 0).astype(np.float32))


def enlarge(prediction: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinearly upscale a (N, h, w, 3) prediction in [0, 1] to ``shape``; float32 (N, H, W, 3)."""
    return np.asarray(ops.image.resize(prediction, shape, interpolation="bilinear"), np.float32)

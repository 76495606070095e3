"""Bytes in, arrays out (and back) for :mod:`keras_inpaint.serve`: the server's only image codec.

:func:`read_upload` is the one place where an uploaded file becomes pixels: it reads them with
:mod:`keras_inpaint.image_io`, the command line's reader. Nothing here takes a file path: uploads arrive as bytes and stay in memory.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_inpaint.errors import InpaintInputError
from keras_inpaint.image_io import read_image_uint8, read_mask

# Pillow's own decompression-bomb guard (a warning above MAX_IMAGE_PIXELS, an error above twice
# that) is process-wide; read_upload checks the header's size against the server's limit first.
DEFAULT_MAX_PIXELS = 40_000_000


def read_upload(data: bytes, what: Literal["image", "mask"], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an uploaded image file the way the command line reads files
    (:func:`keras_inpaint.image_io.read_image_uint8` / :func:`~keras_inpaint.image_io.read_mask`:
    EXIF orientation, transparency over white, masks white = hole or a stroke layer's alpha).

    Args:
        data: the file's bytes (any format Pillow reads: PNG, JPEG, WebP, BMP, TIFF, ...).
        what: ``"image"`` -> uint8 RGB (H, W, 3) in [0, 255]; ``"mask"`` -> bool (H, W), True = hole.
        max_pixels: larger images are refused from their header, before their pixels are decoded.

    Raises:
        InpaintInputError: one line naming the upload and the problem (not an image, truncated,
            too many pixels).
    """
    try:
        with warnings.catch_warnings(), Image.open(io.BytesIO(data)) as header:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = header.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        width = height = 0  # image_io names the problem below
    if width * height > max_pixels:
        raise InpaintInputError(f"{what} is {width}x{height} = {width * height:,} pixels, over this server's "
                                f"limit of {max_pixels:,} (a decompression bomb, or a photo to shrink first).")
    upload = io.BytesIO(data)
    upload.name = "upload"
    return read_image_uint8(upload) if what == "image" else read_mask(upload)


def encode_png(image: np.ndarray) -> bytes:
    """uint8 (H, W, 3) or (H, W) -> PNG bytes (fast compression: the server answers many)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()

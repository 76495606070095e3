"""Bytes in, arrays out (and back) for :mod:`keras_inpaint.serve`: the server's only image codec.

:func:`read_upload` is the one place where an uploaded file becomes pixels, so a fuller reader
(16-bit files, alpha rules shared with the command line) can replace it without touching the
server. Nothing here takes a file path: uploads arrive as bytes and stay in memory.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from keras_inpaint.errors import InpaintInputError

# Pillow's own decompression-bomb guard (a warning above MAX_IMAGE_PIXELS, an error above twice
# that) is process-wide; read_upload checks the header's size against the server's limit first.
DEFAULT_MAX_PIXELS = 40_000_000


def read_upload(data: bytes, what: Literal["image", "mask"], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an uploaded image file, EXIF orientation applied.

    Args:
        data: the file's bytes (any format Pillow reads: PNG, JPEG, WebP, BMP, ...).
        what: ``"image"`` -> uint8 RGB (H, W, 3) in [0, 255], transparency composited over white;
            ``"mask"`` -> bool (H, W), True = hole where the red channel (gray for gray files)
            is above 127, i.e. white marks the hole.
        max_pixels: larger images are refused before their pixels are decoded.

    Raises:
        InpaintInputError: one line naming the upload and the problem (not an image, truncated,
            too many pixels).
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise InpaintInputError(f"{what} is {width}x{height} = {width * height:,} pixels, over this server's "
                                        f"limit of {max_pixels:,} (a decompression bomb, or a photo to shrink first).")
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image.load()
            image = ImageOps.exif_transpose(image)
            if what == "mask":
                return np.asarray(image.convert("RGB"))[..., 0] > 127
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, rgba)
            return np.asarray(image.convert("RGB"))
    except InpaintInputError:
        raise
    except UnidentifiedImageError:
        raise InpaintInputError(f"{what} is not an image file this server can read (PNG, JPEG, WebP, BMP, ...).") \
            from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InpaintInputError(f"{what} refused as a decompression bomb: {e}") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated or damaged files surface as these in Pillow
        raise InpaintInputError(f"{what} could not be decoded: {e}.") from None


def encode_png(image: np.ndarray) -> bytes:
    """uint8 (H, W, 3) or (H, W) -> PNG bytes (fast compression: the server answers many)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()

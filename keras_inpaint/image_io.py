"""Image and mask files: every file is read right or refused in one line, and written atomically.

numpy and Pillow only (no TensorFlow), so the command line stays fast. What :func:`read_image`
returns, by kind of file:

========================================  ==========================================================
file                                      array (H, W, 3)
========================================  ==========================================================
8-bit: L, RGB, 1-bit, palette, CMYK       uint8 RGB (gray repeated; CMYK by Pillow's conversion)
alpha: RGBA, LA, palette + transparency   uint8 RGB, composited over white (as before this module)
16-bit gray PNG/TIFF (``I;16``, ``I``)    float32 in [0, 1] = value / 65535 (precision kept)
16-bit RGB / RGBA PNG and TIFF            float32 in [0, 1] = value / 65535; alpha over white
float TIFF (mode ``F``) in [0, 1]         float32 as stored; values outside [0, 1] are refused
========================================  ==========================================================

Pillow (10 to 13) has no 16-bit RGB mode: it decodes 16-bit RGB(A) PNG and TIFF to 8 bits, keeping
the high byte. :func:`read_image` decodes such a file twice, the second time with the opposite byte
order, which yields the low bytes, and joins the two: every bit of the file, no new dependency.
Other 16-bit layouts (gray + alpha, CMYK, premultiplied alpha) are read at 8 bits by Pillow.

Float TIFFs are "scaled or refused": refused. A float file outside [0, 1] (HDR, depth, 0-255
floats) has no single meaning as a photo, so it is refused with the range found instead of
being guessed at; rescale it yourself (e.g. ``x / x.max()``) and pass the array to ``inpaint``.

Alpha is composited over white, as ``keras_inpaint.data.load_rgb`` always did: the colour under a
transparent pixel is arbitrary (often black), and white is what a viewer shows.

Every reader applies the EXIF orientation (``ImageOps.exif_transpose``), so an image and a mask
drawn on it as displayed line up. A file that is missing, not an image, truncated, of a pixel mode
that cannot be converted, or larger than ``PIL.Image.MAX_IMAGE_PIXELS`` (a possible decompression
bomb; Pillow only warns between one and two times the limit, this module refuses) raises
:class:`~keras_inpaint.errors.InpaintInputError` with one line naming the file and the problem.
Animated files and multi-page TIFFs: the first frame.
"""

from __future__ import annotations

import os
import re
import struct
import sys
import threading
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from keras_inpaint.errors import ImageWriteError, InpaintInputError

# Raw (in-file) layouts of 16-bit RGB whose low bytes the other byte order recovers.
_SIXTEEN_BIT_RGB = re.compile(r"(RGB|RGBA|RGBX);16[BLN]")
_OTHER_ORDER = {"B": "L", "L": "B", "N": "B" if sys.byteorder == "little" else "L"}
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")
_SIXTEEN_BIT_GRAY = ("I;16", "I;16B", "I;16L", "I;16N")
# warnings.catch_warnings swaps process-wide state: one opener at a time (tf.data reads in threads).
_OPEN_LOCK = threading.Lock()


@dataclass
class _Pixels:
    """A decoded file before compositing: colour (H, W, 3) and alpha (H, W) or None (opaque),
    both uint8 (peak 255), uint16 (peak 65535) or float32 (peak 1.0)."""

    colour: np.ndarray
    alpha: np.ndarray | None
    peak: float


def _name(path) -> str:
    """A file's path, or an in-memory file's ``name`` (the server reads uploads from ``BytesIO``)."""
    if isinstance(path, (str, bytes, os.PathLike)):
        return os.fsdecode(path)
    return str(getattr(path, "name", "(in-memory file)"))


def _refusal(what: str, path, problem: str) -> InpaintInputError:
    return InpaintInputError(f"cannot read {what} {_name(path)}: {' '.join(str(problem).split())}")


def _open(path, what: str) -> Image.Image:
    """``Image.open`` refusing anything over ``Image.MAX_IMAGE_PIXELS`` (header only, nothing decoded)."""
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(path)
    limit = Image.MAX_IMAGE_PIXELS
    if limit and image.width * image.height > limit:
        image.close()
        raise _bomb(path, what, image.width * image.height)
    return image


def _bomb(path, what: str, pixels: int | None) -> InpaintInputError:
    count = f"{pixels:,} pixels" if pixels is not None else "its pixel count"
    return _refusal(what, path, f"{count} is more than Pillow's limit of {Image.MAX_IMAGE_PIXELS:,} "
                                "(PIL.Image.MAX_IMAGE_PIXELS), a possible decompression bomb")


def _rawmode(tile) -> str | None:
    args = tile[3]
    raw = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else None
    return raw if isinstance(raw, str) else None


def _other_byte_order(tile):
    raw = _rawmode(tile)
    swapped = raw[:-1] + _OTHER_ORDER[raw[-1]]
    args = swapped if isinstance(tile[3], str) else (swapped, *tile[3][1:])
    return tile._replace(args=args) if hasattr(tile, "_replace") else (*tile[:3], args)


def _low_bytes(path, what: str) -> Image.Image | None:
    """The low bytes of a 16-bit RGB(A) file, oriented; None if this Pillow cannot unpack them."""
    with _open(path, what) as image:
        image.tile = [_other_byte_order(t) for t in image.tile]
        try:
            image.load()
        except ValueError:  # "unknown raw mode": this Pillow lacks the unpacker; 8 bits it is
            return None
        return ImageOps.exif_transpose(image)


def _pixels(image: Image.Image, raws: list[str | None], path, what: str) -> _Pixels:
    """The loaded ``image`` as _Pixels; ``raws``: its tiles' raw modes, read before loading."""
    sixteen_bit_rgb = bool(raws) and all(r and _SIXTEEN_BIT_RGB.fullmatch(r) for r in raws)
    info = dict(image.info)
    image = ImageOps.exif_transpose(image)
    low = _low_bytes(path, what) if sixteen_bit_rgb else None
    if low is not None:
        levels = (np.asarray(image, np.uint16) << 8) | np.asarray(low, np.uint16)
        colour, alpha = levels[..., :3], (levels[..., 3] if image.mode == "RGBA" else None)
        return _Pixels(colour, _keyed_alpha(colour, info, 65535, alpha), 65535.0)
    if image.mode in _SIXTEEN_BIT_GRAY or image.mode == "I":
        gray = np.asarray(image)
        if image.mode == "I" and (gray.min() < 0 or gray.max() > 65535):
            raise _refusal(what, path, f"32-bit integer pixels in [{gray.min()}, {gray.max()}] do not fit 16 bits")
        colour = np.repeat(gray.astype(np.uint16)[..., None], 3, axis=-1)
        return _Pixels(colour, _keyed_alpha(colour, info, 65535, None), 65535.0)
    if image.mode == "F":
        values = np.asarray(image, np.float32)
        finite = np.isfinite(values)
        if not finite.all() or values.min() < 0 or values.max() > 1:
            low_, high = (values[finite].min(), values[finite].max()) if finite.any() else (np.nan, np.nan)
            nans = "" if finite.all() else f" and {np.size(values) - finite.sum()} NaN/infinite pixels"
            raise _refusal(what, path, f"float pixels in [{low_:g}, {high:g}]{nans}; only [0, 1] is read "
                                       "(rescale the file to [0, 1])")
        return _Pixels(np.repeat(values[..., None], 3, axis=-1), None, 1.0)
    if image.mode in _ALPHA_MODES or "transparency" in info:
        rgba = np.asarray(image.convert("RGBA"))
        return _Pixels(rgba[..., :3], rgba[..., 3], 255.0)
    try:
        return _Pixels(np.asarray(image.convert("RGB")), None, 255.0)
    except ValueError as e:
        raise _refusal(what, path, f"pixel mode {image.mode} cannot be converted to RGB ({e})") from e


def _keyed_alpha(colour: np.ndarray, info: dict, peak: int, alpha: np.ndarray | None) -> np.ndarray | None:
    """16-bit files with a transparent key colour (PNG tRNS): those pixels get alpha 0."""
    key = info.get("transparency")
    if alpha is not None or key is None or isinstance(key, bytes):
        return alpha
    keyed = np.all(colour == np.asarray(key, np.uint16).reshape(-1)[: colour.shape[-1]], axis=-1)
    return np.where(keyed, 0, peak).astype(np.uint16)


def _decode(path, what: str) -> _Pixels:
    try:
        with _open(path, what) as image:
            raws = [_rawmode(t) for t in image.tile]
            image.load()
            return _pixels(image, raws, path, what)
    except InpaintInputError:
        raise
    except Image.DecompressionBombError as e:
        found = re.search(r"\((\d+) pixels\)", str(e))
        raise _bomb(path, what, int(found.group(1)) if found else None) from e
    except UnidentifiedImageError as e:
        raise _refusal(what, path, "not an image file Pillow can read") from e
    except OSError as e:  # missing, a folder, unreadable, truncated, broken data
        raise _refusal(what, path, e.strerror or str(e)) from e
    except Exception as e:  # Pillow's parsers raise many types on malformed files
        raise _refusal(what, path, f"{type(e).__name__}: {e}") from e


def _over_white(pixels: _Pixels) -> np.ndarray:
    """uint8 (H, W, 3) for 8-bit files, else float32 in [0, 1]; alpha composited over white; writable."""
    colour, alpha = pixels.colour, pixels.alpha
    if colour.dtype == np.uint8:
        if alpha is None:
            return np.array(colour)  # a writable copy (Pillow's arrays are read-only)
        a = alpha[..., None].astype(np.uint32)
        return ((colour * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)
    floats = colour.astype(np.float32) / np.float32(pixels.peak)
    if alpha is None:
        return floats
    a = alpha[..., None].astype(np.float32) / np.float32(pixels.peak)
    return (floats * a + (1 - a)).astype(np.float32)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB (H, W, 3), EXIF orientation applied.

    Returns:
        uint8 in [0, 255] for 8-bit files; float32 in [0, 1] (value / 65535) for 16-bit files;
        float32 as stored for float TIFFs in [0, 1]. Alpha is composited over white. The table in
        the module docstring lists every kind. ``Inpainter.inpaint`` takes either dtype and
        returns the same one; :func:`write_image` writes float32 back at 16 bits where it can.

    Raises:
        InpaintInputError: one line naming the file and why it cannot be read (missing, not an
            image, truncated, a decompression bomb, a float TIFF outside [0, 1]).
    """
    return _over_white(_decode(path, "image"))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 as is; float in [0, 1] -> uint8 by rounding ``x * 255`` (16-bit v -> round(v / 257))."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def read_image_uint8(path: str | os.PathLike) -> np.ndarray:
    """:func:`read_image` at 8 bits: uint8 (H, W, 3) (what training and evaluation work in)."""
    return to_uint8(read_image(path))


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask file as bool (H, W), True = hole, with the same EXIF orientation as images.

    A pixel is a hole when its red channel (gray for gray files), after compositing over white,
    is above half the largest value: > 127 in 8 bits, > 32767 in 16 bits, > 0.5 in a float TIFF.
    Exception: when the alpha varies and every visible pixel (alpha > 0) has the same colour -- a
    stroke layer exported with transparency -- the colour says nothing and the alpha is the mask:
    alpha above half = hole, whatever the stroke colour. (Compositing such a file over white would
    make every transparent pixel a hole.)

    Raises:
        InpaintInputError: as :func:`read_image`.
    """
    pixels = _decode(path, "mask")
    alpha = pixels.alpha
    if alpha is not None and alpha.min() != alpha.max():
        visible = pixels.colour[alpha > 0]
        if (visible == visible[0]).all():
            return alpha > pixels.peak / 2
    composite = _over_white(pixels)
    half = 127 if composite.dtype == np.uint8 else 0.5
    return composite[..., 0] > half


def check_mask_size(mask: np.ndarray, image: np.ndarray, mask_path: str | os.PathLike) -> None:
    """Raise InpaintInputError unless ``mask`` (H, W[, ...]) is as high and wide as ``image`` (H, W, ...)."""
    (mh, mw), (ih, iw) = mask.shape[:2], image.shape[:2]
    if (mh, mw) != (ih, iw):
        raise InpaintInputError(f"mask {os.fspath(mask_path)} is {mw}x{mh} but the image is {iw}x{ih} "
                                "(width x height, after EXIF orientation).")


def _write_error(path: str, reason: str, errno: int | None = None) -> ImageWriteError:
    error = ImageWriteError(f"cannot write {path}: {' '.join(reason.split())}.")
    error.errno = errno
    return error


def _check_folder(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _write_error(path, f"the folder {folder} is not writable")
        return
    ancestor = folder
    while not os.path.exists(ancestor) and os.path.dirname(ancestor) != ancestor:
        ancestor = os.path.dirname(ancestor)
    if os.path.exists(ancestor) and not os.path.isdir(ancestor):
        raise _write_error(path, f"{ancestor} is a file, not a folder")
    raise _write_error(path, f"the folder {folder} does not exist")


def _checked_array(array) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3) or 0 in array.shape:
        raise InpaintInputError(f"write_image takes (H, W) or (H, W, 3); got shape {array.shape}.")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise InpaintInputError(f"write_image takes uint8 or float in [0, 1]; got dtype {array.dtype}.")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise InpaintInputError("write_image takes float images in [0, 1]; got values outside it or NaN.")
    return array


def _write_png_rgb16(levels: np.ndarray, target: str) -> None:
    """(H, W, 3) uint16 as a 16-bit RGB PNG: Pillow has no 16-bit RGB mode to save from."""
    height, width, _ = levels.shape
    rows = levels.astype(">u2").reshape(height, width * 3).view(np.uint8)
    filtered = rows.copy()
    filtered[1:] -= rows[:-1]  # PNG filter 2 ("up"), modulo 256: about 15% smaller than none on photos
    data = zlib.compress(np.concatenate([np.full((height, 1), 2, np.uint8), filtered], axis=1).tobytes(), 6)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(target, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)))
        for start in range(0, len(data), 1 << 24):
            f.write(chunk(b"IDAT", data[start : start + (1 << 24)]))
        f.write(chunk(b"IEND", b""))


def _encode(array: np.ndarray, target: str, image_format: str) -> None:
    if array.dtype != np.uint8:
        if image_format == "PNG" and array.ndim == 3:
            return _write_png_rgb16(np.rint(array * 65535.0).astype(np.uint16), target)
        if image_format in ("PNG", "TIFF") and array.ndim == 2:
            return Image.fromarray(np.rint(array * 65535.0).astype(np.uint16)).save(target, format=image_format)
        array = to_uint8(array)
    Image.fromarray(array).save(target, format=image_format)


def write_image(array: np.ndarray, path: str | os.PathLike, overwrite: bool = False) -> None:
    """Write an image file atomically: ``path + ".partial"`` beside it, then ``os.replace``.

    The format follows the extension (PNG, JPEG, WebP, BMP, TIFF, any Pillow writes; PNG when
    Pillow does not know it). uint8 is written at 8 bits. float in [0, 1] is written at 16 bits
    where the format holds them -- PNG (gray and RGB; RGB by this module's own encoder) and TIFF
    (gray; Pillow cannot write 16-bit RGB TIFF) -- and rounded to 8 bits otherwise.

    Args:
        array: uint8 or float in [0, 1], (H, W), (H, W, 1) or (H, W, 3).
        path: the file to write; its folder must exist and be writable.
        overwrite: replace an existing file (otherwise FileExistsError).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False (nothing written).
        ImageWriteError: an ``OSError`` with one line naming ``path`` and the reason (folder
            missing, read-only or under a file; disk full); no ``.partial`` file is left and a
            file already at ``path`` is untouched.
        InpaintInputError: ``array`` has the wrong shape, dtype or range.
    """
    array = _checked_array(array)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise _write_error(path, "it is a folder")
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path} exists; nothing was written (pass --overwrite to replace it).")
    _check_folder(path)
    image_format = Image.registered_extensions().get(os.path.splitext(path)[1].lower(), "PNG")
    partial = f"{path}.partial"
    try:
        _encode(array, partial, image_format)
        descriptor = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the bytes are on disk before the name points at them
        finally:
            os.close(descriptor)
        os.replace(partial, path)
    except BaseException as e:
        try:
            os.remove(partial)
        except OSError:
            pass  # never written, or already gone
        if isinstance(e, OSError):
            raise _write_error(path, e.strerror or str(e), e.errno) from e
        if isinstance(e, Exception):
            raise _write_error(path, f"{type(e).__name__}: {e}") from e
        raise

"""keras_inpaint.image_io: every kind of file is read right or refused in one line, and writes are atomic.

Each kind is built here with Pillow/numpy (OpenCV, a test extra, writes the 16-bit RGB files Pillow
cannot), read, and inpainted by the bundled lama_tiny: known pixels must come back to the bit,
in the dtype read.
"""

import ast
import errno
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from keras_inpaint import Inpainter
from keras_inpaint.cli import main
from keras_inpaint.errors import ImageWriteError, InpaintInputError
from keras_inpaint.image_io import check_mask_size, read_image, read_image_uint8, read_mask, write_image

H, W = 48, 64


@pytest.fixture(scope="module")
def model():
    return Inpainter.from_preset("lama_tiny")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real 48x64 uint8 RGB crop of the bundled photo (not the session fixture: module scope)."""
    here = os.path.dirname(os.path.abspath(__file__))
    with Image.open(os.path.join(here, "..", "keras_inpaint", "assets", "chelsea.jpg")) as image:
        return np.asarray(image.convert("RGB"))[100 : 100 + H, 150 : 150 + W].copy()


def hole() -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[16:32, 20:44] = True
    return mask


def assert_inpaints(model, image: np.ndarray) -> None:
    """lama_tiny fills the hole; every known pixel is the image read, to the bit, dtype kept."""
    assert image.shape == (H, W, 3)
    mask = hole()
    out = model.inpaint(image, mask)
    assert out.dtype == image.dtype and out.shape == image.shape
    np.testing.assert_array_equal(out[~mask], image[~mask])


def one_line_refusal(path, *words) -> str:
    with pytest.raises(InpaintInputError) as info:
        read_image(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message
    return message


def over_white(colour, alpha):
    a = alpha[..., None].astype(np.float64) / 255
    return colour * a + 255 * (1 - a)


# --- reading, one kind per test ------------------------------------------------------------------


def test_8bit_gray(tmp_path, photo, model):
    gray = photo[..., 1]
    Image.fromarray(gray).save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png")
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image, np.repeat(gray[..., None], 3, axis=-1))
    assert_inpaints(model, image)


def test_8bit_rgb(tmp_path, photo, model):
    Image.fromarray(photo).save(tmp_path / "c.png")
    image = read_image(tmp_path / "c.png")
    assert image.dtype == np.uint8 and image.flags.writeable
    np.testing.assert_array_equal(image, photo)
    assert_inpaints(model, image)


def test_rgba_is_composited_over_white(tmp_path, photo, model):
    alpha = np.tile(np.linspace(0, 255, W).round().astype(np.uint8), (H, 1))
    Image.fromarray(np.dstack([photo, alpha])).save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    assert image.dtype == np.uint8
    assert np.abs(image - over_white(photo, alpha)).max() <= 0.5  # correctly rounded
    np.testing.assert_array_equal(image[:, 0], 255)  # transparent: white
    np.testing.assert_array_equal(image[:, -1], photo[:, -1])  # opaque: the colour
    assert_inpaints(model, image)


def test_gray_with_alpha(tmp_path, photo, model):
    gray, alpha = photo[..., 0], photo[..., 2]
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(tmp_path / "la.png")
    image = read_image(tmp_path / "la.png")
    assert np.abs(image - over_white(np.repeat(gray[..., None], 3, -1), alpha)).max() <= 0.5
    assert_inpaints(model, image)


def test_palette(tmp_path, photo, model):
    palette = Image.fromarray(photo).quantize(16)
    palette.save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png")
    np.testing.assert_array_equal(image, np.asarray(palette.convert("RGB")))
    assert_inpaints(model, image)


def test_palette_with_transparency(tmp_path, photo, model):
    palette = Image.fromarray(photo).quantize(16)
    palette.save(tmp_path / "pt.png", transparency=3)
    indices = np.asarray(palette)
    assert (indices == 3).any()
    image = read_image(tmp_path / "pt.png")
    colours = np.asarray(palette.convert("RGB"))
    np.testing.assert_array_equal(image[indices == 3], 255)
    np.testing.assert_array_equal(image[indices != 3], colours[indices != 3])
    assert_inpaints(model, image)


def test_cmyk_tiff_and_jpeg(tmp_path, photo, model):
    cmyk = Image.fromarray(photo).convert("CMYK")
    cmyk.save(tmp_path / "c.tif")
    cmyk.save(tmp_path / "c.jpg", quality=95)
    tiff = read_image(tmp_path / "c.tif")
    np.testing.assert_array_equal(tiff, photo)  # lossless, Pillow's conversion both ways
    jpeg = read_image(tmp_path / "c.jpg")
    assert jpeg.dtype == np.uint8 and np.abs(jpeg.astype(int) - photo).mean() < 4  # not inverted (~128 off)
    assert_inpaints(model, tiff)
    assert_inpaints(model, jpeg)


def test_1bit(tmp_path, photo, model):
    bits = photo[..., 0] > 128
    Image.fromarray(bits).convert("1").save(tmp_path / "b.png")
    image = read_image(tmp_path / "b.png")
    np.testing.assert_array_equal(image, np.where(bits, 255, 0).astype(np.uint8)[..., None].repeat(3, -1))
    assert_inpaints(model, image)


def test_16bit_gray_png(tmp_path, model):
    levels = np.linspace(0, 65535, H * W).round().astype(np.uint16).reshape(H, W)  # every part of the range
    Image.fromarray(levels).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    image = read_image(tmp_path / "g16.png")
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image, np.repeat((levels / np.float32(65535))[..., None], 3, -1))
    assert abs(float(image.mean()) - 0.5) < 0.01  # was 99% white
    np.testing.assert_array_equal(np.rint(image[..., 0] * 65535).astype(np.uint16), levels)  # every bit
    assert_inpaints(model, image)


def test_32bit_integer_gray_in_16_bits_is_read_outside_refused(tmp_path):
    Image.fromarray((np.arange(H * W, dtype=np.int32).reshape(H, W) * 20)).save(tmp_path / "i.tif")
    assert Image.open(tmp_path / "i.tif").mode == "I"
    image = read_image(tmp_path / "i.tif")
    np.testing.assert_array_equal(np.rint(image[..., 0] * 65535), np.arange(H * W).reshape(H, W) * 20)
    Image.fromarray((np.arange(H * W, dtype=np.int32).reshape(H, W) * 40)).save(tmp_path / "big.tif")
    one_line_refusal(tmp_path / "big.tif", "[0, 122840]", "16 bits")


def test_16bit_rgb_png_and_tiff(tmp_path, model):
    cv2 = pytest.importorskip("cv2")
    levels = np.random.default_rng(0).integers(0, 65536, (H, W, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), levels[..., ::-1])
    cv2.imwrite(str(tmp_path / "c16.tif"), levels[..., ::-1])  # libtiff, compressed
    assert np.asarray(Image.open(tmp_path / "c16.png")).dtype == np.uint8  # Pillow alone: the high byte
    for name in ("c16.png", "c16.tif"):
        image = read_image(tmp_path / name)
        assert image.dtype == np.float32
        np.testing.assert_array_equal(np.rint(image * 65535).astype(np.uint16), levels)
        assert_inpaints(model, image)


def test_16bit_rgba_png_is_composited_over_white(tmp_path, model):
    cv2 = pytest.importorskip("cv2")
    levels = np.random.default_rng(1).integers(0, 65536, (H, W, 4), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "a16.png"), levels[..., [2, 1, 0, 3]])
    image = read_image(tmp_path / "a16.png")
    a = levels[..., 3:] / 65535
    assert image.dtype == np.float32 and np.abs(image - (levels[..., :3] / 65535 * a + 1 - a)).max() < 1e-6
    assert_inpaints(model, image)


def test_float_tiff_in_unit_range(tmp_path, photo, model):
    values = (photo[..., 0] / 255).astype(np.float32)
    Image.fromarray(values).save(tmp_path / "f.tif")
    assert Image.open(tmp_path / "f.tif").mode == "F"
    image = read_image(tmp_path / "f.tif")
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image, np.repeat(values[..., None], 3, -1))
    assert_inpaints(model, image)


def test_float_tiff_out_of_range_is_refused(tmp_path, photo):
    Image.fromarray(photo[..., 0].astype(np.float32)).save(tmp_path / "f255.tif")
    low, high = photo[..., 0].min(), photo[..., 0].max()
    one_line_refusal(tmp_path / "f255.tif", f"float pixels in [{low}, {high}]", "[0, 1]")
    nan = np.full((H, W), 0.5, np.float32)
    nan[0, 0] = np.nan
    Image.fromarray(nan).save(tmp_path / "nan.tif")
    one_line_refusal(tmp_path / "nan.tif", "1 NaN/infinite")


def exif_rotated(displayed: np.ndarray, path, orientation: int = 6) -> None:
    """Store ``displayed`` as a camera does: pixels turned, EXIF orientation says how to show them."""
    stored = np.rot90(displayed, 1)  # 6: the viewer turns the stored pixels 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(stored)).save(path, exif=exif, **({"quality": 95} if str(path).endswith(".jpg") else {}))


def test_exif_rotated_jpeg_and_a_mask_drawn_on_the_displayed_photo(tmp_path, photo, model):
    exif_rotated(photo, tmp_path / "phone.jpg")
    assert Image.open(tmp_path / "phone.jpg").size == (H, W)  # stored sideways
    image = read_image(tmp_path / "phone.jpg")
    assert image.shape == (H, W, 3) and np.abs(image.astype(int) - photo).mean() < 3
    drawn = hole()
    Image.fromarray(drawn).save(tmp_path / "mask.png")  # drawn on the photo as displayed
    mask = read_mask(tmp_path / "mask.png")
    check_mask_size(mask, image, tmp_path / "mask.png")
    exif_rotated(drawn.astype(np.uint8) * 255, tmp_path / "mask_rotated.png")  # a mask carrying the tag too
    np.testing.assert_array_equal(read_mask(tmp_path / "mask_rotated.png"), drawn)
    assert_inpaints(model, image)
    out = tmp_path / "out.png"
    assert main(["inpaint", str(tmp_path / "phone.jpg"), "--mask", str(tmp_path / "mask.png"), "-o", str(out)]) == 0
    result = read_image(out)
    np.testing.assert_array_equal(result[~drawn], image[~drawn])


def test_truncated_file_is_refused(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    one_line_refusal(tmp_path / "cut.png", "truncated")


def test_non_image_and_missing_files_are_refused(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    one_line_refusal(tmp_path / "notes.png", "not an image file")
    one_line_refusal(tmp_path / "missing.png", "No such file")
    with pytest.raises(InpaintInputError, match="cannot read mask .*notes.png"):
        read_mask(tmp_path / "notes.png")


@pytest.mark.parametrize("limit", [1000, 2000])  # over 2x the limit Pillow raises; over 1x it only warns
def test_decompression_bomb_is_refused_with_the_pixel_count_and_the_limit(tmp_path, photo, monkeypatch, limit):
    Image.fromarray(photo).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        one_line_refusal(tmp_path / "bomb.png", f"{H * W:,} pixels", f"limit of {limit:,}", "decompression bomb")
    assert not caught


# --- masks ---------------------------------------------------------------------------------------


def test_mask_threshold_is_half_the_largest_value_at_any_bit_depth(tmp_path):
    levels = np.array([[0, 32767, 32768, 65535]], np.uint16)
    Image.fromarray(levels).save(tmp_path / "m16.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "m16.png"), [[False, False, True, True]])
    rgb = np.array([[[127, 255, 255], [128, 0, 0]]], np.uint8)  # the red channel decides
    Image.fromarray(rgb).save(tmp_path / "m8.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "m8.png"), [[False, True]])
    Image.fromarray(np.array([[0.5, 0.51]], np.float32)).save(tmp_path / "mf.tif")
    np.testing.assert_array_equal(read_mask(tmp_path / "mf.tif"), [[False, True]])


@pytest.mark.parametrize("stroke", [(0, 0, 0), (255, 255, 255), (255, 0, 0)])
def test_stroke_layer_mask_is_read_from_its_alpha(tmp_path, stroke):
    """Strokes of one colour on a transparent layer: the alpha is the hole, whatever the colour
    (over white, every transparent pixel would be a hole); transparent pixels' colour is ignored."""
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[hole()] = (*stroke, 255)
    Image.fromarray(rgba).save(tmp_path / "strokes.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "strokes.png"), hole())
    opaque = np.zeros((H, W, 4), np.uint8)
    opaque[..., 3] = 255
    opaque[hole(), :3] = 255  # opaque everywhere: the colour decides, as for RGB
    Image.fromarray(opaque).save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "opaque.png"), hole())


def test_mask_size_mismatch_names_both_sizes(tmp_path):
    with pytest.raises(InpaintInputError, match=r"mask m.png is 48x64 but the image is 64x48 \(width x height"):
        check_mask_size(np.zeros((64, 48), bool), np.zeros((48, 64, 3), np.uint8), "m.png")


# --- writing -------------------------------------------------------------------------------------


def test_write_refuses_an_existing_file_unless_overwrite(tmp_path, photo):
    target = tmp_path / "out.png"
    target.write_bytes(b"the user's earlier result")
    with pytest.raises(FileExistsError, match="--overwrite") as info:
        write_image(photo, target)
    assert "\n" not in str(info.value) and target.read_bytes() == b"the user's earlier result"
    write_image(photo, target, overwrite=True)
    np.testing.assert_array_equal(read_image(target), photo)
    assert os.listdir(tmp_path) == ["out.png"]


@pytest.mark.parametrize("name, dtype", [("x.png", np.uint8), ("x16.png", np.float32)])
def test_write_is_atomic_on_failure(tmp_path, photo, monkeypatch, name, dtype):
    target = tmp_path / name
    target.write_bytes(b"the user's earlier result")
    real_replace = os.replace

    def disk_full(src, dst):
        assert os.path.exists(src)  # the whole new file was there, under the .partial name
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ImageWriteError) as info:
        write_image(photo if dtype == np.uint8 else (photo / 255).astype(dtype), target, overwrite=True)
    assert str(info.value) == f"cannot write {target}: No space left on device."
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert target.read_bytes() == b"the user's earlier result" and os.listdir(tmp_path) == [name]
    monkeypatch.setattr(os, "replace", real_replace)


def test_write_folder_problems_are_one_line(tmp_path, photo):
    (tmp_path / "file").write_text("a regular file")
    with pytest.raises(ImageWriteError, match=r"does not exist\.$"):
        write_image(photo, tmp_path / "nowhere" / "x.png")
    with pytest.raises(ImageWriteError, match=r"file is a file, not a folder\.$"):
        write_image(photo, tmp_path / "file" / "sub" / "x.png")
    with pytest.raises(ImageWriteError, match="it is a folder"):
        write_image(photo, tmp_path)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    os.chmod(readonly, 0o500)
    try:
        if not os.access(readonly, os.W_OK):  # root ignores permissions
            with pytest.raises(ImageWriteError, match="is not writable"):
                write_image(photo, readonly / "x.png")
    finally:
        os.chmod(readonly, 0o700)


def test_write_keeps_16_bits_where_the_format_does(tmp_path, photo):
    cv2 = pytest.importorskip("cv2")
    levels = np.random.default_rng(2).integers(0, 65536, (H, W, 3), dtype=np.uint16)
    floats = levels / np.float32(65535)
    write_image(floats, tmp_path / "rgb16.png")  # this module's own encoder
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "rgb16.png"), cv2.IMREAD_UNCHANGED)[..., ::-1], levels)
    np.testing.assert_array_equal(read_image(tmp_path / "rgb16.png"), floats)
    for name in ("gray16.png", "gray16.tif"):
        write_image(floats[..., 0], tmp_path / name)
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / name)), levels[..., 0])
    write_image(floats, tmp_path / "rgb.tif")  # Pillow writes no 16-bit RGB TIFF: 8 bits
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.tif"), np.rint(floats * 255).astype(np.uint8))
    write_image(photo, tmp_path / "x.jpg")
    assert Image.open(tmp_path / "x.jpg").format == "JPEG"
    with pytest.raises(InpaintInputError, match="float images in"):
        write_image(np.full((2, 2, 3), 1.5, np.float32), tmp_path / "bad.png")
    assert read_image_uint8(tmp_path / "rgb16.png").dtype == np.uint8


# --- through the command line ------------------------------------------------------------------


def test_cli_keeps_16_bit_rgb_from_input_to_output(tmp_path):
    cv2 = pytest.importorskip("cv2")
    levels = np.random.default_rng(3).integers(0, 65536, (H, W, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "in.png"), levels[..., ::-1])
    Image.fromarray(hole()).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    assert main(["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(out)]) == 0
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert written.dtype == np.uint16
    np.testing.assert_array_equal(written[~hole()], levels[~hole()])
    assert main(["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "--grid",
                 "-o", str(tmp_path / "grid.png")]) == 0
    assert read_image(tmp_path / "grid.png").dtype == np.uint8


def test_cli_reads_a_transparent_palette_image(tmp_path, photo):
    palette = Image.fromarray(photo).quantize(16)
    palette.save(tmp_path / "in.png", transparency=3)
    Image.fromarray(hole()).save(tmp_path / "mask.png")
    out = tmp_path / "out.webp"
    assert main(["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(out),
                 "--blend", "none"]) == 0
    assert Image.open(out).format == "WEBP" and read_image(out).shape == (H, W, 3)


def test_cli_refusals_are_one_line(tmp_path, photo, capsys):
    Image.fromarray(photo[..., 0].astype(np.float32)).save(tmp_path / "f255.tif")
    assert main(["inpaint", str(tmp_path / "f255.tif"), "--auto-mask", "thin", "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "f255.tif" in err[0] and "[0, 1]" in err[0]
    Image.fromarray(photo).save(tmp_path / "in.png")
    Image.fromarray(np.zeros((W, H), np.uint8)).save(tmp_path / "turned.png")
    assert main(["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "turned.png"),
                 "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is 48x64 but the image is 64x48" in err[0]
    assert not os.path.exists(tmp_path / "o.png")


def test_image_io_imports_numpy_pillow_and_errors_only():
    """No TensorFlow or keras in image_io: the command line stays fast."""
    source = open(os.path.join(os.path.dirname(__file__), "..", "keras_inpaint", "image_io.py"), encoding="utf-8").read()
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module if node.module.startswith("keras_inpaint") else node.module.split(".")[0])
    assert modules <= {"__future__", "os", "re", "struct", "sys", "threading", "warnings", "zlib", "dataclasses",
                       "numpy", "PIL", "keras_inpaint.errors"}, modules

import numpy as np
import pytest

from keras import ops

from keras_inpaint import Inpainter, InpaintInputError, LamaGenerator
from keras_inpaint.pipeline import IMAGE_RESIZES, enlarge, shrink, working_shape


def test_working_shape_keeps_the_aspect_ratio_and_small_images():
    assert working_shape(512, 384, 256) == (256, 192)
    assert working_shape(300, 451, 256) == (170, 256)
    assert working_shape(200, 100, 256) == (200, 100)
    assert working_shape(1000, 1, 10) == (10, 1)
    with pytest.raises(ValueError, match="working_size"):
        working_shape(64, 64, 0)


def test_shrink_averages_pixels_and_keeps_every_hole():
    images = np.zeros((1, 8, 8, 3), np.float32)
    images[0, :4] = 1.0  # top half white
    masks = np.zeros((1, 8, 8, 1), np.float32)
    masks[0, 5, 6] = 1  # a single hole pixel
    small_images, small_masks = shrink(images, masks, (4, 4))
    assert small_images.shape == (1, 4, 4, 3) and small_masks.shape == (1, 4, 4, 1)
    np.testing.assert_allclose(small_images[0, :2], 1.0)
    np.testing.assert_allclose(small_images[0, 2:], 0.0)
    expected = np.zeros((4, 4), np.float32)
    expected[2, 3] = 1  # the 2x2 block that holds pixel (5, 6)
    np.testing.assert_array_equal(small_masks[0, ..., 0], expected)
    assert enlarge(small_images, (8, 8)).shape == (1, 8, 8, 3)


def test_inpaint_at_a_working_size_fills_from_the_small_result():
    model = Inpainter.from_preset("lama_tiny")
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (64, 96, 3)).astype(np.float32)
    mask = np.zeros((64, 96), np.uint8)
    mask[20:40, 30:70] = 1
    result = model.inpaint(image, mask, working_size=48, blend=None)
    assert result.shape == image.shape and result.dtype == image.dtype
    np.testing.assert_array_equal(result[mask == 0], image[mask == 0])  # known pixels to the bit
    small_images, small_masks = shrink(image[None], mask[None, ..., None].astype(np.float32), (32, 48))
    small_result = model.inpaint(small_images, small_masks, working_size=None, blend=None)
    expected = enlarge(small_result, (64, 96))[0]
    np.testing.assert_allclose(result[mask == 1], np.clip(expected, 0, 1)[mask == 1], atol=1e-5)
    full = model.inpaint(image, mask, working_size=None, blend=None)
    assert np.abs(full - result).max() > 0.01  # the working size changed the fill
    # An image already within the working size is inpainted at full size.
    np.testing.assert_array_equal(model.inpaint(image, mask, working_size=96, blend=None), full)


def test_bicubic_image_resize_is_clipped_to_the_valid_range():
    images = np.zeros((1, 8, 8, 3), np.float32)
    images[0, :, 3:] = 1.0  # a step: bicubic overshoots on both sides of it
    masks = np.zeros((1, 8, 8, 1), np.float32)
    raw = np.asarray(ops.image.resize(images, (6, 6), interpolation="bicubic"))
    assert raw.min() < -0.05  # what the clip is for
    small, _ = shrink(images, masks, (6, 6), image_resize="bicubic")
    np.testing.assert_array_equal(small, np.clip(raw, 0, 1))
    area, _ = shrink(images, masks, (6, 6))
    assert np.abs(np.asarray(small) - np.asarray(area)).max() > 0.1  # the setting picks the resize
    raw = np.asarray(ops.image.resize(images, (13, 13), interpolation="bicubic"))
    assert raw.min() < -0.05 and raw.max() > 1.05
    big = np.asarray(enlarge(images, (13, 13), "bicubic"))
    np.testing.assert_array_equal(big, np.clip(raw, 0, 1))
    bilinear = np.asarray(enlarge(images, (13, 13)))
    np.testing.assert_allclose(bilinear, ops.image.resize(images, (13, 13), interpolation="bilinear"))
    with pytest.raises(ValueError, match="unknown image_resize 'cubic'"):
        enlarge(images, (13, 13), "cubic")


def test_nearest_mask_rules_pick_the_pixel_at_the_start_or_the_centre():
    images = np.zeros((1, 4, 1, 3), np.float32)
    for row in range(4):
        one = np.zeros((1, 4, 1, 1), np.float32)
        one[0, row] = 1
        torch_rule = shrink(images, one, (3, 1), "nearest")[1][0, :, 0, 0]
        pil_rule = shrink(images, one, (3, 1), "nearest_exact")[1][0, :, 0, 0]
        # 4 -> 3 rows: floor(i * 4 / 3) = 0, 1, 2; floor((i + 0.5) * 4 / 3) = 0, 2, 3.
        np.testing.assert_array_equal(torch_rule, [row == r for r in (0, 1, 2)])
        np.testing.assert_array_equal(pil_rule, [row == r for r in (0, 2, 3)])


@pytest.fixture(scope="module")
def tiny_generator():
    return LamaGenerator(base_filters=8, num_blocks=1)


def test_inpaint_with_bicubic_resizes_keeps_known_pixels_and_fills_from_the_small_result(tiny_generator):
    model = Inpainter(tiny_generator, working_size=32, image_resize="bicubic")
    area = Inpainter(tiny_generator, working_size=32)
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (45, 70, 3)).astype(np.float32)
    mask = np.zeros((45, 70), np.uint8)
    mask[10:30, 20:50] = 1
    result = model.inpaint(image, mask)
    np.testing.assert_array_equal(result[mask == 0], image[mask == 0])  # known pixels to the bit
    assert result.min() >= 0 and result.max() <= 1
    small_images, small_masks = shrink(image[None], mask[None, ..., None].astype(np.float32), (21, 32),
                                       image_resize="bicubic")
    small_result = model.inpaint(small_images, small_masks, working_size=None)
    expected = np.asarray(enlarge(small_result, (45, 70), "bicubic"))[0]
    np.testing.assert_allclose(result[mask == 1], expected[mask == 1], atol=1e-5)
    assert np.abs(result - area.inpaint(image, mask)).max() > 0.01  # the setting changed the fill
    levels = (image * 255).round().astype(np.uint8)
    out = model.inpaint(levels, mask)
    np.testing.assert_array_equal(out[mask == 0], levels[mask == 0])


def test_image_resize_is_checked_and_travels_in_the_config(tiny_generator):
    assert IMAGE_RESIZES == ("area", "bicubic")
    with pytest.raises(InpaintInputError, match=r"unknown image_resize 'lanczos'; choose one of \('area', 'bicubic'\)"):
        Inpainter(tiny_generator, image_resize="lanczos")
    model = Inpainter(tiny_generator, image_resize="bicubic", mask_resize="nearest_exact")
    config = model.get_config()
    assert (config["image_resize"], config["mask_resize"]) == ("bicubic", "nearest_exact")
    again = Inpainter.from_config(config)
    assert (again.image_resize, again.mask_resize) == ("bicubic", "nearest_exact")
    assert Inpainter(tiny_generator).image_resize == "area"  # today's resizes unless asked

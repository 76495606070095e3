import numpy as np
import pytest

from keras_inpaint.errors import InpaintInputError
from keras_inpaint.inputs import prepare_batch, restore_output
from keras_inpaint.pipeline import pad_to_multiple


def test_uint8_and_float_conversion():
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    batch = prepare_batch(image, np.zeros((4, 5), bool))
    assert batch.images.shape == (1, 4, 5, 3) and not batch.batched
    np.testing.assert_allclose(batch.images[0], image / 255.0, atol=1e-7)
    floats = prepare_batch(np.zeros((2, 4, 5, 3), np.float64), np.ones((2, 4, 5, 1)))
    assert floats.batched and floats.masks.shape == (2, 4, 5, 1) and floats.dtype == np.float64


@pytest.mark.parametrize(
    "mask_shape", [(6, 7), (6, 7, 1), (2, 6, 7), (2, 6, 7, 1), (1, 6, 7, 1)]
)
def test_mask_layouts(mask_shape):
    batch = prepare_batch(np.zeros((2, 6, 7, 3), np.uint8), np.ones(mask_shape, np.uint8))
    assert batch.masks.shape == (2, 6, 7, 1)


def test_uint8_255_masks_are_accepted():
    batch = prepare_batch(np.zeros((3, 3, 3), np.uint8), np.full((3, 3), 255, np.uint8))
    assert batch.masks.min() == 1.0


@pytest.mark.parametrize(
    "images, masks, message",
    [
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4)), "rank 2"),
        (np.zeros((1, 1, 4, 4, 3), np.uint8), np.zeros((4, 4)), "rank 5"),
        (np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4)), "3 channels"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5)), "image and mask sizes differ"),
        (np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 0.5), "masks must be binary"),
        (np.zeros((4, 4, 3), np.float32) + 2.0, np.zeros((4, 4)), r"float images must be in \[0, 1\]"),
        (np.full((4, 4, 3), np.nan, np.float32), np.zeros((4, 4)), "NaN"),
        (np.zeros((4, 4, 3), np.int32), np.zeros((4, 4)), "dtype int32"),
        (np.zeros((3, 4, 4, 3), np.uint8), np.zeros((2, 4, 4)), "3 images but 2 masks"),
    ],
)
def test_bad_inputs_name_the_problem(images, masks, message):
    with pytest.raises(InpaintInputError, match=message):
        prepare_batch(images, masks)


def test_reflect_padding_and_crop():
    array = np.arange(2 * 5 * 3, dtype=np.float32).reshape(1, 5, 3, 2)
    padded, (h, w) = pad_to_multiple(array, 4)
    assert padded.shape == (1, 8, 4, 2) and (h, w) == (5, 3)
    np.testing.assert_array_equal(padded[:, :5, :3], array)
    np.testing.assert_array_equal(padded[:, 5, :3], array[:, 3])  # reflection without edge repeat
    tiny, _ = pad_to_multiple(np.ones((1, 1, 1, 3)), 8)
    assert tiny.shape == (1, 8, 8, 3)


def test_restore_output_keeps_known_pixels_bitwise():
    image = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    mask = np.zeros((5, 6), np.uint8)
    mask[1:3, 2:4] = 1
    batch = prepare_batch(image, mask)
    result = restore_output(np.full((1, 5, 6, 3), 0.5, np.float32), batch)
    assert result.dtype == np.uint8 and result.shape == image.shape
    np.testing.assert_array_equal(result[mask == 0], image[mask == 0])
    assert np.all(result[mask == 1] == 128)

"""Behaviour at the edges: degenerate masks and sizes, and faults while saving."""

import errno
import os

import numpy as np
import pytest

from keras_inpaint import Inpainter
from keras_inpaint.training import save_preset_atomically


@pytest.fixture(scope="module")
def model():
    return Inpainter.from_preset("lama_tiny")


def test_empty_mask_returns_the_image_untouched(model, sample_photo):
    out = model.inpaint(sample_photo, np.zeros(sample_photo.shape[:2], bool))
    np.testing.assert_array_equal(out, sample_photo)


def test_full_mask_fills_everything_in_range(model, sample_photo):
    photo = sample_photo[:40, :56]
    out = model.inpaint(photo.astype(np.float32) / 255.0, np.ones(photo.shape[:2], np.uint8))
    assert out.shape == photo.shape and out.dtype == np.float32
    assert np.all((out >= 0) & (out <= 1)) and np.all(np.isfinite(out))


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 2)])
def test_tiny_images(model, shape):
    image = np.full(shape + (3,), 200, np.uint8)
    mask = np.zeros(shape, np.uint8)
    mask[0, 0] = 1
    out = model.inpaint(image, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])


@pytest.mark.slow
def test_4000x3000_photo(model, sample_photo):
    image = np.tile(sample_photo, (10, 9, 1))[:3000, :4000]
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[1000:1400, 2000:2600] = 1
    out = model.inpaint(image, mask)
    assert out.shape == image.shape
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])


def test_disk_full_while_saving_keeps_the_previous_preset(model, tmp_path, monkeypatch, sample_photo):
    target = str(tmp_path / "preset")
    save_preset_atomically(model, target)
    before = sorted(os.listdir(target))
    weights_before = open(os.path.join(target, "model.weights.h5"), "rb").read()

    def full_disk(path, *args, **kwargs):
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "model.weights.h5"), "wb") as f:
            f.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model, "save_to_preset", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_preset_atomically(model, target)
    assert sorted(os.listdir(target)) == before
    assert open(os.path.join(target, "model.weights.h5"), "rb").read() == weights_before
    mask = np.zeros(sample_photo.shape[:2], np.uint8)
    mask[5:20, 5:30] = 1
    np.testing.assert_array_equal(Inpainter.from_preset(target).inpaint(sample_photo, mask), model.inpaint(sample_photo, mask))

"""Checks every model family must pass (in the spirit of keras-hub's ``run_backbone_test``)."""

from __future__ import annotations

import numpy as np
import keras

from keras_inpaint import InpaintingGAN, Inpainter, count_parameters
from keras_inpaint.masks import random_masks
from keras_inpaint.models.inpainting_gan import discriminate
from tests.conftest import stripe_images


def check_config_round_trip(generator):
    clone = type(generator).from_config(generator.get_config())
    assert clone.get_config() == generator.get_config()
    assert count_parameters(clone) == count_parameters(generator)


def check_output_shapes(generator, sizes):
    """Output is (N, H, W, 3) float32 in [-1, 1] for each (H, W), square or not."""
    for h, w in sizes:
        x = np.random.default_rng(0).uniform(-1, 1, (2, h, w, 4)).astype("float32")
        y = np.asarray(generator(x, training=False))
        assert y.shape == (2, h, w, 3), (h, w, y.shape)
        assert y.dtype == np.float32 and np.all(np.abs(y) <= 1.0 + 1e-6) and np.all(np.isfinite(y))


def check_known_pixels_preserved(inpainter, photo):
    """uint8 photo of any size: known pixels come back to the bit; the hole is filled."""
    h, w = photo.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    mask[h // 3 : h // 2, w // 4 : w // 2] = 1
    out = inpainter.inpaint(photo, mask)
    assert out.shape == photo.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[mask == 0], photo[mask == 0])
    floats = inpainter.inpaint(photo[None].astype(np.float32) / 255.0, mask[None])
    assert floats.shape == (1,) + photo.shape and floats.dtype == np.float32
    np.testing.assert_array_equal(floats[0][mask == 0], photo[mask == 0].astype(np.float32) / 255.0)


def check_save_load_identical(model: InpaintingGAN, tmp_path, photo):
    """save_to_preset -> from_preset gives identical outputs, as an Inpainter and as a GAN."""
    model.save_to_preset(str(tmp_path))
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[10:40, 20:60] = 1
    expected = model.inpaint(photo, mask)
    reloaded = Inpainter.from_preset(str(tmp_path))
    assert type(reloaded) is Inpainter
    np.testing.assert_array_equal(reloaded.inpaint(photo, mask), expected)
    gan = InpaintingGAN.from_preset(str(tmp_path))
    images = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    masks = np.zeros((2, 64, 64, 1), np.float32)
    masks[:, 16:40, 8:30] = 1.0
    a, _ = discriminate(model.discriminator, images, masks, training=False)
    b, _ = discriminate(gan.discriminator, images, masks, training=False)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert gan.get_config()["adversarial_loss"] == model.get_config()["adversarial_loss"]


def check_fit_reduces_loss(model: InpaintingGAN, size: int = 64, steps: int = 30, batch: int = 4):
    """30 adversarial steps on a learnable pattern reduce the L1 error in the hole.

    Compared: the mean hole L1 of the first and the last 10 training steps (training-mode
    BatchNorm; inference-mode statistics of a 30-step-old network still lag behind).
    """
    import tensorflow as tf

    images = stripe_images(8, size, seed=0)
    masks = random_masks(8, size, setting="medium", seed=0)
    dataset = tf.data.Dataset.from_tensor_slices((images, masks)).repeat().batch(batch)
    history = model.fit(dataset, steps_per_epoch=steps // 3, epochs=3, verbose=0)
    first, last = history.history["l1_hole"][0], history.history["l1_hole"][-1]
    assert np.isfinite(history.history["g_loss"][-1]) and np.isfinite(history.history["d_loss"][-1])
    assert last < 0.85 * first, (first, last)
    return first, last

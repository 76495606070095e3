"""The checks every model family passes, in the manner of keras-hub's ``TestCase``.

A family's test module subclasses :class:`FamilyTestCase` with a tiny configuration; pytest
then runs every ``test_*`` method below for it: config round trip, output shapes at two sizes
(one non-square), known pixels kept at an odd photo size, save/load identical as an
``Inpainter`` and as a GAN, a few ``fit`` steps reduce the hole L1, mixed precision and XLA.
"""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_inpaint import InpaintingGAN, Inpainter, count_parameters
from keras_inpaint.masks import random_masks
from keras_inpaint.models import registry
from keras_inpaint.models.inpainting_gan import LOSS_WEIGHTS, discriminate
from tests.conftest import stripe_images


def preset_training_kwargs(name: str) -> dict:
    """A built-in preset's loss settings (from its task.json), to train tiny models the same way."""
    with open(os.path.join(registry.preset_dir(name), "task.json"), encoding="utf-8") as f:
        config = json.load(f)["config"]
    return {k: config[k] for k in ("adversarial_loss", "mask_as_fake_target", *LOSS_WEIGHTS) if k in config}


def check_config_round_trip(generator):
    clone = type(generator).from_config(generator.get_config())
    assert clone.get_config() == generator.get_config()
    assert count_parameters(clone) == count_parameters(generator)


def check_fit_reduces_loss(model: InpaintingGAN, size: int = 64, steps: int = 30, reduction: float = 0.85):
    """A few adversarial steps on a learnable pattern reduce the L1 error in the hole.

    Compared: the mean hole L1 of the first and the last third of the steps (training-mode
    BatchNorm; inference-mode statistics of a 30-step-old network still lag behind).
    """
    images = stripe_images(8, size, seed=0)
    masks = random_masks(8, size, setting="medium", seed=0)
    dataset = tf.data.Dataset.from_tensor_slices((images, masks)).repeat().batch(4)
    history = model.fit(dataset, steps_per_epoch=steps // 3, epochs=3, verbose=0)
    first, last = history.history["l1_hole"][0], history.history["l1_hole"][-1]
    assert np.isfinite(history.history["g_loss"][-1]) and np.isfinite(history.history["d_loss"][-1])
    assert last < reduction * first, (first, last)


class FamilyTestCase:
    """Subclass as ``Test<Family>`` and set the class attributes; every method runs for it."""

    generator_cls: type
    init_kwargs: dict = {}
    discriminator_cls: type
    discriminator_kwargs: dict = {}
    recipe_preset: str | None = None  # train the tiny GAN with this preset's loss settings
    g_learning_rate: float | None = None  # None: the GAN's default optimizer
    sizes: tuple = ((32, 32), (48, 80))
    photo_size: tuple = (61, 83)  # an odd size: padding and cropping in inpaint
    fit_size: int = 64
    fit_steps: int = 30
    fit_reduction: float = 0.85  # the last third's hole L1 must be below this fraction of the first's
    # Contextual attention is nearly an argmax at random init: rounding switches the patch it
    # pastes, so DeepFill is only checked for finite, in-range output under bf16/fp16 and XLA.
    exact_under_rounding: bool = True

    # ------------------------------------------------------------------ builders
    def generator(self):
        return self.generator_cls(**self.init_kwargs)

    def gan(self) -> InpaintingGAN:
        kwargs = preset_training_kwargs(self.recipe_preset) if self.recipe_preset else {}
        model = InpaintingGAN(self.generator(), self.discriminator_cls(**self.discriminator_kwargs), seed=0, **kwargs)
        optimizer = "auto" if self.g_learning_rate is None else keras.optimizers.Adam(self.g_learning_rate)
        model.compile(g_optimizer=optimizer, jit_compile=False)
        return model

    # --------------------------------------------------------------------- checks
    def test_config_round_trip(self):
        check_config_round_trip(self.generator())

    def test_output_shapes_square_and_non_square(self):
        """Output is (N, H, W, 3) float32 in [-1, 1] for each (H, W)."""
        generator = self.generator()
        for h, w in self.sizes:
            x = np.random.default_rng(0).uniform(-1, 1, (2, h, w, 4)).astype("float32")
            y = np.asarray(generator(x, training=False))
            assert y.shape == (2, h, w, 3), (h, w, y.shape)
            assert y.dtype == np.float32 and np.all(np.abs(y) <= 1.0 + 1e-6) and np.all(np.isfinite(y))

    def test_known_pixels_preserved_on_any_size(self, sample_photo):
        """uint8 and float photos of an odd size: known pixels come back to the bit."""
        photo = sample_photo[: self.photo_size[0], : self.photo_size[1]]
        inpainter = self.gan()
        h, w = photo.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        mask[h // 3 : h // 2, w // 4 : w // 2] = 1
        out = inpainter.inpaint(photo, mask)
        assert out.shape == photo.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[mask == 0], photo[mask == 0])
        floats = inpainter.inpaint(photo[None].astype(np.float32) / 255.0, mask[None])
        assert floats.shape == (1,) + photo.shape and floats.dtype == np.float32
        np.testing.assert_array_equal(floats[0][mask == 0], photo[mask == 0].astype(np.float32) / 255.0)

    def test_save_load_identical(self, tmp_path, sample_photo):
        """save_to_preset -> from_preset gives identical outputs, as an Inpainter and as a GAN."""
        model = self.gan()
        photo = sample_photo[:64, :96]
        model.save_to_preset(str(tmp_path))
        mask = np.zeros(photo.shape[:2], np.uint8)
        mask[10:40, 20:60] = 1
        expected = model.inpaint(photo, mask)
        reloaded = Inpainter.from_preset(str(tmp_path))
        assert type(reloaded) is Inpainter
        np.testing.assert_array_equal(reloaded.inpaint(photo, mask), expected)
        gan = InpaintingGAN.from_preset(str(tmp_path))
        images = np.random.default_rng(1).uniform(-1, 1, (4, 64, 64, 3)).astype("float32")
        masks = np.zeros((4, 64, 64, 1), np.float32)
        masks[:, 16:40, 8:30] = 1.0
        a, _ = discriminate(model.discriminator, images, masks, training=False)
        b, _ = discriminate(gan.discriminator, images, masks, training=False)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert gan.get_config()["adversarial_loss"] == model.get_config()["adversarial_loss"]

    def test_fit_reduces_hole_l1(self):
        check_fit_reduces_loss(self.gan(), self.fit_size, self.fit_steps, self.fit_reduction)

    @pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
    def test_mixed_precision_forward(self, policy):
        x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 48, 4)).astype(np.float32)
        reference = self.generator()
        keras.mixed_precision.set_global_policy(policy)
        try:
            mixed = self.generator()
            mixed.set_weights(reference.get_weights())
            out = np.asarray(mixed(x, training=False))
        finally:
            keras.mixed_precision.set_global_policy("float32")
        assert out.dtype == np.float32 and out.shape == (1, 32, 48, 3) and np.all(np.isfinite(out))
        assert np.all(np.abs(out) <= 1.0)
        if self.exact_under_rounding:
            np.testing.assert_allclose(out, np.asarray(reference(x, training=False)), atol=0.1)

    def test_xla_matches_eager(self):
        generator = self.generator()
        x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 64, 4)).astype(np.float32)
        out = np.asarray(tf.function(lambda t: generator(t, training=False), jit_compile=True)(x))
        assert out.shape == (2, 32, 64, 3) and np.all(np.isfinite(out)) and np.all(np.abs(out) <= 1.0)
        if self.exact_under_rounding:
            np.testing.assert_allclose(out, np.asarray(generator(x, training=False)), atol=1e-4)

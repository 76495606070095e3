import keras
import pytest

from keras_inpaint import InpaintingGAN, MiganDiscriminator, MiganGenerator, count_parameters
from keras_inpaint.models.migan.migan_presets import MIGAN_GAN
from tests.models import family_checks


def tiny_generator():
    return MiganGenerator(resolution=64, channel_base=1024, max_channels=64)


@pytest.fixture
def tiny_gan():
    discriminator = MiganDiscriminator(resolution=64, channel_base=512, max_channels=32)
    model = InpaintingGAN(tiny_generator(), discriminator, seed=0, **MIGAN_GAN)
    # MI-GAN's linear RGB skip outputs start near 0 and learn slowly: a larger learning rate
    # lets 45 steps show the fall.
    model.compile(g_optimizer=keras.optimizers.Adam(3e-3), jit_compile=False)
    return model


@pytest.mark.parametrize("resolution", [256, 512])
def test_full_size_parameter_counts(resolution):
    # Reference: about 5.9M at 256 and at 512.
    assert abs(count_parameters(MiganGenerator(resolution=resolution)) / 5.9e6 - 1) < 0.03


def test_config_round_trip():
    family_checks.check_config_round_trip(tiny_generator())


def test_output_shapes_square_and_non_square():
    family_checks.check_output_shapes(tiny_generator(), [(32, 32), (48, 80)])


def test_inference_is_deterministic_despite_noise_injection():
    import numpy as np

    generator = tiny_generator()
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 64, 4)).astype("float32")
    np.testing.assert_array_equal(np.asarray(generator(x, training=False)), np.asarray(generator(x, training=False)))


def test_known_pixels_preserved_on_any_size(tiny_gan, sample_photo):
    family_checks.check_known_pixels_preserved(tiny_gan, sample_photo[:45, :70])


def test_save_load_identical(tiny_gan, tmp_path, sample_photo):
    family_checks.check_save_load_identical(tiny_gan, tmp_path, sample_photo[:64, :96])


def test_fit_reduces_hole_l1(tiny_gan):
    family_checks.check_fit_reduces_loss(tiny_gan, steps=45)

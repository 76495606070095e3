import numpy as np
import pytest

from keras_inpaint import InpaintingGAN, PatchGANDiscriminator, Pix2PixGenerator, count_parameters
from tests.models import family_checks


@pytest.fixture
def tiny_gan():
    generator = Pix2PixGenerator(num_downsamplings=4, base_filters=8, max_filters=32, dropout=0.0)
    discriminator = PatchGANDiscriminator(base_filters=8, num_layers=2)
    model = InpaintingGAN(generator, discriminator, feature_matching_weight=0.0, r1_gamma=0.0,
                          l1_hole_weight=100.0, l1_valid_weight=100.0, adversarial_weight=1.0, seed=0)
    model.compile(jit_compile=False)
    return model


def test_full_size_parameter_counts():
    # The reference unet_256 (BatchNorm, 3 input channels) counted layer by layer:
    # encoder convs 19,532,800 + encoder BN 4,864 + decoder convs 34,871,299 + decoder BN 4,992
    # = 54,413,955 (the "54.41M" of the zoo table). Our 4th (mask) input channel adds 4*4*64 = 1,024.
    generator_count = count_parameters(Pix2PixGenerator())
    assert generator_count == 54_413_955 + 1_024
    assert abs(generator_count / 54.41e6 - 1) < 0.03
    # The 70x70 PatchGAN judging 3-channel images; pix2pix's conditional D sees 6 channels (+3,072).
    discriminator_count = count_parameters(PatchGANDiscriminator())
    assert count_parameters(PatchGANDiscriminator(input_channels=6)) == discriminator_count + 3 * 4 * 4 * 64
    assert abs(discriminator_count / 2.77e6 - 1) < 0.03


def test_receptive_field_70x70_patch_grid():
    logits, features = PatchGANDiscriminator()(np.zeros((1, 256, 256, 3), np.float32))
    assert logits.shape == (1, 30, 30, 1) and len(features) == 4


def test_config_round_trip():
    family_checks.check_config_round_trip(Pix2PixGenerator(num_downsamplings=4, base_filters=8))


def test_output_shapes_square_and_non_square():
    family_checks.check_output_shapes(Pix2PixGenerator(num_downsamplings=3, base_filters=8), [(32, 32), (48, 80)])


def test_known_pixels_preserved_on_any_size(tiny_gan, sample_photo):
    family_checks.check_known_pixels_preserved(tiny_gan, sample_photo[:61, :83])


def test_save_load_identical(tiny_gan, tmp_path, sample_photo):
    family_checks.check_save_load_identical(tiny_gan, tmp_path, sample_photo[:64, :96])


def test_fit_reduces_hole_l1(tiny_gan):
    family_checks.check_fit_reduces_loss(tiny_gan)


def test_three_channel_variant_ignores_the_mask_and_round_trips(tmp_path):
    # input_channels=3 is the official checkpoints' U-Net: it still takes the zoo's 4-channel
    # input and drops the mask channel before the first conv.
    import keras

    generator = Pix2PixGenerator(num_downsamplings=3, base_filters=8, input_channels=3)
    assert count_parameters(generator) == count_parameters(Pix2PixGenerator(num_downsamplings=3, base_filters=8)) - 4 * 4 * 8
    family_checks.check_config_round_trip(generator)
    family_checks.check_output_shapes(generator, [(16, 24)])
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 4)).astype("float32")
    y = x.copy()
    y[..., 3] = 1.0 - y[..., 3]
    np.testing.assert_array_equal(np.asarray(generator(x)), np.asarray(generator(y)))
    generator.save(tmp_path / "g.keras")
    reloaded = keras.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_array_equal(np.asarray(reloaded(x)), np.asarray(generator(x)))

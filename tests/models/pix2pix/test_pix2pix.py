import numpy as np
import pytest

from keras_inpaint import InpaintingGAN, PatchGANDiscriminator, Pix2PixGenerator, count_parameters
from tests.models.family_test_case import FamilyTestCase, check_config_round_trip


class TestPix2PixFamily(FamilyTestCase):
    generator_cls = Pix2PixGenerator
    init_kwargs = {"num_downsamplings": 4, "base_filters": 8, "max_filters": 32, "dropout": 0.0}
    discriminator_cls = PatchGANDiscriminator
    discriminator_kwargs = {"base_filters": 8, "num_layers": 2}
    recipe_preset = "pix2pix_tiny"



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







def test_three_channel_variant_ignores_the_mask_and_round_trips(tmp_path):
    # input_channels=3 is the official checkpoints' U-Net: it still takes the zoo's 4-channel
    # input and drops the mask channel before the first conv.
    import keras

    generator = Pix2PixGenerator(num_downsamplings=3, base_filters=8, input_channels=3)
    assert count_parameters(generator) == count_parameters(Pix2PixGenerator(num_downsamplings=3, base_filters=8)) - 4 * 4 * 8
    check_config_round_trip(generator)
    assert np.asarray(generator(np.zeros((1, 16, 24, 4), np.float32))).shape == (1, 16, 24, 3)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 4)).astype("float32")
    y = x.copy()
    y[..., 3] = 1.0 - y[..., 3]
    np.testing.assert_array_equal(np.asarray(generator(x)), np.asarray(generator(y)))
    generator.save(tmp_path / "g.keras")
    reloaded = keras.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_array_equal(np.asarray(reloaded(x)), np.asarray(generator(x)))

import pytest

from keras_inpaint import DeepFillV2Generator, InpaintingGAN, SNPatchGANDiscriminator, count_parameters
from keras_inpaint.models.deepfill_v2.deepfill_v2_presets import DEEPFILL_GAN
from tests.models import family_checks


@pytest.fixture
def tiny_gan():
    model = InpaintingGAN(DeepFillV2Generator(base_filters=8), SNPatchGANDiscriminator(base_filters=8, num_layers=3),
                          seed=0, **DEEPFILL_GAN)
    model.compile(jit_compile=False)
    return model


def test_full_size_parameter_counts():
    # Reference (cnum 48): 4.05M generator, 5.95M SN-PatchGAN (ours: 5,946,816 on image + mask).
    assert abs(count_parameters(DeepFillV2Generator()) / 4.05e6 - 1) < 0.03
    assert count_parameters(SNPatchGANDiscriminator()) == 5_946_816


def test_discriminator_sees_the_mask_and_spectral_norm():
    d = SNPatchGANDiscriminator(base_filters=8, num_layers=3)
    assert d.inputs[0].shape[-1] == 4
    assert any("SpectralNormalization" in type(layer).__name__ for layer in d.layers)


def test_config_round_trip():
    family_checks.check_config_round_trip(DeepFillV2Generator(base_filters=4))


def test_output_shapes_square_and_non_square():
    family_checks.check_output_shapes(DeepFillV2Generator(base_filters=4), [(32, 32), (32, 56)])


def test_known_pixels_preserved_on_any_size(tiny_gan, sample_photo):
    family_checks.check_known_pixels_preserved(tiny_gan, sample_photo[:45, :70])


def test_save_load_identical(tiny_gan, tmp_path, sample_photo):
    family_checks.check_save_load_identical(tiny_gan, tmp_path, sample_photo[:64, :96])


def test_fit_reduces_hole_l1(tiny_gan):
    family_checks.check_fit_reduces_loss(tiny_gan, size=64)

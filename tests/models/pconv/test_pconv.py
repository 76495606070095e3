import pytest

from keras_inpaint import InpaintingGAN, PatchGANDiscriminator, PConvGenerator, count_parameters
from keras_inpaint.models.pconv.pconv_presets import PCONV_GAN
from tests.models import family_checks


@pytest.fixture
def tiny_gan():
    generator = PConvGenerator(num_levels=3, base_filters=8, max_filters=32)
    model = InpaintingGAN(generator, PatchGANDiscriminator(base_filters=8), seed=0, **PCONV_GAN)
    model.compile(jit_compile=False)
    return model


def test_full_size_parameter_count():
    # Reference: about 32.9M at 512 with 8 levels.
    assert abs(count_parameters(PConvGenerator()) / 32.9e6 - 1) < 0.03


def test_config_round_trip():
    family_checks.check_config_round_trip(PConvGenerator(num_levels=3, base_filters=8))


def test_output_shapes_square_and_non_square():
    family_checks.check_output_shapes(PConvGenerator(num_levels=3, base_filters=8), [(32, 32), (24, 48)])


def test_known_pixels_preserved_on_any_size(tiny_gan, sample_photo):
    family_checks.check_known_pixels_preserved(tiny_gan, sample_photo[:45, :70])


def test_save_load_identical(tiny_gan, tmp_path, sample_photo):
    family_checks.check_save_load_identical(tiny_gan, tmp_path, sample_photo[:64, :96])


def test_fit_reduces_hole_l1(tiny_gan):
    family_checks.check_fit_reduces_loss(tiny_gan)

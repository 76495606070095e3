import pytest

from keras_inpaint import InpaintingGAN, PatchGANDiscriminator, PConvGenerator, count_parameters
from tests.models.family_test_case import FamilyTestCase


class TestPConvFamily(FamilyTestCase):
    generator_cls = PConvGenerator
    init_kwargs = {"num_levels": 3, "base_filters": 8, "max_filters": 32}
    discriminator_cls = PatchGANDiscriminator
    discriminator_kwargs = {"base_filters": 8}
    recipe_preset = "pconv_tiny"
    sizes = ((32, 32), (24, 48))
    photo_size = (45, 70)



def test_full_size_parameter_count():
    # Reference: about 32.9M at 512 with 8 levels.
    assert abs(count_parameters(PConvGenerator()) / 32.9e6 - 1) < 0.03





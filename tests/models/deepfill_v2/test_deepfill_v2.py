import warnings

import numpy as np
import pytest

from keras_inpaint import DeepFillV2Generator, Inpainter, InpaintingGAN, SNPatchGANDiscriminator, count_parameters
from tests.models.family_test_case import FamilyTestCase


class TestDeepFillV2Family(FamilyTestCase):
    generator_cls = DeepFillV2Generator
    init_kwargs = {"base_filters": 8}
    discriminator_cls = SNPatchGANDiscriminator
    discriminator_kwargs = {"base_filters": 8, "num_layers": 3}
    recipe_preset = "deepfill_v2_tiny"
    sizes = ((32, 32), (32, 56))
    photo_size = (45, 70)
    exact_under_rounding = False



def test_full_size_parameter_counts():
    # Reference (cnum 48): 4,052,478 generator (networks_tf Generator), 5.95M SN-PatchGAN (ours: 5,946,816
    # on image + mask). The build takes under a second.
    assert count_parameters(DeepFillV2Generator()) == 4_052_478
    assert len(DeepFillV2Generator().weights) == 84
    assert count_parameters(SNPatchGANDiscriminator()) == 5_946_816


def test_presets_build_and_refuse_three_channel_gates():
    for name in ("deepfill_v2_256", "deepfill_v2_tiny"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random weights
            gan = InpaintingGAN.from_preset(name)
        assert isinstance(gan.generator, DeepFillV2Generator)
        assert isinstance(gan.discriminator, SNPatchGANDiscriminator)
    with pytest.raises(ValueError, match="base_filters // 2 != 3"):
        DeepFillV2Generator(base_filters=6)


def test_stages_model_shares_weights_and_output():
    generator = DeepFillV2Generator(base_filters=4)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 48, 4)).astype("float32")
    x[..., 3] = 0.0
    x[:, 8:20, 16:30, 3] = 1.0
    x[..., :3] *= 1.0 - x[..., 3:]
    out = {k: np.asarray(v) for k, v in generator.stages_model()(x).items()}
    assert out["stage1"].shape == out["stage2"].shape == (1, 32, 48, 3)
    assert out["ca_input"].shape == out["ca_output"].shape == (1, 8, 12, 16)
    np.testing.assert_array_equal(out["stage2"], np.asarray(generator(x, training=False)))


def test_discriminator_sees_the_mask_and_spectral_norm():
    d = SNPatchGANDiscriminator(base_filters=8, num_layers=3)
    assert d.inputs[0].shape[-1] == 4
    assert any("SpectralNormalization" in type(layer).__name__ for layer in d.layers)





import numpy as np
import pytest

from keras_inpaint import DeepFillV2Generator, InpaintingGAN, SNPatchGANDiscriminator, count_parameters
from keras_inpaint.models.deepfill_v2.deepfill_v2_presets import DEEPFILL_GAN, PRESETS
from tests.models import family_checks


@pytest.fixture
def tiny_gan():
    model = InpaintingGAN(DeepFillV2Generator(base_filters=8), SNPatchGANDiscriminator(base_filters=8, num_layers=3),
                          seed=0, **DEEPFILL_GAN)
    model.compile(jit_compile=False)
    return model


def test_full_size_parameter_counts():
    # Reference (cnum 48): 4,052,478 generator (networks_tf Generator), 5.95M SN-PatchGAN (ours: 5,946,816
    # on image + mask). The build takes under a second.
    assert count_parameters(DeepFillV2Generator()) == 4_052_478
    assert len(DeepFillV2Generator().weights) == 84
    assert count_parameters(SNPatchGANDiscriminator()) == 5_946_816


def test_presets_build_and_refuse_three_channel_gates():
    for name in ("deepfill_v2_256", "deepfill_v2_tiny"):
        generator_spec, discriminator_spec = PRESETS[name]["generator"], PRESETS[name]["discriminator"]
        assert isinstance(DeepFillV2Generator(**generator_spec[1]), DeepFillV2Generator)
        assert isinstance(SNPatchGANDiscriminator(**discriminator_spec[1]), SNPatchGANDiscriminator)
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

import keras
import numpy as np
import pytest

from keras_inpaint import InpaintingGAN, LamaDiscriminator, LamaGenerator, count_parameters
from tests.models.family_test_case import FamilyTestCase, check_config_round_trip, check_fit_reduces_loss

# The checkpoint converter and the official-output parity tests are in test_lama_convert.py.


class TestLamaFamily(FamilyTestCase):
    generator_cls = LamaGenerator
    init_kwargs = {"base_filters": 8, "num_blocks": 1}
    discriminator_cls = LamaDiscriminator
    discriminator_kwargs = {"base_filters": 8, "num_layers": 2}
    sizes = ((32, 32), (40, 72))








@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_the_fft_in_float32(policy):
    generator32 = LamaGenerator(base_filters=8, num_blocks=1)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 48, 4)).astype("float32")
    keras.mixed_precision.set_global_policy(policy)
    try:
        mixed = LamaGenerator(base_filters=8, num_blocks=1)
        mixed.set_weights(generator32.get_weights())
        fu = [l for l in mixed.layers if "convg2g" in l.name][0].fu
        assert fu.conv_layer.dtype_policy.name == "float32"
        out = np.asarray(mixed(x, training=False))
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, np.asarray(generator32(x, training=False)), atol=0.05)
    finally:
        keras.mixed_precision.set_global_policy("float32")



def test_edge_refiner_starts_as_plain_lama_and_then_learns():
    """refine_filters adds a zero-initialised full-resolution head: LaMa's outputs until trained."""
    keras.utils.set_random_seed(0)
    plain = LamaGenerator(base_filters=8, num_blocks=1)
    refined = LamaGenerator(base_filters=8, num_blocks=1, refine_filters=8)
    refiner_layers = [layer.name for layer in refined.layers if layer.name.startswith("refine.") and layer.weights]
    assert refiner_layers == ["refine.0", "refine.1", "refine.2", "refine.3"]
    for layer in plain.layers:
        if layer.weights:
            refined.get_layer(layer.name).set_weights(layer.get_weights())
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, 40, 72, 4)).astype("float32")
    inputs[..., 3:] = inputs[..., 3:] > 0.3
    np.testing.assert_array_equal(np.asarray(plain(inputs)), np.asarray(refined(inputs)))
    check_config_round_trip(refined)
    assert count_parameters(refined) - count_parameters(plain) == (7 * 9 + 1) * 8 + 2 * (8 * 9 + 1) * 8 + (8 * 9 + 1) * 3

    model = InpaintingGAN(refined, LamaDiscriminator(base_filters=8, num_layers=2), seed=0)
    model.compile(jit_compile=False)
    check_fit_reduces_loss(model)
    assert np.abs(refined.get_layer("refine.3").get_weights()[0]).max() > 0, "the refiner's last conv never moved"

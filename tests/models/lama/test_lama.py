import keras
import numpy as np
import pytest

from keras_inpaint import InpaintingGAN, LamaDiscriminator, LamaGenerator, count_parameters
from tests.models import family_checks

# The checkpoint converter and the official-output parity tests are in test_lama_convert.py.


@pytest.fixture
def tiny_gan():
    generator = LamaGenerator(base_filters=8, num_blocks=1)
    model = InpaintingGAN(generator, LamaDiscriminator(base_filters=8, num_layers=2), seed=0)
    model.compile(jit_compile=False)
    return model


def test_config_round_trip():
    family_checks.check_config_round_trip(LamaGenerator(base_filters=8, num_blocks=1))


def test_output_shapes_square_and_non_square():
    family_checks.check_output_shapes(LamaGenerator(base_filters=8, num_blocks=1), [(32, 32), (40, 72)])


def test_known_pixels_preserved_on_any_size(tiny_gan, sample_photo):
    family_checks.check_known_pixels_preserved(tiny_gan, sample_photo[:61, :83])


def test_save_load_identical(tiny_gan, tmp_path, sample_photo):
    family_checks.check_save_load_identical(tiny_gan, tmp_path, sample_photo[:64, :96])


def test_fit_reduces_hole_l1(tiny_gan):
    family_checks.check_fit_reduces_loss(tiny_gan)


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


def test_xla_compiled_generator_matches_eager():
    generator = LamaGenerator(base_filters=8, num_blocks=1)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 40, 4)).astype("float32")
    import tensorflow as tf

    compiled = tf.function(lambda t: generator(t, training=False), jit_compile=True)
    np.testing.assert_allclose(np.asarray(compiled(x)), np.asarray(generator(x, training=False)), atol=1e-5)


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
    family_checks.check_config_round_trip(refined)
    assert count_parameters(refined) - count_parameters(plain) == (7 * 9 + 1) * 8 + 2 * (8 * 9 + 1) * 8 + (8 * 9 + 1) * 3

    model = InpaintingGAN(refined, LamaDiscriminator(base_filters=8, num_layers=2), seed=0)
    model.compile(jit_compile=False)
    family_checks.check_fit_reduces_loss(model)
    assert np.abs(refined.get_layer("refine.3").get_weights()[0]).max() > 0, "the refiner's last conv never moved"

"""MI-GAN checkpoint conversion against the official reference outputs (shared/fixtures/migan_reference).

The fixture holds the state dict of MI-GAN's inference Generator (the released checkpoints' layout,
two resolution levels fewer) and of its training Discriminator, with the outputs the official
PyTorch code computed from them (see the fixture's README.md). Measured on a CPU (TF 2.21, float32):
generator output 3.6e-7 max abs difference, intermediates <= 4.3e-6 (enc_feat_16), the clamping
input 3.3e-6 (outputs up to 7.2), discriminator logits 2.4e-7.
"""

import os

import numpy as np
import pytest

from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.migan import convert
from keras_inpaint.models.migan.migan_generator import MiganGenerator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "migan_reference")
TOLERANCE = 1e-4

needs_fixtures = pytest.mark.skipif(
    not os.path.exists(os.path.join(FIXTURES, "io.npz")),
    reason=f"MI-GAN reference fixtures not found at {os.path.normpath(FIXTURES)}",
)


def _load(name):
    with np.load(os.path.join(FIXTURES, name)) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module")
def generator_state():
    return _load("weights.npz")


@pytest.fixture(scope="module")
def discriminator_state():
    return _load("discriminator_weights.npz")


@pytest.fixture(scope="module")
def io():
    return _load("io.npz")


def nhwc(a):
    return np.transpose(a, (0, 2, 3, 1))


def ours_from_official(official):
    """MI-GAN's (N,4,H,W) [mask - 0.5, image*mask] (mask 1 = known) -> our (N,H,W,4) [image*(1-hole), hole]."""
    return np.concatenate([nhwc(official[:, 1:]), nhwc(0.5 - official[:, :1])], axis=-1)


@needs_fixtures
def test_input_conversion_is_ours(io):
    # Our convention on the fixture's image and mask gives exactly the fixture's official input back.
    hole = 1.0 - nhwc(io["mask"])
    ours = np.concatenate([nhwc(io["image"]) * (1.0 - hole), hole], axis=-1)
    np.testing.assert_array_equal(ours, ours_from_official(io["input"]))


@needs_fixtures
def test_matches_and_is_discriminator(generator_state, discriminator_state):
    assert convert.matches(generator_state) and not convert.is_discriminator(generator_state)
    assert convert.is_discriminator(discriminator_state) and not convert.matches(discriminator_state)
    assert convert.FAMILY == "migan" and convert.SOURCE["license"] == "MIT" and convert.SOURCE["hub_license"] == "mit"
    assert {"model_input", "model_output", "mask_reading", "demo", "pipeline"} <= set(convert.INFERENCE)


@needs_fixtures
def test_converted_generator_reproduces_official_outputs_and_intermediates(generator_state, io):
    import keras

    generator = convert.convert_generator(generator_state)
    assert isinstance(generator, MiganGenerator)
    assert convert.generator_config(generator_state) == {
        "resolution": 64, "channel_base": 512, "max_channels": 32, "layout": "official"}
    # MI-GAN's 22,679 parameters (FIR taps included) + 10,880 noise_const buffer values.
    assert generator.count_params() == 22679 + 2 * (8 * 8 + 16 * 16 + 32 * 32 + 64 * 64)
    x = ours_from_official(io["input"])
    np.testing.assert_allclose(np.asarray(generator(x, training=False)), nhwc(io["output"]), atol=TOLERANCE, rtol=0)

    taps = {f"enc_feat_{r}": f"encoder.b{r}.conv1" for r in (64, 32, 16, 8, 4)}
    taps["enc_x"] = "encoder.b4.conv2"
    taps["synth_img_4"] = "synthesis.b4.torgb"
    taps.update({f"synth_img_{r}": f"synthesis.b{r}.rgb" for r in (8, 16, 32, 64)})
    probe = keras.Model(generator.input, [generator.get_layer(layer).output for layer in taps.values()])
    for key, value in zip(taps, probe(x)):
        np.testing.assert_allclose(np.asarray(value), nhwc(io[key]), atol=TOLERANCE, rtol=0, err_msg=key)


@needs_fixtures
def test_converted_generator_clamps_like_the_official_one(generator_state, io):
    generator = convert.convert_generator(generator_state)
    # Raw (training-mode) output: MI-GAN's output is linear; at inference ours is clipped to [-1, 1].
    raw = np.asarray(generator(ours_from_official(io["input_clamp"]), training=True))
    np.testing.assert_allclose(raw, nhwc(io["output_clamp"]), atol=TOLERANCE, rtol=0)
    clipped = np.asarray(generator(ours_from_official(io["input_clamp"]), training=False))
    np.testing.assert_allclose(clipped, np.clip(nhwc(io["output_clamp"]), -1, 1), atol=TOLERANCE, rtol=0)


@needs_fixtures
def test_converted_discriminator_reproduces_official_logits(discriminator_state, io):
    discriminator = convert.convert_discriminator(discriminator_state)
    assert convert.discriminator_config(discriminator_state) == {
        "resolution": 64, "channel_base": 512, "max_channels": 32, "layout": "official", "num_reparam_tensors": 9}
    assert discriminator.count_params() == 113083  # the official count (resample_filter buffers hard-coded)
    d_input = io["d_input"]  # [mask - 0.5, image], mask 1 = known
    ours = np.concatenate([nhwc(d_input[:, 1:]), nhwc(0.5 - d_input[:, :1])], axis=-1)
    logits, features = discriminator(ours)
    assert np.asarray(logits).shape == (4, 1, 1, 1) and len(features) == 4
    np.testing.assert_allclose(np.asarray(logits).reshape(4, 1), io["d_output"], atol=TOLERANCE, rtol=0)


@needs_fixtures
def test_converted_generator_round_trips_through_its_config(generator_state, io, tmp_path):
    generator = convert.convert_generator(generator_state)
    clone = MiganGenerator.from_config(generator.get_config())
    path = str(tmp_path / "migan.weights.h5")
    generator.save_weights(path)
    clone.load_weights(path)
    x = ours_from_official(io["input"])
    np.testing.assert_array_equal(np.asarray(clone(x, training=False)), np.asarray(generator(x, training=False)))


# --- bad input --------------------------------------------------------------------------------------------------


def _raises(function, state, *fragments):
    with pytest.raises(CheckpointError) as info:
        function(state)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_another_familys_state_dict_is_refused():
    lama = {"model.1.ffc.convl2l.weight": np.zeros((64, 4, 7, 7), np.float32),
            "model.1.bn_l.weight": np.zeros((64,), np.float32)}
    assert not convert.matches(lama) and not convert.is_discriminator(lama)
    _raises(convert.convert_generator, lama, "not an MI-GAN generator", "model.1.ffc.convl2l.weight")
    _raises(convert.convert_discriminator, lama, "not an MI-GAN discriminator", "model.1.bn_l.weight")


@needs_fixtures
def test_generator_and_discriminator_dicts_are_not_swapped(generator_state, discriminator_state):
    _raises(convert.convert_generator, discriminator_state, "convert_discriminator")
    _raises(convert.convert_discriminator, generator_state, "convert_generator")


@needs_fixtures
@pytest.mark.parametrize("key", ["synthesis.b32.conv2.noise_const", "encoder.b16.conv2.downsample.filter.weight",
                                 "synthesis.b64.torgb.bias"])
def test_missing_generator_tensor_is_named(generator_state, key):
    state = {k: v for k, v in generator_state.items() if k != key}
    _raises(convert.convert_generator, state, "missing", key)


@needs_fixtures
def test_extra_generator_tensor_is_named(generator_state):
    state = {**generator_state, "synthesis.b64.conv3.conv1.weight": np.zeros((8, 1, 3, 3), np.float32)}
    _raises(convert.convert_generator, state, "unexpected", "synthesis.b64.conv3.conv1.weight")


@needs_fixtures
def test_wrongly_shaped_generator_tensor_is_named(generator_state):
    state = {**generator_state, "synthesis.b16.conv2.conv2.weight": np.zeros((32, 16, 1, 1), np.float32)}
    _raises(convert.convert_generator, state, "wrong shape", "synthesis.b16.conv2.conv2.weight", "(32, 32, 1, 1)")


@needs_fixtures
def test_inconsistent_widths_are_refused(generator_state):
    state = {**generator_state, "encoder.b32.conv1.conv1.weight": np.zeros((24, 1, 3, 3), np.float32)}
    _raises(convert.convert_generator, state, "channel widths")


@needs_fixtures
def test_unexpected_filter_const_is_refused(generator_state):
    key = "synthesis.b16.upsample.filter_const"
    state = {**generator_state, key: np.ones_like(generator_state[key])}
    _raises(convert.convert_generator, state, key)


@needs_fixtures
def test_discriminator_missing_extra_and_wrong_shape_are_named(discriminator_state):
    _raises(convert.convert_discriminator, {k: v for k, v in discriminator_state.items() if k != "b32.skip.w4"},
            "missing", "b32.skip.w4")
    _raises(convert.convert_discriminator, {**discriminator_state, "b4.fc.w1": np.zeros((32, 512), np.float32)},
            "unexpected", "b4.fc.w1")
    _raises(convert.convert_discriminator, {**discriminator_state, "b4.out.weight": np.zeros((2, 32), np.float32)},
            "wrong shape", "b4.out.weight")


@needs_fixtures
def test_summed_discriminator_gives_the_same_logits(discriminator_state, io):
    # num_reparam_tensors=1 holds the summed form (8,067,723 parameters at full size): same forward pass.
    from keras_inpaint.models.migan.migan_discriminator import MiganDiscriminator
    from keras_inpaint.models.migan.migan_layers import ReparamConv2D

    reparam = convert.convert_discriminator(discriminator_state)
    summed = MiganDiscriminator(resolution=64, channel_base=512, max_channels=32, layout="official",
                                num_reparam_tensors=1)
    for source, target in zip(reparam.layers, summed.layers):
        if isinstance(source, ReparamConv2D):
            target.tensors[0].assign(sum(np.asarray(t) for t in source.tensors))
            if source.bias is not None:
                target.bias.assign(source.bias)
        else:
            for a, b in zip(target.weights, source.weights):
                a.assign(b)
    d_input = io["d_input"]
    ours = np.concatenate([nhwc(d_input[:, 1:]), nhwc(0.5 - d_input[:, :1])], axis=-1)
    np.testing.assert_allclose(np.asarray(summed(ours)[0]).reshape(4, 1), io["d_output"], atol=TOLERANCE, rtol=0)

"""The converted official pix2pix networks reproduce the reference outputs of pytorch-CycleGAN-and-pix2pix.

Reference: ../shared/fixtures/pix2pix_reference (README.md there): unet_256 at ngf 4 and the
basic PatchGAN at ndf 8, random weights and BatchNorm statistics, outputs computed by the
official code in PyTorch. Measured on a CPU (TF 2.21): generator eval 2.0e-6, training-mode
BatchNorm 2.6e-6, discriminator 1.8e-6 max abs difference.
"""

import os

import numpy as np
import pytest

from keras_inpaint import PatchGANDiscriminator, Pix2PixGenerator, count_parameters
from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.pix2pix import convert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REFERENCE = os.path.join(ROOT, "..", "shared", "fixtures", "pix2pix_reference")
needs_reference = pytest.mark.skipif(
    not os.path.isfile(os.path.join(REFERENCE, "io.npz")),
    reason="../shared/fixtures/pix2pix_reference (official pix2pix outputs) is absent",
)
TOLERANCE = 1e-4


def _load(name):
    with np.load(os.path.join(REFERENCE, name)) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module")
def reference():
    return {
        "G": _load("weights.npz"),
        "D": _load("discriminator_weights.npz"),
        "io": {k: v.transpose(0, 2, 3, 1) for k, v in _load("io.npz").items()},  # NCHW -> NHWC
    }


def _generator_input(image):
    """The zoo's 4-channel input; a 3-channel U-Net drops the mask channel (zeros here)."""
    return np.concatenate([image, np.zeros_like(image[..., :1])], axis=-1)


# ---------------------------------------------------------------- parity with the reference


@needs_reference
def test_generator_eval_matches_reference(reference):
    generator = convert.convert_generator(reference["G"])
    assert generator.get_config()["input_channels"] == 3 and generator.get_config()["base_filters"] == 4
    assert generator.num_downsamplings == 8 and count_parameters(generator) == 213_675
    out = np.asarray(generator(_generator_input(reference["io"]["input"]), training=False))
    assert np.abs(out - reference["io"]["output"]).max() <= TOLERANCE  # measured 2.0e-6


@needs_reference
def test_generator_training_batchnorm_matches_reference(reference):
    # output_train_bn: BatchNorm in training mode (this image's own statistics), Dropout off.
    # Dropout has no weights, so the same state dict converts into a dropout-free U-Net, and
    # Keras's training-mode BatchNorm normalises with the batch mean and biased variance,
    # as PyTorch does.
    generator = convert.convert_generator(reference["G"], dropout=0.0)
    assert not any("dropout" in layer.name for layer in generator.layers)
    out = np.asarray(generator(_generator_input(reference["io"]["input"]), training=True))
    assert np.abs(out - reference["io"]["output_train_bn"]).max() <= TOLERANCE  # measured 2.6e-6


@needs_reference
def test_discriminator_matches_reference(reference):
    discriminator = convert.convert_discriminator(reference["D"])
    assert discriminator.input_channels == 6 and discriminator.base_filters == 8
    assert count_parameters(discriminator) == 45_033
    io = reference["io"]
    logits, features = discriminator(np.concatenate([io["input"], io["output"]], axis=-1), training=False)
    assert logits.shape == (1, 30, 30, 1) and len(features) == 4
    assert np.abs(np.asarray(logits) - io["d_output"]).max() <= TOLERANCE  # measured 1.8e-6


@needs_reference
def test_mask_channel_is_ignored_by_a_three_channel_generator(reference):
    generator = convert.convert_generator(reference["G"])
    x = _generator_input(reference["io"]["input"])
    y = x.copy()
    y[..., 3] = 1.0
    np.testing.assert_array_equal(np.asarray(generator(x, training=False)), np.asarray(generator(y, training=False)))


@needs_reference
def test_detection(reference):
    assert convert.matches(reference["G"]) and not convert.is_discriminator(reference["G"])
    assert convert.is_discriminator(reference["D"]) and not convert.matches(reference["D"])
    assert len(reference["D"]) == 22 and len(reference["G"]) == 82
    assert convert.FAMILY == "pix2pix" and convert.SOURCE["hub_license"] == "bsd-3-clause"


@needs_reference
def test_num_batches_tracked_is_optional(reference):
    state = {k: v for k, v in reference["D"].items() if not k.endswith("num_batches_tracked")}
    assert len(state) == 19
    convert.convert_discriminator(state)


# ---------------------------------------------------------------- bad input


@needs_reference
def test_another_familys_state_dict_is_refused(reference):
    lama_like = {"model.1.ffc.convl2l.weight": np.zeros((64, 4, 7, 7), np.float32)}
    with pytest.raises(CheckpointError, match="UnetGenerator.*'model.1.ffc.convl2l.weight'"):
        convert.convert_generator(lama_like)
    with pytest.raises(CheckpointError, match="NLayerDiscriminator.*'model.1.ffc.convl2l.weight'"):
        convert.convert_discriminator(lama_like)
    with pytest.raises(CheckpointError, match="UnetGenerator"):
        convert.convert_generator(reference["D"])
    with pytest.raises(CheckpointError, match="NLayerDiscriminator"):
        convert.convert_discriminator(reference["G"])


@needs_reference
def test_missing_tensor_is_named(reference):
    state = dict(reference["G"])
    del state["model.model.1.model.3.model.6.running_var"]
    with pytest.raises(CheckpointError, match=r"missing 'model\.model\.1\.model\.3\.model\.6\.running_var'"):
        convert.convert_generator(state)
    state = dict(reference["D"])
    del state["model.11.bias"]
    with pytest.raises(CheckpointError, match=r"missing 'model\.11\.bias'"):
        convert.convert_discriminator(state)


@needs_reference
def test_extra_tensor_is_named(reference):
    state = dict(reference["G"], **{"model.model.0.bias": np.zeros(4, np.float32)})
    with pytest.raises(CheckpointError, match=r"unexpected 'model\.model\.0\.bias'"):
        convert.convert_generator(state)
    state = dict(reference["D"], **{"model.2.bias": np.zeros(16, np.float32)})
    with pytest.raises(CheckpointError, match=r"unexpected 'model\.2\.bias'"):
        convert.convert_discriminator(state)


@needs_reference
def test_wrong_shape_is_named(reference):
    state = dict(reference["G"])
    key = "model.model.1.model.3.model.5.weight"  # a transposed conv (in, out, kh, kw)
    state[key] = np.swapaxes(state[key], 0, 1).copy()
    assert state[key].shape == (8, 32, 4, 4)  # level 2: 2 x 16 channels in, 8 out
    with pytest.raises(CheckpointError, match=r"wrong shape 'model\.model\.1\.model\.3\.model\.5\.weight' \(8, 32, 4, 4\) instead of \(32, 8, 4, 4\)"):
        convert.convert_generator(state)
    state = dict(reference["D"])
    state["model.3.running_mean"] = np.zeros(17, np.float32)
    with pytest.raises(CheckpointError, match=r"wrong shape 'model\.3\.running_mean' \(17,\) instead of \(16,\)"):
        convert.convert_discriminator(state)


@needs_reference
def test_error_lists_only_the_first_few(reference):
    state = {k: v for k, v in reference["G"].items() if not k.endswith("running_var")}  # 13 BatchNorms
    state["model.model.1.model.4.weight"] = np.zeros(1, np.float32)
    with pytest.raises(CheckpointError) as info:
        convert.convert_generator(state)
    message = str(info.value)
    assert "\n" not in message and "missing" in message and "and 8 more" in message and "unexpected 'model.model.1.model.4.weight'" in message


# ---------------------------------------------------------------- full-size layouts


def test_full_size_parameter_counts_match_official():
    # Instantiated from the official classes (fixture README): unet_256 ngf 64 and basic D ndf 64.
    # Trainable weights only (BatchNorm running statistics are buffers); about 1 s on a CPU.
    assert count_parameters(Pix2PixGenerator(input_channels=3)) == 54_413_955
    assert count_parameters(Pix2PixGenerator(input_channels=4)) == 54_414_979
    assert count_parameters(PatchGANDiscriminator(input_channels=6)) == 2_768_705
    assert count_parameters(PatchGANDiscriminator(input_channels=3)) == 2_765_633

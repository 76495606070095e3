"""Converted DeepFill v2 weights reproduce the reference network (nipponjo/deepfillv2-pytorch networks_tf).

Fixture: ../shared/fixtures/deepfill_v2_reference (random weights, cnum 8, every layer of the
released network; see its README). Measured on a CPU, float32: stage1 5.4e-7, stage2 6.0e-7,
ca_output through the attention layer alone 7.5e-8, inpainted 4.5e-7 max abs difference;
Generator.infer end to end: inpainted 0 uint8 levels off, stage1 1 level on one value of 23,040
(truncation of a value on a level boundary). Tolerances below are 1e-4 (the brief's bound).
"""

import os

import numpy as np
import pytest

from keras_inpaint import count_parameters
from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.deepfill_v2 import convert
from keras_inpaint.models.deepfill_v2.contextual_attention import ContextualAttention

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REFERENCE = os.path.join(ROOT, "..", "shared", "fixtures", "deepfill_v2_reference")
pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(REFERENCE, "io.npz")),
                                reason="../shared/fixtures/deepfill_v2_reference (weights.npz, io.npz) is absent")
ATOL = 1e-4


def nhwc(array):
    return np.transpose(array, (0, 2, 3, 1))


def ours(official_input_nchw):
    """Official (N,5,H,W) [masked image, ones, mask] -> our (N,H,W,4) [masked image, mask]."""
    x = nhwc(official_input_nchw)
    assert np.all(x[..., 3] == 1.0)
    return np.concatenate([x[..., :3], x[..., 4:]], axis=-1)


@pytest.fixture(scope="module")
def weights():
    with np.load(os.path.join(REFERENCE, "weights.npz")) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module")
def io():
    with np.load(os.path.join(REFERENCE, "io.npz")) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module")
def generator(weights):
    return convert.convert_generator(weights)


@pytest.fixture(scope="module")
def stages(generator, io):
    return {k: np.asarray(v) for k, v in generator.stages_model()(ours(io["input"])).items()}


def max_abs(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.float64) - b).max())


def test_interface():
    assert convert.FAMILY == "deepfill_v2"
    assert convert.SOURCE["hub_license"] == "cc-by-nc-4.0" and "non-commercial" in convert.SOURCE["license"]
    assert convert.INFERENCE["size_multiple"] == 8
    assert convert.convert_discriminator({}) is None


def test_matches_by_tensor_names(weights):
    assert convert.matches(weights)
    assert not convert.matches({"model.1.ffc.convl2l.weight": np.zeros((64, 4, 7, 7))})  # LaMa
    # The repo's other network (networks.py, keys stage1.conv1...) is a different layout.
    assert not convert.matches({f"stage1.{k}": v for k, v in weights.items()})


def test_converted_size_and_full_size(generator, weights):
    assert len(weights) == 84
    assert count_parameters(generator) == 115_258 == sum(v.size for v in weights.values())
    assert generator.base_filters == 4


def test_stage1_stage2_and_attention_match_reference(stages, io):
    # Measured 5.4e-7 (stage1), 6.0e-7 (stage2), 6.7e-8 (ca_input), 8.2e-8 (ca_output).
    for name in ("stage1", "stage2", "ca_input", "ca_output"):
        assert max_abs(stages[name], nhwc(io[name])) <= ATOL, name


def test_generator_output_is_stage2(generator, io):
    out = np.asarray(generator(ours(io["input"]), training=False))
    assert max_abs(out, nhwc(io["stage2"])) <= ATOL


def test_contextual_attention_alone_matches_reference(io):
    # ca_input (1,16,20,24) is at 1/4 of the 80x96 mask. Measured 7.5e-8.
    out = np.asarray(ContextualAttention(rate=2, softmax_scale=10.0, fuse=False, n_down=2)(
        nhwc(io["ca_input"]), nhwc(io["mask"])))
    assert max_abs(out, nhwc(io["ca_output"])) <= ATOL


def test_inpainted_matches_reference(stages, io):
    image, mask = nhwc(io["image"]), nhwc(io["mask"])
    inpainted = image * (1.0 - mask) + stages["stage2"] * mask
    assert max_abs(inpainted, nhwc(io["inpainted"])) <= ATOL  # measured 4.5e-7


def to_uint8(x):
    return ((x + 1.0) * 127.5).astype(np.uint8)  # truncation, as Generator.infer


def test_end_to_end_infer_within_one_level(generator, io):
    # Generator.infer: crop top-left to multiples of 8, image*2-1, mask > 0, composite, truncate.
    image_u8, mask_u8 = io["e2e_image_uint8"], io["e2e_mask_uint8"]
    h, w = image_u8.shape[0] // 8 * 8, image_u8.shape[1] // 8 * 8
    image = (image_u8[:h, :w].astype(np.float32) / np.float32(255.0)) * np.float32(2.0) - np.float32(1.0)
    mask = (mask_u8[:h, :w, None].astype(np.float32) / np.float32(255.0) > 0).astype(np.float32)
    masked = image * (1.0 - mask)
    out = generator.stages_model()(np.concatenate([masked, mask], axis=-1)[None])
    stage1, stage2 = np.asarray(out["stage1"])[0], np.asarray(out["stage2"])[0]
    inpainted = to_uint8(masked + stage2 * mask)
    expected = io["e2e_infer_inpainted"]
    assert inpainted.shape == expected.shape == (80, 96, 3)
    assert np.abs(inpainted.astype(int) - expected).max() <= 1  # measured 0
    assert np.abs(to_uint8(stage1).astype(int) - io["e2e_infer_stage1"]).max() <= 1  # measured 1 (one value of 23,040)


def test_other_family_is_refused_naming_what_is_missing():
    lama = {"model.1.ffc.convl2l.weight": np.zeros((64, 4, 7, 7), np.float32)}
    with pytest.raises(CheckpointError, match=r"conv1\.conv\.weight.*model\.1\.ffc\.convl2l\.weight"):
        convert.convert_generator(lama)


@pytest.mark.parametrize("key", ["pmconv9.conv.bias", "allconv13_upsample.conv.conv.weight"])
def test_missing_tensor_is_named(weights, key):
    state = {k: v for k, v in weights.items() if k != key}
    with pytest.raises(CheckpointError, match=rf"missing '{key.replace('.', chr(92) + '.')}'") as info:
        convert.convert_generator(state)
    assert "\n" not in str(info.value)


def test_extra_tensor_is_named(weights):
    with pytest.raises(CheckpointError, match=r"unexpected 'discriminator\.conv1\.weight'"):
        convert.convert_generator({**weights, "discriminator.conv1.weight": np.zeros((3, 3), np.float32)})


def test_wrong_shape_is_named(weights):
    state = {**weights, "xconv3.conv.weight": weights["xconv3.conv.weight"][:, :2]}
    with pytest.raises(CheckpointError, match=r"wrong shape 'xconv3\.conv\.weight' \(16, 2, 3, 3\) instead of \(16, 4, 3, 3\)"):
        convert.convert_generator(state)


def test_three_channel_gated_width_is_refused(weights):
    # cnum 12 would make c/4 = 3: the reference then builds conv16 without its gate.
    with pytest.raises(CheckpointError, match="conv1.conv.weight"):
        convert.convert_generator({**weights, "conv1.conv.weight": np.zeros((12, 5, 5, 5), np.float32)})

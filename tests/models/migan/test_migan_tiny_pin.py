"""migan_tiny (bundled preset, trained with the v0 layout) must keep loading and computing what it computed.

The expected numbers were computed from the port as it was before the official layout was added
(commit 2e6a15e), on the fixed inputs built by ``_input``; they pin the preset's output on a square
input at its working size and on a non-square one (the v0 layout's noise is drawn per input size).
"""

import os

import numpy as np
import pytest

from keras_inpaint.models import registry
from keras_inpaint.models.preset_loading import load_generator

PRESET = registry.preset_dir("migan_tiny")

EXPECTED = {
    (128, 128): {
        "sums": [-622.6288763132179, 24617.45419441443, 15425.982360814935],
        "points": np.array([
            [[0.509645, 0.53291, 0.161864], [0.488121, 0.715334, 0.634806], [-0.502498, 0.67401, 0.629302], [-0.488027, 0.642613, 0.479859]],
            [[0.59717, 0.432227, 0.444646], [0.449252, 0.2669, 0.777549], [-0.560012, 0.334123, 0.612709], [-0.570125, 0.247435, 0.190996]],
            [[0.586164, -0.007071, 0.522477], [0.610231, -0.364795, 0.732455], [-0.585486, -0.61478, 0.057482], [-0.551734, -0.654856, -0.439999]],
            [[0.582785, -0.108107, 0.415871], [0.580417, -0.61678, 0.255786], [-0.57842, -0.68222, -0.458968], [-0.548898, -0.693089, -0.778865]],
        ]),
        "hole_blocks": np.array([
            [[0.000351, 0.222197, 0.714138], [-0.299637, 0.289847, 0.650324], [-0.599988, 0.275705, 0.515079], [-0.752306, 0.221587, 0.372028]],
            [[0.081183, 0.026424, 0.634392], [-0.174002, 0.140411, 0.574882], [-0.474091, 0.052592, 0.397568], [-0.695703, -0.050995, 0.201411]],
            [[0.06497, -0.186257, 0.548184], [-0.252064, -0.269291, 0.365358], [-0.56006, -0.399045, 0.109442], [-0.69675, -0.394565, -0.029813]],
            [[0.014081, -0.361783, 0.483371], [-0.319641, -0.474157, 0.263957], [-0.62832, -0.550917, 0.018528], [-0.74029, -0.542904, -0.126181]],
        ]),
    },
    (64, 96): {
        "sums": [2067.2897087537567, 9165.96065864904, 5686.000054042694],
        "points": np.array([
            [[0.512309, 0.54306, 0.183583], [0.515862, 0.734053, 0.672752], [-0.466358, 0.669382, 0.648566], [-0.447595, 0.635567, 0.496549]],
            [[0.614319, 0.529974, 0.410312], [0.441477, 0.531953, 0.770276], [-0.5814, 0.543705, 0.69592], [-0.620977, 0.578611, 0.439805]],
            [[0.565099, 0.300236, 0.438186], [0.470076, 0.016763, 0.762254], [-0.577164, -0.125295, 0.465654], [-0.578519, -0.095594, -0.023667]],
            [[0.627169, 0.085374, 0.550237], [0.624046, -0.339029, 0.727748], [-0.580279, -0.60244, 0.151773], [-0.540419, -0.662619, -0.438998]],
        ]),
        "hole_blocks": np.array([
            [[-0.032887, 0.508775, 0.751249], [-0.389804, 0.501022, 0.685035], [-0.643003, 0.529471, 0.624464], [-0.741352, 0.494472, 0.544454]],
            [[0.038102, 0.365498, 0.728059], [-0.319777, 0.360914, 0.65284], [-0.552707, 0.423556, 0.522648], [-0.694069, 0.372892, 0.417052]],
            [[0.038816, 0.211547, 0.729646], [-0.321829, 0.152871, 0.64913], [-0.566221, 0.223535, 0.484639], [-0.69426, 0.208347, 0.349029]],
            [[-0.038891, 4.1e-05, 0.684204], [-0.395248, -0.072868, 0.580221], [-0.65197, -0.040547, 0.418429], [-0.760035, -0.011091, 0.259536]],
        ]),
    },
}


def _input(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([np.sin(6 * xx + 1), np.cos(5 * yy), np.sin(3 * (xx + yy))], -1) * 0.8 + rng.normal(0, 0.05, (h, w, 3))
    hole = np.zeros((h, w, 1))
    hole[h // 4:h // 2, w // 3:2 * w // 3] = 1
    return np.concatenate([img * (1 - hole), hole], -1)[None].astype("float32")


@pytest.fixture(scope="module")
def migan_tiny():
    return load_generator(PRESET)


def test_migan_tiny_keeps_its_v0_config(migan_tiny):
    config = migan_tiny.get_config()
    assert (config["resolution"], config["channel_base"], config["max_channels"]) == (128, 4096, 128)
    assert config.get("layout", "v0") == "v0"
    assert migan_tiny.count_params() == 320156


@pytest.mark.parametrize("size", [(128, 128), (64, 96)])
def test_migan_tiny_output_unchanged(migan_tiny, size):
    h, w = size
    expected = EXPECTED[size]
    y = np.asarray(migan_tiny(_input(h, w), training=False)).astype(np.float64)[0]
    assert y.shape == (h, w, 3)
    np.testing.assert_allclose(y[::h // 4, ::w // 4], expected["points"], atol=2e-6)
    hole = y[h // 4:h // 2, w // 3:2 * w // 3]
    hh, ww = hole.shape[0] // 4, hole.shape[1] // 4
    blocks = hole[:4 * hh, :4 * ww].reshape(4, hh, 4, ww, 3).mean((1, 3))
    np.testing.assert_allclose(blocks, expected["hole_blocks"], atol=2e-6)
    sums = [y.sum(), np.abs(y).sum(), (y ** 2).sum()]
    np.testing.assert_allclose(sums, expected["sums"], rtol=1e-5, atol=1e-2)

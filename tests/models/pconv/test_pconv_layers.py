"""Layers of the pconv family."""

import keras
import numpy as np
import pytest

from keras_inpaint.models.pconv.partial_conv import PartialConv2D


def test_partial_conv_ignores_holes_and_updates_the_mask():
    layer = PartialConv2D(1, 3, use_bias=False)
    x = np.ones((1, 6, 6, 1), np.float32)
    valid = np.ones((1, 6, 6, 1), np.float32)
    valid[:, 1:5, 1:5] = 0.0  # a 4x4 hole: the centre 2x2 window sees no valid pixel
    garbage = x.copy()
    garbage[valid == 0] = 1000.0
    out_a, new_valid = layer(x, valid)
    out_b, _ = layer(garbage, valid)
    np.testing.assert_allclose(out_a, out_b, atol=1e-4)  # hole values never leak in
    assert float(np.asarray(new_valid)[0, 2, 2, 0]) == 0.0 and float(np.asarray(new_valid)[0, 1, 1, 0]) == 1.0
    # Renormalisation: with a box filter, a constant input gives the same response wherever the
    # window holds at least one valid pixel (sum(1) / sum(valid) rescales the partial sum).
    layer.conv.kernel.assign(np.ones((3, 3, 1, 1), np.float32))
    out_a, _ = layer(x, valid)
    full, _ = layer(x, np.ones_like(valid))
    assert float(np.asarray(out_a)[0, 1, 1, 0]) == pytest.approx(float(np.asarray(full)[0, 3, 3, 0]), rel=1e-5)

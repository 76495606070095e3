"""Layers of the deepfill_v2 family."""

import keras
import numpy as np
import pytest

from keras_inpaint.models.deepfill_v2.contextual_attention import ContextualAttention
from keras_inpaint.models.deepfill_v2.gated_conv import GatedConv2D


def test_gated_conv_gates_features():
    layer = GatedConv2D(2, 3)
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype(np.float32)
    y = np.asarray(layer(x))
    raw = np.asarray(layer.conv(x))
    expected = keras.activations.elu(raw[..., :2]).numpy() / (1 + np.exp(-raw[..., 2:]))
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert GatedConv2D(3, 3, strides=2, activation=None)(x).shape == (1, 4, 4, 3)



def test_contextual_attention_copies_only_background():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(1, 16, 16, 4)).astype(np.float32)
    masks = np.zeros((1, 16, 16, 1), np.float32)
    masks[:, 4:12, 4:12] = 1.0
    layer = ContextualAttention(rate=2)
    a, b = features.copy(), features.copy()
    a[:, 4:12, 4:12] = 50.0
    b[:, 4:12, 4:12] = -7.0
    out_a, out_b = np.asarray(layer(a, masks)), np.asarray(layer(b, masks))
    # The hole is filled from background patches only: its own content changes the matching
    # scores (it is the query, and score fusion spreads it to neighbours) but is never pasted,
    # so every output is a convex mix of background values and none comes near 50.
    assert out_a.shape == features.shape
    assert np.abs(out_a).max() <= np.abs(features).max() + 1e-4
    assert np.abs(out_b).max() <= np.abs(features).max() + 1e-4
    assert not np.allclose(out_a[:, 4:12, 4:12], 0.0)

"""Layers of the deepfill_v2 family."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_inpaint.models.deepfill_v2.contextual_attention import (
    ContextualAttention,
    _align_corners_indices,
    overlap_add,
)
from keras_inpaint.models.deepfill_v2.gated_conv import GatedConv2D, same_padding


def test_gated_conv_gates_features():
    layer = GatedConv2D(2, 3)
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype(np.float32)
    y = np.asarray(layer(x))
    raw = np.asarray(layer.conv(np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])))
    expected = keras.activations.elu(raw[..., :2]).numpy() / (1 + np.exp(-raw[..., 2:]))
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert GatedConv2D(3, 3, strides=2, activation=None)(x).shape == (1, 4, 4, 3)


def test_tf_same_padding_formula():
    # total = max((ceil(in/stride) - 1) * stride + (k - 1) * rate + 1 - in, 0), smaller half first.
    assert same_padding(80, 3, 2) == (0, 1)
    assert same_padding(81, 3, 2) == (1, 1)
    assert same_padding(20, 4, 2) == (1, 1)
    assert same_padding(20, 3, 1, 16) == (16, 16)
    assert same_padding(20, 5) == (2, 2)
    assert tuple(int(v) for v in same_padding(tf.constant(80), 3, 2)) == (0, 1)


@pytest.mark.parametrize("size,strides,rate", [((16, 24), 2, 1), ((15, 17), 2, 1), ((16, 24), 1, 4)])
def test_gated_conv_padding_is_tf_same(size, strides, rate):
    # TensorFlow's own "SAME" (tf.nn.conv2d) is the reference; also under dynamic shapes.
    layer = GatedConv2D(2, 3, strides=strides, dilation_rate=rate, activation=None)
    x = np.random.default_rng(1).normal(size=(1, *size, 3)).astype(np.float32)
    layer(x)
    expected = tf.nn.conv2d(x, layer.conv.kernel, strides, "SAME", dilations=rate) + layer.conv.bias
    np.testing.assert_allclose(np.asarray(layer(x)), expected.numpy(), atol=1e-5)
    dynamic = tf.function(layer.call, input_signature=[tf.TensorSpec((None, None, None, 3))])
    np.testing.assert_allclose(dynamic(x).numpy(), expected.numpy(), atol=1e-5)


def test_align_corners_indices():
    for size, factor in [(20, 2), (24, 2), (80, 8), (96, 8), (10, 2)]:
        out = size // factor
        expected = [int(np.floor(i * (size - 1) / (out - 1) + 0.5)) for i in range(out)]
        assert list(np.asarray(_align_corners_indices(size, factor))) == expected


def test_overlap_add_is_a_transposed_convolution():
    # conv_transpose2d(stride 2, padding 1) of 4x4 patches, as the reference pastes them.
    patches = np.random.default_rng(2).normal(size=(1, 3, 5, 4, 4, 2)).astype(np.float32)
    expected = np.zeros((1, 2 * 3 + 2, 2 * 5 + 2, 2), np.float32)
    for y in range(3):
        for x in range(5):
            expected[:, 2 * y : 2 * y + 4, 2 * x : 2 * x + 4] += patches[:, y, x]
    np.testing.assert_allclose(np.asarray(overlap_add(patches, 2, padding=1)), expected[:, 1:-1, 1:-1], atol=1e-5)


def test_contextual_attention_copies_only_background():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(1, 16, 16, 4)).astype(np.float32)
    masks = np.zeros((1, 16, 16, 1), np.float32)
    masks[:, 4:12, 4:12] = 1.0
    layer = ContextualAttention(rate=2, n_down=0)  # mask at the features' resolution
    a, b = features.copy(), features.copy()
    a[:, 4:12, 4:12] = 50.0
    b[:, 4:12, 4:12] = -7.0
    out_a, out_b = np.asarray(layer(a, masks)), np.asarray(layer(b, masks))
    # The hole is filled from background patches only: its own content changes the matching
    # scores (it is the query) but is never pasted, so every output is a convex mix of
    # background values and none comes near 50.
    assert out_a.shape == features.shape
    assert np.abs(out_a).max() <= np.abs(features).max() + 1e-4
    assert np.abs(out_b).max() <= np.abs(features).max() + 1e-4
    assert not np.allclose(out_a[:, 4:12, 4:12], 0.0)
    fused = np.asarray(ContextualAttention(rate=2, n_down=0, fuse=True)(a, masks))
    assert np.abs(fused).max() <= np.abs(features).max() + 1e-4


def test_contextual_attention_uses_the_first_samples_mask():
    # As the reference: the first sample's mask decides which patches are usable for the batch.
    features = np.random.default_rng(3).normal(size=(2, 8, 12, 4)).astype(np.float32)
    masks = np.zeros((2, 32, 48, 1), np.float32)
    masks[0, 8:24, 8:24] = 1.0
    masks[1, 0:16, 24:48] = 1.0
    layer = ContextualAttention(rate=2, n_down=2)
    batch = np.asarray(layer(features, masks))
    second_alone = np.asarray(layer(features[1:], masks[:1]))
    np.testing.assert_allclose(batch[1:], second_alone, atol=1e-6)
    assert not np.allclose(second_alone, np.asarray(layer(features[1:], masks[1:])), atol=1e-3)

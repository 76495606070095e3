import keras
import numpy as np
import pytest

from keras_inpaint.layers import ContextualAttention, GatedConv2D, PartialConv2D, ReflectPad2D
from keras_inpaint.layers.fourier import irfft2, rfft2
from keras_inpaint.layers.separable import blur_downsample, blur_upsample


def test_rfft2_matches_numpy_ortho_and_inverts():
    x = np.random.default_rng(0).normal(size=(2, 6, 9, 3)).astype(np.float32)
    real, imag = rfft2(x)
    reference = np.fft.rfft2(x, axes=(1, 2), norm="ortho")
    np.testing.assert_allclose(real, reference.real, atol=1e-5)
    np.testing.assert_allclose(imag, reference.imag, atol=1e-5)
    np.testing.assert_allclose(irfft2(real, imag, 9), x, atol=1e-5)


def test_reflect_pad_matches_numpy():
    x = np.arange(2 * 4 * 5 * 1, dtype=np.float32).reshape(2, 4, 5, 1)
    np.testing.assert_array_equal(ReflectPad2D(2)(x), np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))


def test_gated_conv_gates_features():
    layer = GatedConv2D(2, 3)
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype(np.float32)
    y = np.asarray(layer(x))
    raw = np.asarray(layer.conv(x))
    expected = keras.activations.elu(raw[..., :2]).numpy() / (1 + np.exp(-raw[..., 2:]))
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert GatedConv2D(3, 3, strides=2, activation=None)(x).shape == (1, 4, 4, 3)


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


def test_blur_resampling_preserves_constants():
    x = np.full((1, 8, 8, 2), 3.0, np.float32)
    np.testing.assert_allclose(np.asarray(blur_downsample(x))[:, 1:-1, 1:-1], 3.0, atol=1e-5)
    up = np.asarray(blur_upsample(x))
    assert up.shape == (1, 16, 16, 2)
    np.testing.assert_allclose(up[:, 2:-2, 2:-2], 3.0, atol=1e-5)

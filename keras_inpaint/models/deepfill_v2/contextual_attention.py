"""Contextual attention (Yu et al., "Generative Image Inpainting with Contextual Attention", 2018)."""

from __future__ import annotations

import keras
from keras import layers, ops


def _fuse(scores, h, w):
    """Add each score to its diagonal neighbours (identity 3x3 kernel) in raster order.

    ``scores`` (N, Q, K) with Q = K = h * w positions flattened row-major. Encourages a
    hole patch and its neighbour to attend to a background patch and its neighbour.
    """
    padded = ops.pad(scores, [[0, 0], [1, 1], [1, 1]])
    return padded[:, :-2, :-2] + padded[:, 1:-1, 1:-1] + padded[:, 2:, 2:]


def _transpose_positions(scores, h, w):
    """Reorder both position axes of (N, h*w, h*w) scores from row-major to column-major."""
    n = ops.shape(scores)[0]
    s = ops.reshape(scores, (n, h, w, h, w))
    s = ops.transpose(s, (0, 2, 1, 4, 3))
    return ops.reshape(s, (n, h * w, h * w))


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ContextualAttention(layers.Layer):
    """Fill hole features by attending to known background patches.

    Inputs ``features`` (N, H, W, C) and ``masks`` (N, H, W, 1) at the same resolution
    (1 in the hole); output (N, H, W, C). As in DeepFill: features are matched at
    1/``rate`` resolution with 3x3 patches (cosine similarity against L2-normalised
    background patches), scores are fused along both diagonals, masked so that only
    patches without hole pixels are attended to, soft-maxed with ``softmax_scale`` (10),
    and the output pastes the matching 2*rate x 2*rate full-resolution patches back by
    overlap-add (divided by 4). H and W must be multiples of ``rate``.
    """

    def __init__(self, rate: int = 2, softmax_scale: float = 10.0, fuse: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.softmax_scale, self.fuse = rate, softmax_scale, fuse

    def call(self, features, masks):
        x = ops.cast(features, "float32")
        shape = ops.shape(x)
        n, c = shape[0], x.shape[-1]
        r = self.rate
        small = x[:, ::r, ::r, :]
        small_mask = ops.cast(masks, "float32")[:, ::r, ::r, :]
        h, w = ops.shape(small)[1], ops.shape(small)[2]
        # 3x3 patches at low resolution: (N, h*w, 9C) for matching, (N, h*w, 9) of the mask.
        patches = ops.reshape(ops.image.extract_patches(small, 3, strides=1, padding="same"), (n, h * w, 9 * c))
        mask_patches = ops.reshape(ops.image.extract_patches(small_mask, 3, strides=1, padding="same"), (n, h * w, 9))
        valid = ops.cast(ops.equal(ops.mean(mask_patches, axis=-1), 0.0), "float32")[:, None, :]  # (N, 1, K)
        norms = ops.maximum(ops.sqrt(ops.sum(ops.square(patches), axis=-1, keepdims=True)), 1e-4)
        scores = ops.einsum("nqd,nkd->nqk", patches, patches / norms)
        if self.fuse:
            scores = _fuse(scores, h, w)
            scores = _transpose_positions(_fuse(_transpose_positions(scores, h, w), w, h), w, h)
        scores = scores * valid
        attention = ops.softmax(scores * self.softmax_scale, axis=-1) * valid
        # Paste full-resolution 2r x 2r patches (stride r) weighted by the attention.
        k = 2 * r
        raw = ops.reshape(ops.image.extract_patches(x, k, strides=r, padding="same"), (n, h * w, k * k * c))
        pasted = ops.reshape(ops.einsum("nqk,nkd->nqd", attention, raw), (n, h, w, k * k * c))
        # kernel[i, j, ch, (i * k + j) * c + ch] = 1: patch channel -> spatial offset (overlap-add).
        fold = ops.reshape(ops.eye(k * k * c), (k, k, c, k * k * c))
        out = ops.conv_transpose(pasted, fold, strides=r, padding="same") / 4.0
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, features_shape, masks_shape=None):
        return features_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "softmax_scale": self.softmax_scale, "fuse": self.fuse}

"""Contextual attention (Yu et al., "Generative Image Inpainting with Contextual Attention", 2018)."""

from __future__ import annotations

import keras
from keras import layers, ops

from keras_inpaint.models.deepfill_v2.gated_conv import pad_same


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


def _align_corners_indices(size, factor: int):
    """Indices of TF ``align_corners`` nearest downsampling of a side of ``size`` by ``factor``.

    Output i of ``out = size // factor`` takes input floor(i * (size - 1) / (out - 1) + 0.5),
    computed in exact integer arithmetic (``out == 1`` takes input 0).
    """
    out = size // factor
    i = ops.arange(out, dtype="int32")
    denominator = ops.maximum(out - 1, 1)
    return (2 * i * (size - 1) + denominator) // (2 * denominator)


def downsample_nearest_align_corners(x, factor: int):
    """Nearest-neighbour downsampling of (N, H, W, C) by ``factor`` with TF ``align_corners`` indexing."""
    shape = ops.shape(x)
    x = ops.take(x, _align_corners_indices(shape[1], factor), axis=1)
    return ops.take(x, _align_corners_indices(shape[2], factor), axis=2)


def extract_patches_same(x, size: int, strides: int):
    """(N, H, W, C) -> (N, h, w, size, size, C): every ``size`` x ``size`` patch, TF "SAME" padding."""
    padded = pad_same(x, size, strides)
    shape = ops.shape(x)
    h = (shape[1] + strides - 1) // strides
    w = (shape[2] + strides - 1) // strides
    rows = []
    for i in range(size):
        cols = [padded[:, i : i + (h - 1) * strides + 1 : strides, j : j + (w - 1) * strides + 1 : strides, :]
                for j in range(size)]
        rows.append(ops.stack(cols, axis=3))
    return ops.stack(rows, axis=3)


def overlap_add(patches, strides: int, padding: int):
    """Transposed convolution with an identity kernel: sum (N, h, w, k, k, C) patches into an image.

    Patch (y, x) lands at rows ``y * strides - padding ... + k - 1``, columns alike; the result is
    (N, (h - 1) * strides + k - 2 * padding, ..., C), as ``conv_transpose2d(..., stride, padding)``.
    Requires ``k % strides == 0``. Written as shifted additions per phase (no dense kernel).
    """
    k = patches.shape[3]
    shape = ops.shape(patches)
    n, h, w, c = shape[0], shape[1], shape[2], patches.shape[-1]
    blocks = k // strides
    phases = []
    for ry in range(strides):
        row = []
        for rx in range(strides):
            total = 0
            for dy in range(blocks):
                for dx in range(blocks):
                    part = patches[:, :, :, dy * strides + ry, dx * strides + rx, :]
                    total = total + ops.pad(part, [[0, 0], [dy, blocks - 1 - dy], [dx, blocks - 1 - dx], [0, 0]])
            row.append(total)
        phases.append(ops.stack(row, axis=3))  # (N, h', w', s, C)
    canvas = ops.stack(phases, axis=2)  # (N, h', s, w', s, C)
    hh, ww = h + blocks - 1, w + blocks - 1
    canvas = ops.reshape(canvas, (n, hh * strides, ww * strides, c))
    return canvas[:, padding : hh * strides - padding, padding : ww * strides - padding, :]


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ContextualAttention(layers.Layer):
    """Fill hole features by attending to known background patches (DeepFill v2, ``fuse=False``).

    Inputs ``features`` (N, H, W, C) (both foreground ``f`` and background ``b``, as DeepFill v2
    calls it) and ``masks`` (N, H * 2**n_down, W * 2**n_down, 1), 1 in the hole, at the
    resolution of the generator's input; output (N, H, W, C). Exactly as the PyTorch port
    that loads the official weights (``networks_tf.ContextualAttention(ksize=3, stride=1,
    rate=2, fuse=False, softmax_scale=10, n_down=2)``):

    * raw patches for pasting: 2*rate x 2*rate patches of ``b``, stride ``rate``, TF "SAME" padding;
    * ``f`` and ``b`` downsampled by ``rate`` with TF ``align_corners`` nearest indexing;
    * matching: 3x3 patches of the downsampled ``b`` (stride 1, "SAME"), each divided by
      max(its L2 norm, 1e-4), correlated with the downsampled ``f`` ("SAME" padding);
    * the mask, downsampled by ``2**n_down * rate`` the same way; a patch is usable where its
      3x3 neighbourhood (zero padded) is all known. **Only the first sample's mask is used
      for the whole batch** (as in the reference). Scores x usable, softmax over patches of
      scores x ``softmax_scale``, x usable again;
    * pasting: transposed convolution of the attention maps with the raw patches (stride
      ``rate``, padding 1), divided by 4. No fusion convolution unless ``fuse=True`` (the
      original TensorFlow code's diagonal score fusion; not covered by the reference fixture).

    H and W must be multiples of ``rate``. Computed in float32 whatever the dtype policy.
    """

    def __init__(self, rate: int = 2, softmax_scale: float = 10.0, fuse: bool = False, n_down: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.softmax_scale, self.fuse, self.n_down = rate, softmax_scale, fuse, n_down

    def call(self, features, masks):
        x = ops.cast(features, "float32")
        c = x.shape[-1]
        n = ops.shape(x)[0]
        r = self.rate
        raw = extract_patches_same(x, 2 * r, r)  # (N, h, w, 2r, 2r, C)
        small = downsample_nearest_align_corners(x, r)
        h, w = ops.shape(small)[1], ops.shape(small)[2]
        raw = ops.reshape(raw, (n, h * w, 4 * r * r * c))
        # Matching kernels: 3x3 patches of the downsampled background, L2-normalised.
        patches = ops.reshape(extract_patches_same(small, 3, 1), (n, h * w, 9 * c))
        kernels = patches / ops.maximum(ops.sqrt(ops.sum(ops.square(patches), axis=-1, keepdims=True)), 1e-4)
        scores = ops.einsum("nqd,nkd->nqk", patches, kernels)  # query q (foreground) x patch k
        # Usable patches, from the first sample's mask only.
        small_mask = downsample_nearest_align_corners(ops.cast(masks[:1, :, :, :1], "float32"), (2**self.n_down) * r)
        mask_patches = ops.reshape(extract_patches_same(small_mask, 3, 1), (1, h * w, 9))
        usable = ops.cast(ops.equal(ops.mean(mask_patches, axis=-1), 0.0), "float32")[:, None, :]  # (1, 1, K)
        if self.fuse:
            scores = _fuse(scores, h, w)
            scores = _transpose_positions(_fuse(_transpose_positions(scores, h, w), w, h), w, h)
        scores = scores * usable
        attention = ops.softmax(scores * self.softmax_scale, axis=-1) * usable
        pasted = ops.reshape(ops.einsum("nqk,nkd->nqd", attention, raw), (n, h, w, 2 * r, 2 * r, c))
        out = overlap_add(pasted, r, padding=1) / 4.0
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, features_shape, masks_shape=None):
        return features_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "softmax_scale": self.softmax_scale, "fuse": self.fuse,
                "n_down": self.n_down}

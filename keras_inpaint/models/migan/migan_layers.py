"""MI-GAN's building blocks: depthwise-separable convolutions with blurred resampling."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

_BLUR_1D = np.array([1.0, 3.0, 3.0, 1.0], np.float32)


def _blur_kernel(channels: int, gain: float) -> np.ndarray:
    kernel = np.outer(_BLUR_1D, _BLUR_1D)
    kernel = kernel / kernel.sum() * gain
    return np.repeat(kernel[:, :, None, None], channels, axis=2)  # (4, 4, C, 1) depthwise


def scaled_lrelu(x, clamp: float | None = 256.0):
    """StyleGAN2's activation: LeakyReLU(0.2) times sqrt(2), clamped to [-clamp, clamp]."""
    x = ops.leaky_relu(x, 0.2) * math.sqrt(2.0)
    return ops.clip(x, -clamp, clamp) if clamp is not None else x


def blur_downsample(x):
    """[1, 3, 3, 1] low-pass filter then stride 2 (padding 1): (N, H, W, C) -> (N, H/2, W/2, C)."""
    kernel = ops.convert_to_tensor(_blur_kernel(x.shape[-1], 1.0), x.dtype)
    x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    return ops.depthwise_conv(x, kernel, strides=2, padding="valid")


def blur_upsample(x):
    """Zero insertion then a [1, 3, 3, 1] filter with gain 4: (N, H, W, C) -> (N, 2H, 2W, C)."""
    shape = ops.shape(x)
    n, h, w, c = shape[0], shape[1], shape[2], x.shape[-1]
    zeros = ops.zeros_like(x)
    rows = ops.reshape(ops.stack([x, zeros], axis=3), (n, h, 2 * w, c))
    x = ops.reshape(ops.stack([rows, ops.zeros_like(rows)], axis=2), (n, 2 * h, 2 * w, c))
    x = ops.pad(x, [[0, 0], [2, 1], [2, 1], [0, 0]])
    kernel = ops.convert_to_tensor(_blur_kernel(c, 4.0), x.dtype)
    return ops.depthwise_conv(x, kernel, strides=1, padding="valid")


@keras.saving.register_keras_serializable(package="keras_inpaint")
class SeparableBlock(layers.Layer):
    """Depthwise 3x3 (+bias) -> act -> [blur down] -> pointwise 1x1 -> [blur up] -> [noise] -> act.

    (N, H, W, C_in) -> (N, H*up/down, W*up/down, filters). ``noise`` adds a fixed
    per-position noise map (seeded, so inference is deterministic at any size) scaled by a
    learned strength that starts at 0, as in MI-GAN's synthesis network.
    """

    def __init__(self, filters: int, down: int = 1, up: int = 1, noise: bool = False, noise_seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.down, self.up, self.noise, self.noise_seed = filters, down, up, noise, noise_seed
        self.depthwise = layers.DepthwiseConv2D(3, padding="same", name="depthwise", dtype=self.dtype_policy)
        self.pointwise = layers.Conv2D(filters, 1, use_bias=False, name="pointwise", dtype=self.dtype_policy)

    def build(self, input_shape):
        c = input_shape[-1]
        self.depthwise.build(input_shape)
        self.pointwise.build((None, None, None, c))
        self.noise_strength = self.add_weight(name="noise_strength", shape=(), initializer="zeros") if self.noise else None

    def call(self, x):
        x = scaled_lrelu(self.depthwise(x))
        if self.down > 1:
            x = blur_downsample(x)
        x = self.pointwise(x)
        if self.up > 1:
            x = blur_upsample(x)
        if self.noise:
            shape = ops.shape(x)
            noise = keras.random.normal((1, shape[1], shape[2], 1), seed=self.noise_seed, dtype=x.dtype)
            x = x + noise * ops.cast(self.noise_strength, x.dtype)
        return scaled_lrelu(x)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        factor = self.up / self.down
        return (n, None if h is None else int(h * factor), None if w is None else int(w * factor), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "down": self.down, "up": self.up,
                "noise": self.noise, "noise_seed": self.noise_seed}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class BlurUpsample(layers.Layer):
    """Layer form of :func:`blur_upsample` (the skip path of the RGB outputs)."""

    def call(self, x):
        return blur_upsample(x)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class BlurDownsample(layers.Layer):
    """Layer form of :func:`blur_downsample`."""

    def call(self, x):
        return blur_downsample(x)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h // 2, None if w is None else w // 2, c)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ScaledLeakyReLU(layers.Layer):
    """Layer form of :func:`scaled_lrelu`."""

    def call(self, x):
        return scaled_lrelu(x)

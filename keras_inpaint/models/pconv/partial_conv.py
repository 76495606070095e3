"""Partial convolution (Liu et al., "Image Inpainting for Irregular Holes Using Partial Convolutions", 2018)."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="keras_inpaint")
class PartialConv2D(layers.Layer):
    """A convolution that sees only valid pixels, renormalised, and updates the mask.

    ``call(features, valid)``: features (N, H, W, C); ``valid`` (N, H, W, 1) or (N, H, W, C)
    with 1 where the pixel is known (note: the opposite of keras_inpaint's hole masks).
    Returns ``(output, new_valid)``: output (N, H', W', filters) =
    ``conv(x * valid) * window_size / sum(valid in window) + bias`` where the window holds a
    valid pixel, 0 elsewhere; ``new_valid`` (N, H', W', 1) is 1 where the window held one.
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.use_bias = filters, kernel_size, strides, use_bias
        self.conv = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                                  name="conv", dtype=self.dtype_policy)

    def build(self, features_shape, valid_shape=None):
        self.conv.build(features_shape)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None

    def call(self, features, valid):
        channels = features.shape[-1]
        valid = ops.cast(valid, "float32")
        ones = ops.ones((self.kernel_size, self.kernel_size, valid.shape[-1], 1), "float32")
        counted = ops.conv(valid, ones, strides=self.strides, padding="same")
        if valid.shape[-1] == 1:
            counted = counted * channels
        window = float(self.kernel_size * self.kernel_size * channels)
        new_valid = ops.cast(counted > 0, "float32")
        scale = window / ops.maximum(counted, 1.0) * new_valid
        x = self.conv(features * ops.cast(valid, features.dtype))
        x = x * ops.cast(scale, x.dtype)
        if self.bias is not None:
            x = (x + ops.cast(self.bias, x.dtype)) * ops.cast(new_valid, x.dtype)
        return x, new_valid

    def compute_output_shape(self, features_shape, valid_shape=None):
        n, h, w, _ = features_shape
        if self.strides > 1:
            h = None if h is None else -(-h // self.strides)
            w = None if w is None else -(-w // self.strides)
        return (n, h, w, self.filters), (n, h, w, 1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "use_bias": self.use_bias}

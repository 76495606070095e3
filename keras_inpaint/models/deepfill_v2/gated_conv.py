"""Gated convolution (Yu et al., "Free-Form Image Inpainting with Gated Convolution", 2019)."""

from __future__ import annotations

import keras
from keras import layers, ops


def same_padding(size, kernel_size: int, strides: int = 1, dilation_rate: int = 1):
    """TensorFlow "SAME" padding of one side of length ``size``: ``(before, after)``.

    total = max((ceil(size / strides) - 1) * strides + (kernel_size - 1) * dilation_rate + 1 - size, 0),
    the smaller half before (top/left). ``size`` may be a Python int or a scalar tensor (dynamic
    shapes); with stride 1 the result does not depend on it. Stride-2 layers on even sizes pad
    0 before and 1 after, which a symmetric padding would not reproduce.
    """
    effective = (kernel_size - 1) * dilation_rate + 1
    if strides == 1:
        total = effective - 1
        return total // 2, total - total // 2
    if isinstance(size, int):
        total = max((-(-size // strides) - 1) * strides + effective - size, 0)
        return total // 2, total - total // 2
    out = (size + strides - 1) // strides
    total = ops.maximum((out - 1) * strides + effective - size, 0)
    return total // 2, total - total // 2


def pad_same(x, kernel_size: int, strides: int = 1, dilation_rate: int = 1):
    """Zero-pad (N, H, W, C) ``x`` with TensorFlow "SAME" padding computed from its size."""
    shape = ops.shape(x)
    top, bottom = same_padding(shape[1], kernel_size, strides, dilation_rate)
    left, right = same_padding(shape[2], kernel_size, strides, dilation_rate)
    return ops.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])


@keras.saving.register_keras_serializable(package="keras_inpaint")
class GatedConv2D(layers.Layer):
    """``activation(features) * sigmoid(gate)``, both halves of one convolution.

    (N, H, W, C) -> (N, ceil(H/stride), ceil(W/stride), filters). As DeepFill v2's ``gen_conv``
    (``GConv`` of the PyTorch port that loads the official weights): TensorFlow "SAME" zero
    padding computed from the input size (asymmetric for stride 2 on even sizes, see
    :func:`same_padding`), then one ``Conv2D`` ("valid") with ``2 * filters`` outputs, split
    along channels into features (first half) and gate (second half). With
    ``activation=None`` it is a plain ungated convolution (the RGB output layers).

    Args:
        filters: output channels.
        kernel_size, strides, dilation_rate: of the convolution.
        activation: ``"elu"`` (DeepFill v2), ``"relu"`` (its attention branch's ``pmconv6``),
            or None for an ungated conv.

    Initialisation: a gate near 1/2 and ELU features shrink the activations of every layer;
    over DeepFill's ~30 gated layers Glorot or He initialisation leave vanishing outputs and
    nothing trains. Gated convolutions therefore use
    ``VarianceScaling(scale=8, mode="fan_in")``, which keeps the generator's output standard
    deviation near 1 at initialisation; ungated (output) convolutions use Glorot.
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, dilation_rate: int = 1,
                 activation: str | None = "elu", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.dilation_rate, self.activation = dilation_rate, activation
        out = filters if activation is None else 2 * filters
        initializer = "glorot_uniform" if activation is None else keras.initializers.VarianceScaling(8.0, "fan_in")
        self.conv = layers.Conv2D(out, kernel_size, strides=strides, dilation_rate=dilation_rate, padding="valid",
                                  kernel_initializer=initializer, name="conv", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs):
        x = self.conv(pad_same(inputs, self.kernel_size, self.strides, self.dilation_rate))
        if self.activation is None:
            return x
        features, gate = ops.split(x, 2, axis=-1)
        return keras.activations.get(self.activation)(features) * ops.sigmoid(gate)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        if self.strides > 1:
            h = None if h is None else -(-h // self.strides)
            w = None if w is None else -(-w // self.strides)
        return (n, h, w, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "dilation_rate": self.dilation_rate, "activation": self.activation}

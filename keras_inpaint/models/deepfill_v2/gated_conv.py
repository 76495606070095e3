"""Gated convolution (Yu et al., "Free-Form Image Inpainting with Gated Convolution", 2019)."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="keras_inpaint")
class GatedConv2D(layers.Layer):
    """``activation(features) * sigmoid(gate)``, both halves of one convolution.

    (N, H, W, C) -> (N, H/stride, W/stride, filters). One ``Conv2D`` with ``2 * filters``
    outputs is split into features and a learned soft mask (the gate), as in DeepFill v2's
    ``gen_conv``. With ``activation=None`` it is a plain convolution (the output layers).

    Args:
        filters: output channels.
        kernel_size, strides, dilation_rate: of the convolution ("same" padding).
        activation: ``"elu"`` (DeepFill v2), ``"relu"``, or None for an ungated conv.

    Initialisation: a gate near 1/2 and ELU features shrink the activations of every layer;
    over DeepFill's ~30 gated layers Glorot or He initialisation leave outputs around 1e-9
    (measured) and nothing trains. Gated convolutions therefore use
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
        self.conv = layers.Conv2D(out, kernel_size, strides=strides, dilation_rate=dilation_rate, padding="same",
                                  kernel_initializer=initializer, name="conv", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs):
        x = self.conv(inputs)
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

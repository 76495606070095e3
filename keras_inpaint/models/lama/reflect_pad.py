"""Reflection padding (PyTorch ``ReflectionPad2d`` / ``padding_mode="reflect"``)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ReflectPad2D(keras.layers.Layer):
    """Pad (N, H, W, C) by reflection without repeating the edge (TF ``REFLECT``).

    Args:
        padding: pixels added on each side (int), or ((top, bottom), (left, right)).
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int):
            padding = ((padding, padding), (padding, padding))
        self.padding = tuple(tuple(int(p) for p in pair) for pair in padding)

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        return ops.pad(inputs, [[0, 0], [top, bottom], [left, right], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (top, bottom), (left, right) = self.padding
        return (n, None if h is None else h + top + bottom, None if w is None else w + left + right, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}

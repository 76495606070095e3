"""DeepFill v2 generator: coarse-to-fine gated convolutions with contextual attention."""

from __future__ import annotations

import keras
from keras import layers

from keras_inpaint.models.deepfill_v2.contextual_attention import ContextualAttention
from keras_inpaint.models.deepfill_v2.gated_conv import GatedConv2D
from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs


@keras.saving.register_keras_serializable(package="keras_inpaint")
class Blend(layers.Layer):
    """``coarse * mask + masked_image * (1 - mask)``: the refinement stage's input (N,H,W,3)."""

    def call(self, coarse, inputs):
        mask = inputs[..., 3:]
        return coarse * mask + inputs[..., :3] * (1.0 - mask)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ResizeMaskLike(layers.Layer):
    """Nearest-neighbour downsampling of the (N,H,W,1) mask channel of the input by ``factor``."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs[:, :: self.factor, :: self.factor, 3:]

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _gated(x, filters, kernel, name, strides=1, rate=1, activation="elu"):
    return GatedConv2D(filters, kernel, strides=strides, dilation_rate=rate, activation=activation, name=name)(x)


def _upsample(x, filters, name):
    """DeepFill's ``gen_deconv``: nearest x2 upsampling then a 3x3 gated conv."""
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
    return _gated(x, filters, 3, name)


def _encoder(x, width, prefix, dilated: bool, down_filters: tuple[int, int]):
    """5x5 conv, two stride-2 stages, then (optionally) dilations 2, 4, 8, 16 at 1/4 resolution.

    ``down_filters`` are the widths of the two downsampling convs, which differ between the
    coarse network and the two refinement branches in the reference.
    """
    x = _gated(x, width, 5, f"{prefix}conv1")
    x = _gated(x, down_filters[0], 3, f"{prefix}conv2_downsample", strides=2)
    x = _gated(x, 2 * width, 3, f"{prefix}conv3")
    x = _gated(x, down_filters[1], 3, f"{prefix}conv4_downsample", strides=2)
    x = _gated(x, 4 * width, 3, f"{prefix}conv5")
    x = _gated(x, 4 * width, 3, f"{prefix}conv6", activation="elu" if dilated else "relu")
    if dilated:
        for rate in (2, 4, 8, 16):
            x = _gated(x, 4 * width, 3, f"{prefix}conv{5 + rate.bit_length()}_atrous", rate=rate)
    return x


def _decoder(x, width, prefix, start):
    x = _gated(x, 4 * width, 3, f"{prefix}conv{start}")
    x = _gated(x, 4 * width, 3, f"{prefix}conv{start + 1}")
    x = _upsample(x, 2 * width, f"{prefix}conv{start + 2}_upsample")
    x = _gated(x, 2 * width, 3, f"{prefix}conv{start + 3}")
    x = _upsample(x, width, f"{prefix}conv{start + 4}_upsample")
    x = _gated(x, max(width // 2, 1), 3, f"{prefix}conv{start + 5}")
    x = _gated(x, 3, 3, f"{prefix}conv{start + 6}", activation=None)
    return layers.Activation("tanh", dtype="float32", name=f"{prefix}output")(x)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class DeepFillV2Generator(InpaintingGenerator):
    """DeepFill v2's two-stage generator (Yu et al., ICCV 2019), layer for layer.

    Stage 1 (coarse): gated convs, two stride-2 downsamplings, dilated gated convs (rates
    2-16), nearest upsampling -> coarse image. Stage 2 (refinement) on the coarse result
    pasted into the hole, two branches at 1/4 resolution: dilated gated convs
    ("hallucination") and gated convs + :class:`ContextualAttention` (rate 2), concatenated
    and decoded. Gated convs use ELU features and sigmoid gates; outputs tanh.

    ``base_filters`` is the official ``cnum`` divided by two (the official code counts
    feature and gate channels together): 24 for cnum 48.

    Input (N, H, W, 4) in [-1, 1]; output (N, H, W, 3) in [-1, 1], H and W multiples of 8.
    (The coarse output is internal; its separate L1 supervision in the paper is not applied.)
    """

    def __init__(self, base_filters: int = 24, **kwargs):
        width = base_filters
        inputs = generator_inputs(4)
        x = _encoder(inputs, width, "", dilated=True, down_filters=(2 * width, 4 * width))
        coarse = _decoder(x, width, "", 11)
        refined_input = Blend(name="blend")(coarse, inputs)  # 3 channels, as in the reference
        hallucination = _encoder(refined_input, width, "x", dilated=True, down_filters=(width, 2 * width))
        attention = _encoder(refined_input, width, "pm", dilated=False, down_filters=(width, 4 * width))
        attention = ContextualAttention(rate=2, name="contextual_attention")(attention, ResizeMaskLike(4, name="mask_quarter")(inputs))
        attention = _gated(attention, 4 * width, 3, "pmconv9")
        attention = _gated(attention, 4 * width, 3, "pmconv10")
        x = layers.Concatenate(name="merge")([hallucination, attention])
        outputs = _decoder(x, width, "all", 11)
        super().__init__(inputs=inputs, outputs=outputs, size_multiple=8, **kwargs)
        self.base_filters = base_filters

    def get_config(self):
        return {**super().get_config(), "base_filters": self.base_filters}

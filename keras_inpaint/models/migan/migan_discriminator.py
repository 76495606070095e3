"""MI-GAN's discriminator: a StyleGAN2-like residual discriminator on image + mask."""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from keras_inpaint.models.migan.migan_generator import channels_at, check_layout
from keras_inpaint.models.migan.migan_layers import (BlurDownsample, EqualizedDense, GroupMinibatchStd,
                                                     OfficialDiscriminatorInput, ReparamConv2D, ScaledLeakyReLU)
from keras_inpaint.models.networks import InpaintingDiscriminator


@keras.saving.register_keras_serializable(package="keras_inpaint")
class MinibatchStd(layers.Layer):
    """Append the mean over features of the per-feature standard deviation across the batch (StyleGAN)."""

    def call(self, x):
        std = ops.sqrt(ops.var(ops.cast(x, "float32"), axis=0) + 1e-8)  # (H, W, C)
        stat = ops.mean(std)
        shape = ops.shape(x)
        return ops.concatenate([x, ops.cast(ops.ones((shape[0], shape[1], shape[2], 1)) * stat, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class MiganDiscriminator(InpaintingDiscriminator):
    """Residual discriminator (StyleGAN2 "resnet" architecture) conditioned on the mask.

    Input (N, R, R, 4): image in [-1, 1] and our hole mask (1 = hole). Output
    ``[logits (N, 1, 1, 1), features]`` (features: each block's output). Inputs must be
    ``resolution`` square.

    Args:
        resolution, channel_base, max_channels: as for :class:`MiganGenerator`.
        layout: ``"v0"`` (default, what configs saved without the key were built with) or ``"official"``.

            - ``"official"``: the training ``Discriminator`` of MI-GAN's ``lib/model_zoo/migan.py``
              (config ``migan_dw_reparam_d256``/``d512``). An input adapter makes MI-GAN's
              ``[(1-hole) - 0.5, image]`` (mask first, 1 = known). Every convolution is
              reparametrised (``num_reparam_tensors`` trainable tensors summed, divided by
              sqrt(n)) and weight-normalised per output channel at every forward
              (:class:`ReparamConv2D`); convolutions are depthwise-separable. Blocks R ... 8:
              ``fromrgb`` (first only), ``conv1``, ``conv2`` (2x FIR downsample before its
              pointwise part, activation gains sqrt(0.5)), plus ``skip`` (FIR downsample, 1x1,
              no bias, times sqrt(0.5)). At 4x4: grouped minibatch stddev (group 4; the batch
              must be a multiple of min(4, N)), a separable conv, ``fc`` and ``out`` dense
              layers with 1/sqrt(fan_in) weight scaling (on the channel-major flattening).
            - ``"v0"``: the first port: plain 3x3 convolutions, sum scaled by 1/sqrt(2),
              minibatch stddev over the whole batch, the 4-channel input as it is.
        num_reparam_tensors: official layout only: how many tensors each convolution sums
            (MI-GAN: 9). The forward pass does not depend on it; training does.
    """

    config_keys = ("resolution", "channel_base", "max_channels", "layout", "num_reparam_tensors")

    def __init__(self, resolution: int = 256, channel_base: int = 32768, max_channels: int = 512, layout: str = "v0",
                 num_reparam_tensors: int = 9, **kwargs):
        check_layout(layout)
        log2 = int(math.log2(resolution))
        ch = lambda res: channels_at(res, channel_base, max_channels)  # noqa: E731
        inputs = keras.Input(shape=(resolution, resolution, 4), name="images_and_masks")
        if layout == "official":
            logits, features = _official(inputs, log2, ch, num_reparam_tensors)
        else:
            logits, features = _v0(inputs, log2, ch)
        logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
        super().__init__(inputs=inputs, outputs=[logits, features], **kwargs)
        self.resolution, self.channel_base, self.max_channels = resolution, channel_base, max_channels
        self.layout, self.num_reparam_tensors = layout, num_reparam_tensors


def _v0(inputs, log2, ch):
    resolution = 2**log2
    x = ScaledLeakyReLU(name="fromrgb_act")(layers.Conv2D(ch(resolution), 1, name="fromrgb")(inputs))
    features = []
    for res in [2**i for i in range(log2, 2, -1)]:
        skip = layers.Conv2D(ch(res // 2), 1, use_bias=False, name=f"b{res}.skip")(BlurDownsample(name=f"b{res}.skip_down")(x))
        y = ScaledLeakyReLU(name=f"b{res}.conv0_act")(layers.Conv2D(ch(res), 3, padding="same", name=f"b{res}.conv0")(x))
        y = BlurDownsample(name=f"b{res}.conv1_down")(y)
        y = ScaledLeakyReLU(name=f"b{res}.conv1_act")(layers.Conv2D(ch(res // 2), 3, padding="same", name=f"b{res}.conv1")(y))
        x = layers.Rescaling(1 / math.sqrt(2), name=f"b{res}.scale")(layers.Add(name=f"b{res}.sum")([skip, y]))
        features.append(x)
    x = MinibatchStd(name="b4.mbstd")(x)
    x = ScaledLeakyReLU(name="b4.conv_act")(layers.Conv2D(ch(4), 3, padding="same", name="b4.conv")(x))
    x = layers.Flatten(name="b4.flatten")(x)
    x = ScaledLeakyReLU(name="b4.fc_act")(layers.Dense(ch(4), name="b4.fc")(x))
    return layers.Reshape((1, 1, 1), name="b4.logits_map")(layers.Dense(1, name="b4.out")(x)), features


def _official(inputs, log2, ch, n):
    resolution = 2**log2
    g = math.sqrt(0.5)

    def separable(x, filters, name, down=1, gain=1.0):
        x = ReparamConv2D(kernel_size=3, depthwise=True, num_tensors=n, gain=gain, name=f"{name}.conv1")(x)
        return ReparamConv2D(filters, 1, use_bias=False, num_tensors=n, down=down, gain=gain, name=f"{name}.conv2")(x)

    x = OfficialDiscriminatorInput(name="official_input")(inputs)
    x = ReparamConv2D(ch(resolution), 1, num_tensors=n, name=f"b{resolution}.fromrgb")(x)
    features = []
    for res in [2**i for i in range(log2, 2, -1)]:
        skip = ReparamConv2D(ch(res // 2), 1, use_bias=False, num_tensors=n, down=2, gain=g, activation=False,
                             name=f"b{res}.skip")(x)
        y = separable(x, ch(res), f"b{res}.conv1")
        y = separable(y, ch(res // 2), f"b{res}.conv2", down=2, gain=g)
        x = layers.Add(name=f"b{res}.sum")([skip, y])
        features.append(x)
    x = GroupMinibatchStd(4, name="b4.mbstd")(x)
    x = separable(x, ch(4), "b4.conv")
    x = layers.Flatten(name="b4.flatten")(layers.Permute((3, 1, 2), name="b4.channels_first")(x))
    x = EqualizedDense(ch(4), activation=True, name="b4.fc")(x)
    return layers.Reshape((1, 1, 1), name="b4.logits_map")(EqualizedDense(1, name="b4.out")(x)), features

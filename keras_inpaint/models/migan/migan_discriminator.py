"""MI-GAN's discriminator: a StyleGAN2-like residual discriminator on image + mask."""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from keras_inpaint.models.migan.migan_layers import BlurDownsample, ScaledLeakyReLU
from keras_inpaint.models.networks import InpaintingDiscriminator
from keras_inpaint.models.migan.migan_generator import channels_at


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

    (N, R, R, 4) image in [-1, 1] + mask -> 1x1 fromRGB -> per resolution R..8 a residual
    block (3x3 conv, 3x3 conv + blurred stride-2 downsampling; 1x1 blurred skip; sum scaled
    by 1/sqrt(2)) -> at 4x4 minibatch standard deviation, 3x3 conv, dense, dense -> one logit
    per image. Output ``[logits (N, 1, 1, 1), features]``. Inputs must be ``resolution`` square.
    """

    config_keys = ("resolution", "channel_base", "max_channels")

    def __init__(self, resolution: int = 256, channel_base: int = 32768, max_channels: int = 512, **kwargs):
        log2 = int(math.log2(resolution))
        ch = lambda res: channels_at(res, channel_base, max_channels)  # noqa: E731
        inputs = keras.Input(shape=(resolution, resolution, 4), name="images_and_masks")
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
        logits = layers.Reshape((1, 1, 1), name="b4.logits_map")(layers.Dense(1, name="b4.out")(x))
        logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
        super().__init__(inputs=inputs, outputs=[logits, features], **kwargs)
        self.resolution, self.channel_base, self.max_channels = resolution, channel_base, max_channels

"""MI-GAN generator (Sargsyan et al., ICCV 2023): a mobile encoder + StyleGAN2-like skip synthesis."""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_inpaint.models.migan.migan_layers import BlurUpsample, ScaledLeakyReLU, SeparableBlock
from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs


def channels_at(resolution: int, channel_base: int, max_channels: int) -> int:
    return min(channel_base // resolution, max_channels)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class MiganGenerator(InpaintingGenerator):
    """MI-GAN's inference generator, built from depthwise-separable blocks.

    Encoder: a 1x1 "fromRGB" on the 4-channel input, then per resolution from
    ``resolution`` down to 8 a separable block (kept as a skip feature) and a separable
    block with blurred stride-2 downsampling; a last pair at 4x4. Synthesis: at 4x4 two
    separable blocks around the 4x4 skip; then per resolution an upsampling separable block
    (zero insertion + [1,3,3,1] blur) with noise, the encoder's skip feature added, a
    separable block with noise, and a 1x1 "toRGB" added to the blurred-upsampled RGB of
    the previous resolution (StyleGAN2's skip architecture). Channels
    ``min(channel_base / res, 512)``; activations are LeakyReLU(0.2)*sqrt(2) clamped at 256.
    The reference's RGB output is linear; ours ends in tanh to stay in [-1, 1].

    Input (N, H, W, 4) in [-1, 1]; output (N, H, W, 3) in [-1, 1]. H and W must be
    multiples of ``resolution / 4``; the network is fully convolutional beyond that.
    """

    def __init__(self, resolution: int = 256, channel_base: int = 32768, max_channels: int = 512, **kwargs):
        log2 = int(math.log2(resolution))
        if 2**log2 != resolution or resolution < 8:
            raise ValueError(f"resolution must be a power of two >= 8; got {resolution}.")
        encode = [2**i for i in range(log2, 1, -1)]  # R, R/2, ..., 4
        ch = lambda res: channels_at(res, channel_base, max_channels)  # noqa: E731
        inputs = generator_inputs(4)
        x = layers.Conv2D(ch(resolution), 1, name=f"encoder.b{resolution}.fromrgb")(inputs)
        x = ScaledLeakyReLU(name=f"encoder.b{resolution}.fromrgb_act")(x)
        skips = {}
        for res_i, res_j in zip(encode[:-1], encode[1:]):
            skips[res_i] = SeparableBlock(ch(res_i), name=f"encoder.b{res_i}.conv1")(x)
            x = SeparableBlock(ch(res_j), down=2, name=f"encoder.b{res_i}.conv2")(skips[res_i])
        skips[4] = SeparableBlock(ch(4), name="encoder.b4.conv1")(x)
        x = SeparableBlock(ch(4), name="encoder.b4.conv2")(skips[4])

        x = SeparableBlock(ch(4), name="synthesis.b4.conv1")(x)
        x = layers.Add(name="synthesis.b4.skip")([x, skips[4]])
        x = SeparableBlock(ch(4), name="synthesis.b4.conv2")(x)
        rgb = layers.Conv2D(3, 1, name="synthesis.b4.torgb")(x)
        for seed, res in enumerate(encode[-2::-1]):  # 8, 16, ..., R
            x = SeparableBlock(ch(res), up=2, noise=True, noise_seed=2 * seed + 1, name=f"synthesis.b{res}.conv1")(x)
            x = layers.Add(name=f"synthesis.b{res}.skip")([x, skips[res]])
            x = SeparableBlock(ch(res), noise=True, noise_seed=2 * seed + 2, name=f"synthesis.b{res}.conv2")(x)
            rgb = BlurUpsample(name=f"synthesis.b{res}.upsample_rgb")(rgb)
            rgb = layers.Add(name=f"synthesis.b{res}.rgb")([rgb, layers.Conv2D(3, 1, name=f"synthesis.b{res}.torgb")(x)])
        outputs = layers.Activation("tanh", dtype="float32", name="output")(rgb)
        super().__init__(inputs=inputs, outputs=outputs, size_multiple=resolution // 4, **kwargs)
        self.resolution, self.channel_base, self.max_channels = resolution, channel_base, max_channels

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution, "channel_base": self.channel_base,
                "max_channels": self.max_channels}

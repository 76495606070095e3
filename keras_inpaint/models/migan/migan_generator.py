"""MI-GAN generator (Sargsyan et al., ICCV 2023): a mobile encoder + StyleGAN2-like skip synthesis."""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_inpaint.models.migan.migan_layers import (BlurUpsample, ClipAtInference, OfficialInput, ScaledLeakyReLU,
                                                     SeparableBlock)
from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs

LAYOUTS = ("v0", "official")


def channels_at(resolution: int, channel_base: int, max_channels: int) -> int:
    return min(channel_base // resolution, max_channels)


def check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}; got {layout!r}.")


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
    ``min(channel_base / res, max_channels)``; activations are LeakyReLU(0.2)*sqrt(2)
    clamped at 256. Layer names follow MI-GAN's module names (``encoder.b256.conv1``, ...).

    Args:
        resolution: the top resolution R (a power of two >= 8); the released models use 256 and 512.
        channel_base, max_channels: channel widths ``min(channel_base // r, max_channels)``
            (MI-GAN: 32768 and 512).
        layout: ``"v0"`` (default, so that configs saved without the key, such as the bundled
            ``migan_tiny``, load unchanged) or ``"official"``.

            - ``"official"``: MI-GAN's inference ``Generator`` (``lib/model_zoo/migan_inference.py``)
              exactly, so converted checkpoints give the official outputs from our inputs. An input
              adapter maps our (N,H,W,4) ``[image*(1-hole), hole]`` to MI-GAN's
              ``[mask - 0.5, image*mask]`` with mask = 1 - hole (1 = known, first); the FIR taps are
              non-trainable weights; each synthesis conv at r >= 8 adds ``noise_strength`` times a
              stored, non-trainable (r, r) ``noise_const`` (tiled and cropped when the input is not
              R x R; MI-GAN itself only takes R x R, and :attr:`input_size` makes
              ``Inpainter.inpaint`` resize to R x R); the RGB output is linear, as MI-GAN's, during
              training and clipped to [-1, 1] at inference (both official post-processings clamp).
            - ``"v0"``: the first port, which ``migan_tiny`` was trained with: the 4-channel input
              goes to ``fromrgb`` as it is, the FIR taps are hard-coded, the noise is drawn from a
              seeded generator at the input's size, and the output ends in tanh.

    Input (N, H, W, 4) in [-1, 1]; output (N, H, W, 3) in [-1, 1]. H and W must be
    multiples of ``resolution / 4``; the network is fully convolutional beyond that.

    Parameters of the official layout: trainable weights are MI-GAN's learned parameters
    (5,865,505 at R=256); the FIR taps (78,112) and ``noise_const`` maps (174,720) are
    non-trainable weights. MI-GAN counts the taps as parameters (5,943,617 in all) and
    ``noise_const`` as buffers.
    """

    def __init__(self, resolution: int = 256, channel_base: int = 32768, max_channels: int = 512, layout: str = "v0",
                 **kwargs):
        log2 = int(math.log2(resolution))
        if 2**log2 != resolution or resolution < 8:
            raise ValueError(f"resolution must be a power of two >= 8; got {resolution}.")
        check_layout(layout)
        official = layout == "official"
        encode = [2**i for i in range(log2, 1, -1)]  # R, R/2, ..., 4
        ch = lambda res: channels_at(res, channel_base, max_channels)  # noqa: E731
        inputs = generator_inputs(4)
        x = OfficialInput(name="official_input")(inputs) if official else inputs
        x = layers.Conv2D(ch(resolution), 1, name=f"encoder.b{resolution}.fromrgb")(x)
        x = ScaledLeakyReLU(name=f"encoder.b{resolution}.fromrgb_act")(x)
        skips = {}
        for res_i, res_j in zip(encode[:-1], encode[1:]):
            skips[res_i] = SeparableBlock(ch(res_i), name=f"encoder.b{res_i}.conv1")(x)
            x = SeparableBlock(ch(res_j), down=2, fixed_filters=official, name=f"encoder.b{res_i}.conv2")(skips[res_i])
        skips[4] = SeparableBlock(ch(4), name="encoder.b4.conv1")(x)
        x = SeparableBlock(ch(4), name="encoder.b4.conv2")(skips[4])

        x = SeparableBlock(ch(4), name="synthesis.b4.conv1")(x)
        x = layers.Add(name="synthesis.b4.skip")([x, skips[4]])
        x = SeparableBlock(ch(4), name="synthesis.b4.conv2")(x)
        rgb = layers.Conv2D(3, 1, name="synthesis.b4.torgb")(x)
        for seed, res in enumerate(encode[-2::-1]):  # 8, 16, ..., R
            noise = {"noise": True, "noise_size": res if official else None, "fixed_filters": official}
            x = SeparableBlock(ch(res), up=2, noise_seed=2 * seed + 1, name=f"synthesis.b{res}.conv1", **noise)(x)
            x = layers.Add(name=f"synthesis.b{res}.skip")([x, skips[res]])
            x = SeparableBlock(ch(res), noise_seed=2 * seed + 2, name=f"synthesis.b{res}.conv2", **noise)(x)
            rgb = BlurUpsample(fixed_filters=official, name=f"synthesis.b{res}.upsample_rgb")(rgb)
            rgb = layers.Add(name=f"synthesis.b{res}.rgb")([rgb, layers.Conv2D(3, 1, name=f"synthesis.b{res}.torgb")(x)])
        if official:
            outputs = ClipAtInference(dtype="float32", name="output")(rgb)
        else:
            outputs = layers.Activation("tanh", dtype="float32", name="output")(rgb)
        super().__init__(inputs=inputs, outputs=outputs, size_multiple=resolution // 4, **kwargs)
        self.resolution, self.channel_base, self.max_channels, self.layout = resolution, channel_base, max_channels, layout

    @property
    def input_size(self) -> int | None:
        """``resolution`` for the official layout (MI-GAN's noise maps and upsampling patterns are
        R x R: the official model takes nothing else); None for ``v0``."""
        return self.resolution if self.layout == "official" else None

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution, "channel_base": self.channel_base,
                "max_channels": self.max_channels, "layout": self.layout}

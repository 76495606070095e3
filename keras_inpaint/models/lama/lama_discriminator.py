"""LaMa's discriminator: the NLayer PatchGAN with 4 stride-2 layers, padding 2 and biases."""

from __future__ import annotations

import keras
from keras import layers

from keras_inpaint.models.networks import InpaintingDiscriminator
from keras_inpaint.models.patchgan import PatchGANDiscriminator


@keras.saving.register_keras_serializable(package="keras_inpaint")
class LamaDiscriminator(PatchGANDiscriminator):
    """``NLayerDiscriminator(ndf=64, n_layers=4)`` of LaMa (6,962,369 parameters at ndf 64).

    Same contract and layer names as :class:`PatchGANDiscriminator`: (N, H, W, 3) in [-1, 1]
    -> ``[logits (N, h, w, 1), features]``; the features feed LaMa's feature-matching loss.
    The graph is built here rather than by the shared PatchGAN because two details of LaMa's
    ``saicinpainting/training/modules/pix2pixhd.py`` differ, each behind an argument whose
    default keeps the PatchGAN layout:

    - LaMa caps the filters at 512 (``min(ndf * 2**i, 512)``), PatchGAN at 8 x ndf
      (``ndf * min(2**i, 8)``). They agree for ndf 64 and for up to 3 stride-2 layers;
      ``max_filters=512`` gives LaMa's rule for any ndf (the converter sets it).
    - LaMa's discriminator judges images in [0, 1]. ``unit_range_input=True`` maps our
      [-1, 1] images to [0, 1] before the first (zero-padded) convolution, so a converted
      LaMa discriminator computes exactly LaMa's function (the converter sets it).

    Args:
        base_filters: ndf (64).
        num_layers: stride-2 layers (4 in LaMa's configurations).
        input_channels: channels of the judged images (3).
        padding: zero padding before each 4x4 conv (LaMa: 2).
        norm: ``"batch"`` or ``"none"``.
        bias_with_norm: whether convs followed by a norm keep a bias (LaMa: yes).
        max_filters: ``None`` (PatchGAN's 8 x ndf cap) or LaMa's absolute cap (512).
        unit_range_input: rescale [-1, 1] inputs to [0, 1] first (converted LaMa weights).
    """

    config_keys = PatchGANDiscriminator.config_keys + ("max_filters", "unit_range_input")

    def __init__(
        self,
        base_filters: int = 64,
        num_layers: int = 4,
        input_channels: int = 3,
        padding: int = 2,
        norm: str = "batch",
        bias_with_norm: bool = True,
        max_filters: int | None = None,
        unit_range_input: bool = False,
        **kwargs,
    ):
        if norm not in ("batch", "none"):
            raise ValueError(f"norm must be 'batch' or 'none'; got {norm!r}.")
        inputs = keras.Input(shape=(None, None, input_channels), name="images")
        x = layers.Rescaling(0.5, offset=0.5, name="unit_range")(inputs) if unit_range_input else inputs
        features = []
        for i in range(num_layers + 1):
            filters = layer_filters(base_filters, i, max_filters)
            strides = 2 if i < num_layers else 1
            with_norm = i > 0 and norm == "batch"
            x = layers.ZeroPadding2D(padding, name=f"layer{i}_pad")(x)
            x = layers.Conv2D(filters, 4, strides=strides, use_bias=bias_with_norm or not with_norm, name=f"layer{i}_conv")(x)
            if with_norm:
                x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"layer{i}_bn")(x)
            x = layers.LeakyReLU(0.2, name=f"layer{i}_lrelu")(x)
            features.append(x)
        x = layers.ZeroPadding2D(padding, name="logits_pad")(x)
        logits = layers.Conv2D(1, 4, name="logits_conv")(x)
        logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
        InpaintingDiscriminator.__init__(self, inputs=inputs, outputs=[logits, features], **kwargs)
        self.base_filters = base_filters
        self.num_layers = num_layers
        self.input_channels = input_channels
        self.padding = padding
        self.norm = norm
        self.bias_with_norm = bias_with_norm
        self.max_filters = max_filters
        self.unit_range_input = unit_range_input


def layer_filters(base_filters: int, index: int, max_filters: int | None = None) -> int:
    """Filters of conv ``index`` (0 .. num_layers): PatchGAN's rule, or LaMa's with ``max_filters``."""
    if max_filters is None:
        return base_filters * min(2**index, 8)
    return min(base_filters * 2**index, max_filters)

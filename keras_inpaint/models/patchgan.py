"""PatchGAN discriminator (pix2pix's 70x70 "basic" / NLayer discriminator)."""

from __future__ import annotations

import keras
from keras import layers

from keras_inpaint.models.networks import InpaintingDiscriminator


@keras.saving.register_keras_serializable(package="keras_inpaint")
class PatchGANDiscriminator(InpaintingDiscriminator):
    """NLayer PatchGAN: a grid of real/fake logits, one per overlapping image patch.

    Layout (Isola et al., 2017): a 4x4 stride-2 conv + LeakyReLU(0.2); ``num_layers - 1``
    4x4 stride-2 convs + norm + LeakyReLU; one 4x4 stride-1 conv + norm + LeakyReLU; a 4x4
    stride-1 conv to one logit per patch. Filters double from ``base_filters`` up to 8x.
    With ``num_layers=3`` and ``padding=1`` each logit sees a 70x70 patch.

    Input (N, H, W, C) images in [-1, 1]. Output ``[logits, features]``: logits
    (N, h, w, 1) float32, and the list of the intermediate activations (one per LeakyReLU)
    used for feature matching.

    Args:
        base_filters: filters of the first layer (ndf, 64).
        num_layers: number of stride-2 layers (3 for 70x70; LaMa uses 4).
        input_channels: channels of the images it judges (3).
        padding: zero padding before each 4x4 conv (1 in pix2pix, 2 in LaMa).
        norm: ``"batch"`` or ``"none"``.
        bias_with_norm: whether convs followed by a norm keep a bias (pix2pix: no; LaMa: yes).
    """

    config_keys = ("base_filters", "num_layers", "input_channels", "padding", "norm", "bias_with_norm")

    def __init__(
        self,
        base_filters: int = 64,
        num_layers: int = 3,
        input_channels: int = 3,
        padding: int = 1,
        norm: str = "batch",
        bias_with_norm: bool = False,
        **kwargs,
    ):
        if norm not in ("batch", "none"):
            raise ValueError(f"norm must be 'batch' or 'none'; got {norm!r}.")
        inputs = keras.Input(shape=(None, None, input_channels), name="images")
        x = inputs
        features = []
        for i in range(num_layers + 1):
            filters = base_filters * min(2**i, 8)
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
        super().__init__(inputs=inputs, outputs=[logits, features], **kwargs)
        self.base_filters = base_filters
        self.num_layers = num_layers
        self.input_channels = input_channels
        self.padding = padding
        self.norm = norm
        self.bias_with_norm = bias_with_norm

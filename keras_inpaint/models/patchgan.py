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

    With the defaults (``padding=1``, ``norm="batch"``, ``bias_with_norm=False``) this is
    exactly pix2pix's ``NLayerDiscriminator`` (``netD=basic``): the first and the logits convs
    have a bias, the others none; BatchNorm eps 1e-5; no sigmoid (raw logits for a
    with-logits loss). 256x256 in -> 30x30 logits out.

    Input (N, H, W, C) in [-1, 1], C = ``input_channels``:

    * 3: the image alone (real or generated);
    * 4: the image, then its mask (1 in the hole);
    * 6: pix2pix's conditional D. It expects concat(masked input image, image) along
      channels, in this order: channels 0-2 = A, the generator's input image (the masked
      image, holes set to 0, in [-1, 1], i.e. the first 3 channels of the generator input),
      channels 3-5 = B, the real or generated image. That is pix2pix's
      ``torch.cat((real_A, fake_B), 1)`` / ``torch.cat((real_A, real_B), 1)``.

    Output ``[logits, features]``: logits (N, h, w, 1) float32, and the list of the
    intermediate activations (one per LeakyReLU) used for feature matching.

    Args:
        base_filters: filters of the first layer (ndf, 64).
        num_layers: number of stride-2 layers (3 for 70x70; LaMa uses 4).
        input_channels: channels of the input, 3, 4 or 6 (see above; 3 by default).
        padding: zero padding before each 4x4 conv (1 in pix2pix, 2 in LaMa).
        norm: ``"batch"`` or ``"none"``.
        bias_with_norm: whether convs followed by a norm keep a bias (pix2pix: no; LaMa: yes).
        max_filters: ``None``: filters capped at 8 x ndf (``ndf * min(2**i, 8)``, pix2pix);
            a number: an absolute cap (``min(ndf * 2**i, max_filters)``, LaMa's 512). The two
            agree for ndf 64 and for up to 3 stride-2 layers.
        unit_range_input: rescale the [-1, 1] input to [0, 1] before the first (zero-padded)
            convolution, for weights trained on [0, 1] images (LaMa's).
    """

    config_keys = ("base_filters", "num_layers", "input_channels", "padding", "norm", "bias_with_norm",
                   "max_filters", "unit_range_input")

    def __init__(
        self,
        base_filters: int = 64,
        num_layers: int = 3,
        input_channels: int = 3,
        padding: int = 1,
        norm: str = "batch",
        bias_with_norm: bool = False,
        max_filters: int | None = None,
        unit_range_input: bool = False,
        **kwargs,
    ):
        if input_channels < 1:
            raise ValueError(f"input_channels must be positive; got {input_channels}.")
        if norm not in ("batch", "none"):
            raise ValueError(f"norm must be 'batch' or 'none'; got {norm!r}.")
        inputs = keras.Input(shape=(None, None, input_channels), name="images")
        x = layers.Rescaling(0.5, offset=0.5, name="unit_range")(inputs) if unit_range_input else inputs
        features = []
        for i in range(num_layers + 1):
            filters = base_filters * min(2**i, 8) if max_filters is None else min(base_filters * 2**i, max_filters)
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
        self.max_filters = max_filters
        self.unit_range_input = unit_range_input

"""SN-PatchGAN: DeepFill v2's spectral-normalised patch discriminator."""

from __future__ import annotations

import keras
from keras import layers

from keras_inpaint.models.networks import InpaintingDiscriminator


@keras.saving.register_keras_serializable(package="keras_inpaint")
class SNPatchGANDiscriminator(InpaintingDiscriminator):
    """Six 5x5 stride-2 convolutions with spectral normalisation and LeakyReLU(0.2).

    Filters: base, 2*base, 4*base x4 (64 -> 256 in DeepFill v2, 5,946,816 parameters). It
    judges the image together with its mask: input (N, H, W, 4) = image in [-1, 1] + mask,
    as in the reference. Output ``[logits, features]``: as in the reference every position
    *and channel* of the last (LeakyReLU) activation is a logit, so logits are
    (N, H/64, W/64, 4*base); the losses average over all of them. Spectral normalisation
    is Keras's ``SpectralNormalization`` wrapper (one power iteration per training step).
    """

    config_keys = ("base_filters", "num_layers", "input_channels")

    def __init__(self, base_filters: int = 64, num_layers: int = 6, input_channels: int = 4, **kwargs):
        inputs = keras.Input(shape=(None, None, input_channels), name="images_and_masks")
        x = inputs
        features = []
        for i in range(num_layers):
            filters = base_filters * min(2**i, 4)
            conv = layers.Conv2D(filters, 5, strides=2, padding="same", name=f"conv{i + 1}")
            x = layers.SpectralNormalization(conv, name=f"conv{i + 1}_sn")(x)
            x = layers.LeakyReLU(0.2, name=f"conv{i + 1}_lrelu")(x)
            features.append(x)
        logits = layers.Activation("linear", dtype="float32", name="logits")(x)
        super().__init__(inputs=inputs, outputs=[logits, features], **kwargs)
        self.base_filters, self.num_layers, self.input_channels = base_filters, num_layers, input_channels

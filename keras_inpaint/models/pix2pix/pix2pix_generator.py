"""pix2pix U-Net generator (Isola et al., 2017), adapted to inpainting (4 input channels)."""

from __future__ import annotations

import keras
from keras import layers

from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs


@keras.saving.register_keras_serializable(package="keras_inpaint")
class Pix2PixGenerator(InpaintingGenerator):
    """U-Net with skip connections: the pix2pix "unet_256" generator.

    Encoder: ``num_downsamplings`` 4x4 stride-2 convolutions (LeakyReLU 0.2, BatchNorm but
    on the first and innermost), filters ``base_filters * 2**i`` capped at ``max_filters``.
    Decoder: mirrored ReLU + 4x4 stride-2 transposed convolutions + BatchNorm, each
    concatenated with its encoder twin; dropout 0.5 in the ``num_downsamplings - 5``
    blocks next to the bottleneck (pix2pix's noise); tanh output.
    As in the reference code (BatchNorm variant) only the output convolution has a bias.

    Input (N, H, W, 4) in [-1, 1] (masked image + mask); output (N, H, W, 3) in [-1, 1].
    H and W must be multiples of ``2**num_downsamplings`` (256 for the full model).

    Args:
        num_downsamplings: depth of the U (8 for unet_256).
        base_filters: filters of the first level (ngf, 64 in pix2pix).
        max_filters: cap on filters (512 in pix2pix).
        dropout: dropout rate of the inner decoder blocks (0.5 in pix2pix; 0 disables).
    """

    def __init__(
        self,
        num_downsamplings: int = 8,
        base_filters: int = 64,
        max_filters: int = 512,
        dropout: float = 0.5,
        **kwargs,
    ):
        if num_downsamplings < 2:
            raise ValueError(f"num_downsamplings must be at least 2; got {num_downsamplings}.")
        filters = [min(base_filters * 2**i, max_filters) for i in range(num_downsamplings)]
        inputs = generator_inputs(4)
        x = inputs
        skips = []
        for i, f in enumerate(filters):
            innermost, outermost = i == num_downsamplings - 1, i == 0
            if not outermost:
                x = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(x)
            use_norm = not (innermost or outermost)
            x = layers.Conv2D(f, 4, strides=2, padding="same", use_bias=False, name=f"down{i}_conv")(x)
            if use_norm:
                x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"down{i}_bn")(x)
            skips.append(x)
        num_dropout = max(num_downsamplings - 5, 0)
        for i in reversed(range(num_downsamplings)):
            if i != num_downsamplings - 1:
                x = layers.Concatenate(name=f"up{i}_skip")([x, skips[i]])
            x = layers.ReLU(name=f"up{i}_relu")(x)
            if i == 0:
                x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", name="up0_conv")(x)
                x = layers.Activation("tanh", dtype="float32", name="output")(x)
                break
            x = layers.Conv2DTranspose(filters[i - 1], 4, strides=2, padding="same", use_bias=False, name=f"up{i}_conv")(x)
            x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"up{i}_bn")(x)
            if dropout > 0 and num_downsamplings - 1 - num_dropout <= i < num_downsamplings - 1:
                x = layers.Dropout(dropout, name=f"up{i}_dropout")(x)
        super().__init__(inputs=inputs, outputs=x, size_multiple=2**num_downsamplings, **kwargs)
        self.num_downsamplings = num_downsamplings
        self.base_filters = base_filters
        self.max_filters = max_filters
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_downsamplings": self.num_downsamplings,
            "base_filters": self.base_filters,
            "max_filters": self.max_filters,
            "dropout": self.dropout,
        })
        return config

"""pix2pix U-Net generator (Isola et al., 2017): the official ``unet_256``, fed 3 or 4 channels."""

from __future__ import annotations

import keras
from keras import layers

from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs


@keras.saving.register_keras_serializable(package="keras_inpaint")
class TakeChannels(layers.Layer):
    """The first ``channels`` channels of an NHWC tensor (drops the mask for a 3-channel U-Net)."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)

    def call(self, x):
        return x[..., : self.channels]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.channels,)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def _batch_norm(name: str) -> layers.BatchNormalization:
    # PyTorch BatchNorm2d defaults: eps 1e-5, momentum 0.1 (Keras counts momentum the other way).
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class Pix2PixGenerator(InpaintingGenerator):
    """U-Net with skip connections: pix2pix's ``UnetGenerator`` (``unet_256`` at 8 levels).

    Layout, level ``i`` = 0 (outermost) ... ``num_downsamplings - 1`` (innermost, 1x1 at 256):

    * down path: LeakyReLU(0.2) (not on level 0), 4x4 stride-2 conv with zero padding 1 and
      no bias, BatchNorm (not on levels 0 and innermost). Widths ``ngf * min(2**i, 8)``.
    * up path: ReLU, 4x4 stride-2 transposed conv with padding 1 (an exact x2, PyTorch's
      ``ConvTranspose2d(padding=1)``: the full transposed output cropped by one pixel on each
      side), BatchNorm, and Dropout(0.5) in the ``num_downsamplings - 5`` levels just outside
      the innermost one (identity at inference). Level 0 ends with a transposed conv that has
      a bias, to 3 channels, then tanh.
    * every level but the outermost returns concat(its input, its up-path result), the input
      first (PyTorch's ``torch.cat([x, self.model(x)], 1)``).

    BatchNorm eps 1e-5 (momentum 0.1 in PyTorch's sense); only the outermost transposed conv
    has a bias, as in the reference code with BatchNorm.

    Input (N, H, W, 4) in [-1, 1] (masked image + mask), as every generator of the zoo takes.
    With ``input_channels=4`` (our inpainting presets) the first conv sees image and mask;
    with ``input_channels=3`` (the official pix2pix checkpoints) a :class:`TakeChannels`
    layer drops the mask channel and the first conv sees the masked RGB image only.
    Output (N, H, W, 3) in [-1, 1]. H and W must be multiples of ``2**num_downsamplings``
    (256 for the full model).

    Args:
        num_downsamplings: depth of the U (8 for unet_256, 7 for unet_128).
        base_filters: filters of the first level (ngf, 64 in pix2pix).
        max_filters: cap on filters; ``None`` (default) means ``8 * base_filters`` as in pix2pix.
        dropout: dropout rate of the inner decoder blocks (0.5 in pix2pix; 0 disables).
        input_channels: 4 (masked image + mask) or 3 (masked image only, official checkpoints).
    """

    def __init__(
        self,
        num_downsamplings: int = 8,
        base_filters: int = 64,
        max_filters: int | None = None,
        dropout: float = 0.5,
        input_channels: int = 4,
        **kwargs,
    ):
        if num_downsamplings < 2:
            raise ValueError(f"num_downsamplings must be at least 2; got {num_downsamplings}.")
        if input_channels not in (3, 4):
            raise ValueError(f"input_channels must be 3 (image) or 4 (image + mask); got {input_channels}.")
        cap = 8 * base_filters if max_filters is None else max_filters
        filters = [min(base_filters * 2**i, cap) for i in range(num_downsamplings)]
        innermost = num_downsamplings - 1
        num_dropout = max(num_downsamplings - 5, 0)

        inputs = generator_inputs(4)
        x = TakeChannels(3, name="drop_mask")(inputs) if input_channels == 3 else inputs
        skips = []  # block inputs of levels 1..innermost (the down path's outputs one level up)
        for i, f in enumerate(filters):
            if i > 0:
                skips.append(x)
                x = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(x)
            x = layers.ZeroPadding2D(1, name=f"down{i}_pad")(x)
            x = layers.Conv2D(f, 4, strides=2, use_bias=False, name=f"down{i}_conv")(x)
            if 0 < i < innermost:
                x = _batch_norm(f"down{i}_bn")(x)
        for i in reversed(range(num_downsamplings)):
            x = layers.ReLU(name=f"up{i}_relu")(x)
            if i == 0:
                x = layers.Conv2DTranspose(3, 4, strides=2, name="up0_conv")(x)
                x = layers.Cropping2D(1, name="up0_crop")(x)
                x = layers.Activation("tanh", dtype="float32", name="output")(x)
                break
            x = layers.Conv2DTranspose(filters[i - 1], 4, strides=2, use_bias=False, name=f"up{i}_conv")(x)
            x = layers.Cropping2D(1, name=f"up{i}_crop")(x)
            x = _batch_norm(f"up{i}_bn")(x)
            if dropout > 0 and innermost - num_dropout <= i < innermost:
                x = layers.Dropout(dropout, name=f"up{i}_dropout")(x)
            # The skip is the block input; PyTorch's in-place LeakyReLU turns it into lrelu(input),
            # which the parent's ReLU makes the same: relu(lrelu(x)) == relu(x).
            x = layers.Concatenate(name=f"up{i}_skip")([skips[i - 1], x])
        super().__init__(inputs=inputs, outputs=x, size_multiple=2**num_downsamplings, **kwargs)
        self.num_downsamplings = num_downsamplings
        self.base_filters = base_filters
        self.max_filters = max_filters
        self.dropout = dropout
        self.input_channels = input_channels

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_downsamplings": self.num_downsamplings,
            "base_filters": self.base_filters,
            "max_filters": self.max_filters,
            "dropout": self.dropout,
            "input_channels": self.input_channels,
        })
        return config

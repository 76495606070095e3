"""Partial-convolution U-Net (Liu et al., ECCV 2018)."""

from __future__ import annotations

import keras
from keras import layers, ops

from keras_inpaint.models.pconv.partial_conv import PartialConv2D
from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs


@keras.saving.register_keras_serializable(package="keras_inpaint")
class SplitImageAndValid(layers.Layer):
    """(N,H,W,4) [-1,1] masked image + hole mask -> (image (N,H,W,3), valid (N,H,W,1) = 1 - mask)."""

    def call(self, inputs):
        return inputs[..., :3], 1.0 - inputs[..., 3:]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,), tuple(input_shape[:-1]) + (1,)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class RepeatChannels(layers.Layer):
    """Concatenate per-pixel validity maps repeated to the widths of the features they describe."""

    def __init__(self, widths, **kwargs):
        super().__init__(**kwargs)
        self.widths = [int(w) for w in widths]

    def call(self, masks):
        return ops.concatenate([ops.repeat(m, w, axis=-1) for m, w in zip(masks, self.widths)], axis=-1)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0][:-1]) + (sum(self.widths),)

    def get_config(self):
        return {**super().get_config(), "widths": self.widths}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class PConvGenerator(InpaintingGenerator):
    """PConv U-Net: every convolution is a :class:`PartialConv2D` and the mask shrinks layer by layer.

    Encoder (``num_levels`` = 8 at 512): PConv 7x7/64, 5x5/128, 5x5/256, 3x3/512 x5, all
    stride 2, BatchNorm from the second on, ReLU. Decoder: nearest x2 upsampling,
    concatenation with the encoder's features *and validity masks* of that level, PConv 3x3,
    BatchNorm, LeakyReLU(0.2); the last layer sees the input image and outputs 3 channels.
    Convolutions followed by BatchNorm have no bias. The paper's output is linear; ours
    goes through tanh to land in [-1, 1].

    Input (N, H, W, 4) in [-1, 1]; output (N, H, W, 3) in [-1, 1], H and W multiples of
    ``2**num_levels``.
    """

    def __init__(self, num_levels: int = 8, base_filters: int = 64, max_filters: int = 512, **kwargs):
        widths = [min(base_filters * 2**i, max_filters) for i in range(num_levels)]
        kernels = [7, 5, 5] + [3] * max(num_levels - 3, 0)
        inputs = generator_inputs(4)
        image, valid = SplitImageAndValid(name="split")(inputs)
        skips = [(image, valid, 3)]
        x, m = image, valid
        for i, (width, kernel) in enumerate(zip(widths, kernels[:num_levels])):
            bn = i > 0
            x, m = PartialConv2D(width, kernel, strides=2, use_bias=not bn, name=f"enc{i + 1}")(x, m)
            if bn:
                x = layers.BatchNormalization(name=f"enc{i + 1}_bn")(x)
            x = layers.ReLU(name=f"enc{i + 1}_relu")(x)
            skips.append((x, m, width))
        skips.pop()  # the bottleneck is not concatenated with itself
        current_width = widths[-1]
        for level in reversed(range(num_levels)):
            skip_x, skip_m, skip_width = skips[level]
            x = layers.UpSampling2D(2, name=f"dec{level + 1}_up")(x)
            m = layers.UpSampling2D(2, name=f"dec{level + 1}_up_mask")(m)
            masks = RepeatChannels([current_width, skip_width], name=f"dec{level + 1}_masks")([m, skip_m])
            x = layers.Concatenate(name=f"dec{level + 1}_concat")([x, skip_x])
            out_width = 3 if level == 0 else widths[level - 1]
            last = level == 0
            x, m = PartialConv2D(out_width, 3, use_bias=last, name=f"dec{level + 1}")(x, masks)
            if not last:
                x = layers.BatchNormalization(name=f"dec{level + 1}_bn")(x)
                x = layers.LeakyReLU(0.2, name=f"dec{level + 1}_lrelu")(x)
            current_width = out_width
        outputs = layers.Activation("tanh", dtype="float32", name="output")(x)
        super().__init__(inputs=inputs, outputs=outputs, size_multiple=2**num_levels, **kwargs)
        self.num_levels, self.base_filters, self.max_filters = num_levels, base_filters, max_filters

    def get_config(self):
        return {**super().get_config(), "num_levels": self.num_levels, "base_filters": self.base_filters,
                "max_filters": self.max_filters}

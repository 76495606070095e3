"""LaMa generator: a ResNet of fast Fourier convolutions (Suvorov et al., WACV 2022)."""

from __future__ import annotations

import keras
from keras import layers, ops

from keras_inpaint.models.lama.ffc import ffc_bn_act, ffc_resnet_block
from keras_inpaint.models.lama.reflect_pad import ReflectPad2D
from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs


@keras.saving.register_keras_serializable(package="keras_inpaint")
class LamaInput(layers.Layer):
    """Our [-1, 1] masked image + mask -> LaMa's input: image in [0, 1] with holes at 0, and the mask."""

    def call(self, inputs):
        image, mask = inputs[..., :3], inputs[..., 3:]
        return ops.concatenate([(image + 1.0) * 0.5 * (1.0 - mask), mask], axis=-1)


def _edge_refiner(lama_input, logits, filters: int):
    """(N,H,W,4) LaMa input + (N,H,W,3) logits -> (N,H,W,3) logit correction, zero at init."""
    x = layers.Concatenate(name="refine.inputs")([lama_input, logits])
    for i, dilation in enumerate((1, 2, 4)):
        x = ReflectPad2D(dilation, name=f"refine.{i}.pad")(x)
        x = layers.Conv2D(filters, 3, dilation_rate=dilation, activation="relu", name=f"refine.{i}")(x)
    x = ReflectPad2D(1, name="refine.3.pad")(x)
    return layers.Conv2D(3, 3, kernel_initializer="zeros", name="refine.3")(x)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class LamaGenerator(InpaintingGenerator):
    """LaMa's ``FFCResNetGenerator``, layer for layer.

    Reflection pad 3 + 7x7 FFC_BN_ACT (local only) -> ``num_downsamplings`` 3x3 stride-2
    FFC_BN_ACT with reflect padding (the last one splits ``global_ratio`` of its channels
    into the global, Fourier, path) -> ``num_blocks`` FFC residual blocks at
    1/2**num_downsamplings resolution -> concatenation of local and global channels ->
    ``num_downsamplings`` 3x3 stride-2 transposed convs + BatchNorm + ReLU -> reflection
    pad 3 + 7x7 conv -> sigmoid. Layer names are the reference's state-dict prefixes.

    Input (N, H, W, 4) in [-1, 1]; output (N, H, W, 3) in [-1, 1] (``2 * sigmoid - 1``).
    H and W must be multiples of ``2**num_downsamplings`` (8).

    Args:
        base_filters: ngf (64 for lama-fourier and big-lama).
        num_downsamplings: 3 in every published configuration.
        num_blocks: FFC residual blocks (9: lama-fourier, 18: big-lama).
        global_ratio: share of global channels in the residual blocks (0.75).
        max_filters: channel cap (1024).
        fft_implementation: ``"fft"`` (default) or ``"matmul"`` (DFT matrices: same weights and
            outputs, exportable to TFLite built-in ops).
        refine_filters: 0 (default) is LaMa exactly. A positive width adds our full-resolution
            edge refiner (not in LaMa): four 3x3 convs (dilations 1, 2, 4, then a linear one)
            over LaMa's input and the 7x7 conv's logits, added to the logits. It sees the
            known pixels at full resolution within 8 px, which the stride-8 trunk cannot
            continue exactly into the hole. Its last conv starts at zero, so a LaMa checkpoint
            loaded into it gives LaMa's outputs until it is trained.
    """

    def __init__(
        self,
        base_filters: int = 64,
        num_downsamplings: int = 3,
        num_blocks: int = 9,
        global_ratio: float = 0.75,
        max_filters: int = 1024,
        fft_implementation: str = "fft",
        refine_filters: int = 0,
        **kwargs,
    ):
        inputs = generator_inputs(4)
        lama_input = LamaInput(name="lama_input")(inputs)
        x = ReflectPad2D(3, name="model.0")(lama_input)
        x_l, x_g = ffc_bn_act(x, None, base_filters, 7, 0.0, name="model.1")
        index = 2
        for i in range(num_downsamplings):
            out_channels = min(max_filters, base_filters * 2 ** (i + 1))
            ratio_out = global_ratio if i == num_downsamplings - 1 else 0.0
            x_l, x_g = ffc_bn_act(x_l, x_g, out_channels, 3, ratio_out, stride=2, padding=1, name=f"model.{index}")
            index += 1
        channels = min(max_filters, base_filters * 2**num_downsamplings)
        for _ in range(num_blocks):
            x_l, x_g = ffc_resnet_block(x_l, x_g, channels, global_ratio, name=f"model.{index}", fft=fft_implementation)
            index += 1
        x = layers.Concatenate(name=f"model.{index}")([t for t in (x_l, x_g) if t is not None])
        index += 1
        for i in range(num_downsamplings):
            out_channels = min(max_filters, int(base_filters * 2 ** (num_downsamplings - i) / 2))
            x = layers.Conv2DTranspose(out_channels, 3, strides=2, padding="valid", name=f"model.{index}")(x)
            # PyTorch's padding=1, output_padding=1: drop the first row and column of the full output.
            x = layers.Cropping2D(((1, 0), (1, 0)), name=f"model.{index}.crop")(x)
            x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"model.{index + 1}")(x)
            x = layers.ReLU(name=f"model.{index + 2}")(x)
            index += 3
        x = ReflectPad2D(3, name=f"model.{index}")(x)
        logits = layers.Conv2D(3, 7, name=f"model.{index + 1}")(x)
        if refine_filters:
            logits = layers.Add(name="refine.add")([logits, _edge_refiner(lama_input, logits, refine_filters)])
        logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
        outputs = layers.Activation("tanh", dtype="float32", name="output")(logits * 0.5)  # 2*sigmoid(z)-1
        super().__init__(inputs=inputs, outputs=outputs, size_multiple=2**num_downsamplings, **kwargs)
        self.base_filters = base_filters
        self.num_downsamplings = num_downsamplings
        self.num_blocks = num_blocks
        self.global_ratio = global_ratio
        self.max_filters = max_filters
        self.fft_implementation = fft_implementation
        self.refine_filters = refine_filters

    def get_config(self):
        config = super().get_config()
        config.update({
            "base_filters": self.base_filters,
            "num_downsamplings": self.num_downsamplings,
            "num_blocks": self.num_blocks,
            "global_ratio": self.global_ratio,
            "max_filters": self.max_filters,
            "fft_implementation": self.fft_implementation,
            "refine_filters": self.refine_filters,
        })
        return config

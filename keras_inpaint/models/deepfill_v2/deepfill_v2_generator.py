"""DeepFill v2 generator: coarse-to-fine gated convolutions with contextual attention."""

from __future__ import annotations

import keras
from keras import layers, ops

from keras_inpaint.models.deepfill_v2.contextual_attention import ContextualAttention
from keras_inpaint.models.deepfill_v2.gated_conv import GatedConv2D
from keras_inpaint.models.networks import InpaintingGenerator, generator_inputs


@keras.saving.register_keras_serializable(package="keras_inpaint")
class OfficialInput(layers.Layer):
    """Our (N,H,W,4) ``[image * (1 - hole), hole]`` -> DeepFill v2's (N,H,W,5) ``[image * (1 - hole), ones, hole]``.

    The constant-1 channel is the sketch channel of DeepFill v2's user-guided model, always one
    in the released free-form models.
    """

    def call(self, inputs):
        mask = inputs[..., 3:]
        return ops.concatenate([inputs[..., :3], ops.ones_like(mask), mask], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 5)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class Blend(layers.Layer):
    """``coarse * mask + masked_image * (1 - mask)``: the refinement stage's input (N,H,W,3)."""

    def call(self, coarse, inputs):
        mask = ops.cast(inputs[..., 3:], coarse.dtype)
        return coarse * mask + ops.cast(inputs[..., :3], coarse.dtype) * (1.0 - mask)

    def compute_output_shape(self, coarse_shape, inputs_shape=None):
        return coarse_shape


@keras.saving.register_keras_serializable(package="keras_inpaint")
class MaskChannel(layers.Layer):
    """The (N,H,W,1) hole mask, channel 3 of the generator input."""

    def call(self, inputs):
        return inputs[..., 3:]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)


def _gated(x, filters, kernel, name, strides=1, rate=1, activation="elu"):
    return GatedConv2D(filters, kernel, strides=strides, dilation_rate=rate, activation=activation, name=name)(x)


def _upsample(x, filters, name):
    """DeepFill's ``gen_deconv``: nearest x2 upsampling then a 3x3 gated conv."""
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
    return _gated(x, filters, 3, name)


def _encoder(x, width, prefix, dilated: bool, down_filters: tuple[int, int]):
    """5x5 conv, two stride-2 stages, then (optionally) dilations 2, 4, 8, 16 at 1/4 resolution.

    ``down_filters`` are the widths of the two downsampling convs, which differ between the
    coarse network and the two refinement branches in the reference. Without dilations (the
    attention branch) the last conv, ``pmconv6``, uses ReLU.
    """
    x = _gated(x, width, 5, f"{prefix}conv1")
    x = _gated(x, down_filters[0], 3, f"{prefix}conv2_downsample", strides=2)
    x = _gated(x, 2 * width, 3, f"{prefix}conv3")
    x = _gated(x, down_filters[1], 3, f"{prefix}conv4_downsample", strides=2)
    x = _gated(x, 4 * width, 3, f"{prefix}conv5")
    x = _gated(x, 4 * width, 3, f"{prefix}conv6", activation="elu" if dilated else "relu")
    if dilated:
        for rate in (2, 4, 8, 16):
            x = _gated(x, 4 * width, 3, f"{prefix}conv{5 + rate.bit_length()}_atrous", rate=rate)
    return x


def _decoder(x, width, prefix, output_name):
    x = _gated(x, 4 * width, 3, f"{prefix}conv11")
    x = _gated(x, 4 * width, 3, f"{prefix}conv12")
    x = _upsample(x, 2 * width, f"{prefix}conv13_upsample")
    x = _gated(x, 2 * width, 3, f"{prefix}conv14")
    x = _upsample(x, width, f"{prefix}conv15_upsample")
    x = _gated(x, width // 2, 3, f"{prefix}conv16")
    x = _gated(x, 3, 3, f"{prefix}conv17", activation=None)
    return layers.Activation("tanh", dtype="float32", name=output_name)(x)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class DeepFillV2Generator(InpaintingGenerator):
    """DeepFill v2's two-stage generator (Yu et al., ICCV 2019), layer for layer.

    The network of the PyTorch port that loads the official TensorFlow weights
    (nipponjo/deepfillv2-pytorch ``model/networks_tf.py`` ``Generator``), with its layer names
    (``conv1``, ``xconv7_atrous``, ``pmconv6``, ``allconv17``, ...), so that converted official
    weights give official outputs (see ``convert.py``):

    * The official 5-channel input ``[image * (1 - mask), ones, mask]`` is built inside the
      model from our 4 channels.
    * Stage 1 (coarse): gated convs (TF "SAME" padding, ELU features x sigmoid gates), two
      stride-2 downsamplings, dilated gated convs (rates 2-16), nearest x2 upsampling + gated
      conv, an ungated RGB conv and tanh -> layer ``stage1``.
    * Stage 2 (refinement) on ``stage1 * mask + masked_image * (1 - mask)`` (3 channels), two
      branches at 1/4 resolution: dilated gated convs (``xconv*``) and gated convs (``pmconv6``
      with ReLU) + :class:`ContextualAttention` (rate 2, no fusion) + ``pmconv9``/``pmconv10``,
      concatenated and decoded (``allconv*``) -> layer ``stage2``, the model's output.

    ``base_filters`` is the official ``cnum`` divided by two (24 for the released cnum 48,
    4,052,478 parameters); widths are c/4, c/2, c, 2c, 4c = base_filters // 2, base_filters,
    2x, 4x, 8x. base_filters 6 or 7 (c/4 = 3) is refused: the reference builds a gated conv with
    3 outputs without its gate, a different network.

    Input (N, H, W, 4) in [-1, 1] (masked image + mask, 1 = hole); output (N, H, W, 3) in
    [-1, 1] (stage 2, not composited), H and W multiples of 8. :meth:`stages_model` exposes the
    coarse output and the attention tensors. (Training supervises only the final output; the
    paper's separate L1 on the coarse output is not applied.)
    """

    def __init__(self, base_filters: int = 24, **kwargs):
        width = int(base_filters)
        if width < 2 or width // 2 == 3:
            raise ValueError(f"base_filters={base_filters}: need base_filters >= 2 and base_filters // 2 != 3 "
                             "(the reference drops the gate of a 3-channel gated conv, a different network).")
        inputs = generator_inputs(4)
        x = OfficialInput(name="official_input")(inputs)
        x = _encoder(x, width, "", dilated=True, down_filters=(2 * width, 4 * width))
        coarse = _decoder(x, width, "", "stage1")
        refined_input = Blend(name="blend")(coarse, inputs)  # 3 channels, as in the reference
        hallucination = _encoder(refined_input, width, "x", dilated=True, down_filters=(width, 2 * width))
        attention = _encoder(refined_input, width, "pm", dilated=False, down_filters=(width, 4 * width))
        mask = MaskChannel(name="mask")(inputs)
        attention = ContextualAttention(rate=2, softmax_scale=10.0, fuse=False, n_down=2,
                                        name="contextual_attention")(attention, mask)
        attention = _gated(attention, 4 * width, 3, "pmconv9")
        attention = _gated(attention, 4 * width, 3, "pmconv10")
        x = layers.Concatenate(name="merge")([hallucination, attention])
        outputs = _decoder(x, width, "all", "stage2")
        super().__init__(inputs=inputs, outputs=outputs, size_multiple=8, **kwargs)
        self.base_filters = width

    def stages_model(self) -> keras.Model:
        """A ``keras.Model`` on the same layers (shared weights) with a dict of outputs.

        ``stage1`` (coarse, after tanh), ``stage2`` (refined, after tanh; the generator's
        output), ``ca_input`` (``pmconv6``'s output) and ``ca_output`` (what the contextual
        attention returns), all NHWC.
        """
        return keras.Model(self.input, {
            "stage1": self.get_layer("stage1").output,
            "stage2": self.get_layer("stage2").output,
            "ca_input": self.get_layer("pmconv6").output,
            "ca_output": self.get_layer("contextual_attention").output,
        }, name=f"{self.name}_stages")

    def get_config(self):
        return {**super().get_config(), "base_filters": self.base_filters}

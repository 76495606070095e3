"""MI-GAN's building blocks: depthwise-separable convolutions with blurred resampling.

Two layouts share these layers (see :class:`MiganGenerator`): ``"v0"``, the first port (FIR
taps hard-coded, noise drawn from a seeded generator at any size), and ``"official"``, the
layout of MI-GAN's inference ``Generator`` (``lib/model_zoo/migan_inference.py``): FIR taps are
fixed (non-trainable) weights and the noise is a stored ``noise_const`` map, both filled from
the released checkpoints. The discriminator layers at the end are the training
``Discriminator`` of ``lib/model_zoo/migan.py`` (reparametrised, weight-normalised convolutions).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

_BLUR_1D = np.array([1.0, 3.0, 3.0, 1.0], np.float32)


def _blur_kernel(channels: int, gain: float) -> np.ndarray:
    kernel = np.outer(_BLUR_1D, _BLUR_1D)
    kernel = kernel / kernel.sum() * gain
    return np.repeat(kernel[:, :, None, None], channels, axis=2).astype(np.float32)  # (4, 4, C, 1) depthwise


def _constant(value: np.ndarray):
    def initializer(shape, dtype=None):
        return ops.cast(ops.reshape(ops.convert_to_tensor(value), shape), dtype or "float32")
    return initializer


def scaled_lrelu(x, clamp: float | None = 256.0, gain: float = 1.0):
    """MI-GAN's ``lrelu_agc``: LeakyReLU(0.2) times sqrt(2)*gain, clamped to [-clamp*gain, clamp*gain]."""
    x = ops.leaky_relu(x, 0.2) * (math.sqrt(2.0) * gain if gain != 1.0 else math.sqrt(2.0))
    return ops.clip(x, -clamp * gain, clamp * gain) if clamp is not None else x


def blur_downsample(x, kernel=None):
    """[1, 3, 3, 1] low-pass filter then stride 2 (padding 1): (N, H, W, C) -> (N, H/2, W/2, C).

    ``kernel`` (4, 4, C, 1): depthwise taps to use instead of the hard-coded ones.
    """
    kernel = ops.convert_to_tensor(_blur_kernel(x.shape[-1], 1.0), x.dtype) if kernel is None else ops.cast(kernel, x.dtype)
    x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    return ops.depthwise_conv(x, kernel, strides=2, padding="valid")


def blur_upsample(x, kernel=None):
    """Zero insertion then a [1, 3, 3, 1] filter with gain 4: (N, H, W, C) -> (N, 2H, 2W, C).

    Zero insertion puts each input pixel at the even row and column of its 2x2 cell, which is
    what MI-GAN's ``Upsample2d`` does with nearest-neighbour upsampling times its
    ``filter_const`` (1 at even rows and columns). ``kernel`` (4, 4, C, 1): taps to use instead
    of the hard-coded ones.
    """
    shape = ops.shape(x)
    n, h, w, c = shape[0], shape[1], shape[2], x.shape[-1]
    zeros = ops.zeros_like(x)
    rows = ops.reshape(ops.stack([x, zeros], axis=3), (n, h, 2 * w, c))
    x = ops.reshape(ops.stack([rows, ops.zeros_like(rows)], axis=2), (n, 2 * h, 2 * w, c))
    x = ops.pad(x, [[0, 0], [2, 1], [2, 1], [0, 0]])
    kernel = ops.convert_to_tensor(_blur_kernel(c, 4.0), x.dtype) if kernel is None else ops.cast(kernel, x.dtype)
    return ops.depthwise_conv(x, kernel, strides=1, padding="valid")


def tiled_noise(noise_const, height, width):
    """The stored (r, r) noise map as a (1, height, width, 1) tensor: itself at r x r, tiled and cropped elsewhere."""
    r_h, r_w = noise_const.shape
    reps_h = (height + r_h - 1) // r_h
    reps_w = (width + r_w - 1) // r_w
    noise = ops.tile(noise_const, [reps_h, reps_w])[:height, :width]
    return noise[None, :, :, None]


def _fixed_filter(layer, name: str, channels: int, gain: float):
    return layer.add_weight(name=name, shape=(4, 4, channels, 1), initializer=_constant(_blur_kernel(channels, gain)),
                            trainable=False)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class SeparableBlock(layers.Layer):
    """Depthwise 3x3 (+bias) -> act -> [blur down] -> pointwise 1x1 -> [blur up] -> [noise] -> act.

    (N, H, W, C_in) -> (N, H*up/down, W*up/down, filters). MI-GAN's ``SeparableConv2d``.

    ``noise`` adds a noise map scaled by a learned ``noise_strength`` (starts at 0). With
    ``noise_size=None`` (layout v0) the map is drawn from a generator seeded with
    ``noise_seed`` at whatever size the input has; with ``noise_size=r`` (official layout) it is
    a stored, non-trainable (r, r) weight ``noise_const`` (MI-GAN's buffer of that name), tiled
    and cropped when the input is not r x r. ``fixed_filters=True`` (official layout) keeps the
    up/downsampling FIR taps as non-trainable (4, 4, C, 1) weights (MI-GAN stores them as
    parameters of constant value); ``False`` hard-codes them (v0).
    """

    def __init__(self, filters: int, down: int = 1, up: int = 1, noise: bool = False, noise_seed: int = 0,
                 noise_size: int | None = None, fixed_filters: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.down, self.up, self.noise, self.noise_seed = filters, down, up, noise, noise_seed
        self.noise_size, self.fixed_filters = noise_size, fixed_filters
        self.depthwise = layers.DepthwiseConv2D(3, padding="same", name="depthwise", dtype=self.dtype_policy)
        self.pointwise = layers.Conv2D(filters, 1, use_bias=False, name="pointwise", dtype=self.dtype_policy)

    def build(self, input_shape):
        c = input_shape[-1]
        self.depthwise.build(input_shape)
        self.pointwise.build((None, None, None, c))
        self.noise_strength = self.add_weight(name="noise_strength", shape=(), initializer="zeros") if self.noise else None
        self.noise_const = None
        if self.noise and self.noise_size is not None:
            self.noise_const = self.add_weight(
                name="noise_const", shape=(self.noise_size, self.noise_size),
                initializer=keras.initializers.RandomNormal(seed=self.noise_seed), trainable=False)
        self.down_filter = _fixed_filter(self, "down_filter", c, 1.0) if self.fixed_filters and self.down > 1 else None
        self.up_filter = _fixed_filter(self, "up_filter", self.filters, 4.0) if self.fixed_filters and self.up > 1 else None

    def call(self, x):
        x = scaled_lrelu(self.depthwise(x))
        if self.down > 1:
            x = blur_downsample(x, self.down_filter)
        x = self.pointwise(x)
        if self.up > 1:
            x = blur_upsample(x, self.up_filter)
        if self.noise:
            shape = ops.shape(x)
            if self.noise_const is not None:
                noise = tiled_noise(ops.cast(self.noise_const, x.dtype), shape[1], shape[2])
            else:
                noise = keras.random.normal((1, shape[1], shape[2], 1), seed=self.noise_seed, dtype=x.dtype)
            x = x + noise * ops.cast(self.noise_strength, x.dtype)
        return scaled_lrelu(x)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        factor = self.up / self.down
        return (n, None if h is None else int(h * factor), None if w is None else int(w * factor), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "down": self.down, "up": self.up,
                "noise": self.noise, "noise_seed": self.noise_seed, "noise_size": self.noise_size,
                "fixed_filters": self.fixed_filters}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class BlurUpsample(layers.Layer):
    """Layer form of :func:`blur_upsample` (the skip path of the RGB outputs).

    ``fixed_filters=True`` keeps the FIR taps as a non-trainable (4, 4, C, 1) weight ``filter``.
    """

    def __init__(self, fixed_filters: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fixed_filters = fixed_filters

    def build(self, input_shape):
        self.filter = _fixed_filter(self, "filter", input_shape[-1], 4.0) if self.fixed_filters else None

    def call(self, x):
        return blur_upsample(x, self.filter)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c)

    def get_config(self):
        return {**super().get_config(), "fixed_filters": self.fixed_filters}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class BlurDownsample(layers.Layer):
    """Layer form of :func:`blur_downsample`."""

    def call(self, x):
        return blur_downsample(x)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h // 2, None if w is None else w // 2, c)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ScaledLeakyReLU(layers.Layer):
    """Layer form of :func:`scaled_lrelu`."""

    def call(self, x):
        return scaled_lrelu(x)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class OfficialInput(layers.Layer):
    """Our generator input -> MI-GAN's: (N,H,W,4) [image*(1-hole), hole] -> [(1-hole) - 0.5, image*(1-hole)].

    MI-GAN's mask is 1 where the pixel is known and comes first, as ``mask - 0.5``. The image
    channels pass as they are: our convention already zeroes the hole (MI-GAN's ``image * mask``),
    and the map stays an exact, invertible one for any input.
    """

    def call(self, x):
        return ops.concatenate([0.5 - x[..., 3:4], x[..., :3]], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="keras_inpaint")
class OfficialDiscriminatorInput(layers.Layer):
    """Our discriminator input -> MI-GAN's: (N,H,W,4) [image, hole] -> [(1-hole) - 0.5, image]."""

    def call(self, x):
        return ops.concatenate([0.5 - x[..., 3:4], x[..., :3]], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ClipAtInference(layers.Layer):
    """Identity when training, clip to [-1, 1] at inference.

    MI-GAN's generator output is linear (unbounded); both official post-processings clamp it
    (``(out * 0.5 + 0.5).clamp(0, 1)``), which is this clip. Training sees the raw output, as
    MI-GAN's training does.
    """

    def call(self, x, training=None):
        return x if training else ops.clip(x, -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape


# --- the training discriminator's layers (lib/model_zoo/migan.py) ---------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_inpaint")
class ReparamConv2D(layers.Layer):
    """A MI-GAN discriminator convolution: reparametrised, weight-normalised, with ``lrelu_agc``.

    Effective kernel = (w0 + ... + w{n-1}) / sqrt(n), then divided per output channel by
    sqrt(sum of its squares + 1e-8), at every forward; the n tensors are the trainable weights
    (as in MI-GAN's training, ``num_reparam_tensors``). ``depthwise`` 3x3 kernels are
    (k, k, C, 1), others (k, k, C_in, filters). ``down=2`` applies the [1,3,3,1] FIR with
    stride 2 (padding 1) before the (1x1) convolution. Then + bias, then ``lrelu_agc`` with
    gain ``gain`` (slope 0.2, times sqrt(2)*gain, clamp 256*gain) or, with
    ``activation=False``, a plain multiplication by ``gain``.
    """

    def __init__(self, filters: int | None = None, kernel_size: int = 1, depthwise: bool = False, use_bias: bool = True,
                 num_tensors: int = 9, down: int = 1, gain: float = 1.0, activation: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.depthwise, self.use_bias = filters, kernel_size, depthwise, use_bias
        self.num_tensors, self.down, self.gain, self.activation = num_tensors, down, gain, activation

    def build(self, input_shape):
        c = input_shape[-1]
        k = self.kernel_size
        shape = (k, k, c, 1) if self.depthwise else (k, k, c, self.filters)
        self.tensors = [self.add_weight(name=f"w{i}", shape=shape, initializer=keras.initializers.RandomNormal())
                        for i in range(self.num_tensors)]
        out = c if self.depthwise else self.filters
        self.bias = self.add_weight(name="bias", shape=(out,), initializer="zeros") if self.use_bias else None

    def effective_kernel(self):
        w = self.tensors[0]
        for t in self.tensors[1:]:
            w = w + t
        w = w / math.sqrt(self.num_tensors)
        axes = (0, 1, 3) if self.depthwise else (0, 1, 2)
        return w / ops.sqrt(ops.sum(ops.square(w), axis=axes, keepdims=True) + 1e-8)

    def call(self, x):
        kernel = ops.cast(self.effective_kernel(), x.dtype)
        if self.down > 1:
            x = blur_downsample(x)
        if self.depthwise:
            x = ops.depthwise_conv(x, kernel, padding="same")
        else:
            x = ops.conv(x, kernel, padding="same")
        if self.bias is not None:
            x = x + ops.cast(self.bias, x.dtype)
        if self.activation:
            return scaled_lrelu(x, gain=self.gain)
        return x * self.gain if self.gain != 1.0 else x

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        d = self.down
        return (n, None if h is None else h // d, None if w is None else w // d, c if self.depthwise else self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "depthwise": self.depthwise, "use_bias": self.use_bias, "num_tensors": self.num_tensors,
                "down": self.down, "gain": self.gain, "activation": self.activation}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class EqualizedDense(layers.Layer):
    """Dense layer whose (in, out) weight is multiplied by 1/sqrt(in) (equalized learning rate), + bias,
    then ``lrelu_agc`` if ``activation``."""

    def __init__(self, units: int, activation: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = units, activation

    def build(self, input_shape):
        self.fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(self.fan_in, self.units),
                                      initializer=keras.initializers.RandomNormal())
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, x):
        x = ops.matmul(x, ops.cast(self.kernel, x.dtype) * (1.0 / math.sqrt(self.fan_in))) + ops.cast(self.bias, x.dtype)
        return scaled_lrelu(x) if self.activation else x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class GroupMinibatchStd(layers.Layer):
    """StyleGAN2's minibatch standard deviation (one feature): (N, H, W, C) -> (N, H, W, C + 1).

    Groups of G = min(group_size, N) samples (N must be a multiple of G); group k holds samples
    k, k + N/G, ... Per group: the standard deviation over the group (1e-8 inside the square
    root), averaged over channels and pixels, appended to each member as a constant channel.
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size

    def call(self, x):
        shape = ops.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], x.shape[-1]
        g = ops.minimum(self.group_size, n)
        y = ops.reshape(ops.cast(x, "float32"), (g, -1, h, w, c))
        y = y - ops.mean(y, axis=0)
        y = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)  # (N/G, H, W, C)
        y = ops.mean(y, axis=(1, 2, 3))  # (N/G,)
        y = ops.tile(y, [g])  # sample i gets group i mod N/G
        y = ops.broadcast_to(ops.reshape(y, (-1, 1, 1, 1)), (n, h, w, 1))
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}

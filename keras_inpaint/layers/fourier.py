"""Fourier unit and spectral transform: the global branch of LaMa's fast Fourier convolution."""

from __future__ import annotations

import keras
from keras import layers, ops


def rfft2(x):
    """Real 2-D FFT over H and W of (N, H, W, C) float32 with ``norm="ortho"``.

    Returns (real, imag), each (N, H, W // 2 + 1, C). Written with ``keras.ops`` (which has
    FFTs on the last axis only): a real FFT along W, then a complex FFT along H.
    """
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    x = ops.transpose(x, (0, 3, 1, 2))  # N, C, H, W
    real, imag = ops.rfft(x)  # along W -> N, C, H, W//2+1
    real, imag = ops.transpose(real, (0, 1, 3, 2)), ops.transpose(imag, (0, 1, 3, 2))  # N, C, W', H
    real, imag = ops.fft((real, imag))  # along H
    scale = ops.rsqrt(ops.cast(h * w, "float32"))
    real, imag = ops.transpose(real, (0, 3, 2, 1)), ops.transpose(imag, (0, 3, 2, 1))  # N, H, W', C
    return real * scale, imag * scale


def irfft2(real, imag, width):
    """Inverse of :func:`rfft2` (``norm="ortho"``): (N, H, W//2+1, C) x2 -> (N, H, width, C)."""
    h = ops.shape(real)[1]
    real, imag = ops.transpose(real, (0, 3, 2, 1)), ops.transpose(imag, (0, 3, 2, 1))  # N, C, W', H
    # Inverse complex FFT along H as conj(fft(conj(z))) / H (keras.ops has no 1-D ifft).
    real, imag = ops.fft((real, -imag))
    inv_h = 1.0 / ops.cast(h, "float32")
    real, imag = real * inv_h, -imag * inv_h
    real, imag = ops.transpose(real, (0, 1, 3, 2)), ops.transpose(imag, (0, 1, 3, 2))  # N, C, H, W'
    x = ops.irfft((real, imag), fft_length=width)  # N, C, H, W
    scale = ops.sqrt(ops.cast(h * width, "float32"))
    return ops.transpose(x, (0, 2, 3, 1)) * scale


@keras.saving.register_keras_serializable(package="keras_inpaint")
class FourierUnit(layers.Layer):
    """LaMa's Fourier unit: FFT -> 1x1 conv + BatchNorm + ReLU on the spectrum -> inverse FFT.

    (N, H, W, C) -> (N, H, W, filters). The real and imaginary parts of each channel are
    interleaved (channel 2c is Re(c), 2c+1 is Im(c)) before the 1x1 convolution, as in the
    reference, so that PyTorch weights map one-to-one. The FFTs and the spectral
    convolution run in float32 even under a mixed-precision policy.
    """

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv_layer = layers.Conv2D(2 * filters, 1, use_bias=False, dtype="float32", name="conv_layer")
        self.bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype="float32", name="bn")

    def build(self, input_shape):
        c = input_shape[-1]
        self.conv_layer.build((None, None, None, 2 * c))
        self.bn.build((None, None, None, 2 * self.filters))

    def call(self, inputs, training=None):
        x = ops.cast(inputs, "float32")
        shape = ops.shape(x)
        n, w, c = shape[0], shape[2], shape[3]
        real, imag = rfft2(x)
        spectrum = ops.reshape(ops.stack([real, imag], axis=-1), (n, ops.shape(real)[1], ops.shape(real)[2], 2 * c))
        spectrum = ops.relu(self.bn(self.conv_layer(spectrum), training=training))
        spectrum = ops.reshape(spectrum, (n, ops.shape(spectrum)[1], ops.shape(spectrum)[2], self.filters, 2))
        out = irfft2(spectrum[..., 0], spectrum[..., 1], w)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class SpectralTransform(layers.Layer):
    """LaMa's spectral transform, the global-to-global path of an FFC.

    (N, H, W, C_in) -> (N, H/stride, W/stride, filters): optional 2x2 average pooling
    (stride 2), 1x1 conv to ``filters // 2`` + BatchNorm + ReLU, a :class:`FourierUnit`,
    a residual sum and a 1x1 conv to ``filters``. (LaMa's local Fourier unit, off in all
    its published configurations, is not implemented.)
    """

    def __init__(self, filters: int, stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.stride = stride
        half = filters // 2
        self.downsample = layers.AveragePooling2D(2, name="downsample") if stride == 2 else None
        self.conv1 = layers.Conv2D(half, 1, use_bias=False, name="conv1")
        self.conv1_bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="conv1_bn")
        self.fu = FourierUnit(half, name="fu")
        self.conv2 = layers.Conv2D(filters, 1, use_bias=False, name="conv2")

    def build(self, input_shape):
        half = self.filters // 2
        self.conv1.build((None, None, None, input_shape[-1]))
        self.conv1_bn.build((None, None, None, half))
        self.fu.build((None, None, None, half))
        self.conv2.build((None, None, None, half))

    def call(self, inputs, training=None):
        x = self.downsample(inputs) if self.downsample is not None else inputs
        x = ops.relu(self.conv1_bn(self.conv1(x), training=training))
        return self.conv2(x + self.fu(x, training=training))

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        if self.stride == 2:
            h, w = (None if h is None else h // 2), (None if w is None else w // 2)
        return (n, h, w, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}

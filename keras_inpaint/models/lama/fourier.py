"""Fourier unit and spectral transform: the global branch of LaMa's fast Fourier convolution."""

from __future__ import annotations

import keras
import numpy as np
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


def _dft_matrices(n, length):
    """cos and sin of 2*pi*k*t/length for k < n and t < length, float32 (n, length)."""
    k = ops.cast(ops.arange(n), "float32")[:, None]
    t = ops.cast(ops.arange(length), "float32")[None, :]
    angle = 2.0 * np.pi * k * t / ops.cast(length, "float32")
    return ops.cos(angle), ops.sin(angle)


def rfft2_matmul(x):
    """:func:`rfft2` as real matrix products (DFT matrices): no FFT kernel needed.

    O(H^2 + W^2) per channel instead of O(HW log HW), which is negligible at LaMa's 1/8
    bottleneck, and it converts to TFLite built-in ops (no complex tensors, no Flex).
    """
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    cos_w, sin_w = _dft_matrices(w // 2 + 1, w)  # (W', W)
    a_re = ops.einsum("nhwc,kw->nhkc", x, cos_w)
    a_im = -ops.einsum("nhwc,kw->nhkc", x, sin_w)
    cos_h, sin_h = _dft_matrices(h, h)  # (H, H)
    real = ops.einsum("jh,nhkc->njkc", cos_h, a_re) + ops.einsum("jh,nhkc->njkc", sin_h, a_im)
    imag = ops.einsum("jh,nhkc->njkc", cos_h, a_im) - ops.einsum("jh,nhkc->njkc", sin_h, a_re)
    scale = ops.rsqrt(ops.cast(h * w, "float32"))
    return real * scale, imag * scale


def irfft2_matmul(real, imag, width):
    """:func:`irfft2` as real matrix products (the inverse of :func:`rfft2_matmul`)."""
    h, half = ops.shape(real)[1], ops.shape(real)[2]
    cos_h, sin_h = _dft_matrices(h, h)
    b_re = ops.einsum("jh,nhkc->njkc", cos_h, real) - ops.einsum("jh,nhkc->njkc", sin_h, imag)
    b_im = ops.einsum("jh,nhkc->njkc", cos_h, imag) + ops.einsum("jh,nhkc->njkc", sin_h, real)
    cos_w, sin_w = _dft_matrices(half, width)  # (W', W)
    # Hermitian symmetry: bins other than 0 and (even width) width/2 count twice.
    k = ops.arange(half)
    weights = ops.where(ops.logical_or(ops.equal(k, 0), ops.equal(2 * k, width)), 1.0, 2.0)[:, None]
    x = ops.einsum("nhkc,kw->nhwc", b_re, cos_w * weights) - ops.einsum("nhkc,kw->nhwc", b_im, sin_w * weights)
    return x * ops.rsqrt(ops.cast(h * width, "float32"))


FFT_IMPLEMENTATIONS = {"fft": (rfft2, irfft2), "matmul": (rfft2_matmul, irfft2_matmul)}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class FourierUnit(layers.Layer):
    """LaMa's Fourier unit: FFT -> 1x1 conv + BatchNorm + ReLU on the spectrum -> inverse FFT.

    (N, H, W, C) -> (N, H, W, filters). The real and imaginary parts of each channel are
    interleaved (channel 2c is Re(c), 2c+1 is Im(c)) before the 1x1 convolution, as in the
    reference, so that PyTorch weights map one-to-one. The FFTs and the spectral
    convolution run in float32 even under a mixed-precision policy.

    ``fft_implementation``: ``"fft"`` (FFT kernels) or ``"matmul"`` (DFT matrices, same
    numbers, exportable to TFLite built-ins; see :func:`rfft2_matmul`).
    """

    def __init__(self, filters: int, fft_implementation: str = "fft", **kwargs):
        super().__init__(**kwargs)
        if fft_implementation not in FFT_IMPLEMENTATIONS:
            raise ValueError(f"fft_implementation must be one of {sorted(FFT_IMPLEMENTATIONS)}; got {fft_implementation!r}.")
        self.filters = filters
        self.fft_implementation = fft_implementation
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
        forward, inverse = FFT_IMPLEMENTATIONS[self.fft_implementation]
        real, imag = forward(x)
        spectrum = ops.reshape(ops.stack([real, imag], axis=-1), (n, ops.shape(real)[1], ops.shape(real)[2], 2 * c))
        spectrum = ops.relu(self.bn(self.conv_layer(spectrum), training=training))
        spectrum = ops.reshape(spectrum, (n, ops.shape(spectrum)[1], ops.shape(spectrum)[2], self.filters, 2))
        out = inverse(spectrum[..., 0], spectrum[..., 1], w)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "fft_implementation": self.fft_implementation}


@keras.saving.register_keras_serializable(package="keras_inpaint")
class SpectralTransform(layers.Layer):
    """LaMa's spectral transform, the global-to-global path of an FFC.

    (N, H, W, C_in) -> (N, H/stride, W/stride, filters): optional 2x2 average pooling
    (stride 2), 1x1 conv to ``filters // 2`` + BatchNorm + ReLU, a :class:`FourierUnit`,
    a residual sum and a 1x1 conv to ``filters``. (LaMa's local Fourier unit, off in all
    its published configurations, is not implemented.)
    """

    def __init__(self, filters: int, stride: int = 1, fft_implementation: str = "fft", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.stride = stride
        self.fft_implementation = fft_implementation
        half = filters // 2
        self.downsample = layers.AveragePooling2D(2, name="downsample") if stride == 2 else None
        self.conv1 = layers.Conv2D(half, 1, use_bias=False, name="conv1")
        self.conv1_bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="conv1_bn")
        self.fu = FourierUnit(half, fft_implementation=fft_implementation, name="fu")
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
        return {**super().get_config(), "filters": self.filters, "stride": self.stride,
                "fft_implementation": self.fft_implementation}

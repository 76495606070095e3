"""Fast Fourier convolution (Chi et al., 2020) as used by LaMa, built into functional graphs.

An FFC splits channels into a local part (ordinary convolutions) and a global part
(:class:`~keras_inpaint.models.lama.fourier.SpectralTransform`) and mixes them with four
paths: local->local, local->global, global->local (convolutions) and global->global
(spectral transform). Layer names are the PyTorch module paths of LaMa's
``FFCResNetGenerator`` (e.g. ``model.5.conv1.ffc.convl2l``), so that checkpoints map
one-to-one (see ``keras_inpaint.models.lama.convert``).
"""

from __future__ import annotations

from keras import layers

from keras_inpaint.models.lama.fourier import SpectralTransform
from keras_inpaint.models.lama.reflect_pad import ReflectPad2D


def split_channels(channels: int, ratio_global: float) -> tuple[int, int]:
    """(local, global) channel counts, rounding the global part down as the reference does."""
    global_channels = int(channels * ratio_global)
    return channels - global_channels, global_channels


def _conv(x, filters, kernel_size, stride, padding, name):
    if padding:
        x = ReflectPad2D(padding, name=f"{name}.pad")(x)
    return layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=name)(x)


def ffc(x_local, x_global, out_channels, kernel_size, ratio_gout, stride=1, padding=0, name="ffc", fft="fft"):
    """One FFC: inputs (N,H,W,C_l) and (N,H,W,C_g) or None; returns (local, global) or None for empty parts."""
    out_local, out_global = split_channels(out_channels, ratio_gout)
    y_local = y_global = None
    if out_local:
        terms = []
        if x_local is not None:
            terms.append(_conv(x_local, out_local, kernel_size, stride, padding, f"{name}.convl2l"))
        if x_global is not None:
            terms.append(_conv(x_global, out_local, kernel_size, stride, padding, f"{name}.convg2l"))
        y_local = terms[0] if len(terms) == 1 else layers.Add(name=f"{name}.sum_l")(terms)
    if out_global:
        terms = []
        if x_local is not None:
            terms.append(_conv(x_local, out_global, kernel_size, stride, padding, f"{name}.convl2g"))
        if x_global is not None:
            terms.append(SpectralTransform(out_global, stride=stride, fft_implementation=fft, name=f"{name}.convg2g")(x_global))
        y_global = terms[0] if len(terms) == 1 else layers.Add(name=f"{name}.sum_g")(terms)
    return y_local, y_global


def ffc_bn_act(x_local, x_global, out_channels, kernel_size, ratio_gout, stride=1, padding=0, name="ffc_bn_act", fft="fft"):
    """FFC followed by BatchNorm and ReLU on each non-empty part (LaMa's ``FFC_BN_ACT``)."""
    y_local, y_global = ffc(x_local, x_global, out_channels, kernel_size, ratio_gout, stride, padding, f"{name}.ffc", fft)
    outputs = []
    for y, part in ((y_local, "l"), (y_global, "g")):
        if y is not None:
            y = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}.bn_{part}")(y)
            y = layers.ReLU(name=f"{name}.act_{part}")(y)
        outputs.append(y)
    return tuple(outputs)


def ffc_resnet_block(x_local, x_global, channels, ratio, name="block", fft="fft"):
    """Two 3x3 FFC_BN_ACT (reflect padding) with a residual connection on each part."""
    y_local, y_global = ffc_bn_act(x_local, x_global, channels, 3, ratio, padding=1, name=f"{name}.conv1", fft=fft)
    y_local, y_global = ffc_bn_act(y_local, y_global, channels, 3, ratio, padding=1, name=f"{name}.conv2", fft=fft)
    if x_local is not None:
        y_local = layers.Add(name=f"{name}.res_l")([x_local, y_local])
    if x_global is not None:
        y_global = layers.Add(name=f"{name}.res_g")([x_global, y_global])
    return y_local, y_global

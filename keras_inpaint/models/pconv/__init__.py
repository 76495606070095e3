"""Partial-convolution family: PConv U-Net (trained on reconstruction losses)."""

from keras_inpaint.models.pconv.pconv_generator import PConvGenerator
from keras_inpaint.models.pconv.pconv_presets import PRESETS

"""Partial-convolution family: PConv U-Net (trained on reconstruction losses)."""

from keras_inpaint.models.keras_hub_presets import register_presets
from keras_inpaint.models.pconv.pconv_generator import PConvGenerator
from keras_inpaint.models.pconv.pconv_presets import backbone_presets

register_presets(backbone_presets, PConvGenerator)

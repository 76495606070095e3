"""Shared building blocks of the zoo's generators and discriminators."""

from keras_inpaint.layers.fourier import FourierUnit, SpectralTransform
from keras_inpaint.layers.padding import ReflectPad2D
from keras_inpaint.layers.contextual_attention import ContextualAttention
from keras_inpaint.layers.gated_conv import GatedConv2D
from keras_inpaint.layers.partial_conv import PartialConv2D
from keras_inpaint.layers.separable import BlurDownsample, BlurUpsample, ScaledLeakyReLU, SeparableBlock

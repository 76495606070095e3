"""Shared building blocks of the zoo's generators and discriminators."""

from keras_inpaint.layers.fourier import FourierUnit, SpectralTransform
from keras_inpaint.layers.padding import ReflectPad2D

"""MI-GAN family: mobile depthwise-separable generator and residual discriminator."""

from keras_inpaint.models.keras_hub_presets import register_presets
from keras_inpaint.models.migan.migan_discriminator import MiganDiscriminator
from keras_inpaint.models.migan.migan_generator import MiganGenerator
from keras_inpaint.models.migan.migan_presets import backbone_presets

register_presets(backbone_presets, MiganGenerator)

"""LaMa family: FFC ResNet generator, NLayer discriminator, checkpoint converter."""

from keras_inpaint.models.keras_hub_presets import register_presets
from keras_inpaint.models.lama.lama_discriminator import LamaDiscriminator
from keras_inpaint.models.lama.lama_generator import LamaGenerator
from keras_inpaint.models.lama.lama_presets import backbone_presets

register_presets(backbone_presets, LamaGenerator)

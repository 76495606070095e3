"""LaMa family: FFC ResNet generator, NLayer discriminator, checkpoint converter."""

from keras_inpaint.models.lama.lama_discriminator import LamaDiscriminator
from keras_inpaint.models.lama.lama_generator import LamaGenerator
from keras_inpaint.models.lama.lama_presets import PRESETS

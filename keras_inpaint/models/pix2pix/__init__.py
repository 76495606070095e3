"""pix2pix family: U-Net generator and 70x70 PatchGAN discriminator."""

from keras_inpaint.models.keras_hub_presets import register_presets
from keras_inpaint.models.patchgan import PatchGANDiscriminator
from keras_inpaint.models.pix2pix.pix2pix_generator import Pix2PixGenerator
from keras_inpaint.models.pix2pix.pix2pix_presets import backbone_presets

register_presets(backbone_presets, Pix2PixGenerator)

"""DeepFill v2 family: gated-conv coarse-to-fine generator with contextual attention, SN-PatchGAN."""

from keras_inpaint.models.keras_hub_presets import register_presets
from keras_inpaint.models.deepfill_v2.deepfill_v2_discriminator import SNPatchGANDiscriminator
from keras_inpaint.models.deepfill_v2.deepfill_v2_generator import DeepFillV2Generator
from keras_inpaint.models.deepfill_v2.deepfill_v2_presets import backbone_presets

register_presets(backbone_presets, DeepFillV2Generator)

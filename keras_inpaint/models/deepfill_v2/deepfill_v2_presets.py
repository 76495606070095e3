"""Presets of the DeepFill v2 family (Yu et al., 2019; reference code and weights CC BY-NC 4.0).

Each entry is keras-hub's: metadata, and the handle of the preset's folder in ``presets/``, which
owns its recipe (see :mod:`keras_inpaint.models.registry`).
"""

import os

FAMILY = "deepfill_v2"
LICENSE = "CC BY-NC 4.0 (DeepFill v2, JiahuiYu/generative_inpainting): non-commercial use only"
HUB_LICENSE = "cc-by-nc-4.0"  # the license id in the Hugging Face model card header
_PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")

backbone_presets = {
    "deepfill_v2_256": {
        "metadata": {
            "description": "DeepFill v2: two-stage gated-conv generator (cnum 48) with contextual attention, SN-PatchGAN.",
            "family": FAMILY,
            "resolution": 256,
            "license": LICENSE,
            "generator_parameters": 4_052_478,
            "discriminator_parameters": 5_946_816,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "deepfill_v2_256"),
    },
    "deepfill_v2_tiny": {
        "metadata": {
            "description": "A small DeepFill v2 (cnum 16) that trains on a CPU.",
            "family": FAMILY,
            "resolution": 64,
            "license": LICENSE,
            "generator_parameters": 454_574,
            "discriminator_parameters": 42_488,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "deepfill_v2_tiny"),
    },
}

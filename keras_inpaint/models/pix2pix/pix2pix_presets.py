"""Presets of the pix2pix family.

Each entry is keras-hub's: metadata, and the handle of the preset's folder in ``presets/``, which
owns its recipe (see :mod:`keras_inpaint.models.registry`).
"""

import os

FAMILY = "pix2pix"
LICENSE = "BSD-3-Clause (pix2pix / CycleGAN reference code)"
HUB_LICENSE = "bsd-3-clause"  # the license id in the Hugging Face model card header
_PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")

backbone_presets = {
    "pix2pix_256": {
        "metadata": {
            "description": "pix2pix unet_256 generator (ngf 64, 8 levels) with the 70x70 PatchGAN.",
            "family": FAMILY,
            "resolution": 256,
            "license": LICENSE,
            "generator_parameters": 54_414_979,
            "discriminator_parameters": 2_765_633,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "pix2pix_256"),
    },
    "pix2pix_tiny": {
        "metadata": {
            "description": "A 5-level U-Net (ngf 16) with a small PatchGAN: trains on a CPU.",
            "family": FAMILY,
            "resolution": 64,
            "license": LICENSE,
            "generator_parameters": 1_043_875,
            "discriminator_parameters": 42_961,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "pix2pix_tiny"),
    },
}

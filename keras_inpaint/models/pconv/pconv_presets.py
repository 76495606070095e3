"""Presets of the partial-convolution family (Liu et al., 2018).

Each entry is keras-hub's: metadata, and the handle of the preset's folder in ``presets/``, which
owns its recipe (see :mod:`keras_inpaint.models.registry`).
"""

import os

FAMILY = "pconv"
LICENSE = "CC BY-NC 4.0 (NVIDIA partialconv reference): non-commercial use only"
HUB_LICENSE = "cc-by-nc-4.0"  # the license id in the Hugging Face model card header
_PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")

backbone_presets = {
    "pconv_512": {
        "metadata": {
            "description": "Partial-convolution U-Net, 8 levels, trained at 512 in the paper (L1 hole 6, valid 1).",
            "family": FAMILY,
            "resolution": 512,
            "license": LICENSE,
            "generator_parameters": 32_859_796,
            "discriminator_parameters": 2_765_633,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "pconv_512"),
    },
    "pconv_tiny": {
        "metadata": {
            "description": "A 4-level partial-convolution U-Net (16 filters) that trains on a CPU.",
            "family": FAMILY,
            "resolution": 64,
            "license": LICENSE,
            "generator_parameters": 212_580,
            "discriminator_parameters": 175_313,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "pconv_tiny"),
    },
}

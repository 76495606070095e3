"""Presets of the MI-GAN family (Sargsyan et al., 2023; reference code MIT).

Each entry is keras-hub's: metadata, and the handle of the preset's folder in ``presets/``, which
owns its recipe (see :mod:`keras_inpaint.models.registry`).
"""

import os

FAMILY = "migan"
LICENSE = "MIT (MI-GAN, Picsart-AI-Research/MI-GAN)"
HUB_LICENSE = "mit"  # the license id in the Hugging Face model card header
_PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")

backbone_presets = {
    "migan_256": {
        "metadata": {
            "description": "MI-GAN's inference generator at 256 in the official layout (official checkpoints convert into it) and its training discriminator.",
            "family": FAMILY,
            "resolution": 256,
            "license": LICENSE,
            "generator_parameters": 5_865_505,
            "discriminator_parameters": 39_002_835,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "migan_256"),
    },
    "migan_512": {
        "metadata": {
            "description": "MI-GAN's inference generator at 512 in the official layout, and its training discriminator.",
            "family": FAMILY,
            "resolution": 512,
            "license": LICENSE,
            "generator_parameters": 5_893_158,
            "discriminator_parameters": 39_195_283,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "migan_512"),
    },
    "migan_tiny": {
        "metadata": {
            "description": "A small MI-GAN (128 px, channel base 4096, max 128 channels, layout v0) trained on a CPU on photos from Debian/PyPI packages and distilled from lama_tiny (see its model card).",
            "family": FAMILY,
            "resolution": 128,
            "license": LICENSE,
            "generator_parameters": 320_156,
            "discriminator_parameters": 1_494_721,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "migan_tiny"),
    },
}

"""Presets of the LaMa family (architectures of Suvorov et al., 2022; Apache-2.0 reference).

Each entry is keras-hub's: metadata, and the handle of the preset's folder in ``presets/``, which
owns its recipe (see :mod:`keras_inpaint.models.registry`).
"""

import os

FAMILY = "lama"
LICENSE = "Apache-2.0 (LaMa, advimman/lama)"
HUB_LICENSE = "apache-2.0"  # the license id in the Hugging Face model card header
_PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")

backbone_presets = {
    "lama_fourier_256": {
        "metadata": {
            "description": "LaMa-Fourier: FFC ResNet generator, 9 blocks, ngf 64, NLayer discriminator.",
            "family": FAMILY,
            "resolution": 256,
            "license": LICENSE,
            "generator_parameters": 27_048_835,
            "discriminator_parameters": 6_962_369,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "lama_fourier_256"),
    },
    "big_lama_256": {
        "metadata": {
            "description": "Big LaMa: FFC ResNet generator, 18 blocks, ngf 64, NLayer discriminator.",
            "family": FAMILY,
            "resolution": 256,
            "license": LICENSE,
            "generator_parameters": 50_975_875,
            "discriminator_parameters": 6_962_369,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "big_lama_256"),
    },
    "lama_tiny": {
        "metadata": {
            "description": "A small LaMa (ngf 16, 3 FFC blocks, 16-filter edge refiner) trained on a CPU on photos from Debian/PyPI packages.",
            "family": FAMILY,
            "resolution": 256,
            "license": LICENSE,
            "generator_parameters": 706_870,
            "discriminator_parameters": 175_537,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "lama_tiny"),
    },
}

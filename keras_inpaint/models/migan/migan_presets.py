"""Presets of the MI-GAN family (Sargsyan et al., 2023; reference code MIT).

keras-hub style: each entry is metadata and the handle of a preset folder beside this file
(``presets/<name>/``: ``config.json`` = generator, ``task.json`` = the training recipe —
discriminator, loss weights, optimizers — and the inference settings; ``model.weights.h5``
only where weights are shipped). Those files are the one owner of each recipe.
"""

import os

FAMILY = "migan"
LICENSE = 'MIT (MI-GAN, Picsart-AI-Research/MI-GAN)'
HUB_LICENSE = "mit"  # the license id in the Hugging Face model card header
_PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")

backbone_presets = {
    "migan_256": {
        "metadata": {
            "description": 'MI-GAN mobile generator at 256 (depthwise-separable encoder + skip synthesis).',
            "family": FAMILY,
            "resolution": 256,
            "license": LICENSE,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "migan_256"),
    },
    "migan_512": {
        "metadata": {
            "description": 'MI-GAN mobile generator at 512.',
            "family": FAMILY,
            "resolution": 512,
            "license": LICENSE,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "migan_512"),
    },
    "migan_tiny": {
        "metadata": {
            "description": 'A small MI-GAN (128 px, channel base 4096, max 128 channels) partly trained on a CPU on photos from Debian/PyPI packages; short of the classical baselines (see its model card).',
            "family": FAMILY,
            "resolution": 128,
            "license": LICENSE,
        },
        "kaggle_handle": os.path.join(_PRESET_DIR, "migan_tiny"),
    },
}

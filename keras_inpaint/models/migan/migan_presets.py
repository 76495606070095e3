"""Presets of the MI-GAN family (Sargsyan et al., 2023; reference code MIT)."""

MIGAN_LICENSE = "MIT (MI-GAN, Picsart-AI-Research/MI-GAN)"
HUB_LICENSE = "mit"  # the license id in the Hugging Face model card header
# MI-GAN distils Co-Mod-GAN with a non-saturating loss, R1 and perceptual terms; here: LaMa-like defaults.
MIGAN_GAN = {"adversarial_loss": "non_saturating", "adversarial_weight": 1.0, "r1_gamma": 0.01,
             "mask_as_fake_target": False, "feature_matching_weight": 10.0, "l1_hole_weight": 10.0, "l1_valid_weight": 10.0}

PRESETS = {
    "migan_256": {
        "family": "migan",
        "description": "MI-GAN mobile generator at 256 (depthwise-separable encoder + skip synthesis).",
        "resolution": 256, "license": MIGAN_LICENSE,
        "generator": ("MiganGenerator", {"resolution": 256}),
        "discriminator": ("MiganDiscriminator", {"resolution": 256}),
        "gan": MIGAN_GAN, "weights": None,
    },
    "migan_512": {
        "family": "migan",
        "description": "MI-GAN mobile generator at 512.",
        "resolution": 512, "license": MIGAN_LICENSE,
        "generator": ("MiganGenerator", {"resolution": 512}),
        "discriminator": ("MiganDiscriminator", {"resolution": 512}),
        "gan": MIGAN_GAN, "weights": None,
    },
    "migan_tiny": {
        "family": "migan",
        "description": (
            "A small MI-GAN (128 px, channel base 4096, max 128 channels) partly trained on a CPU on photos "
            "from Debian/PyPI packages; short of the classical baselines (see its model card)."
        ),
        "resolution": 128, "license": MIGAN_LICENSE,
        "generator": ("MiganGenerator", {"resolution": 128, "channel_base": 4096, "max_channels": 128}),
        "discriminator": ("MiganDiscriminator", {"resolution": 128, "channel_base": 4096, "max_channels": 128}),
        "gan": MIGAN_GAN, "weights": "migan_tiny",
    },
}

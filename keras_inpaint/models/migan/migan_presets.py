"""Presets of the MI-GAN family (Sargsyan et al., 2023; reference code MIT)."""

MIGAN_LICENSE = "MIT (MI-GAN, Picsart-AI-Research/MI-GAN)"
HUB_LICENSE = "mit"  # the license id in the Hugging Face model card header
# MI-GAN distils Co-Mod-GAN with a non-saturating loss, R1 and perceptual terms; here: LaMa-like defaults.
MIGAN_GAN = {"adversarial_loss": "non_saturating", "adversarial_weight": 1.0, "r1_gamma": 0.01,
             "mask_as_fake_target": False, "feature_matching_weight": 10.0, "l1_hole_weight": 10.0, "l1_valid_weight": 10.0}

# migan_256 / migan_512 use the official layout (MI-GAN's inference Generator and training Discriminator, see
# MiganGenerator / MiganDiscriminator), which the checkpoint converter (convert.py) builds from the released
# migan_256_places2.pt / migan_512_places2.pt / migan_256_ffhq.pt. migan_tiny was trained with the first port
# ("v0", the constructors' default), which its bundled config relies on.
PRESETS = {
    "migan_256": {
        "family": "migan",
        "description": "MI-GAN mobile generator at 256 (depthwise-separable encoder + skip synthesis), official layout.",
        "resolution": 256, "license": MIGAN_LICENSE,
        "generator": ("MiganGenerator", {"resolution": 256, "channel_base": 32768, "max_channels": 512,
                                         "layout": "official"}),
        "discriminator": ("MiganDiscriminator", {"resolution": 256, "channel_base": 32768, "max_channels": 512,
                                                 "layout": "official", "num_reparam_tensors": 9}),
        "gan": MIGAN_GAN, "weights": None,
    },
    "migan_512": {
        "family": "migan",
        "description": "MI-GAN mobile generator at 512, official layout.",
        "resolution": 512, "license": MIGAN_LICENSE,
        "generator": ("MiganGenerator", {"resolution": 512, "channel_base": 32768, "max_channels": 512,
                                         "layout": "official"}),
        "discriminator": ("MiganDiscriminator", {"resolution": 512, "channel_base": 32768, "max_channels": 512,
                                                 "layout": "official", "num_reparam_tensors": 9}),
        "gan": MIGAN_GAN, "weights": None,
    },
    "migan_tiny": {
        "family": "migan",
        "description": (
            "A small MI-GAN (128 px, channel base 4096, max 128 channels) partly trained on a CPU on photos "
            "from Debian/PyPI packages; short of the classical baselines (see its model card)."
        ),
        "resolution": 128, "license": MIGAN_LICENSE,
        "generator": ("MiganGenerator", {"resolution": 128, "channel_base": 4096, "max_channels": 128}),  # layout v0
        "discriminator": ("MiganDiscriminator", {"resolution": 128, "channel_base": 4096, "max_channels": 128}),
        "gan": MIGAN_GAN, "weights": "migan_tiny",
    },
}

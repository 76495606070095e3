"""Presets of the LaMa family (architectures of Suvorov et al., 2022; Apache-2.0 reference)."""

LAMA_LICENSE = "Apache-2.0 (LaMa, advimman/lama)"
HUB_LICENSE = "apache-2.0"  # the license id in the Hugging Face model card header
# LaMa's training losses (configs/training/lama-fourier.yaml); the hole L1 term is ours (see losses.py).
LAMA_GAN = {"adversarial_loss": "non_saturating", "adversarial_weight": 10.0, "r1_gamma": 0.001,
            "mask_as_fake_target": True, "feature_matching_weight": 100.0,
            "l1_hole_weight": 10.0, "l1_valid_weight": 10.0}

PRESETS = {
    "lama_fourier_256": {
        "family": "lama",
        "description": "LaMa-Fourier: FFC ResNet generator, 9 blocks, ngf 64, NLayer discriminator.",
        "resolution": 256,
        "license": LAMA_LICENSE,
        "generator": ("LamaGenerator", {"base_filters": 64, "num_blocks": 9}),
        "discriminator": ("LamaDiscriminator", {"base_filters": 64}),
        "gan": LAMA_GAN,
        "weights": None,
    },
    "big_lama_256": {
        "family": "lama",
        "description": "Big LaMa: FFC ResNet generator, 18 blocks, ngf 64, NLayer discriminator.",
        "resolution": 256,
        "license": LAMA_LICENSE,
        "generator": ("LamaGenerator", {"base_filters": 64, "num_blocks": 18}),
        "discriminator": ("LamaDiscriminator", {"base_filters": 64}),
        "gan": LAMA_GAN,
        "weights": None,
    },
    "lama_tiny": {
        "family": "lama",
        "description": (
            "A small LaMa (ngf 16, 3 FFC blocks, 16-filter edge refiner) trained on a CPU on photos from "
            "Debian/PyPI packages."
        ),
        "resolution": 256,
        "license": LAMA_LICENSE,
        "generator": ("LamaGenerator", {"base_filters": 16, "num_blocks": 3, "refine_filters": 16}),
        "discriminator": ("LamaDiscriminator", {"base_filters": 16, "num_layers": 3}),
        "gan": LAMA_GAN,
        "weights": "lama_tiny",
    },
}

"""Presets of the pix2pix family."""

PIX2PIX_LICENSE = "BSD-3-Clause (pix2pix / CycleGAN reference code)"
HUB_LICENSE = "bsd-3-clause"  # the license id in the Hugging Face model card header

PRESETS = {
    "pix2pix_256": {
        "family": "pix2pix",
        "description": "pix2pix unet_256 generator (ngf 64, 8 levels) on image + mask with the 70x70 PatchGAN.",
        "resolution": 256,
        "license": PIX2PIX_LICENSE,
        "generator": ("Pix2PixGenerator", {"num_downsamplings": 8, "base_filters": 64, "input_channels": 4}),
        "discriminator": ("PatchGANDiscriminator", {"base_filters": 64, "num_layers": 3}),
        "gan": {"adversarial_loss": "non_saturating", "feature_matching_weight": 0.0, "r1_gamma": 0.0,
                "l1_hole_weight": 100.0, "l1_valid_weight": 100.0, "adversarial_weight": 1.0},
        "weights": None,
    },
    "pix2pix_tiny": {
        "family": "pix2pix",
        "description": "A 5-level U-Net (ngf 16) with a small PatchGAN: trains on a CPU.",
        "resolution": 64,
        "license": PIX2PIX_LICENSE,
        "generator": ("Pix2PixGenerator", {"num_downsamplings": 5, "base_filters": 16, "max_filters": 128, "dropout": 0.0,
                                            "input_channels": 4}),
        "discriminator": ("PatchGANDiscriminator", {"base_filters": 16, "num_layers": 2}),
        "gan": {"adversarial_loss": "non_saturating", "feature_matching_weight": 0.0, "r1_gamma": 0.0,
                "l1_hole_weight": 100.0, "l1_valid_weight": 100.0, "adversarial_weight": 1.0},
        "weights": None,
    },
}

"""Presets of the partial-convolution family (Liu et al., 2018)."""

PCONV_LICENSE = "CC BY-NC 4.0 (NVIDIA partialconv reference): non-commercial use only"
HUB_LICENSE = "cc-by-nc-4.0"  # the license id in the Hugging Face model card header
# PConv trains without a discriminator: reconstruction (+ perceptual/style where a VGG can be loaded).
# Our GAN keeps a PatchGAN with a small weight so that fit works the same way for every family.
PCONV_GAN = {"adversarial_loss": "non_saturating", "adversarial_weight": 0.1, "r1_gamma": 0.0, "mask_as_fake_target": True,
             "feature_matching_weight": 0.0, "l1_hole_weight": 6.0, "l1_valid_weight": 1.0}

PRESETS = {
    "pconv_512": {
        "family": "pconv",
        "description": "Partial-convolution U-Net, 8 levels, trained at 512 in the paper (L1 hole 6, valid 1).",
        "resolution": 512,
        "license": PCONV_LICENSE,
        "generator": ("PConvGenerator", {"num_levels": 8, "base_filters": 64}),
        "discriminator": ("PatchGANDiscriminator", {"base_filters": 64}),
        "gan": PCONV_GAN,
        "weights": None,
    },
    "pconv_tiny": {
        "family": "pconv",
        "description": "A 4-level partial-convolution U-Net (16 filters) that trains on a CPU.",
        "resolution": 64,
        "license": PCONV_LICENSE,
        "generator": ("PConvGenerator", {"num_levels": 4, "base_filters": 16, "max_filters": 64}),
        "discriminator": ("PatchGANDiscriminator", {"base_filters": 16}),
        "gan": PCONV_GAN,
        "weights": None,
    },
}

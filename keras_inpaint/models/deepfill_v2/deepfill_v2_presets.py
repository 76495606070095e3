"""Presets of the DeepFill v2 family (Yu et al., 2019; reference code and weights CC BY-NC 4.0)."""

DEEPFILL_LICENSE = "CC BY-NC 4.0 (DeepFill v2, JiahuiYu/generative_inpainting): non-commercial use only"
HUB_LICENSE = "cc-by-nc-4.0"  # the license id in the Hugging Face model card header
# DeepFill v2 trains with hinge loss (weight 1) and L1 (weight 1) on all pixels; no feature matching, no R1.
DEEPFILL_GAN = {"adversarial_loss": "hinge", "adversarial_weight": 1.0, "r1_gamma": 0.0, "mask_as_fake_target": False,
                "feature_matching_weight": 0.0, "l1_hole_weight": 1.0, "l1_valid_weight": 1.0}

PRESETS = {
    "deepfill_v2_256": {
        "family": "deepfill_v2",
        "description": "DeepFill v2: two-stage gated-conv generator (cnum 48) with contextual attention, SN-PatchGAN.",
        "resolution": 256,
        "license": DEEPFILL_LICENSE,
        "generator": ("DeepFillV2Generator", {"base_filters": 24}),
        "discriminator": ("SNPatchGANDiscriminator", {"base_filters": 64}),
        "gan": DEEPFILL_GAN,
        "weights": None,
    },
    "deepfill_v2_tiny": {
        "family": "deepfill_v2",
        "description": "A small DeepFill v2 (cnum 16) that trains on a CPU.",
        "resolution": 64,
        "license": DEEPFILL_LICENSE,
        "generator": ("DeepFillV2Generator", {"base_filters": 8}),
        "discriminator": ("SNPatchGANDiscriminator", {"base_filters": 8, "num_layers": 4}),
        "gan": DEEPFILL_GAN,
        "weights": None,
    },
}

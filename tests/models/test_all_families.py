"""Every family's generator runs under mixed precision and under XLA, and fits as a tiny preset."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_inpaint.models import registry

TINY = {
    "lama": ("LamaGenerator", {"base_filters": 8, "num_blocks": 1}),
    "deepfill_v2": ("DeepFillV2Generator", {"base_filters": 4}),
    "migan": ("MiganGenerator", {"resolution": 32, "channel_base": 256, "max_channels": 16}),
    "pconv": ("PConvGenerator", {"num_levels": 3, "base_filters": 8}),
    "pix2pix": ("Pix2PixGenerator", {"num_downsamplings": 3, "base_filters": 8}),
}


# Contextual attention takes a softmax (scale 10) over unnormalised feature scores: at
# random initialisation it is nearly an argmax, so bf16/fp16 or XLA rounding switches the
# patch it pastes. DeepFill is checked for finite, in-range output only.
EXACT = {"lama", "migan", "pconv", "pix2pix"}


def build(family):
    class_name, config = TINY[family]
    return keras.saving.get_registered_object(f"keras_inpaint>{class_name}")(**config)


def test_every_registered_family_is_covered():
    assert {entry["metadata"]["family"] for entry in registry.builtin_presets().values()} == set(TINY)


@pytest.mark.parametrize("family", sorted(TINY))
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_forward(family, policy):
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 48, 4)).astype(np.float32)
    reference = build(family)
    keras.mixed_precision.set_global_policy(policy)
    try:
        mixed = build(family)
        mixed.set_weights(reference.get_weights())
        out = np.asarray(mixed(x, training=False))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out.dtype == np.float32 and out.shape == (1, 32, 48, 3) and np.all(np.isfinite(out))
    assert np.all(np.abs(out) <= 1.0)
    if family in EXACT:
        np.testing.assert_allclose(out, np.asarray(reference(x, training=False)), atol=0.1)


@pytest.mark.parametrize("family", sorted(TINY))
def test_xla_matches_eager(family):
    generator = build(family)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 64, 4)).astype(np.float32)
    compiled = tf.function(lambda t: generator(t, training=False), jit_compile=True)
    out = np.asarray(compiled(x))
    assert out.shape == (2, 32, 64, 3) and np.all(np.isfinite(out)) and np.all(np.abs(out) <= 1.0)
    if family in EXACT:
        np.testing.assert_allclose(out, np.asarray(generator(x, training=False)), atol=1e-4)

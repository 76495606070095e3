import numpy as np
import pytest
import tensorflow as tf

from keras_inpaint import masks


@pytest.mark.parametrize("size", [256, 512])
def test_named_settings_hole_ratio_statistics(size):
    stats = {}
    for setting in ("thin", "medium", "thick", "deepfill", "mixed"):
        drawn = masks.random_masks(60, size, setting=setting, seed=1)
        assert drawn.shape == (60, size, size, 1)
        assert set(np.unique(drawn)) <= {0.0, 1.0}
        ratios = masks.hole_ratios(drawn)
        assert ratios.min() > 0.0 and ratios.max() <= 0.5
        stats[setting] = ratios
    # Thin masks are many narrow strokes, medium a few wide ones, thick few very wide ones plus boxes.
    assert 0.15 < stats["thin"].mean() < 0.40
    assert 0.18 < stats["medium"].mean() < 0.38
    assert 0.20 < stats["thick"].mean() < 0.45
    assert 0.08 < stats["deepfill"].mean() < 0.35
    # Thick masks vary more than medium ones (1-5 strokes up to 100 px wide).
    assert stats["thick"].std() > stats["medium"].std()


def test_stroke_width_scales_with_resolution():
    """At 512 the strokes are twice as wide: a thin mask has a quarter as many boundary pixels per area."""
    def boundary_per_hole(mask):
        edges = np.abs(np.diff(mask, axis=0)).sum() + np.abs(np.diff(mask, axis=1)).sum()
        return edges / mask.sum()

    small = np.mean([boundary_per_hole(m[..., 0]) for m in masks.random_masks(20, 256, setting="thin", seed=3)])
    large = np.mean([boundary_per_hole(m[..., 0]) for m in masks.random_masks(20, 512, setting="thin", seed=3)])
    assert 1.6 < small / large < 2.4


def test_seeded_masks_are_reproducible_and_seeds_differ():
    a = masks.random_masks(5, 128, setting="mixed", seed=7)
    b = masks.random_masks(5, 128, setting="mixed", seed=7)
    c = masks.random_masks(5, 128, setting="mixed", seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_non_square_masks():
    mask = masks.random_mask(96, 160, setting="medium", seed=0)
    assert mask.shape == (96, 160) and 0 < mask.mean() <= 0.5


def test_unknown_setting_is_named():
    with pytest.raises(ValueError, match="unknown mask setting 'huge'"):
        masks.random_mask(64, setting="huge", seed=0)


def test_usable_from_tf_data():
    seeds = tf.data.Dataset.range(4)
    dataset = seeds.map(
        lambda s: tf.numpy_function(lambda v: masks.random_mask(64, 64, "thin", int(v)), [s], tf.float32)
    )
    drawn = np.stack([m.numpy() for m in dataset])
    np.testing.assert_array_equal(drawn[2], masks.random_mask(64, 64, "thin", 2))
    assert drawn.shape == (4, 64, 64)

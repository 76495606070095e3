import numpy as np
import pytest
import tensorflow as tf

from keras_inpaint import losses


def softplus(x):
    return np.log1p(np.exp(x))


def test_masked_l1_weights_hole_and_valid_separately():
    y_true = np.zeros((1, 2, 2, 1), np.float32)
    y_pred = np.array([1, 2, 3, 4], np.float32).reshape(1, 2, 2, 1)
    mask = np.array([1, 0, 0, 1], np.float32).reshape(1, 2, 2, 1)
    # hole pixels: 1 and 4 weighted 10; known: 2 and 3 weighted 1.
    assert float(losses.masked_l1(y_true, y_pred, mask, 10.0, 1.0)) == pytest.approx((10 + 2 + 3 + 40) / 4)
    assert float(losses.region_l1(y_true, y_pred, mask, "hole")) == pytest.approx(2.5)
    assert float(losses.region_l1(y_true, y_pred, mask, "valid")) == pytest.approx(2.5 * 1.0)
    assert float(losses.region_l1(y_true, y_pred, np.zeros_like(mask), "hole")) == 0.0


def test_generator_adversarial_kinds():
    fake = np.array([-1.0, 0.5], np.float32).reshape(1, 1, 2, 1)
    assert float(losses.generator_adversarial_loss(fake, "non_saturating")) == pytest.approx(softplus(-fake).mean(), 1e-6)
    assert float(losses.generator_adversarial_loss(fake, "hinge")) == pytest.approx(0.25)
    assert float(losses.generator_adversarial_loss(fake, "least_squares")) == pytest.approx((4 + 0.25) / 2)
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        losses.generator_adversarial_loss(fake, "wasserstein")


def test_discriminator_loss_and_mask_as_fake_target():
    real = np.full((1, 2, 2, 1), 2.0, np.float32)
    fake = np.full((1, 2, 2, 1), -1.0, np.float32)
    plain = float(losses.discriminator_adversarial_loss(real, fake, "non_saturating"))
    assert plain == pytest.approx(softplus(-2.0) + softplus(-1.0), 1e-6)
    # Known half of the generated image is labelled real (LaMa's mask_as_fake_target).
    mask = np.zeros((1, 4, 4, 1), np.float32)
    mask[:, :, :2] = 1.0
    masked = float(losses.discriminator_adversarial_loss(real, fake, "non_saturating", fake_masks=mask))
    assert masked == pytest.approx(softplus(-2.0) + 0.5 * softplus(-1.0) + 0.5 * softplus(1.0), 1e-6)
    hinge = float(losses.discriminator_adversarial_loss(real, fake, "hinge"))
    assert hinge == pytest.approx(0.0 + 0.0)
    lsgan = float(losses.discriminator_adversarial_loss(real, fake, "least_squares"))
    assert lsgan == pytest.approx(1.0 + 1.0)


def test_resize_mask_to_is_area_average():
    mask = np.zeros((1, 4, 4, 1), np.float32)
    mask[0, :2, :2] = 1.0
    small = losses.resize_mask_to(mask, np.zeros((1, 2, 2, 1)))
    np.testing.assert_allclose(np.asarray(small)[0, ..., 0], [[1.0, 0.0], [0.0, 0.0]], atol=1e-6)
    odd = losses.resize_mask_to(np.ones((1, 9, 7, 1), np.float32), np.zeros((1, 3, 2, 1)))
    np.testing.assert_allclose(odd, 1.0, atol=1e-6)


def test_r1_penalty_matches_squared_gradient_norm():
    images = tf.constant(np.random.default_rng(0).normal(size=(3, 4, 4, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(3.0 * images)  # gradient is 3 everywhere
    grads = tape.gradient(total, images)
    assert float(losses.r1_penalty(grads)) == pytest.approx(9.0 * 32)


def test_feature_matching_loss():
    real = [np.zeros((1, 2, 2, 1), np.float32), np.zeros((1, 1, 1, 2), np.float32)]
    fake = [np.ones((1, 2, 2, 1), np.float32), np.full((1, 1, 1, 2), 3.0, np.float32)]
    assert float(losses.feature_matching_loss(real, fake)) == pytest.approx((1.0 + 9.0) / 2)
    with pytest.raises(ValueError, match="equally long"):
        losses.feature_matching_loss(real, fake[:1])


def test_perceptual_loss_on_a_feature_network():
    import keras

    net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, kernel_initializer="ones", use_bias=False)])
    a = np.zeros((1, 8, 8, 3), np.float32)
    b = np.full((1, 8, 8, 3), 0.1, np.float32)
    assert float(losses.perceptual_loss(net, a, a)) == 0.0
    assert float(losses.perceptual_loss(net, a, b)) == pytest.approx(2.7, 1e-5)  # 27 inputs * 0.1


def test_ssim_map_is_the_evaluation_metric():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (2, 40, 48, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    ours = np.asarray(losses.ssim_map(a, b))
    assert ours.shape == a.shape
    for i in range(2):
        _, reference = structural_similarity(a[i].astype(np.float64), b[i].astype(np.float64), channel_axis=-1,
                                             data_range=1.0, gaussian_weights=True, sigma=1.5,
                                             use_sample_covariance=False, full=True)
        np.testing.assert_allclose(ours[i], reference, atol=1e-5)


def test_masked_ssim_loss_counts_the_hole_only():
    rng = np.random.default_rng(1)
    truth = rng.uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    masks = np.zeros((1, 32, 32, 1), np.float32)
    masks[:, 8:24, 8:24] = 1
    assert float(losses.masked_ssim_loss(truth, truth, masks)) == pytest.approx(0.0, abs=1e-6)
    noisy_outside = np.where(masks > 0, truth, -truth)  # wrong only where the result is replaced by the truth
    assert float(losses.masked_ssim_loss(truth, noisy_outside, masks)) == pytest.approx(0.0, abs=1e-6)
    flat = np.zeros_like(truth)
    loss = float(losses.masked_ssim_loss(truth, flat, masks))
    similarity = np.asarray(losses.ssim_map((truth + 1) / 2, (np.where(masks > 0, flat, truth) + 1) / 2))
    assert loss == pytest.approx(float(np.mean((1 - similarity) * masks)), rel=1e-5)
    assert loss > 0.1 * masks.mean()


def test_boundary_band_is_the_hole_ring_next_to_known_pixels():
    masks = np.zeros((1, 12, 12, 1), np.float32)
    masks[0, 2:10, 2:10] = 1  # an 8x8 hole
    band = np.asarray(losses.boundary_band(masks, width=2))[0, ..., 0]
    expected = masks[0, ..., 0].copy()
    expected[4:8, 4:8] = 0  # more than 2 px from every known pixel
    np.testing.assert_array_equal(band, expected)
    # The image border is not a known pixel: a hole touching it has no band along it.
    edge = np.zeros((1, 8, 8, 1), np.float32)
    edge[0, :, :4] = 1
    edge_band = np.asarray(losses.boundary_band(edge, width=1))[0, ..., 0]
    assert edge_band[:, 3].all() and not edge_band[:, :3].any()
    with pytest.raises(ValueError, match="boundary width"):
        losses.boundary_band(masks, width=0)


def test_boundary_l1_averages_the_band_alone():
    truth = np.zeros((1, 12, 12, 3), np.float32)
    masks = np.zeros((1, 12, 12, 1), np.float32)
    masks[0, 2:10, 2:10] = 1
    pred = truth.copy()
    pred[0, 4:8, 4:8] = 1.0  # wrong only deep inside the hole
    assert float(losses.boundary_l1(truth, pred, masks, width=2)) == 0.0
    pred[0, 2, 2:10] = 0.5  # wrong on one 8-pixel edge of the 48-pixel band
    assert float(losses.boundary_l1(truth, pred, masks, width=2)) == pytest.approx(0.5 * 8 / 48)
    assert float(losses.boundary_l1(truth, pred, np.zeros_like(masks), width=2)) == 0.0

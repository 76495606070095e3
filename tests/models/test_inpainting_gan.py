import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_inpaint import InpaintingGAN, PatchGANDiscriminator, Pix2PixGenerator
from keras_inpaint.masks import random_masks
from tests.conftest import stripe_images


def tiny_gan(**kwargs):
    generator = Pix2PixGenerator(num_downsamplings=3, base_filters=8, max_filters=16, dropout=0.0)
    discriminator = PatchGANDiscriminator(base_filters=8, num_layers=2)
    return InpaintingGAN(generator, discriminator, seed=0, **kwargs)


def test_metrics_are_mean_trackers_reset_each_epoch():
    model = tiny_gan()
    model.compile(jit_compile=False)
    names = {m.name for m in model.metrics}
    assert {"g_loss", "d_loss", "l1_hole", "l1_valid", "r1_penalty", "feature_matching"} <= names
    assert all(isinstance(m, keras.metrics.Mean) for m in model.metrics)
    images, masks = stripe_images(4, 32), random_masks(4, 32, setting="thick", seed=0)
    history = model.fit(images, masks, batch_size=2, epochs=2, verbose=0)
    # With a reset per epoch the epoch-2 mean differs from the running mean over both epochs.
    assert len(history.history["d_loss"]) == 2
    assert history.history["r1_penalty"][0] > 0 and history.history["feature_matching"][0] > 0


def test_one_step_updates_both_networks_with_their_own_optimizers():
    model = tiny_gan()
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.SGD(1e-2), jit_compile=False)
    g_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    d_before = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    model.train_on_batch(stripe_images(2, 32), random_masks(2, 32, seed=0))
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(g_before, model.generator.trainable_weights))
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(d_before, model.discriminator.trainable_weights))
    assert int(model.g_optimizer.iterations.numpy()) == 1 and int(model.d_optimizer.iterations.numpy()) == 1


@pytest.mark.parametrize("kind", ["non_saturating", "hinge", "least_squares"])
def test_xla_training_with_each_adversarial_loss(kind):
    model = tiny_gan(adversarial_loss=kind)
    model.compile(jit_compile=True)
    history = model.fit(stripe_images(4, 32), random_masks(4, 32, seed=0), batch_size=2, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())


def test_batches_without_masks_get_seeded_random_boxes():
    model = tiny_gan()
    images = stripe_images(3, 32)
    boxes = model._random_box_masks(keras.ops.convert_to_tensor(images)).numpy()
    assert boxes.shape == (3, 32, 32, 1)
    ratios = boxes.reshape(3, -1).mean(axis=1)
    assert np.all(ratios >= 0.25**2 * 0.5) and np.all(ratios <= 0.3)
    model.compile(jit_compile=False)
    logs = model.train_on_batch(images, return_dict=True)
    assert logs["l1_hole"] > 0


def test_mixed_bfloat16_training_step():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = tiny_gan()
        model.compile(jit_compile=False)
        logs = model.train_on_batch(stripe_images(2, 32), random_masks(2, 32, seed=0), return_dict=True)
        assert np.isfinite(logs["g_loss"])
        out = model.inpaint(np.zeros((20, 30, 3), np.uint8), np.ones((20, 30), bool))
        assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mixed_float16_wraps_optimizers_in_loss_scaling():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = tiny_gan()
        model.compile(jit_compile=False)
        assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
        logs = model.train_on_batch(stripe_images(2, 32), random_masks(2, 32, seed=0), return_dict=True)
        assert np.isfinite(logs["d_loss"])
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_bad_construction_arguments_are_named():
    generator = Pix2PixGenerator(num_downsamplings=3, base_filters=8)
    with pytest.raises(ValueError, match="unknown adversarial_loss 'wgan'"):
        InpaintingGAN(generator, PatchGANDiscriminator(base_filters=8), adversarial_loss="wgan")
    with pytest.raises(TypeError, match="discriminator must be a keras.Model"):
        InpaintingGAN(generator, "patchgan")


def test_generator_moving_average_follows_each_update():
    model = tiny_gan(ema_momentum=0.9)
    model.compile(jit_compile=False)
    before = [w.numpy().copy() for w in model.generator.weights]
    model.train_on_batch(stripe_images(2, 32), random_masks(2, 32, seed=0))
    after = [w.numpy().copy() for w in model.generator.weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    for w0, w1, average in zip(before, after, model.ema_weights):
        np.testing.assert_allclose(average.numpy(), 0.9 * w0 + 0.1 * w1, rtol=1e-5, atol=1e-7)
    with model.swapped_ema_weights():
        for weight, w0, w1 in zip(model.generator.weights, before, after):
            np.testing.assert_allclose(weight.numpy(), 0.9 * w0 + 0.1 * w1, rtol=1e-5, atol=1e-7)
    for weight, w1 in zip(model.generator.weights, after):
        np.testing.assert_array_equal(weight.numpy(), w1)
    with pytest.raises(ValueError, match="ema_momentum must be in"):
        tiny_gan(ema_momentum=1.0)


def test_mirrored_strategy_on_two_logical_cpus():
    """Under tf.distribute.MirroredStrategy the step runs per replica and both replicas agree."""
    script = textwrap.dedent(
        """
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras_inpaint as ki
        from keras_inpaint.masks import random_masks
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            g = ki.Pix2PixGenerator(num_downsamplings=3, base_filters=8, max_filters=16, dropout=0.0)
            model = ki.InpaintingGAN(g, ki.PatchGANDiscriminator(base_filters=8, num_layers=2), seed=0,
                                     ema_momentum=0.99)
            model.compile(jit_compile=False)
        images = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
        history = model.fit(images, random_masks(8, 32, seed=0), batch_size=4, epochs=2, verbose=0)
        print("REPLICAS", strategy.num_replicas_in_sync, "LOSS", history.history["g_loss"][-1])
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    line = [l for l in result.stdout.splitlines() if l.startswith("REPLICAS")][0]
    assert line.split()[1] == "2" and np.isfinite(float(line.split()[3]))


def test_ssim_term_enters_the_generator_loss():
    images, masks = stripe_images(2, 32), random_masks(2, 32, setting="thick", seed=0)
    plain, with_ssim = tiny_gan(), tiny_gan(ssim_weight=50.0)
    with_ssim.set_weights(plain.get_weights())
    for model in (plain, with_ssim):
        model.compile(jit_compile=False)
    logs_plain = plain.test_on_batch(images, masks, return_dict=True)
    logs_ssim = with_ssim.test_on_batch(images, masks, return_dict=True)
    assert "ssim_loss" not in logs_plain and logs_ssim["ssim_loss"] > 0.0  # a term at weight 0 is not computed
    assert logs_ssim["g_loss"] == pytest.approx(logs_plain["g_loss"] + 50.0 * logs_ssim["ssim_loss"], rel=1e-4)
    assert InpaintingGAN.from_config(with_ssim.get_config()).ssim_weight == 50.0


def test_boundary_term_enters_the_generator_loss_and_its_tracker():
    images, masks = stripe_images(2, 32), random_masks(2, 32, setting="thick", seed=0)
    plain, with_band = tiny_gan(), tiny_gan(boundary_weight=20.0, boundary_width=3)
    with_band.set_weights(plain.get_weights())
    for model in (plain, with_band):
        model.compile(jit_compile=False)
    logs_plain = plain.test_on_batch(images, masks, return_dict=True)
    logs_band = with_band.test_on_batch(images, masks, return_dict=True)
    assert logs_band["l1_boundary"] > 0.0
    assert logs_band["g_loss"] == pytest.approx(logs_plain["g_loss"] + 20.0 * logs_band["l1_boundary"], rel=1e-4)
    restored = InpaintingGAN.from_config(with_band.get_config())
    assert (restored.boundary_weight, restored.boundary_width) == (20.0, 3)
    with pytest.raises(ValueError, match="boundary_width"):
        tiny_gan(boundary_width=0)


def test_distillation_pulls_the_generator_towards_a_frozen_teacher(tmp_path):
    images, masks = stripe_images(4, 32), random_masks(4, 32, setting="thick", seed=0)
    keras.utils.set_random_seed(1)
    teacher = Pix2PixGenerator(num_downsamplings=3, base_filters=8, max_filters=16, dropout=0.0)
    teacher_before = [w.numpy().copy() for w in teacher.weights]
    # Only the distillation term: the generator has nothing to learn but the teacher's fills.
    model = tiny_gan(teacher=teacher, distillation_weight=1.0, l1_hole_weight=0.0, l1_valid_weight=0.0,
                     adversarial_weight=0.0, feature_matching_weight=0.0)
    model.compile(g_optimizer=keras.optimizers.Adam(3e-3), jit_compile=False)
    history = model.fit(images, masks, batch_size=4, epochs=30, verbose=0).history["distillation"]
    assert history[-1] < 0.3 * history[0]
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(teacher_before, teacher.weights))  # frozen
    # The teacher is training-time only: not among the GAN's weights, nor in its config or preset.
    assert len(model.weights) == len(tiny_gan().weights)
    assert "teacher" not in model.get_config() and "distillation_weight" not in model.get_config()
    model.save_to_preset(str(tmp_path / "student"))
    restored = InpaintingGAN.from_preset(str(tmp_path / "student"))
    photo = (images[:1] + 1.0) / 2.0
    np.testing.assert_array_equal(restored.inpaint(photo, masks[:1]), model.inpaint(photo, masks[:1]))
    with pytest.raises(ValueError, match="teacher"):
        tiny_gan(distillation_weight=1.0)

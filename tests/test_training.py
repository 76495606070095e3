import json
import os

import keras
import numpy as np
import pytest

from keras_inpaint import InpaintingGAN, PatchGANDiscriminator, Pix2PixGenerator
from keras_inpaint.errors import ConfigError, DataError
from keras_inpaint.masks import random_masks
from keras_inpaint.training import RunBackup
from tests.conftest import stripe_images


class Interrupt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt(f"simulated interruption after epoch {self.epoch}")


def fit(backup_dir, epochs, interrupt_after=None):
    keras.utils.set_random_seed(0)
    generator = Pix2PixGenerator(num_downsamplings=3, base_filters=8, max_filters=16, dropout=0.0)
    model = InpaintingGAN(generator, PatchGANDiscriminator(base_filters=8, num_layers=2), seed=0)
    model.compile(jit_compile=False)
    callbacks = [RunBackup(str(backup_dir))]
    if interrupt_after:
        callbacks.append(Interrupt(interrupt_after))
    images, masks = stripe_images(8, 32), random_masks(8, 32, setting="medium", seed=0)
    model.fit(images, masks, batch_size=4, epochs=epochs, shuffle=False, callbacks=callbacks, verbose=0)
    return model


def test_interrupted_fit_resumes_to_the_same_weights(tmp_path):
    straight = fit(tmp_path / "straight", epochs=4)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "resumed", epochs=4, interrupt_after=2)
    resumed = fit(tmp_path / "resumed", epochs=4)
    assert int(resumed.d_optimizer.iterations.numpy()) == int(straight.d_optimizer.iterations.numpy()) == 8
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    fresh = fit(tmp_path / "fresh", epochs=2)
    assert any(not np.allclose(a.numpy(), b.numpy()) for a, b in zip(straight.generator.weights, fresh.generator.weights))


def test_train_writes_preset_log_and_resumes(tmp_path, sample_photo, photo_folder):
    from PIL import Image

    from keras_inpaint import Inpainter
    from keras_inpaint.training import train

    photos = photo_folder
    out = tmp_path / "run"
    train("pix2pix_tiny", str(photos), str(out), epochs=1, steps_per_epoch=2, image_size=32, batch_size=2,
          masks="thin", seed=0, jit_compile=False)
    train("pix2pix_tiny", str(photos), str(out), epochs=2, steps_per_epoch=2, image_size=32, batch_size=2,
          masks="thin", seed=0, jit_compile=False)
    log = [json.loads(line) for line in open(out / "log.jsonl")]
    assert [r["epoch"] for r in log] == [1, 2]  # the second call ran only the missing epoch
    assert all(np.isfinite(r["g_loss"]) for r in log)
    assert not os.path.exists(str(out / "preset") + ".partial")
    samples = sorted(os.listdir(out / "samples"))
    assert samples == ["epoch_0001.png", "epoch_0002.png"]
    picture = np.asarray(Image.open(out / "samples" / "epoch_0002.png"))
    assert picture.shape[0] > 3 * 32 and picture.shape[1] > 3 * 32
    assert any(name.startswith("events.out.tfevents") for _, _, files in os.walk(out / "tensorboard") for name in files)
    model = Inpainter.from_preset(str(out / "preset"))
    assert model.inpaint(sample_photo[:40, :40], np.ones((40, 40), bool)).shape == (40, 40, 3)


def test_cosine_schedule_ends_at_zero_and_ema_preset_is_the_average(tmp_path, photo_folder):
    from keras_inpaint import Inpainter
    from keras_inpaint.training import train

    out = tmp_path / "run"
    model = train("pix2pix_tiny", photo_folder, str(out), epochs=2, steps_per_epoch=3, image_size=32, batch_size=2,
                  masks="thick", seed=0, jit_compile=False, g_learning_rate=1e-3, lr_schedule="cosine",
                  ema_momentum=0.5)
    g_rate = model.g_optimizer.learning_rate
    assert float(keras.ops.convert_to_numpy(g_rate)) == pytest.approx(0.0, abs=1e-9)
    assert int(model.g_optimizer.iterations.numpy()) == 6
    averaged = Inpainter.from_preset(str(out / "preset")).generator.weights
    raw = Inpainter.from_preset(str(out / "preset_raw")).generator.weights
    for saved, trained in zip(raw, model.generator.weights):
        np.testing.assert_array_equal(saved.numpy(), trained.numpy())
    for saved, average in zip(averaged, model.ema_weights):
        np.testing.assert_array_equal(saved.numpy(), average.numpy())
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(averaged, raw))


def test_unknown_schedule_and_existing_run_are_refused(tmp_path, photo_folder):
    from keras_inpaint.training import learning_rate_schedule, train

    with pytest.raises(ValueError, match="unknown lr_schedule 'linear'"):
        learning_rate_schedule(1e-3, "linear", 100)
    out = tmp_path / "run"
    kwargs = dict(epochs=1, steps_per_epoch=1, image_size=32, batch_size=2, masks="thin", jit_compile=False)
    train("pix2pix_tiny", photo_folder, str(out), **kwargs)
    before = open(out / "log.jsonl").read()
    with pytest.raises(FileExistsError, match="already holds a training run"):
        train("pix2pix_tiny", photo_folder, str(out), resume=False, **kwargs)
    assert open(out / "log.jsonl").read() == before


def test_disk_full_during_a_checkpoint_resumes_from_the_previous_one(tmp_path, photo_folder, monkeypatch):
    import errno

    from keras_inpaint.training import train

    out = tmp_path / "run"
    kwargs = dict(epochs=4, steps_per_epoch=2, image_size=32, batch_size=2, masks="thin", jit_compile=False)
    real_save_weights = InpaintingGAN.save_weights
    calls = []

    def disk_fills_on_third_save(self, filepath, *args, **kwargs):
        calls.append(filepath)
        if len(calls) == 3:
            with open(filepath, "wb") as f:
                f.write(b"\x89HDF\r\n half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save_weights(self, filepath, *args, **kwargs)

    monkeypatch.setattr(InpaintingGAN, "save_weights", disk_fills_on_third_save)
    with pytest.raises(OSError, match="No space left"):
        train("pix2pix_tiny", photo_folder, str(out), **kwargs)
    monkeypatch.setattr(InpaintingGAN, "save_weights", real_save_weights)
    assert [json.loads(line)["epoch"] for line in open(out / "log.jsonl")] == [1, 2]

    assert sorted(os.listdir(out / "backup")) == ["checkpoint.json", "epoch_0001.weights.h5", "epoch_0002.weights.h5"]

    model = train("pix2pix_tiny", photo_folder, str(out), **kwargs)
    # The half-written third checkpoint was never committed: epoch 2 is restored, so only 3 and 4 ran.
    assert [json.loads(line)["epoch"] for line in open(out / "log.jsonl")] == [1, 2, 3, 4]
    assert int(model.g_optimizer.iterations.numpy()) == 4 * 2


def test_an_interrupted_checkpoint_write_keeps_the_last_one(tmp_path, monkeypatch):
    """Ctrl-C while a checkpoint is being written: the file is half there, nothing names it."""
    real_save_weights = InpaintingGAN.save_weights
    calls = []

    def interrupted_on_second_save(self, filepath, *args, **kwargs):
        calls.append(filepath)
        if len(calls) == 2:
            with open(filepath, "wb") as f:
                f.write(b"\x89HDF\r\n half a checkpoint")
            raise KeyboardInterrupt
        return real_save_weights(self, filepath, *args, **kwargs)

    monkeypatch.setattr(InpaintingGAN, "save_weights", interrupted_on_second_save)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "run", epochs=3)
    monkeypatch.setattr(InpaintingGAN, "save_weights", real_save_weights)
    assert sorted(os.listdir(tmp_path / "run")) == ["checkpoint.json", "epoch_0001.weights.h5"]
    assert json.load(open(tmp_path / "run" / "checkpoint.json"))["epoch"] == 1
    resumed = fit(tmp_path / "run", epochs=3)
    assert int(resumed.d_optimizer.iterations.numpy()) == 3 * 2


def test_bad_settings_and_data_are_refused_before_anything_is_built(tmp_path, photo_folder):
    from keras_inpaint.training import train

    out = tmp_path / "run"
    kwargs = dict(steps_per_epoch=1, image_size=32, batch_size=2, jit_compile=False)
    with pytest.raises(ConfigError, match="epochs must be at least 1; got 0"):
        train("pix2pix_tiny", photo_folder, str(out), epochs=0, **kwargs)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images found"):
        train("pix2pix_tiny", str(empty), str(out), epochs=1, **kwargs)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("a.jpg", "b.png"):
        (broken / name).write_bytes(b"not an image")
    with pytest.raises(DataError, match="none of the 2 images .* can be read"):
        train("pix2pix_tiny", str(broken), str(out), epochs=1, **kwargs)
    assert not out.exists()  # nothing left behind


def test_an_unwritable_run_directory_is_refused_at_once(unwritable_folder, photo_folder):
    from keras_inpaint.training import train

    with pytest.raises(PermissionError, match="cannot write the run directory"):
        train("pix2pix_tiny", photo_folder, os.path.join(unwritable_folder, "run", "inner"), epochs=1, jit_compile=False)


class PoisonGenerator(keras.callbacks.Callback):
    """Sets a generator weight to NaN when epoch ``epoch`` (1-based) begins."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            weight = self.model.generator.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, np.float32))


def test_nan_loss_stops_before_the_checkpoint_and_preset_are_overwritten(tmp_path, photo_folder):
    from keras_inpaint import Inpainter
    from keras_inpaint.training import train

    out = tmp_path / "run"
    kwargs = dict(epochs=3, steps_per_epoch=2, image_size=32, batch_size=2, masks="thin", jit_compile=False)
    with pytest.raises(RuntimeError, match="NaN"):
        train("pix2pix_tiny", photo_folder, str(out), callbacks=[PoisonGenerator(2)], **kwargs)
    assert [json.loads(line)["epoch"] for line in open(out / "log.jsonl")] == [1]
    saved = Inpainter.from_preset(str(out / "preset")).generator.weights
    assert all(np.isfinite(w.numpy()).all() for w in saved)
    model = train("pix2pix_tiny", photo_folder, str(out), **kwargs)  # resumes from the good epoch 1
    assert [json.loads(line)["epoch"] for line in open(out / "log.jsonl")] == [1, 2, 3]
    assert all(np.isfinite(w.numpy()).all() for w in model.generator.weights)

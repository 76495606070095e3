"""Train a preset on a folder of photos with ``fit``, resumable across interruptions."""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import Callable

import keras
import numpy as np

from keras_inpaint.console import progress, say
from keras_inpaint.data import center_crop, inpainting_dataset, list_images
from keras_inpaint.image_io import read_image_uint8, write_image
from keras_inpaint.masks import random_masks
from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.models.inpainting_gan import InpaintingGAN
from keras_inpaint.visualize import grid, show_hole


def save_preset_atomically(model: keras.Model, preset_dir: str,
                           finish: Callable[[str], None] | None = None) -> None:
    """Write a preset next to ``preset_dir`` and swap it in, so an interruption never leaves half a preset.

    ``finish(staging_dir)`` may add or edit files before the swap (the converter's provenance).
    On any error the staging folder is removed and ``preset_dir`` keeps what it held.
    """
    preset_dir = os.path.abspath(preset_dir.rstrip(os.sep))
    os.makedirs(os.path.dirname(preset_dir), exist_ok=True)
    staging = f"{preset_dir}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model.save_to_preset(staging)
        if finish is not None:
            finish(staging)
        previous = f"{preset_dir}.previous"
        shutil.rmtree(previous, ignore_errors=True)
        if os.path.exists(preset_dir):
            os.replace(preset_dir, previous)
        os.replace(staging, preset_dir)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class PresetSnapshot(keras.callbacks.Callback):
    """Save the model as a preset (atomically) every ``every`` epochs and log the epoch.

    With a generator moving average (``InpaintingGAN(ema_momentum=...)``) ``preset_dir``
    holds the averaged generator and ``<preset_dir>_raw`` the generator as trained.
    """

    def __init__(self, preset_dir: str, log_path: str, every: int = 1):
        super().__init__()
        self.preset_dir, self.log_path, self.every = preset_dir, log_path, every
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            if getattr(self.model, "ema_weights", None):
                save_preset_atomically(self.model, f"{self.preset_dir}_raw")
                with self.model.swapped_ema_weights():
                    save_preset_atomically(self.model, self.preset_dir)
            else:
                save_preset_atomically(self.model, self.preset_dir)
        record = {"epoch": epoch + 1, "seconds": round(time.time() - self._start, 1),
                  **{k: float(v) for k, v in (logs or {}).items()}}
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


class ProgressLine(keras.callbacks.Callback):
    """What ``keras-inpaint train`` shows: a progress bar per epoch, then one line with the
    generator's and discriminator's losses and the hole L1 (every metric goes to ``log.jsonl``
    and TensorBoard)."""

    SHOWN = ("g_loss", "d_loss", "l1_hole")

    def __init__(self, epochs: int, steps_per_epoch: int):
        super().__init__()
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        self._bar = None

    def _summary(self, logs) -> str:
        return "  ".join(f"{k} {float(logs[k]):.4f}" for k in self.SHOWN if k in (logs or {}))

    def on_epoch_begin(self, epoch, logs=None):
        self._bar = progress(range(self.steps_per_epoch), what=f"epoch {epoch + 1}/{self.epochs}", unit="step")
        self._steps = iter(self._bar)

    def on_train_batch_end(self, batch, logs=None):
        next(self._steps, None)
        if hasattr(self._bar, "set_postfix_str"):
            self._bar.set_postfix_str(self._summary(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if hasattr(self._bar, "close"):
            self._bar.close()
        say(f"epoch {epoch + 1}/{self.epochs}: {self._summary(logs)}")


class SampleGrid(keras.callbacks.Callback):
    """After every epoch, inpaint fixed photos with fixed masks: a PNG grid and a TensorBoard image.

    Rows: masked input / result / original, one column group per photo. The same holes every
    epoch, so the pictures show progress.
    """

    def __init__(self, images: np.ndarray, directory: str, log_dir: str | None = None, seed: int = 1234):
        super().__init__()
        self.images = images
        self.masks = random_masks(len(images), images.shape[1], images.shape[2], "medium", seed=seed)[..., 0]
        self.directory, self.log_dir = directory, log_dir
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        results = self.model.inpaint(self.images, self.masks)
        rows = [[show_hole(img, m), out, img] for img, m, out in zip(self.images, self.masks, results)]
        picture = grid(rows, ["masked input", f"epoch {epoch + 1}", "original"])
        os.makedirs(self.directory, exist_ok=True)
        write_image(picture, os.path.join(self.directory, f"epoch_{epoch + 1:04d}.png"), overwrite=True)
        if self.log_dir:
            import tensorflow as tf

            self._writer = self._writer or tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
            with self._writer.as_default():
                tf.summary.image("samples", picture[None], step=epoch + 1)
            self._writer.flush()


def sample_photos(data_dir: str, size: int, count: int = 4) -> np.ndarray:
    """``count`` photos of ``data_dir`` centre-cropped to ``size``: uint8 (count, size, size, 3)."""
    return np.stack([center_crop(read_image_uint8(p), size) for p in list_images(data_dir)[:count]])


LR_SCHEDULES = ("constant", "cosine")


def learning_rate_schedule(rate: float, schedule: str, total_steps: int):
    """``rate`` held constant, or a cosine decay from ``rate`` to 0 over ``total_steps``."""
    if schedule == "constant":
        return rate
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(1, total_steps))
    raise ValueError(f"unknown lr_schedule {schedule!r}; choose one of {LR_SCHEDULES}.")


def train(
    preset: str,
    data_dir: str,
    out_dir: str,
    epochs: int = 10,
    steps_per_epoch: int = 200,
    image_size: int = 256,
    batch_size: int = 8,
    masks: str = "mixed",
    seed: int = 0,
    g_learning_rate: float | None = None,
    d_learning_rate: float | None = None,
    lr_schedule: str = "constant",
    jit_compile: bool | str = "auto",
    teacher: str | None = None,
    callbacks: list | None = None,
    resume: bool = True,
    verbose: int | str = "auto",
    **gan_kwargs,
) -> InpaintingGAN:
    """Adversarially train ``preset`` on the photos under ``data_dir``; resumable.

    ``out_dir`` receives ``backup/`` (``keras.callbacks.BackupAndRestore``: rerunning the
    same call after an interruption resumes at the last finished epoch, with optimizer
    state; the checkpoint before it is kept too, for a write cut short by a full disk), ``preset/`` (a preset snapshot after every epoch, swapped in atomically),
    ``log.jsonl`` (one line of metrics per epoch), ``samples/epoch_NNNN.png`` (fixed photos
    inpainted after every epoch) and ``tensorboard/`` (scalars and the sample pictures).
    After a resume the data order restarts (the weights, optimizer state and epoch count
    are restored). ``epochs`` is the total, not the number
    still to run.

    The optimizers are the preset's (its ``task.json``: LaMa's Adam 1e-3 for the generator and
    1e-4 for the discriminator in every built-in recipe); ``g_learning_rate`` / ``d_learning_rate``
    replace their rates. ``lr_schedule="cosine"`` decays both to zero over the ``epochs * steps_per_epoch`` steps
    (``keras.optimizers.schedules.CosineDecay``; the step count is part of the checkpoint, so
    a resumed run continues the same curve). ``gan_kwargs`` go to :class:`InpaintingGAN`
    (loss weights, ``ema_momentum``, ``distillation_weight``, ...).

    ``teacher`` (a preset: name, directory or ``hf://`` handle) is a trained generator to distil
    from, as MI-GAN learns from a larger model: the L1 distance in the hole to its output,
    weighted by ``distillation_weight``, joins the generator's loss. Pass it again to resume.

    A NaN or infinite loss stops the run with ``RuntimeError`` before the epoch's checkpoint
    and preset are written, so both keep the last finished epoch.

    ``jit_compile="auto"`` is Keras's choice: XLA on a GPU, none on a CPU-only machine. On a
    CPU XLA slows these models down (``benchmarks/results/CPU_2core/training-*.md``: lama_tiny
    and migan_tiny train several times slower with it), so only force it on for a GPU.

    ``verbose`` is Keras's: ``"auto"``/1 a progress bar per epoch, 2 one line per epoch (for logs).

    With ``resume=False`` a run directory that already holds a checkpoint is refused
    (``FileExistsError``) rather than continued.

    Returns the trained :class:`InpaintingGAN`.
    """
    backup_dir = os.path.join(out_dir, "backup")
    if not resume and os.path.isdir(backup_dir) and os.listdir(backup_dir):
        raise FileExistsError(
            f"{out_dir} already holds a training run ({backup_dir}); resume it or choose another output directory."
        )
    os.makedirs(out_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    if teacher is not None:
        gan_kwargs["teacher"] = Inpainter.from_preset(teacher).backbone
    model = InpaintingGAN.from_preset(preset, seed=seed, **gan_kwargs)
    def optimizer(config: dict, rate: float | None):
        """The preset's optimizer (class and settings) at ``rate`` (or its own) on ``lr_schedule``."""
        base = keras.optimizers.deserialize(config)
        rate = float(base.learning_rate) if rate is None else rate
        schedule = learning_rate_schedule(rate, lr_schedule, epochs * steps_per_epoch)
        return type(base).from_config({**base.get_config(), "learning_rate": schedule})

    model.compile(g_optimizer=optimizer(model.g_optimizer_config, g_learning_rate),
                  d_optimizer=optimizer(model.d_optimizer_config, d_learning_rate), jit_compile=jit_compile)
    dataset = inpainting_dataset(data_dir, image_size=image_size, batch_size=batch_size, masks=masks,
                                 seed=seed, repeat=True)
    all_callbacks = [
        # double_checkpoint: the previous checkpoint is kept beside the new one, and a resume
        # falls back to it when the newest cannot be read (e.g. the disk filled up mid-write).
        keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False, double_checkpoint=True),
        # raise_error: stop inside the epoch, before the checkpoint and the preset snapshot
        # of that epoch, so that NaN weights never replace the last good ones.
        keras.callbacks.TerminateOnNaN(raise_error=True),
        PresetSnapshot(os.path.join(out_dir, "preset"), os.path.join(out_dir, "log.jsonl")),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "tensorboard"), write_graph=False),
        SampleGrid(sample_photos(data_dir, image_size), os.path.join(out_dir, "samples"),
                   os.path.join(out_dir, "tensorboard")),
        *(callbacks or []),
    ]
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=all_callbacks, verbose=verbose)
    return model


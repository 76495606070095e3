"""Train a preset on a folder of photos with ``fit``, resumable across interruptions."""

from __future__ import annotations

import json
import os
import shutil
import time

import keras
import numpy as np

from keras_inpaint.data import inpainting_dataset
from keras_inpaint.masks import random_masks
from keras_inpaint.models.inpainting_gan import InpaintingGAN


def save_preset_atomically(model: keras.Model, preset_dir: str) -> None:
    """Write a preset next to ``preset_dir`` and swap it in, so an interruption never leaves half a preset."""
    parent = os.path.dirname(os.path.abspath(preset_dir))
    os.makedirs(parent, exist_ok=True)
    staging = f"{preset_dir}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_to_preset(staging)
    previous = f"{preset_dir}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if os.path.exists(preset_dir):
        os.replace(preset_dir, previous)
    os.replace(staging, preset_dir)
    shutil.rmtree(previous, ignore_errors=True)


class PresetSnapshot(keras.callbacks.Callback):
    """Save the model as a preset (atomically) every ``every`` epochs and log the epoch."""

    def __init__(self, preset_dir: str, log_path: str, every: int = 1):
        super().__init__()
        self.preset_dir, self.log_path, self.every = preset_dir, log_path, every
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            save_preset_atomically(self.model, self.preset_dir)
        record = {"epoch": epoch + 1, "seconds": round(time.time() - self._start, 1),
                  **{k: float(v) for k, v in (logs or {}).items()}}
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


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
    jit_compile: bool | str = "auto",
    callbacks: list | None = None,
    **gan_kwargs,
) -> InpaintingGAN:
    """Adversarially train ``preset`` on the photos under ``data_dir``; resumable.

    ``out_dir`` receives ``backup/`` (``keras.callbacks.BackupAndRestore``: rerunning the
    same call after an interruption resumes at the last finished epoch, with optimizer
    state), ``preset/`` (a preset snapshot after every epoch, swapped in atomically) and
    ``log.jsonl`` (one line of metrics per epoch). ``epochs`` is the total, not the number
    still to run.

    Returns the trained :class:`InpaintingGAN`.
    """
    os.makedirs(out_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = InpaintingGAN.from_preset(preset, seed=seed, **gan_kwargs)
    g_opt = "auto" if g_learning_rate is None else keras.optimizers.Adam(g_learning_rate)
    d_opt = "auto" if d_learning_rate is None else keras.optimizers.Adam(d_learning_rate)
    model.compile(g_optimizer=g_opt, d_optimizer=d_opt, jit_compile=jit_compile)
    dataset = inpainting_dataset(data_dir, image_size=image_size, batch_size=batch_size, masks=masks,
                                 seed=seed, repeat=True)
    all_callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup"), delete_checkpoint=False),
        keras.callbacks.TerminateOnNaN(),
        PresetSnapshot(os.path.join(out_dir, "preset"), os.path.join(out_dir, "log.jsonl")),
        *(callbacks or []),
    ]
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=all_callbacks, verbose=2)
    return model


def fixed_validation_batch(size: int, count: int = 8, seed: int = 1234):
    """Masks used by progress reports: fixed, so numbers from different epochs compare."""
    return random_masks(count, size, setting="medium", seed=seed).astype(np.float32)

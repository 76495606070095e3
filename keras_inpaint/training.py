"""Train a preset on a folder of photos with ``fit``, resumable across interruptions."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import shutil
import time
import traceback
from typing import Any, Callable

import keras
import numpy as np

from keras_inpaint import interrupts
from keras_inpaint.console import progress, say
from keras_inpaint.distribution import (Watchdog, average_over_replicas, cluster_minimum, make_strategy,
                                       replica_count, replica_local, worker_rank)
from keras_inpaint.data import UNREADABLE_ERRORS, center_crop, inpainting_dataset, list_images
from keras_inpaint.errors import ClusterError, ConfigError, DataError
from keras_inpaint.image_io import read_image_uint8, write_image
from keras_inpaint.masks import random_masks
from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.models.inpainting_gan import InpaintingGAN
from keras_inpaint.visualize import grid, show_hole


def save_preset_atomically(model: keras.Model, preset_dir: str,
                           finish: Callable[[str], None] | None = None) -> None:
    """Write a preset next to ``preset_dir`` and swap it in, so an interruption never leaves half a preset.

    ``finish(staging_dir)`` may add or edit files before the swap (the converter's provenance).
    On any error, Ctrl-C or SIGTERM included, the staging folder is removed and ``preset_dir``
    keeps what it held; the swap itself (two renames) holds those signals until it is done.
    """
    preset_dir = os.path.abspath(preset_dir.rstrip(os.sep))
    os.makedirs(os.path.dirname(preset_dir), exist_ok=True)
    staging, previous = f"{preset_dir}.partial", f"{preset_dir}.previous"
    if not os.path.exists(preset_dir) and os.path.isdir(previous):
        os.replace(previous, preset_dir)  # a process killed (SIGKILL, power) between the two renames
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model.save_to_preset(staging)
        if finish is not None:
            finish(staging)
        shutil.rmtree(previous, ignore_errors=True)
        with interrupts.deferred():
            if os.path.exists(preset_dir):
                os.replace(preset_dir, previous)
            os.replace(staging, preset_dir)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fsync(path: str) -> None:
    """Flush a file (or a folder's entries) to the disk, so a commit never names unwritten data."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if os.path.isdir(path):  # a system that cannot open folders (Windows): renames are all it has
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunBackup(keras.callbacks.Callback):
    """Weights and optimizer state after every epoch, committed atomically; restored when ``fit`` begins.

    ``backup_dir/epoch_NNNN.weights.h5`` is written whole (as ``partial.weights.h5``) and flushed
    to the disk; then ``checkpoint.json``, replaced in one rename, names it (the commit) and the
    epoch before it. Interrupted or killed at any point, the folder holds the last committed
    epoch, and a half-written file is never named. A newest file that cannot be read anyway (a disk
    that lost data) falls back to the one before it. Other ``epoch_*`` files are removed.

    With ``agree`` (several workers, each with its own ``backup_dir``), ``agree(newest committed
    epoch or 0)`` returns the epoch every worker restores (the smallest: a worker killed between
    the others' commits and its own is one epoch behind, and each keeps the epoch before its
    newest).

    With ``log_path``, the epoch's metrics (and ``facts``) are appended there (one JSON line) in the same
    uninterruptible step as the commit: one line per committed epoch, none for an epoch that a
    resume runs again.

    Unlike ``keras.callbacks.BackupAndRestore``, which overwrites ``latest.weights.h5`` in place and
    writes its epoch number in a second file, so that an interruption in between leaves a
    checkpoint that cannot be read or does not match its epoch. A run folder of that layout
    (``training_metadata.json``) is still resumed.
    """

    STATE = "checkpoint.json"
    STAGING = "partial.weights.h5"

    def __init__(self, backup_dir: str, log_path: str | None = None,
                 agree: Callable[[int], int] | None = None, facts: dict | None = None):
        super().__init__()
        self.backup_dir, self.log_path, self.agree, self.facts = backup_dir, log_path, agree, facts or {}
        self._committed = None
        self._start = time.time()

    def _path(self, name: str) -> str:
        return os.path.join(self.backup_dir, name)

    def checkpoints(self) -> list[dict]:
        """The committed checkpoints, newest first: ``[{"epoch": N, "weights": file name}, ...]``."""
        try:
            with open(self._path(self.STATE), encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            legacy = self._path("training_metadata.json")  # keras.callbacks.BackupAndRestore's
            if not (os.path.exists(legacy) and os.path.exists(self._path("latest.weights.h5"))):
                return []
            with open(legacy, encoding="utf-8") as f:
                return [{"epoch": json.load(f)["epoch"], "weights": "latest.weights.h5"}]
        previous = state.pop("previous", None)
        return [state, *([previous] if previous else [])]

    def on_train_begin(self, logs=None):
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        first_error, checkpoints = None, self.checkpoints()
        if self.agree is not None:
            epoch = self.agree(checkpoints[0]["epoch"] if checkpoints else 0)
            checkpoints = [c for c in checkpoints if c["epoch"] == epoch]
            if epoch and not checkpoints:
                raise ConfigError(f"{self.backup_dir} lacks epoch {epoch}, the last epoch every worker finished.")
        for checkpoint in checkpoints:
            try:
                self.model.load_weights(self._path(checkpoint["weights"]))
            except (OSError, ValueError, KeyError) as e:  # missing, truncated or damaged
                first_error = first_error or e
                continue
            self.model._initial_epoch = checkpoint["epoch"]
            self._committed = checkpoint
            self._forget_log_after(checkpoint["epoch"])
            return
        if first_error is not None:
            raise first_error

    def _forget_log_after(self, epoch: int) -> None:
        """Drop the log lines of epochs after ``epoch`` (restored from an older checkpoint than
        the newest, they will be run again), replacing the file in one rename."""
        if not self.log_path or not os.path.exists(self.log_path):
            return
        with open(self.log_path, encoding="utf-8") as f:
            lines = f.readlines()
        kept = [line for line in lines if line.strip() and json.loads(line).get("epoch", 0) <= epoch]
        if len(kept) != len(lines):
            with open(f"{self.log_path}.partial", "w", encoding="utf-8") as f:
                f.writelines(kept)
            os.replace(f"{self.log_path}.partial", self.log_path)

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        checkpoint = {"epoch": epoch + 1, "weights": f"epoch_{epoch + 1:04d}.weights.h5"}
        staging, state = self._path(self.STAGING), self._path(self.STATE)
        try:
            self.model.save_weights(staging, overwrite=True)
            _fsync(staging)
            with open(f"{state}.partial", "w", encoding="utf-8") as f:
                json.dump({**checkpoint, "previous": self._committed}, f)
                f.flush()
                os.fsync(f.fileno())
            record = {"epoch": epoch + 1, "seconds": round(time.time() - self._start, 1), **self.facts,
                      **{k: float(v) for k, v in (logs or {}).items()}}
            with interrupts.deferred():
                os.replace(staging, self._path(checkpoint["weights"]))
                os.replace(f"{state}.partial", state)  # the commit
                previous, self._committed = self._committed, checkpoint
                if self.log_path:
                    with open(self.log_path, "a", encoding="utf-8") as f:
                        f.write(json.dumps(record) + "\n")
            _fsync(self.backup_dir)
        finally:
            for leftover in (staging, f"{state}.partial"):
                if os.path.exists(leftover):
                    os.remove(leftover)
        keep = {checkpoint["weights"], previous and previous["weights"]}
        for name in os.listdir(self.backup_dir):
            if name.startswith("epoch_") and name.endswith(".weights.h5") and name not in keep:
                os.remove(self._path(name))


class PresetSnapshot(keras.callbacks.Callback):
    """Save the model as a preset (atomically) every ``every`` epochs.

    With a generator moving average (``InpaintingGAN(ema_momentum=...)``) ``preset_dir``
    holds the averaged generator and ``<preset_dir>_raw`` the generator as trained.
    """

    def __init__(self, preset_dir: str, every: int = 1):
        super().__init__()
        self.preset_dir, self.every = preset_dir, every
        self._epochs_run = 0

    def on_train_begin(self, logs=None):
        self._epochs_run = 0

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_run += 1
        if (epoch + 1) % self.every == 0:
            self._save()

    def on_train_end(self, logs=None):
        # Resuming a run whose last epoch was checkpointed but whose preset save was interrupted
        # runs no epoch: write the preset of the restored weights.
        if self._epochs_run == 0:
            self._save()

    def _save(self):
        if getattr(self.model, "ema_weights", None):
            save_preset_atomically(self.model, f"{self.preset_dir}_raw")
            with self.model.swapped_ema_weights():
                save_preset_atomically(self.model, self.preset_dir)
        else:
            save_preset_atomically(self.model, self.preset_dir)


class CheckInterruptions(keras.callbacks.Callback):
    """Raise, after every batch, a Ctrl-C or SIGTERM whose first raise was dropped (see
    :mod:`keras_inpaint.interrupts`: a signal that lands in a garbage-collector callback)."""

    def on_train_batch_end(self, batch, logs=None):
        interrupts.check()


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
    """The first ``count`` readable photos of ``data_dir`` centre-cropped to ``size``: uint8 (<=count, size, size, 3).

    Unreadable files are passed over; :class:`~keras_inpaint.errors.DataError` if none can be read.
    """
    paths, photos, first_error = list_images(data_dir), [], None
    for path in paths:
        try:
            photos.append(center_crop(read_image_uint8(path), size))
        except UNREADABLE_ERRORS as e:
            first_error = first_error or f"{path}: {e}"
            continue
        if len(photos) == count:
            break
    if not photos:
        raise DataError(f"none of the {len(paths)} images in {data_dir!r} can be read (first: {first_error}).")
    return np.stack(photos)


LR_SCHEDULES = ("constant", "cosine")
DATA_SHARDINGS = ("by-file", "per-worker")


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
    strategy: Any = "default",
    cpu_devices: int | None = None,
    worker_timeout: float = 600.0,
    data_sharding: str = "by-file",
    **gan_kwargs,
) -> InpaintingGAN:
    """Adversarially train ``preset`` on the photos under ``data_dir``; resumable.

    ``out_dir`` receives ``backup/`` (:class:`RunBackup`: rerunning the same call after an
    interruption, Ctrl-C and SIGTERM included, resumes at the last finished epoch, with optimizer
    state; every checkpoint is committed atomically, and the one before it is kept too), ``preset/``
    (a preset snapshot after every epoch, swapped in atomically),
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

    ``strategy`` (a name of :data:`keras_inpaint.distribution.STRATEGIES` or a
    ``tf.distribute.Strategy``) says where the run trains: ``"default"`` one device,
    ``"mirrored"`` every local GPU (or ``cpu_devices`` CPU devices), ``"multi-worker"``
    ``MultiWorkerMirroredStrategy`` over the processes of ``TF_CONFIG`` (run the same call in
    each, with the same arguments). ``batch_size`` is per replica: the global batch is
    ``batch_size x replicas``, ``steps_per_epoch`` counts global batches, and the learning rates
    are used as given (scale them yourself: the linear rule multiplies them by the replicas).
    With ``data_sharding="by-file"`` every input pipeline (one per worker) reads its share of
    the sorted files of ``data_dir``: the same folder on every machine (a shared file system or
    identical copies; :func:`~keras_inpaint.data.inpainting_dataset`'s ``shard``); with
    ``"per-worker"`` each worker's ``data_dir`` already holds its own share, read whole. Each
    worker draws its own crops and masks (``seed`` + its index).
    Only the chief (rank 0) writes ``out_dir``'s preset, samples, TensorBoard logs and
    ``log.jsonl``; worker ``k`` commits its checkpoints under ``out_dir/workers/worker_k/backup``
    (its own copy: no shared file system is needed), and a resume restores the last epoch that
    every worker committed. A multi-worker process that makes no progress for
    ``worker_timeout`` seconds (the cluster never formed, a worker died) ends with one line and
    exit status 1 (:class:`~keras_inpaint.distribution.Watchdog`; in-process it cannot end a
    wait that holds the interpreter, such as TensorFlow's for a worker that never starts:
    ``keras-inpaint train`` watches from a separate process); rerunning every worker resumes.

    With ``resume=False`` a run directory that already holds a checkpoint is refused
    (``FileExistsError``) rather than continued.

    Refused before the (slow) model is built, with nothing written: ``epochs``,
    ``steps_per_epoch``, ``batch_size`` or ``image_size`` below 1 (:class:`~keras_inpaint.errors.ConfigError`),
    a ``data_dir`` without a readable image (:class:`~keras_inpaint.errors.DataError`) and an
    ``out_dir`` that cannot be written (``PermissionError``).

    Returns the trained :class:`InpaintingGAN`.
    """
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch), ("batch_size", batch_size),
                        ("image_size", image_size)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1; got {value}.")
    learning_rate_schedule(1.0, lr_schedule, 1)  # an unknown schedule is refused before any work
    if data_sharding not in DATA_SHARDINGS:
        raise ConfigError(f"unknown data_sharding {data_sharding!r}; choose one of {DATA_SHARDINGS}.")
    backup_dir = os.path.join(out_dir, "backup")
    if not resume and os.path.isdir(backup_dir) and os.listdir(backup_dir):
        raise FileExistsError(
            f"{out_dir} already holds a training run ({backup_dir}); resume it or choose another output directory."
        )
    _check_writable(out_dir)
    # The photos before the model (building it takes seconds): an empty or unreadable folder is
    # refused at once, and nothing is written to out_dir.
    samples = sample_photos(data_dir, image_size)
    # The watchdog is armed before a multi-worker strategy is made: TensorFlow waits for the
    # cluster without a time limit.
    watchdog = Watchdog(worker_timeout).start("waiting for the other workers to join") \
        if isinstance(strategy, str) and strategy == "multi-worker" else None
    if isinstance(strategy, str):
        strategy = make_strategy(strategy, cpu_devices)
    rank, workers = worker_rank(strategy)
    if workers > 1 and watchdog is None:
        watchdog = Watchdog(worker_timeout).start("waiting for the other workers")
    replicas = replica_count(strategy)
    keras.utils.set_random_seed(seed)
    with (strategy.scope() if strategy is not None else contextlib.nullcontext()):
        model = _build_and_compile(preset, seed, teacher, gan_kwargs, g_learning_rate, d_learning_rate,
                                   lr_schedule, epochs * steps_per_epoch, jit_compile)

    def dataset_fn(context=None):
        pipelines, index = (context.num_input_pipelines, context.input_pipeline_id) if context else (1, 0)
        if data_sharding == "per-worker":
            return inpainting_dataset(data_dir, image_size=image_size, batch_size=batch_size, masks=masks,
                                      seed=seed + index, repeat=True)
        return inpainting_dataset(data_dir, image_size=image_size, batch_size=batch_size, masks=masks,
                                  seed=seed, repeat=True, shard=(pipelines, index))

    dataset = dataset_fn() if replicas == 1 \
        else strategy.distribute_datasets_from_function(dataset_fn)
    # First at every epoch's end: the replicas' statistics agree before any of them is saved.
    all_callbacks = [AverageReplicaStatistics(strategy)] if replicas > 1 else []
    if rank == 0:
        os.makedirs(out_dir, exist_ok=True)
        all_callbacks += [
            # Restores the last committed epoch (or the one before it, should the newest not be
            # readable) and commits every finished epoch atomically, with its line of log.jsonl.
            RunBackup(backup_dir, os.path.join(out_dir, "log.jsonl"),
                      agree=(lambda epoch: cluster_minimum(strategy, epoch)) if workers > 1 else None,
                      facts={"workers": workers, "replicas": replicas, "global_batch": batch_size * replicas}),
            # raise_error: stop inside the epoch, before the checkpoint and the preset snapshot
            # of that epoch, so that NaN weights never replace the last good ones.
            keras.callbacks.TerminateOnNaN(raise_error=True),
            PresetSnapshot(os.path.join(out_dir, "preset")),
            keras.callbacks.TensorBoard(os.path.join(out_dir, "tensorboard"), write_graph=False),
            SampleGrid(samples, os.path.join(out_dir, "samples"), os.path.join(out_dir, "tensorboard")),
        ]
    else:  # a worker writes its own checkpoints, and nothing else
        all_callbacks += [
            RunBackup(os.path.join(out_dir, "workers", f"worker_{rank}", "backup"),
                      agree=lambda epoch: cluster_minimum(strategy, epoch)),
            keras.callbacks.TerminateOnNaN(raise_error=True),
        ]
    all_callbacks += [CheckInterruptions(), *([KickWatchdog(watchdog)] if watchdog else []),
                      *(callbacks or [] if rank == 0 else [])]
    interrupts.check()
    try:
        # shuffle=False: the tf.data pipeline shuffles; Keras would only warn that it ignores its own.
        model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=all_callbacks, verbose=verbose,
                  shuffle=False)
    except BaseException as e:
        _release_input_pipeline(e)
        if workers > 1 and _is_collective_failure(e):
            raise ClusterError(f"{_failed_workers(e)} during training; every worker keeps its last finished epoch: "
                               "start all of them again with the same command to resume.") from None
        raise
    finally:
        if watchdog:
            watchdog.stop()
    return model


def _is_collective_failure(error: BaseException) -> bool:
    """Whether ``error`` is TensorFlow aborting a collective (a peer died or left)."""
    import tensorflow as tf

    return isinstance(error, (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError,
                              tf.errors.CancelledError)) \
        or (isinstance(error, tf.errors.OpError) and "Collective ops is aborted" in str(error))


def _failed_workers(error: BaseException) -> str:
    """'worker 1 stopped' (from the tasks TensorFlow names in ``error``), or a general phrase."""
    tasks = sorted(set(re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", str(error).split("unhealthy", 1)[-1])))
    named = ", ".join(f"{job} {index}" for job, index in tasks) if "unhealthy" in str(error) else ""
    return f"{named} stopped" if named else "a worker stopped or cannot be reached"


def _build_and_compile(preset, seed, teacher, gan_kwargs, g_learning_rate, d_learning_rate, lr_schedule,
                       total_steps, jit_compile) -> InpaintingGAN:
    """``InpaintingGAN.from_preset(preset)`` compiled with the preset's optimizers at the rates and
    on the schedule asked for (in the caller's distribution scope)."""
    if teacher is not None:
        gan_kwargs["teacher"] = Inpainter.from_preset(teacher).backbone
    model = InpaintingGAN.from_preset(preset, seed=seed, **gan_kwargs)

    def optimizer(config: dict, rate: float | None):
        """The preset's optimizer (class and settings) at ``rate`` (or its own) on ``lr_schedule``."""
        base = keras.optimizers.deserialize(config)
        settings = base.get_config()  # (a float learning rate, also under a distribution scope)
        rate = float(settings["learning_rate"]) if rate is None else rate
        schedule = learning_rate_schedule(rate, lr_schedule, total_steps)
        return type(base).from_config({**settings, "learning_rate": schedule})

    model.compile(g_optimizer=optimizer(model.g_optimizer_config, g_learning_rate),
                  d_optimizer=optimizer(model.d_optimizer_config, d_learning_rate), jit_compile=jit_compile)
    return model


class AverageReplicaStatistics(keras.callbacks.Callback):
    """After every epoch, before anything is saved, every replica's BatchNormalization statistics
    become their mean over the replicas (:func:`~keras_inpaint.distribution.average_over_replicas`),
    so that all workers hold the same weights. Every worker runs it (it is an all-reduce)."""

    def __init__(self, strategy):
        super().__init__()
        self.strategy = strategy

    def on_epoch_end(self, epoch, logs=None):
        state = getattr(self.model, "replica_local_state", None)
        average_over_replicas(self.strategy, state if state is not None
                              else replica_local(self.model.non_trainable_variables))


class KickWatchdog(keras.callbacks.Callback):
    """Tell a :class:`~keras_inpaint.distribution.Watchdog` that training progresses."""

    def __init__(self, watchdog: Watchdog):
        super().__init__()
        self.watchdog = watchdog

    def on_train_begin(self, logs=None):
        self.watchdog.kick("waiting for the first step of every worker")

    def on_train_batch_end(self, batch, logs=None):
        self.watchdog.kick("in a training step (an all-reduce waits for every worker)")

    def on_epoch_end(self, epoch, logs=None):
        self.watchdog.kick("at the end of an epoch")

    def on_train_end(self, logs=None):
        self.watchdog.disarm()


def _check_writable(out_dir: str) -> None:
    """``PermissionError`` (or ``NotADirectoryError``) now, not after the model is built, when
    ``out_dir`` cannot be created or written. Creates nothing."""
    existing = os.path.abspath(out_dir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise NotADirectoryError(f"cannot create the run directory {out_dir}: {existing} is a file.")
    if not os.access(existing, os.W_OK | os.X_OK):  # also false on a read-only file system, even for root
        raise PermissionError(f"cannot write the run directory {out_dir}: {existing} is not writable.")


def _release_input_pipeline(error: BaseException) -> None:
    """Destroy Keras's tf.data iterator now, while the interpreter runs, after ``fit`` raised ``error``.

    Left alone, the iterator outlives the exception: the frames of its traceback hold it (an
    uncaught exception's until the interpreter shuts down: ``sys.last_traceback``), and so does a
    reference cycle (Keras's ``EpochIterator`` keeps the generator of the epoch that was cut short,
    whose frame holds the ``EpochIterator``), which only the garbage collector breaks, maybe not
    before the shutdown. Destroyed during the shutdown, the iterator waits forever: it waits for the
    image loads in flight (Python functions run by the pipeline's threads, data.py), and a
    finalizing interpreter ends every thread that asks for the GIL instead of running it. Destroyed
    here it stops within one image load. The traceback keeps its lines; only the frames' variables go.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__
    gc.collect()

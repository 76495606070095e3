"""How :meth:`Inpainter.inpaint` handles photos larger than its model works at: the HD strategies.

* ``original``: the whole photo at full resolution.
* ``resize``: the whole photo shrunk to the working size, the fill enlarged back
  (:func:`keras_inpaint.pipeline.fill_holes`).
* ``crop``: for each hole (connected parts of the mask, neighbours merged: :mod:`keras_inpaint.crops`)
  a box with ``crop_margin`` pixels of context around it is inpainted alone, shrunk to the
  working size if larger, blended there, and its hole pixels pasted into a copy of the photo.
  Memory then grows with the holes' boxes, not with the photo: the full frame is touched only as
  the caller's arrays and the one output copy.
* ``auto``: ``crop`` for photos of more than :data:`CROP_TRIGGER_PIXELS`, else ``resize`` (or
  ``original`` without a working size).

Before allocating anything, :func:`check_memory` estimates the peak (:func:`estimate_peak_bytes`)
and refuses, in one line, a photo whose estimate exceeds the limit.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras
import numpy as np

from keras_inpaint.blending import EXACT_LIMIT, blend_batch
from keras_inpaint.crops import Box, crop_boxes, hole_boxes
from keras_inpaint.errors import InpaintInputError
from keras_inpaint.inputs import CallerBatch, paste_fill, restore_output
from keras_inpaint.pipeline import fill_holes, working_shape

HD_STRATEGIES = ("auto", "crop", "resize", "original")
# ``auto`` crops photos of more pixels than this: from 2 MP on, crop (margin 512) is as good as
# resize on lama_tiny's holes, faster, and its memory does not grow with the photo
# (benchmarks/results/CPU_2core/hd_strategy.md).
CROP_TRIGGER_PIXELS = 2_000_000
# Context around a hole's box: 512 gave 2.9 dB more hole PSNR than IOPaint's 128 on 2-5 MP photos
# (on par with ``resize``, benchmarks/results/CPU_2core/hd_strategy.md); MI-GAN's presets use 128.
DEFAULT_CROP_MARGIN = 512

# Peak-memory model (bytes), fitted to measurements on a CPU (benchmarks/results/CPU_2core/hd_strategy.md,
# lama_tiny) and rounded up: a fixed cost of a call (tracing, TensorFlow's buffers); per pixel of a
# whole frame (``resize`` / ``original``) or of a crop, the float copies of images, masks and fill
# and the float64 arrays of Poisson blending, more of them when the hole is solved in two levels
# (over blending.EXACT_LIMIT pixels); Poisson's sparse LU per hole pixel (cheaper per pixel in
# two levels); and the share of the
# generator's summed layer outputs (:func:`activation_bytes_per_pixel`) alive at its peak
# (measured 0.17 for lama_tiny at full size; 0.3 leaves room for other architectures).
CALL_BYTES = 100 * 2**20
FRAME_BYTES_PER_PIXEL = 160
TWO_LEVEL_BYTES_PER_PIXEL = 100
POISSON_BYTES_PER_HOLE_PIXEL = (3000, 800)  # up to EXACT_LIMIT, beyond it
ACTIVATION_SHARE = 0.3


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the strategies need of a model: its generator and its inference settings."""

    run_generator: Callable
    size_multiple: int
    input_size: int | None
    working_size: int | None
    pad_mode: str
    blend: str | None
    crop_margin: int
    activation_bytes: float
    mask_resize: str = "any"  # generator: bytes of layer outputs per input pixel
    image_resize: str = "area"


def check_strategy(strategy, crop_margin) -> None:
    if strategy not in HD_STRATEGIES:
        raise InpaintInputError(f"unknown hd_strategy {strategy!r}; choose one of {HD_STRATEGIES}.")
    if isinstance(crop_margin, bool) or not isinstance(crop_margin, (int, np.integer)) or crop_margin < 0:
        raise InpaintInputError(f"crop_margin must be a number of pixels >= 0; got {crop_margin!r}.")


def resolve(strategy: str, height: int, width: int, settings: Settings) -> str:
    """The strategy ``auto`` stands for on an H x W photo; others unchanged."""
    if strategy != "auto":
        return strategy
    if height * width > CROP_TRIGGER_PIXELS:
        return "crop"
    return "resize" if settings.working_size is not None or settings.input_size is not None else "original"


def plan_crops(batch: CallerBatch, index: int, settings: Settings) -> list[Box]:
    """The crop boxes of image ``index`` (:func:`keras_inpaint.crops.crop_boxes`). A generator of
    fixed input size gets square crops of at least that side (MI-GAN's rule); otherwise crops are
    at least the working size, context the model sees at no extra cost."""
    height, width = batch.images.shape[1:3]
    holes = hole_boxes(lambda y0, y1: batch.hole(index, (y0, y1, 0, width)), height, width)
    min_side = settings.input_size or settings.working_size or 0
    square = settings.input_size is not None
    return [crop for crop, _ in crop_boxes(holes, (height, width), settings.crop_margin, square, min_side)]


def _generator_pixels(height: int, width: int, settings: Settings, strategy: str) -> int:
    if settings.input_size is not None:
        return settings.input_size**2
    if strategy == "original" or settings.working_size is None:
        return height * width
    small_h, small_w = working_shape(height, width, settings.working_size)
    return small_h * small_w


def _poisson_bytes(hole_pixels: int, pixels: int, settings: Settings) -> float:
    """Poisson blending of ``hole_pixels`` in a frame of ``pixels``, beyond the frame's copies."""
    if settings.blend is None:
        return 0.0
    exact, beyond = POISSON_BYTES_PER_HOLE_PIXEL
    two_level = TWO_LEVEL_BYTES_PER_PIXEL * pixels if hole_pixels > EXACT_LIMIT else 0
    return exact * min(hole_pixels, EXACT_LIMIT) + beyond * max(hole_pixels - EXACT_LIMIT, 0) + two_level


def estimate_peak_bytes(strategy: str, batch: CallerBatch, settings: Settings, batch_size: int,
                        crops: list[list[Box]] | None = None) -> int:
    """Memory an ``inpaint`` call adds at its peak (the caller's arrays not counted), by the model
    described at :data:`CALL_BYTES`. ``crops``: each image's crop boxes (``crop``)."""
    n, height, width = batch.images.shape[:3]
    output = n * height * width * 3 * batch.images.itemsize
    generator_bytes = settings.activation_bytes * ACTIVATION_SHARE
    if strategy == "crop":
        work = max((generator_bytes * _generator_pixels(y1 - y0, x1 - x0, settings, "resize")
                    + FRAME_BYTES_PER_PIXEL * (y1 - y0) * (x1 - x0)
                    + _poisson_bytes(int(np.count_nonzero(batch.hole(i, (y0, y1, x0, x1)))), (y1 - y0) * (x1 - x0),
                                     settings)
                    for i, boxes in enumerate(crops) for y0, y1, x0, x1 in boxes), default=0)
        return int(CALL_BYTES + output + work)
    holes = max(int(np.count_nonzero(mask)) for mask in batch.masks)
    generator = generator_bytes * min(n, batch_size) * _generator_pixels(height, width, settings, strategy)
    return int(CALL_BYTES + output + FRAME_BYTES_PER_PIXEL * n * height * width
               + _poisson_bytes(holes, height * width, settings) + generator)


def _cgroup_headroom() -> float:
    """Bytes left under a container's memory limit (cgroup v2 or v1), or infinity."""
    for limit_path, usage_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_path) as f, open(usage_path) as g:
                limit, usage = f.read().strip(), g.read().strip()
        except OSError:
            continue
        if limit.isdigit() and int(limit) < 2**60:
            return float(int(limit) - int(usage))
    return float("inf")


def available_memory_bytes() -> float | None:
    """Memory this process can still take: Linux's MemAvailable, capped by a container limit;
    None where neither can be read (then no limit applies by default)."""
    available = float("inf")
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024.0
    except OSError:
        pass
    available = min(available, _cgroup_headroom())
    return None if available == float("inf") else available


def check_memory(estimate: int, max_memory_gb, strategy: str, shape: tuple[int, ...]) -> None:
    """Raise InpaintInputError (one line) when ``estimate`` bytes exceed ``max_memory_gb``
    (``"auto"``: :func:`available_memory_bytes`; None: no limit)."""
    if max_memory_gb is None:
        return
    if max_memory_gb == "auto":
        limit = available_memory_bytes()
        if limit is None:
            return
        where = "the memory available now"
    else:
        limit = float(max_memory_gb) * 2**30
        where = "max_memory_gb"
    if estimate <= limit:
        return
    height, width = shape[1:3]
    images = f"{shape[0]} photos of " if shape[0] > 1 else "a "
    hint = "" if strategy == "crop" else "hd_strategy='crop' (memory bounded by the holes), or "
    raise InpaintInputError(
        f"{images}{width}x{height} photo{'s' if shape[0] > 1 else ''} ({height * width / 1e6:.1f} MP) with "
        f"hd_strategy={strategy!r} needs about {estimate / 2**30:.1f} GB, more than {where} ({limit / 2**30:.1f} GB): "
        f"use {hint}a larger max_memory_gb (CLI --max-memory-gb; None, or 0 on the CLI, turns the check off).")


def _whole_frames(batch: CallerBatch, settings: Settings, strategy: str, batch_size: int) -> np.ndarray:
    """``resize`` / ``original``: whole frames as float32, filled in chunks of ``batch_size``."""
    prepared = batch.whole_frames()
    images, masks = prepared.images, prepared.masks
    working_size = settings.working_size if strategy == "resize" else None
    keep_known = settings.blend is None
    fills = []
    for start in range(0, images.shape[0], batch_size):
        chunk_images, chunk_masks = images[start : start + batch_size], masks[start : start + batch_size]
        if not chunk_masks.any():
            fills.append(chunk_images)
            continue
        fills.append(np.asarray(fill_holes(chunk_images, chunk_masks, settings.run_generator, settings.size_multiple,
                                           working_size, settings.pad_mode, keep_known, settings.input_size,
                                           settings.mask_resize, settings.image_resize)))
    prediction = np.concatenate(fills, axis=0)
    if settings.blend is not None:
        prediction = blend_batch(images, prediction, masks, settings.blend)
    return restore_output(prediction, prepared)


def _crops(batch: CallerBatch, settings: Settings, crops: list[list[Box]]) -> np.ndarray:
    """``crop``: each crop filled alone and its hole pixels pasted into one copy of the photos."""
    output = batch.images.copy()
    for index, boxes in enumerate(crops):
        for box in boxes:
            image, hole = batch.region(index, box)
            fill = np.asarray(fill_holes(image, hole, settings.run_generator, settings.size_multiple,
                                         settings.working_size, settings.pad_mode, settings.blend is None,
                                         settings.input_size, settings.mask_resize, settings.image_resize))
            if settings.blend is not None:
                fill = blend_batch(image, fill, hole, settings.blend)
            y0, y1, x0, x1 = box
            paste_fill(output[index, y0:y1, x0:x1], fill[0], hole[0, ..., 0] > 0.5)
    return output if batch.batched else output[0]


@dataclasses.dataclass
class Plan:
    """What an ``inpaint`` call will do: the strategy ``auto`` resolved to, each image's crop
    boxes (``crop`` only) and the estimated peak memory in bytes."""

    strategy: str
    crops: list[list[Box]] | None
    estimate: int


def plan(batch: CallerBatch, settings: Settings, strategy: str = "auto", batch_size: int = 8) -> Plan:
    """Resolve ``strategy`` for ``batch``, find its crops and estimate its peak; allocates nothing
    of the photo's size."""
    n, height, width = batch.images.shape[:3]
    strategy = resolve(strategy, height, width, settings)
    if strategy == "resize" and settings.working_size is None and settings.input_size is None:
        raise ValueError("hd_strategy='resize' needs a working size (working_size=PIXELS).")
    crops = [plan_crops(batch, i, settings) for i in range(n)] if strategy == "crop" else None
    return Plan(strategy, crops, estimate_peak_bytes(strategy, batch, settings, batch_size, crops))


def inpaint_batch(batch: CallerBatch, settings: Settings, strategy: str = "auto", batch_size: int = 8,
                  max_memory_gb: float | str | None = "auto") -> np.ndarray:
    """Fill the holes of a validated batch by ``strategy`` (see module docstring) after
    :func:`check_memory`; the result has the caller's shape and dtype, known pixels to the bit."""
    chosen = plan(batch, settings, strategy, batch_size)
    check_memory(chosen.estimate, max_memory_gb, chosen.strategy, batch.images.shape)
    if chosen.strategy == "crop":
        return _crops(batch, settings, chosen.crops)
    return _whole_frames(batch, settings, chosen.strategy, batch_size)


def activation_bytes_per_pixel(generator) -> float:
    """Bytes of every layer output of ``generator`` per input pixel (float32, one image), from its
    graph at 256 x 256 without running it; cached on the generator."""
    cached = getattr(generator, "_activation_bytes_per_pixel", None)
    if cached is None:
        outputs = [t for layer in generator.layers for node in layer._inbound_nodes
                   for t in keras.tree.flatten(node.output_tensors)]
        side = 256 if generator.input_size is None else generator.input_size
        specs = keras.Model(generator.inputs, outputs).compute_output_spec(keras.KerasTensor((1, side, side, 4)))
        cached = sum(4.0 * np.prod(s.shape) for s in keras.tree.flatten(specs)) / side**2
        generator._activation_bytes_per_pixel = cached
    return cached

"""Quality evaluation of inpainting against classical baselines: PSNR, SSIM and L1, whole image and hole.

Needs the ``benchmarks`` extra (OpenCV and scikit-image): ``pip install "keras-inpaint[benchmarks]"``.
"""

from __future__ import annotations

import functools
import json
import os
import time
import zlib
from typing import Callable, Iterable

import numpy as np

from keras_inpaint import interrupts
from keras_inpaint.data import UNREADABLE_ERRORS, center_crop, list_images
from keras_inpaint.errors import DataError
from keras_inpaint.image_io import read_image_uint8, write_image
from keras_inpaint.masks import random_mask
from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.visualize import grid, show_hole

BASELINES = ("telea", "navier_stokes", "biharmonic")
METRICS = ("psnr", "ssim", "l1", "psnr_hole", "ssim_hole", "l1_hole")


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as e:
        raise ImportError(f"evaluation needs {module}: pip install 'keras-inpaint[benchmarks]'") from e


def mask_seed(seed: int, index: int, setting: str, size: int) -> int:
    """A stable seed per (run seed, photo, setting, size): same holes in every process and run."""
    return zlib.crc32(f"{seed}/{index}/{setting}/{size}".encode())


def baseline_inpainter(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A classical inpainting function (uint8 image, {0,1} mask) -> uint8 image."""
    if name in ("telea", "navier_stokes"):
        cv2 = _require("cv2")
        flag = cv2.INPAINT_TELEA if name == "telea" else cv2.INPAINT_NS
        return lambda image, mask: cv2.inpaint(image, mask.astype(np.uint8), 3, flag)
    if name == "biharmonic":
        _require("skimage")
        from skimage.restoration import inpaint_biharmonic

        def biharmonic(image, mask):
            out = inpaint_biharmonic(image.astype(np.float64) / 255.0, mask.astype(bool), channel_axis=-1)
            return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)

        return biharmonic
    raise ValueError(f"unknown baseline {name!r}; choose from {BASELINES}.")


def image_metrics(truth: np.ndarray, result: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """PSNR (dB), SSIM and L1 on [0, 1] values, over the whole image and over the hole alone."""
    _require("skimage")
    from skimage.metrics import structural_similarity

    a, b = truth.astype(np.float64) / 255.0, result.astype(np.float64) / 255.0
    hole = mask.astype(bool)
    _, ssim_map = structural_similarity(a, b, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, full=True)

    def psnr(mse):
        return float(10 * np.log10(1.0 / max(mse, 1e-12)))

    diff = a - b
    return {
        "psnr": psnr(np.mean(diff**2)),
        "ssim": float(ssim_map.mean()),
        "l1": float(np.abs(diff).mean()),
        "psnr_hole": psnr(np.mean(diff[hole] ** 2)),
        "ssim_hole": float(ssim_map[hole].mean()),
        "l1_hole": float(np.abs(diff[hole]).mean()),
    }


def evaluate(
    preset,
    directory: str,
    settings: Iterable[str] = ("thin", "medium", "thick"),
    sizes: Iterable[int] = (256, 512),
    baselines: Iterable[str] = BASELINES,
    seed: int = 0,
    max_images: int | None = None,
    contact_sheet: str | None = None,
    working_size: int | None | str = "auto",
    blend: str | None = "auto",
    hd_strategy: str | None = None,
    max_memory_gb: float | None | str = "auto",
    progress: Callable[..., Iterable] | None = None,
) -> dict:
    """Evaluate a preset (name, directory, ``hf://`` handle or an ``Inpainter``) and baselines on a photo folder.

    Every photo is centre-cropped to each size; its masks are drawn with a fixed seed per
    (photo, setting, size), so every method and every run sees the same holes.

    ``working_size``, ``blend``, ``hd_strategy`` and ``max_memory_gb`` go to
    :meth:`Inpainter.inpaint` (``"auto"``, or None for ``hd_strategy``: the preset's own settings);
    the result records the settings used. The baselines always work at full size, unblended.
    ``progress`` wraps the loop over (size, setting, photo) cases, e.g.
    :func:`keras_inpaint.console.progress` for a progress bar.

    Returns ``{"rows": [...], "summary": {method: {f"{setting}_{size}": {metric: mean}}}, ...}``
    where each row holds one photo's metrics for one method, setting and size.

    A folder without images, or with one that cannot be read, raises
    :class:`~keras_inpaint.errors.DataError` (the folder is listed before the model is loaded).
    """
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(BASELINES)}.")
    paths = list_images(directory)[: max_images or None]  # an empty folder fails before a model is built
    model = preset if isinstance(preset, Inpainter) else Inpainter.from_preset(preset)
    name = getattr(preset, "name", None) if isinstance(preset, Inpainter) else str(preset)
    working_size = model.working_size if working_size == "auto" else working_size
    blend = model.blend if blend == "auto" else blend
    hd_strategy = model.hd_strategy if hd_strategy is None else hd_strategy
    methods: dict[str, Callable] = {"model": functools.partial(model.inpaint, working_size=working_size, blend=blend,
                                                               hd_strategy=hd_strategy, max_memory_gb=max_memory_gb)}
    methods.update({b: baseline_inpainter(b) for b in baselines})
    rows, sheet = [], []
    cases = [(size, setting, index, path) for size in sizes for setting in settings for index, path in enumerate(paths)]
    for size, setting, index, path in (progress or (lambda items, **_: items))(cases, total=len(cases), what="evaluating"):
        interrupts.check()
        try:
            image = center_crop(read_image_uint8(path), size)
        except UNREADABLE_ERRORS as e:
            raise DataError(f"cannot read image {path!r}: {e}") from e
        mask = random_mask(size, size, setting, seed=mask_seed(seed, index, setting, size)).astype(np.uint8)
        outputs = {}
        for method, run in methods.items():
            start = time.perf_counter()
            outputs[method] = run(image, mask)
            seconds = time.perf_counter() - start
            rows.append({"image": os.path.basename(path), "method": method, "setting": setting, "size": size,
                         "hole_ratio": float(mask.mean()), "seconds": seconds,
                         **image_metrics(image, outputs[method], mask)})
        if contact_sheet and size == min(sizes) and index < 4:
            sheet.append((image, mask, outputs))
    summary: dict = {}
    for row in rows:
        key = f"{row['setting']}_{row['size']}"
        bucket = summary.setdefault(row["method"], {}).setdefault(key, {m: [] for m in METRICS})
        for metric in METRICS:
            bucket[metric].append(row[metric])
    summary = {method: {key: {m: float(np.mean(v)) for m, v in metrics.items()} for key, metrics in keys.items()}
               for method, keys in summary.items()}
    if contact_sheet and sheet:
        labels = ["masked", name or "model", *baselines, "original"]
        panels = [[show_hole(img, m), out["model"], *[out[b] for b in baselines], img] for img, m, out in sheet]
        write_image(grid(panels, labels), contact_sheet, overwrite=True)
    return {"preset": name, "directory": os.path.basename(os.path.normpath(directory)), "images": len(paths), "seed": seed,
            "working_size": working_size, "blend": blend, "hd_strategy": hd_strategy, "rows": rows, "summary": summary}


def markdown_table(result: dict, metrics: Iterable[str] = ("psnr_hole", "ssim_hole", "l1_hole", "psnr", "ssim")) -> str:
    """The summary as a markdown table: one row per (setting and size, method)."""
    metrics = list(metrics)
    lines = ["| setting | method | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    keys = sorted({k for per in result["summary"].values() for k in per}, key=lambda k: (int(k.split("_")[-1]), k))
    for key in keys:
        for method, per in result["summary"].items():
            if key in per:
                lines.append(f"| {key} | {method} | " + " | ".join(f"{per[key][m]:.4f}" if "l1" in m or "ssim" in m
                                                                 else f"{per[key][m]:.2f}" for m in metrics) + " |")
    return "\n".join(lines)


def save_result(result: dict, json_path: str) -> None:
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)

"""Time, peak memory and quality of the HD strategies (crop / resize / original) of ``Inpainter.inpaint``.

    python -m benchmarks.hd_strategy --data ~/photos/val          # about 10 minutes on a 2-core CPU
    python -m benchmarks.hd_strategy --quick --out /tmp/hd        # seconds (CI smoke test)

Memory: photos of 2, 12, 24 and 48 megapixels (a val photo enlarged, 4:3) with one hole of 1 % of
the pixels; each (size, strategy) runs in a fresh Python process, which reports the time of its
first and second ``inpaint`` call, its resident memory before the call (model and photo loaded)
and its peak (``VmHWM``), and the guard's estimate (``Inpainter.plan``). Cases whose estimate
exceeds ``--max-memory-gb`` are refused by the guard, as a user's would be, and reported so.

Quality: hole PSNR / SSIM of each strategy on the val photos at their built size (longer side
1024, ``../shared/data``), one 1 % hole and one LaMa ``medium`` mask per photo, fixed seeds; and,
where the photos' original files exist (``manifest.csv``), on those of 2 MP or more at full size.

Writes ``<out>/hd_strategy.json`` and ``<out>/hd_strategy.md`` (default out:
``benchmarks/results/<device>/``); prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATEGIES = ("crop", "resize", "original")
FULL = {"megapixels": [2, 12, 24, 48], "memory_strategies": STRATEGIES, "quality_images": None,
        "masks": ("hole1%", "medium"), "variants": ("crop m128", "crop m512", "resize", "original"),
        "original_variants": ("crop m128", "crop m512", "resize"), "max_memory_gb": 8.0}
QUICK = {"megapixels": [0.3], "memory_strategies": ("crop",), "quality_images": 1, "masks": ("hole1%",),
         "variants": ("crop m128", "resize"), "original_variants": (), "max_memory_gb": 8.0}
# The warm (second) call is timed only after a first call shorter than this (seconds).
SECOND_CALL_UNDER_S = 10.0


def hole_mask(height: int, width: int, fraction: float = 0.01, seed: int = 0) -> np.ndarray:
    """uint8 (H, W), 1 in one ellipse of about ``fraction`` of the pixels (aspect 4:3, random centre)."""
    rng = np.random.default_rng(seed)
    ry = np.sqrt(fraction * height * width * 3 / 4 / np.pi)
    rx = ry * 4 / 3
    cy, cx = rng.uniform(ry + 1, height - ry - 1), rng.uniform(rx + 1, width - rx - 1)
    mask = np.zeros((height, width), np.uint8)
    y0, y1, x0, x1 = int(cy - ry), int(cy + ry) + 2, int(cx - rx), int(cx + rx) + 2
    ys, xs = np.ogrid[y0:y1, x0:x1]
    mask[y0:y1, x0:x1] = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 <= 1
    return mask


def _photo(source, megapixels: float) -> np.ndarray:
    """A 4:3 uint8 photo of about ``megapixels``: ``source`` (a uint8 photo) enlarged bicubically,
    or a smooth synthetic picture when there is none."""
    width = int(round(np.sqrt(megapixels * 1e6 * 4 / 3)))
    height = int(round(width * 3 / 4))
    if source is None:
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        return (127 + 100 * np.sin(xs / 37) * np.cos(ys / 53))[..., None].repeat(3, -1).astype(np.uint8)
    from PIL import Image

    return np.asarray(Image.fromarray(source).resize((width, height), Image.BICUBIC))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def child(image_path: str, mask_path: str, strategy: str, preset: str, max_memory_gb: float) -> dict:
    """One case in this (fresh) process: JSON-able times and memory in MB."""
    from keras_inpaint import Inpainter, InpaintInputError

    model = Inpainter.from_preset(preset)
    image, mask = np.load(image_path), np.load(mask_path)
    plan = model.plan(image, mask, hd_strategy=strategy)
    record = {"estimate_mb": plan.estimate / 2**20, "crops": None if plan.crops is None else len(plan.crops[0]),
              "rss_before_mb": _status_kb("VmRSS") / 1024}
    try:
        start = time.perf_counter()
        model.inpaint(image, mask, hd_strategy=strategy, max_memory_gb=max_memory_gb)
        record["first_call_s"] = time.perf_counter() - start
    except InpaintInputError as e:
        return {**record, "refused": str(e)}
    record["peak_mb"] = _status_kb("VmHWM") / 1024
    if record["first_call_s"] < SECOND_CALL_UNDER_S:
        start = time.perf_counter()
        model.inpaint(image, mask, hd_strategy=strategy, max_memory_gb=None)
        record["second_call_s"] = time.perf_counter() - start
    return record


def memory_cases(megapixels, strategies, source, preset: str, max_memory_gb: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in megapixels:
            image = _photo(source, size)
            height, width = image.shape[:2]
            mask = hole_mask(height, width)
            image_path, mask_path = os.path.join(tmp, "image.npy"), os.path.join(tmp, "mask.npy")
            np.save(image_path, image)
            np.save(mask_path, mask)
            del image
            for strategy in strategies:
                command = [sys.executable, "-m", "benchmarks.hd_strategy", "--child", image_path, mask_path, strategy,
                           "--preset", preset, "--max-memory-gb", str(max_memory_gb)]
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
                if done.returncode != 0:
                    raise RuntimeError(f"{strategy} at {size} MP failed: {done.stderr[-2000:]}")
                record = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append({"megapixels": round(height * width / 1e6, 2), "width": width, "height": height,
                             "hole_ratio": float(mask.mean()), "strategy": strategy, **record})
                print(json.dumps(rows[-1]), flush=True)
    return rows


# The quality variants: strategy and the crop margin (None: the preset's).
VARIANTS = {"crop m128": {"hd_strategy": "crop", "crop_margin": 128},
            "crop m512": {"hd_strategy": "crop", "crop_margin": 512},
            "resize": {"hd_strategy": "resize"}, "original": {"hd_strategy": "original"}}


def originals(data: str, min_megapixels: float = 2.0) -> list[str]:
    """The val photos' original files (``<data>/../manifest.csv``, ../shared/data) of at least
    ``min_megapixels`` that exist on this machine."""
    import csv

    manifest = os.path.join(os.path.dirname(os.path.normpath(data)), "manifest.csv")
    if not os.path.exists(manifest):
        return []
    with open(manifest, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "val" and os.path.exists(r["orig"])]
    from PIL import Image

    return [r["orig"] for r in rows if np.prod(Image.open(r["orig"]).size) >= min_megapixels * 1e6]


def quality_cases(paths, masks, variants, preset: str, scale: str) -> list[dict]:
    """Hole PSNR / SSIM / L1 of each variant on each photo (at its file's size), for each mask kind.
    Metrics are computed on the hole's box plus 32 pixels (the hole's SSIM needs 5 around it)."""
    from keras_inpaint import Inpainter
    from keras_inpaint.data import load_rgb
    from keras_inpaint.evaluation import image_metrics
    from keras_inpaint.masks import random_mask

    model = Inpainter.from_preset(preset)
    rows = []
    for index, path in enumerate(paths):
        image = load_rgb(path)
        height, width = image.shape[:2]
        drawn = {"hole1%": lambda: hole_mask(height, width, seed=index),
                 "medium": lambda: random_mask(height, width, "medium", seed=index).astype(np.uint8)}
        for kind in masks:
            mask = drawn[kind]()
            ys, xs = np.nonzero(mask)
            box = np.s_[max(ys.min() - 32, 0) : ys.max() + 33, max(xs.min() - 32, 0) : xs.max() + 33]
            for label in variants:
                start = time.perf_counter()
                result = model.inpaint(image, mask, max_memory_gb=None, **VARIANTS[label])
                seconds = time.perf_counter() - start
                metrics = image_metrics(image[box], result[box], mask[box])
                rows.append({"scale": scale, "image": os.path.basename(path), "width": width, "height": height,
                             "mask": kind, "hole_ratio": float(mask.mean()), "variant": label, "seconds": seconds,
                             **{k: metrics[k] for k in ("psnr_hole", "ssim_hole", "l1_hole")}})
    return rows


def _mean(rows, key):
    return float(np.mean([r[key] for r in rows]))


def markdown(memory: list[dict], quality: list[dict], preset: str, max_memory_gb: float) -> str:
    lines = [f"Preset `{preset}` (working size, blending and crop margin from the preset); one hole of 1 % of the "
             f"pixels; each case in a fresh process; guard limit {max_memory_gb:g} GB; the second (warm) call is "
             f"timed after a first one under {SECOND_CALL_UNDER_S:g} s.", "",
             "| MP | W x H | strategy | first call s | second call s | RSS before MB | peak MB | added MB | "
             "estimate MB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in memory:
        if "refused" in r:
            lines.append(f"| {r['megapixels']:g} | {r['width']}x{r['height']} | {r['strategy']} | refused by the "
                         f"guard | | {r['rss_before_mb']:.0f} | | | {r['estimate_mb']:.0f} |")
            continue
        second = f"{r['second_call_s']:.2f}" if "second_call_s" in r else "-"
        lines.append(f"| {r['megapixels']:g} | {r['width']}x{r['height']} | {r['strategy']} | {r['first_call_s']:.2f} | "
                     f"{second} | {r['rss_before_mb']:.0f} | {r['peak_mb']:.0f} | "
                     f"{r['peak_mb'] - r['rss_before_mb']:.0f} | {r['estimate_mb']:.0f} |")
    for scale in dict.fromkeys(r["scale"] for r in quality):
        rows = [r for r in quality if r["scale"] == scale]
        images = {r["image"]: r for r in rows}
        sizes = "the size of their files (longer side at most 1024)" if scale != "original" else \
            f"their original size ({min(r['width'] * r['height'] for r in images.values()) / 1e6:.1f} to " \
            f"{max(r['width'] * r['height'] for r in images.values()) / 1e6:.1f} MP)"
        lines += ["", f"Hole quality on {len(images)} val photos at {sizes}; mean over photos, seconds per photo "
                      "(`crop mN`: crop margin N pixels):", "",
                  "| mask | strategy | hole ratio | PSNR hole | SSIM hole | L1 hole | seconds |",
                  "|---|---|---|---|---|---|---|"]
        for kind in dict.fromkeys(r["mask"] for r in rows):
            for variant in dict.fromkeys(r["variant"] for r in rows):
                cases = [r for r in rows if r["mask"] == kind and r["variant"] == variant]
                lines.append(f"| {kind} | {variant} | {_mean(cases, 'hole_ratio'):.3f} | {_mean(cases, 'psnr_hole'):.2f} | "
                             f"{_mean(cases, 'ssim_hole'):.4f} | {_mean(cases, 'l1_hole'):.4f} | "
                             f"{_mean(cases, 'seconds'):.2f} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder of photos (the val split of ../shared/data); without it a synthetic "
                                       "photo, and quality on the bundled sample photo")
    parser.add_argument("--preset", default="lama_tiny")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results/<device>)")
    parser.add_argument("--quick", action="store_true", help="one small photo, two quality photos (CI smoke test)")
    parser.add_argument("--megapixels", type=float, nargs="+")
    parser.add_argument("--max-memory-gb", type=float)
    parser.add_argument("--child", nargs=3, metavar=("IMAGE", "MASK", "STRATEGY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    limit = args.max_memory_gb or settings["max_memory_gb"]
    if args.child:
        print(json.dumps(child(*args.child, args.preset, limit)))
        return {}

    from benchmarks.devices import describe
    from benchmarks.run import results_folder_name
    from keras_inpaint.data import list_images, load_rgb

    sample = os.path.join(ROOT, "keras_inpaint", "assets", "chelsea.jpg")
    paths = list_images(args.data) if args.data else [sample]
    paths = paths[: settings["quality_images"] or None]
    source = load_rgb(paths[0]) if args.data else None
    memory = memory_cases(args.megapixels or settings["megapixels"], settings["memory_strategies"], source,
                          args.preset, limit)
    quality = quality_cases(paths, settings["masks"], settings["variants"], args.preset, "built")
    if args.data and settings["original_variants"]:
        quality += quality_cases(originals(args.data), ("hole1%",), settings["original_variants"], args.preset,
                                 "original")
    device = describe()
    out = args.out or os.path.join("benchmarks", "results", results_folder_name(device["device"]))
    os.makedirs(out, exist_ok=True)
    result = {"preset": args.preset, "data": os.path.basename(os.path.normpath(args.data)) if args.data else "sample",
              "source_photo": os.path.basename(paths[0]) if args.data else "synthetic", "max_memory_gb": limit,
              "device": device, "memory": memory, "quality": quality}
    table = markdown(memory, quality, args.preset, limit)
    with open(os.path.join(out, "hd_strategy.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(out, "hd_strategy.md"), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    print(table)
    return result


if __name__ == "__main__":
    main()

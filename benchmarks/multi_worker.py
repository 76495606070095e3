"""Training speed on one worker against two MultiWorkerMirroredStrategy workers on loopback.

    python -m benchmarks.multi_worker                    # about 5 minutes on a 2-core CPU
    python -m benchmarks.multi_worker --quick --out /tmp/mw

Each case is ``keras-inpaint train`` in real processes (one, or two with a ``TF_CONFIG`` of
127.0.0.1 ports), ``--batch-size`` per replica, so two workers train on twice the global batch
per step. Speed is taken between the ends of the first and the last epoch (``seconds`` in
``log.jsonl``), which leaves out start-up, the cluster forming and the first step's tracing.

On one machine the two workers share its cores: the ratio measures the overhead of the
all-reduce and of two processes competing for the same CPU, not the scaling of two machines.

Writes ``<out>/multi_worker.json`` and ``<out>/multi_worker.md`` (default out:
``benchmarks/results/<device>/``); prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from keras_inpaint.distribution import free_loopback_workers, tf_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = {"epochs": 3, "steps_per_epoch": 10, "image_size": 64, "batch_size": 2}
QUICK = {"epochs": 2, "steps_per_epoch": 2, "image_size": 32, "batch_size": 1}


def _photos(folder: str, count: int = 8) -> str:
    from PIL import Image

    from keras_inpaint.image_io import read_image_uint8

    photo = read_image_uint8(os.path.join(ROOT, "keras_inpaint", "assets", "chelsea.jpg"))
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.roll(photo, 50 * i, axis=1)).save(os.path.join(folder, f"p{i}.png"))
    return folder


def run_case(workers: int, data: str, out: str, preset: str, settings: dict) -> dict:
    """Train with ``workers`` processes; the chief's log.jsonl gives steps/s after the first epoch."""
    command = [sys.executable, "-m", "keras_inpaint.cli", "train", data, "--out", out, "--preset", preset,
               "--epochs", str(settings["epochs"]), "--steps-per-epoch", str(settings["steps_per_epoch"]),
               "--image-size", str(settings["image_size"]), "--batch-size", str(settings["batch_size"]),
               "--masks", "thick", "--jit", "off"]
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("TF_CONFIG", None)
    if workers == 1:
        processes = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)]
    else:
        cluster = free_loopback_workers(workers)
        processes = [subprocess.Popen([*command, "--strategy", "multi-worker"], stdout=subprocess.DEVNULL,
                                      env={**env, "TF_CONFIG": tf_config(cluster, i)})
                     for i in range(workers)]
    codes = [p.wait(1800) for p in processes]
    if any(codes):
        raise RuntimeError(f"{workers} worker(s): exit codes {codes}")
    log = [json.loads(line) for line in open(os.path.join(out, "log.jsonl"), encoding="utf-8")]
    steps = (len(log) - 1) * settings["steps_per_epoch"]
    seconds = log[-1]["seconds"] - log[0]["seconds"]
    global_batch = log[-1]["global_batch"]
    return {"workers": workers, "replicas": log[-1]["replicas"], "global_batch": global_batch,
            "steps_timed": steps, "seconds": round(seconds, 2), "steps_per_s": round(steps / seconds, 3),
            "images_per_s": round(steps * global_batch / seconds, 2), "first_epoch_s": log[0]["seconds"],
            "l1_hole_last": round(log[-1]["l1_hole"], 4)}


def markdown(rows: list[dict], preset: str, settings: dict, cpus: int) -> str:
    base = rows[0]
    lines = [f"Training `{preset}` with `keras-inpaint train` ({settings['image_size']} px crops, batch "
             f"{settings['batch_size']} per replica, {settings['steps_per_epoch']} steps per epoch, timed after "
             f"the first epoch) on one machine with {cpus} CPU cores: the workers share them.", "",
             "| workers | replicas | global batch | steps/s | images/s | step time vs 1 worker | images/s vs 1 worker |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['replicas']} | {r['global_batch']} | {r['steps_per_s']:.3f} | "
                     f"{r['images_per_s']:.2f} | {base['steps_per_s'] / r['steps_per_s']:.2f}x | "
                     f"{r['images_per_s'] / base['images_per_s']:.2f}x |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="lama_tiny")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results/<device>)")
    parser.add_argument("--quick", action="store_true", help="two tiny epochs (smoke test)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL

    from benchmarks.devices import describe
    from benchmarks.run import results_folder_name

    work = tempfile.mkdtemp(prefix="multi_worker_")
    try:
        data = _photos(os.path.join(work, "photos"))
        rows = []
        for workers in (1, 2):
            rows.append(run_case(workers, data, os.path.join(work, f"run{workers}"), args.preset, settings))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    device = describe()
    out = args.out or os.path.join("benchmarks", "results", results_folder_name(device["device"]))
    os.makedirs(out, exist_ok=True)
    table = markdown(rows, args.preset, settings, device["cpus"])
    with open(os.path.join(out, "multi_worker.json"), "w", encoding="utf-8") as f:
        json.dump({"preset": args.preset, "settings": settings, "device": device, "cases": rows}, f, indent=1)
    with open(os.path.join(out, "multi_worker.md"), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    print(table)
    return {"cases": rows}


if __name__ == "__main__":
    main()

"""TensorFlow against JAX, side by side in one run: training steps/s and inference latency.

    python -m benchmarks.backends                      # the tiny presets on this machine
    python -m benchmarks.backends --presets lama_fourier_256 --size 256 --batch 8 --backends jax
    python -m benchmarks.backends --quick              # a smoke run (CI)

Each (backend, preset) runs in its own subprocess (Keras picks its backend once per process),
one after the other, so the numbers share the machine's state. Training: the full adversarial
``train_step`` compiled with XLA on both backends (``jit_compile=True``), steps/s over timed
steps after two warm-up steps. Inference: ``Inpainter.inpaint`` of one photo at full resolution
(working size off, no blending), median latency over timed calls after a warm-up call.
Writes JSON (one record per backend and preset) and a markdown table with the JAX/TensorFlow
ratio; on a GPU machine the device script runs it with ``--backends tensorflow jax``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = {"lama_tiny": 64, "deepfill_v2_tiny": 64, "pconv_tiny": 64, "pix2pix_tiny": 64, "migan_tiny": 128}

MEASURE = """
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, keras, keras_inpaint as ki
preset, size, batch, steps, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = np.random.default_rng(0)
images = rng.uniform(-1, 1, (batch * (steps + 2), size, size, 3)).astype("float32")
masks = np.zeros(images.shape[:3] + (1,), "float32"); masks[:, size // 4: size // 2, size // 4: 3 * size // 4] = 1
gan = ki.InpaintingGAN.from_preset(preset)
gan.compile(jit_compile=True)
timings = []
class Clock(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()
    def on_train_batch_end(self, batch, logs=None):
        float(logs["g_loss"])  # wait for the step
        timings.append(time.perf_counter() - self.start)
gan.fit(images, masks, batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[Clock()])
photo = (rng.uniform(0, 1, (4 * size, 4 * size, 3)) * 255).astype("uint8")
hole = np.zeros(photo.shape[:2], "uint8"); hole[size: 2 * size, size: 3 * size] = 1
model = ki.Inpainter.from_preset(preset)
model.inpaint(photo, hole, working_size=None, blend=None)
latencies = []
for _ in range(calls):
    start = time.perf_counter()
    model.inpaint(photo, hole, working_size=None, blend=None)
    latencies.append(time.perf_counter() - start)
print(json.dumps({"backend": keras.config.backend(), "preset": preset, "train_size": size, "batch": batch,
                  "train_steps_per_s": 1.0 / float(np.mean(timings[2:])), "first_step_s": timings[0],
                  "infer_size": 4 * size, "infer_ms_p50": 1000 * float(np.median(latencies))}))
"""


def measure(backend: str, preset: str, size: int, batch: int, steps: int, calls: int) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(MEASURE), preset, str(size), str(batch), str(steps),
                             str(calls)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    if result.returncode != 0:
        return {"backend": backend, "preset": preset, "error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def table(records: list[dict]) -> str:
    lines = ["| preset | backend | train steps/s | first step (s) | inpaint p50 (ms) | JAX/TF steps/s | TF/JAX latency |",
             "|---|---|---|---|---|---|---|"]
    by = {(r["preset"], r["backend"]): r for r in records}
    for r in records:
        if "error" in r:
            lines.append(f"| {r['preset']} | {r['backend']} | error: {r['error']} | | | | |")
            continue
        tf, jx = by.get((r["preset"], "tensorflow")), by.get((r["preset"], "jax"))
        ratios = ("", "")
        if r["backend"] == "jax" and tf and "error" not in tf:
            ratios = (f"{jx['train_steps_per_s'] / tf['train_steps_per_s']:.2f}", f"{tf['infer_ms_p50'] / jx['infer_ms_p50']:.2f}")
        lines.append(f"| {r['preset']} | {r['backend']} | {r['train_steps_per_s']:.2f} | {r['first_step_s']:.1f} | "
                     f"{r['infer_ms_p50']:.0f} | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"], choices=["tensorflow", "jax"])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--size", type=int, help="training crop side (default: each preset's in PRESETS)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps (after 2 warm-up steps)")
    parser.add_argument("--calls", type=int, default=5, help="timed inpaint calls")
    parser.add_argument("--quick", action="store_true", help="lama_tiny, 3 steps, 2 calls")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "CPU_2core"))
    args = parser.parse_args(argv)
    if args.quick:
        args.presets, args.steps, args.calls = ["lama_tiny"], 3, 2
    records = []
    for preset in args.presets:
        for backend in args.backends:
            records.append(measure(backend, preset, args.size or PRESETS.get(preset, 256), args.batch, args.steps,
                                   args.calls))
            print(json.dumps(records[-1]), flush=True)
    text = table(records)
    print(text)
    if not args.quick:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "backends.json"), "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
        with open(os.path.join(args.out, "backends.md"), "w", encoding="utf-8") as f:
            f.write("# TensorFlow vs JAX (XLA on both), this machine's CPU, side by side in one run\n\n" + text + "\n")


if __name__ == "__main__":
    main()

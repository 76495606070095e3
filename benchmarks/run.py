"""Inference and training benchmarks of the zoo, with classical baselines in the same run.

    python -m benchmarks.run --suite inference --presets lama_fourier_256 migan_256 --sizes 256 512
    python -m benchmarks.run --suite training --replicas 1 2
    python -m benchmarks.run --quick          # < 1 minute on a CPU (CI smoke test)
    python -m benchmarks.run --suite gpu --out $OUT --budget-s 480 [--backends tensorflow jax]
    python -m benchmarks.run --suite gpu --quick --out /tmp/gpu   # the same plan, tiny, on a CPU

The ``gpu`` suite is the one-command plan for a lent GPU: the cell that the MFU target is
measured on first (``lama_fourier_256`` at 512, batch 32, bf16 + XLA), then training
(``lama_fourier_256`` and ``migan_256`` at 256, batch 16 per replica, bf16 + XLA, 1..N GPUs under
MirroredStrategy), then inference of every family's full-size preset at 256 and 512 (LaMa also
1024), batch 1/8/32, float32 / bf16 / fp16, XLA on and off, then (``--backends ... jax``)
TensorFlow against JAX. Before each cell the time budget is checked: cells that would start after
it are recorded as skipped, so the command ends in time and its files are written.

Inference: latency p50/p90 (ms per batch), throughput (images/s), peak memory, first-call
(trace + compile) time, FLOPs per image counted by TensorFlow's profiler on the traced
graph, and model-FLOPs utilisation against the device's peak. Training: steps/s and
images/s of the full adversarial ``train_step`` with XLA on and off (``--jit``), the time of
the first two steps (trace + compile), 1..N replicas under MirroredStrategy
(logical CPU devices on a CPU) with the global batch scaled, and scaling efficiency.
Output: JSON lines (one per measurement, with the device and settings), a markdown table,
and, when matplotlib is installed, a plot of throughput against resolution.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

# The gpu suite: (what, settings) cells in the order they run; --quick swaps in tiny presets and sizes.
GPU_PLAN = {
    "mfu_cell": ("lama_fourier_256", 512, 32, "mixed_bfloat16", True),
    "training": {"presets": ["lama_fourier_256", "migan_256"], "size": 256, "batch": 16,
                 "precision": "mixed_bfloat16", "jit": True, "steps": 20},
    "inference": {"presets": {"lama_fourier_256": [256, 512, 1024], "big_lama_256": [256, 512, 1024],
                              "migan_256": [256, 512], "deepfill_v2_256": [256, 512], "pconv_512": [256, 512],
                              "pix2pix_256": [256, 512]},
                  "batches": [1, 8, 32], "precisions": ["mixed_bfloat16", "mixed_float16", "float32"],
                  "jit": [True, False], "repeats": 10},
    "backends": {"presets": ["lama_fourier_256", "migan_256"], "size": 256, "batch": 16},
}
GPU_QUICK = {
    "mfu_cell": ("lama_tiny", 64, 2, "mixed_bfloat16", True),
    "training": {"presets": ["lama_tiny"], "size": 64, "batch": 2, "precision": "mixed_bfloat16", "jit": True,
                 "steps": 2},
    "inference": {"presets": {"lama_tiny": [64], "migan_tiny": [128]}, "batches": [1, 2],
                  "precisions": ["mixed_bfloat16", "float32"], "jit": [True, False], "repeats": 2},
    "backends": {"presets": ["lama_tiny"], "size": 64, "batch": 2},
}

QUICK = {"presets": ["lama_tiny"], "sizes": [64], "batches": [2], "precisions": ["float32"],
         "jit": [False, True], "repeats": 3, "baselines": ["telea", "navier_stokes"], "replicas": [1, 2]}


def _jax() -> bool:
    import keras

    return keras.config.backend() == "jax"


def _setup_logical_cpus(count: int) -> None:
    """Split the CPU into ``count`` logical devices (before TensorFlow initialises; on JAX,
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` does it before JAX starts)."""
    if _jax():
        return
    import tensorflow as tf

    if count > 1 and not tf.config.list_physical_devices("GPU"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def count_flops(function, *specs) -> float:
    """Floating-point operations of one call of a ``tf.function``, counted on its graph."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = function.get_concrete_function(*specs).graph
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation()).with_empty_output().build()
    return float(model_analyzer.profile(graph, options=options).total_float_ops)


def results_folder_name(device: str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` -> ``NVIDIA_H100_80GB_HBM3``; ``"CPU (x86_64, 2 cores)"`` -> ``CPU_2core``."""
    if device.startswith("CPU"):
        cores = device.rsplit(", ", 1)[-1].split(" ")[0] if "cores" in device else ""
        return f"CPU_{cores}core" if cores.isdigit() else "CPU"
    return device.split(" (")[0].replace(" ", "_")


def _timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _jax_inference(generator, x, jit: bool, repeats: int):
    """(first call s, timed call s list, FLOPs per image) of ``generator`` on JAX: a stateless call,
    ``jax.jit``-compiled when ``jit`` (else op by op); FLOPs from XLA's cost analysis of the
    compiled call on one image."""
    import jax

    trainable = [v.value for v in generator.trainable_variables]
    frozen = [v.value for v in generator.non_trainable_variables]

    def call(trainable, frozen, x):
        return generator.stateless_call(trainable, frozen, x, training=False)[0]

    run = jax.jit(call) if jit else call
    start = time.perf_counter()
    jax.block_until_ready(run(trainable, frozen, x))
    first_call = time.perf_counter() - start
    jax.block_until_ready(run(trainable, frozen, x))  # warm-up, excluded
    times = _timed(lambda: jax.block_until_ready(run(trainable, frozen, x)), repeats)
    cost = jax.jit(call).lower(trainable, frozen, x[:1]).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return first_call, times, float(cost.get("flops", 0.0)) if cost else 0.0


def bench_inference(preset: str, size: int, batch: int, precision: str, jit: bool, repeats: int, device: dict) -> dict:
    import keras

    from benchmarks.devices import peak_memory_mb, peak_tflops, reset_peak_memory
    from keras_inpaint import Inpainter, count_parameters

    keras.mixed_precision.set_global_policy(precision)
    try:
        with warnings.catch_warnings():  # architecture presets have random weights: fine for timing
            warnings.simplefilter("ignore")
            generator = Inpainter.from_preset(preset, load_weights=False).backbone
        x = np.random.default_rng(0).uniform(-1, 1, (batch, size, size, 4)).astype("float32")
        reset_peak_memory()
        if _jax():
            first_call, times, flops = _jax_inference(generator, keras.ops.convert_to_tensor(x), jit, repeats)
        else:
            import tensorflow as tf

            x = tf.constant(x)
            call = tf.function(lambda t: generator(t, training=False), jit_compile=jit)
            start = time.perf_counter()
            call(x).numpy()
            first_call = time.perf_counter() - start
            call(x).numpy()  # warm-up, excluded
            times = _timed(lambda: call(x).numpy(), repeats)  # .numpy() waits for the device
            flops = count_flops(tf.function(lambda t: generator(t, training=False)),
                                tf.TensorSpec((1, size, size, 4), tf.float32))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    p50 = float(np.percentile(times, 50))
    throughput = batch / p50
    peak = peak_tflops(device["device"], precision)
    return {"suite": "inference", "method": preset, "size": size, "batch": batch, "precision": precision, "jit": jit,
            "backend": keras.config.backend(),
            "latency_p50_ms": 1000 * p50, "latency_p90_ms": 1000 * float(np.percentile(times, 90)),
            "throughput_img_s": throughput, "first_call_s": first_call, "peak_memory_mb": peak_memory_mb(),
            "gflops_per_image": flops / 1e9, "mfu": (flops * throughput / (peak * 1e12)) if peak else None,
            "parameters": count_parameters(generator)}


def bench_baseline(name: str, size: int, repeats: int) -> dict:
    from keras_inpaint.evaluation import baseline_inpainter
    from keras_inpaint.masks import random_mask

    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    mask = random_mask(size, size, "medium", seed=0).astype(np.uint8)
    run = baseline_inpainter(name)
    run(image, mask)
    times = _timed(lambda: run(image, mask), repeats)
    p50 = float(np.percentile(times, 50))
    return {"suite": "inference", "method": f"baseline:{name}", "size": size, "batch": 1, "precision": "uint8",
            "jit": False, "latency_p50_ms": 1000 * p50, "latency_p90_ms": 1000 * float(np.percentile(times, 90)),
            "throughput_img_s": 1 / p50, "first_call_s": None, "peak_memory_mb": None, "gflops_per_image": None,
            "mfu": None, "parameters": 0}


def bench_training(preset: str, size: int, batch_per_replica: int, replicas: int, jit: bool, steps: int,
                   precision: str = "float32") -> dict:
    """Steps/s of ``InpaintingGAN.fit`` over ``replicas`` devices: TensorFlow's MirroredStrategy,
    or on JAX ``keras.distribution.DataParallel`` (one device: no distribution)."""
    import contextlib

    import keras

    from keras_inpaint.masks import random_masks
    from keras_inpaint.models.inpainting_gan import InpaintingGAN

    global_batch = batch_per_replica * replicas
    if _jax():
        import jax

        devices = [d for d in jax.devices() if d.platform == "gpu"] or jax.devices()
        if replicas > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices[:replicas]))
        scope = contextlib.nullcontext()
    else:
        import tensorflow as tf

        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        scope = tf.distribute.MirroredStrategy([d.name for d in devices[:replicas]]).scope()
    keras.mixed_precision.set_global_policy(precision)
    try:
        with scope:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = InpaintingGAN.from_preset(preset, load_weights=False, seed=0)
            model.compile(jit_compile=jit)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    images = np.random.default_rng(0).uniform(-1, 1, (global_batch, size, size, 3)).astype("float32")
    masks = random_masks(global_batch, size, setting="medium", seed=0)
    try:
        start = time.perf_counter()
        # NumPy batches (no tf.data: JAX may run without TensorFlow): the same batch, repeated.
        model.fit(np.tile(images, (2, 1, 1, 1)), np.tile(masks, (2, 1, 1, 1)), batch_size=global_batch, epochs=1,
                  verbose=0, shuffle=False)  # trace, compile, warm up
        warm_up = time.perf_counter() - start
        start = time.perf_counter()
        history = model.fit(np.tile(images, (steps, 1, 1, 1)), np.tile(masks, (steps, 1, 1, 1)),
                            batch_size=global_batch, epochs=1, verbose=0, shuffle=False)
        seconds = time.perf_counter() - start
    finally:
        if _jax() and replicas > 1:
            keras.distribution.set_distribution(None)
    return {"suite": "training", "method": preset, "size": size, "batch": global_batch, "replicas": replicas,
            "jit": jit, "precision": precision, "backend": keras.config.backend(), "steps_per_s": steps / seconds, "throughput_img_s": steps * global_batch / seconds,
            "warm_up_s": warm_up, "final_g_loss": float(history.history["g_loss"][-1])}


def markdown(records: list[dict]) -> str:
    inference = [r for r in records if r["suite"] == "inference"]
    training = [r for r in records if r["suite"] == "training"]
    lines = []
    if inference:
        lines += ["| method | size | batch | precision | XLA | p50 ms | p90 ms | img/s | first call s | peak MB | GFLOP/img | MFU |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in inference:
            fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
            lines.append(f"| {r['method']} | {r['size']} | {r['batch']} | {r['precision']} | {r['jit']} | "
                         f"{r['latency_p50_ms']:.1f} | {r['latency_p90_ms']:.1f} | {r['throughput_img_s']:.2f} | "
                         f"{fmt(r['first_call_s'], '.2f')} | {fmt(r['peak_memory_mb'], '.0f')} | "
                         f"{fmt(r['gflops_per_image'], '.2f')} | {fmt(r['mfu'], '.1%')} |")
    if training:
        lines += ["", "| preset | size | replicas | global batch | XLA | first 2 steps s | steps/s | img/s | scaling efficiency |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in training:
            lines.append(f"| {r['method']} | {r['size']} | {r['replicas']} | {r['batch']} | {r['jit']} | "
                         f"{r['warm_up_s']:.1f} | {r['steps_per_s']:.2f} | {r['throughput_img_s']:.2f} | "
                         f"{r.get('scaling_efficiency', 1.0):.2f} |")
    return "\n".join(lines)


def plot(records: list[dict], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    inference = [r for r in records if r["suite"] == "inference"]
    if not inference:  # throughput against resolution is an inference plot
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in sorted({(r["method"], r["precision"], r["jit"]) for r in inference}):
        points = sorted((r["size"], r["throughput_img_s"]) for r in inference if (r["method"], r["precision"], r["jit"]) == key)
        ax.plot(*zip(*points), marker="o", label=f"{key[0]} {key[1]}{' XLA' if key[2] else ''}")
    ax.set_xlabel("resolution (px)"), ax.set_ylabel("images / s"), ax.set_yscale("log"), ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


class Budget:
    """Seconds left of ``total`` since it was made; :meth:`allows` says whether a cell may start."""

    def __init__(self, total: float):
        self.total, self.start = total, time.perf_counter()

    def left(self) -> float:
        return self.total - (time.perf_counter() - self.start)

    def allows(self, reserve: float = 0.0) -> bool:
        return self.left() > reserve


def run_gpu_suite(plan: dict, budget: Budget, device: dict, backends: list[str], out: str, quick: bool) -> list[dict]:
    """The gpu suite's cells in order (see the module docstring), each run only while ``budget``
    allows and recorded as ``{"skipped": "time budget"}`` otherwise; errors (out of memory) are
    recorded and the suite goes on."""
    records = []

    def cell(record_base: dict, run):
        if not budget.allows(reserve=15.0):
            records.append({**record_base, "skipped": "time budget"})
        else:
            try:
                records.append(run())
            except Exception as e:  # out of memory at large sizes: record and go on
                records.append({**record_base, "error": f"{type(e).__name__}: {str(e)[:200]}"})
        print(json.dumps(records[-1]), flush=True)

    preset, size, batch, precision, jit = plan["mfu_cell"]
    cell({"suite": "inference", "method": preset, "size": size, "batch": batch, "precision": precision, "jit": jit},
         lambda: bench_inference(preset, size, batch, precision, jit, plan["inference"]["repeats"], device))
    training = plan["training"]
    gpus = device["gpus"]
    for preset in training["presets"]:
        base = None
        for replicas in sorted({1, max(1, gpus)}):
            def run(preset=preset, replicas=replicas):
                return bench_training(preset, training["size"], training["batch"], replicas, training["jit"],
                                      training["steps"], training["precision"])
            cell({"suite": "training", "method": preset, "size": training["size"], "replicas": replicas,
                  "batch": training["batch"] * replicas, "jit": training["jit"], "precision": training["precision"]},
                 run)
            if "steps_per_s" in records[-1]:
                base = base or records[-1]["throughput_img_s"]
                records[-1]["scaling_efficiency"] = records[-1]["throughput_img_s"] / (base * replicas)
    inference = plan["inference"]
    for preset, sizes in inference["presets"].items():
        for size in sizes:
            for batch in inference["batches"]:
                for precision in inference["precisions"]:
                    for jit in inference["jit"]:
                        if (preset, size, batch, precision, jit) == plan["mfu_cell"]:
                            continue  # measured first
                        cell({"suite": "inference", "method": preset, "size": size, "batch": batch,
                              "precision": precision, "jit": jit},
                             lambda preset=preset, size=size, batch=batch, precision=precision, jit=jit:
                             bench_inference(preset, size, batch, precision, jit, inference["repeats"], device))
    if "jax" in backends and budget.allows(reserve=60.0):
        from benchmarks import backends as backend_benchmark

        settings = plan["backends"]
        argv = ["--backends", *backends, "--presets", *settings["presets"], "--size", str(settings["size"]),
                "--batch", str(settings["batch"]), "--out", out, *(["--quick"] if quick else [])]
        backend_benchmark.main(argv)
    return records


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=["inference", "training", "all", "gpu"], default="all")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="gpu suite: start no cell after this many seconds (the command must end in time)")
    parser.add_argument("--backends", nargs="+", choices=["tensorflow", "jax"], default=["tensorflow"],
                        help="gpu suite: with jax, also TensorFlow against JAX (benchmarks.backends)")
    parser.add_argument("--quick", action="store_true", help="tiny presets, 64 px: under a minute on a CPU")
    parser.add_argument("--presets", nargs="+", default=["lama_fourier_256", "big_lama_256", "migan_256", "deepfill_v2_256"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_float16", "mixed_bfloat16"])
    parser.add_argument("--jit", choices=["on", "off", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--baselines", nargs="+", default=["telea", "navier_stokes", "biharmonic"])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1])
    parser.add_argument("--train-size", type=int, default=256)
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--train-batch", type=int, default=8, help="training batch per replica")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results/<device>)")
    args = parser.parse_args(argv)
    settings = dict(QUICK) if args.quick else {
        "presets": args.presets, "sizes": args.sizes, "batches": args.batches, "precisions": args.precisions,
        "jit": {"on": [True], "off": [False], "both": [False, True]}[args.jit], "repeats": args.repeats,
        "baselines": args.baselines, "replicas": args.replicas}
    _setup_logical_cpus(max(settings["replicas"]))

    from benchmarks.devices import describe

    device = describe()
    out = args.out or os.path.join("benchmarks", "results", results_folder_name(device["device"]))
    os.makedirs(out, exist_ok=True)
    records = []
    if args.suite == "gpu":
        records = run_gpu_suite(GPU_QUICK if args.quick else GPU_PLAN, Budget(args.budget_s), device,
                                args.backends, out, args.quick)
    if args.suite in ("inference", "all"):
        for preset in settings["presets"]:
            for size in settings["sizes"]:
                for batch in settings["batches"]:
                    for precision in settings["precisions"]:
                        for jit in settings["jit"]:
                            try:
                                records.append(bench_inference(preset, size, batch, precision, jit, settings["repeats"], device))
                            except Exception as e:  # out of memory at large sizes: record and go on
                                records.append({"suite": "inference", "method": preset, "size": size, "batch": batch,
                                                "precision": precision, "jit": jit, "error": f"{type(e).__name__}: {str(e)[:200]}"})
                            print(json.dumps(records[-1]), flush=True)
        for name in settings["baselines"]:
            for size in settings["sizes"]:
                records.append(bench_baseline(name, size, settings["repeats"]))
                print(json.dumps(records[-1]), flush=True)
    if args.suite in ("training", "all"):
        size = 64 if args.quick else args.train_size
        for preset in settings["presets"][:1] if args.quick else settings["presets"]:
            for jit in [False] if args.quick else settings["jit"]:
                base = None
                for replicas in settings["replicas"]:
                    record = bench_training(preset, size, 2 if args.quick else args.train_batch, replicas, jit=jit,
                                            steps=3 if args.quick else args.train_steps)
                    base = base or record["throughput_img_s"]
                    record["scaling_efficiency"] = record["throughput_img_s"] / (base * replicas)
                    records.append(record)
                    print(json.dumps(record), flush=True)
    ok = [r for r in records if "error" not in r and "skipped" not in r]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(out, f"{args.suite}{'-quick' if args.quick else ''}-{stamp}.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps({**r, "device": device, "settings": settings}) + "\n")
    table = markdown(ok)
    with open(os.path.join(out, f"{args.suite}{'-quick' if args.quick else ''}-{stamp}.md"), "w") as f:
        versions = f"JAX {device['jax']}" if device["backend"] == "jax" else f"TensorFlow {device['tensorflow']}"
        f.write(f"Device: {device['device']}; {versions}, Keras {device['keras']}.\n\n{table}\n")
    plot(ok, os.path.join(out, f"{args.suite}{'-quick' if args.quick else ''}-{stamp}.png"))
    print(table)
    return records


if __name__ == "__main__":
    main()

"""What the benchmark runs on, and the peak throughput it is compared against."""

from __future__ import annotations

import os
import platform
import resource

import tensorflow as tf

# Dense peak TFLOP/s by precision (vendor datasheets, without sparsity).
PEAK_TFLOPS = {
    "H100": {"float32": 67.0, "mixed_float16": 989.0, "mixed_bfloat16": 989.0},  # H100 SXM (TF32 tensor cores: 495)
    "H200": {"float32": 67.0, "mixed_float16": 989.0, "mixed_bfloat16": 989.0},
    "A100": {"float32": 19.5, "mixed_float16": 312.0, "mixed_bfloat16": 312.0},
}


def describe() -> dict:
    """Device name, kind, count and library versions."""
    import keras

    gpus = tf.config.list_physical_devices("GPU")
    info = {"platform": platform.platform(), "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "cpus": os.cpu_count(), "gpus": len(gpus)}
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        info["device"] = details.get("device_name", "GPU")
        info["compute_capability"] = details.get("compute_capability")
    else:
        info["device"] = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return info


def peak_tflops(device: str, precision: str) -> float | None:
    for key, table in PEAK_TFLOPS.items():
        if key in device:
            return table.get(precision)
    return None


def reset_peak_memory() -> None:
    if tf.config.list_physical_devices("GPU"):
        tf.config.experimental.reset_memory_stats("GPU:0")


def peak_memory_mb() -> float:
    """Peak GPU memory since the last reset, or the process's peak resident memory on a CPU."""
    if tf.config.list_physical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

"""What the benchmark runs on, and the peak throughput it is compared against.

Backend-neutral: on ``KERAS_BACKEND=jax`` nothing here imports TensorFlow (the lent GPU machine's
image has JAX but no TensorFlow, whose wheel is too large to carry there).
"""

from __future__ import annotations

import os
import platform
import resource

# Dense peak TFLOP/s by precision (vendor datasheets, without sparsity).
PEAK_TFLOPS = {
    "H100": {"float32": 67.0, "mixed_float16": 989.0, "mixed_bfloat16": 989.0},  # H100 SXM (TF32 tensor cores: 495)
    "H200": {"float32": 67.0, "mixed_float16": 989.0, "mixed_bfloat16": 989.0},
    "A100": {"float32": 19.5, "mixed_float16": 312.0, "mixed_bfloat16": 312.0},
}


def _jax() -> bool:
    import keras

    return keras.config.backend() == "jax"


def describe() -> dict:
    """Device name, kind, count and library versions."""
    import keras

    info = {"platform": platform.platform(), "python": platform.python_version(), "keras": keras.__version__,
            "backend": keras.config.backend(), "cpus": os.cpu_count()}
    if _jax():
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        info.update(jax=jax.__version__, gpus=len(gpus))
        if gpus:
            info["device"] = gpus[0].device_kind
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        info.update(tensorflow=tf.__version__, gpus=len(gpus))
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            info["device"] = details.get("device_name", "GPU")
            info["compute_capability"] = details.get("compute_capability")
    if not info["gpus"]:
        info["device"] = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return info


def peak_tflops(device: str, precision: str) -> float | None:
    for key, table in PEAK_TFLOPS.items():
        if key in device:
            return table.get(precision)
    return None


def reset_peak_memory() -> None:
    """Start a new peak (TensorFlow on a GPU; JAX keeps one peak per process and cannot)."""
    if not _jax():
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            tf.config.experimental.reset_memory_stats("GPU:0")


def peak_memory_mb() -> float:
    """Peak GPU memory (TensorFlow: since the last reset; JAX: since the process started), or the
    process's peak resident memory on a CPU."""
    if _jax():
        import jax

        stats = jax.devices()[0].memory_stats() if jax.devices()[0].platform == "gpu" else None
        if stats and "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"] / 2**20
    else:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

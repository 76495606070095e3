"""Backend selection: keras_inpaint trains with TensorFlow (``tf.GradientTape``).

Importing this module sets ``KERAS_BACKEND=tensorflow`` unless the user chose a
backend already. Inference layers are written with ``keras.ops`` and would run on
any backend; adversarial training needs TensorFlow.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def require_tensorflow(feature: str) -> None:
    """Raise a clear error if ``feature`` needs TensorFlow and another backend is active."""
    import keras  # imported here so that importing this module stays free of TensorFlow

    if keras.config.backend() != "tensorflow":
        raise RuntimeError(
            f"{feature} needs the TensorFlow backend, but KERAS_BACKEND is "
            f"{keras.config.backend()!r}. Set KERAS_BACKEND=tensorflow before importing keras."
        )

"""The table of built-in presets, gathered from every family's ``*_presets.py``."""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from keras_inpaint.models.deepfill_v2 import deepfill_v2_presets
from keras_inpaint.models.lama import lama_presets
from keras_inpaint.models.migan import migan_presets
from keras_inpaint.models.pconv import pconv_presets
from keras_inpaint.models.pix2pix import pix2pix_presets

_FAMILY_MODULES = (deepfill_v2_presets, lama_presets, migan_presets, pconv_presets, pix2pix_presets)
BUNDLED_PRESET_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "assets", "presets")


def builtin_presets() -> dict[str, dict[str, Any]]:
    """All built-in presets by name (see each family's ``*_presets.py``)."""
    table: dict[str, dict[str, Any]] = {}
    for module in _FAMILY_MODULES:
        table.update(module.PRESETS)
    return table


def family_of_generator(class_name: str) -> tuple[str, str] | None:
    """(family, Hub license id) of a generator class, or None for a class no family uses."""
    for module in _FAMILY_MODULES:
        for entry in module.PRESETS.values():
            if entry["generator"][0] == class_name:
                return entry["family"], module.HUB_LICENSE
    return None


def family_default_preset(class_name: str) -> str:
    """The first built-in preset whose generator is ``class_name``: its family's reference recipe."""
    for name, entry in builtin_presets().items():
        if entry["generator"][0] == class_name:
            return name
    raise KeyError(f"no built-in preset uses generator class {class_name!r}")


def bundled_weights_dir(name: str) -> str | None:
    """The directory of a built-in preset's shipped weights, or None if it has none."""
    entry = builtin_presets()[name]
    if not entry.get("weights"):
        return None
    return os.path.join(BUNDLED_PRESET_DIR, entry["weights"])


def _build(spec: tuple[str, dict]) -> keras.Model:
    class_name, config = spec
    cls = keras.saving.get_registered_object(f"keras_inpaint>{class_name}")
    if cls is None:
        raise KeyError(f"no keras_inpaint class named {class_name!r}")
    return cls(**config)


def build_generator(name: str):
    """Build the generator of a built-in preset with random weights."""
    return _build(builtin_presets()[name]["generator"])


def build_discriminator(name: str) -> keras.Model | None:
    """Build the discriminator of a built-in preset (None for families trained without one)."""
    spec = builtin_presets()[name].get("discriminator")
    return None if spec is None else _build(spec)


def count_parameters(model: keras.Model | None) -> int:
    """Trainable parameters, as PyTorch's ``sum(p.numel() for p in model.parameters())`` counts them."""
    if model is None:
        return 0
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def list_presets(count_parameters_: bool = True) -> list[dict[str, Any]]:
    """The preset table: name, family, parameters (G and D), resolution, description, license.

    Parameter counts are measured by building each model (a few seconds for the large
    ones); pass ``count_parameters_=False`` for the table without them.
    """
    rows = []
    for name, entry in builtin_presets().items():
        row = {
            "name": name,
            "family": entry["family"],
            "resolution": entry["resolution"],
            "description": entry["description"],
            "license": entry["license"],
            "pretrained": bool(entry.get("weights")),
        }
        if count_parameters_:
            row["generator_parameters"] = count_parameters(build_generator(name))
            row["discriminator_parameters"] = count_parameters(build_discriminator(name))
            keras.backend.clear_session()
        rows.append(row)
    return rows

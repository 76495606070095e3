"""The built-in presets of every family, as each family registers them with keras-hub.

A built-in preset is a folder in its family (``models/<family>/presets/<name>/``) named by a
keras-hub preset entry (``metadata`` + ``kaggle_handle``, see each ``*_presets.py``). The folder
is the one owner of the preset's recipe: ``config.json`` (the generator), ``task.json`` (the
training recipe — discriminator, loss weights, optimizers — and the inference settings) and,
where weights ship, ``model.weights.h5``. This module answers which names exist, where their
folders are and which family a generator class belongs to;
:mod:`keras_inpaint.models.preset_loading` reads the folders.
"""

from __future__ import annotations

import json
import os
from types import ModuleType
from typing import Any

from keras_inpaint.models import deepfill_v2, lama, migan, pconv, pix2pix
from keras_inpaint.models.keras_hub_presets import CONFIG_FILE, MODEL_WEIGHTS_FILE

FAMILY_PRESETS: tuple[ModuleType, ...] = (
    deepfill_v2.deepfill_v2_presets, lama.lama_presets, migan.migan_presets,
    pconv.pconv_presets, pix2pix.pix2pix_presets,
)


def builtin_presets() -> dict[str, dict[str, Any]]:
    """Every built-in preset by name: ``{"metadata": {...}, "kaggle_handle": folder}``."""
    table: dict[str, dict[str, Any]] = {}
    for module in FAMILY_PRESETS:
        table.update(module.backbone_presets)
    return table


def preset_dir(name: str) -> str:
    """The folder of a built-in preset."""
    return builtin_presets()[name]["kaggle_handle"]


def has_weights(directory: str) -> bool:
    """Whether a preset folder holds generator weights (built-in architectures may not)."""
    return os.path.exists(os.path.join(directory, MODEL_WEIGHTS_FILE))


def generator_class_name(directory: str) -> str:
    """The generator class a preset folder's ``config.json`` names."""
    with open(os.path.join(directory, CONFIG_FILE), encoding="utf-8") as f:
        return json.load(f)["class_name"]


def _family_module(class_name: str) -> ModuleType | None:
    for module in FAMILY_PRESETS:
        if any(generator_class_name(entry["kaggle_handle"]) == class_name
               for entry in module.backbone_presets.values()):
            return module
    return None


def family_of_generator(class_name: str) -> tuple[str, str] | None:
    """(family, Hub license id) of a generator class, or None for a class no family uses."""
    module = _family_module(class_name)
    return None if module is None else (module.FAMILY, module.HUB_LICENSE)


def family_reference_preset(class_name: str) -> str | None:
    """The first built-in preset of a generator class's family: the recipe a preset saved
    without one (an ``Inpainter``'s) trains with. None for a class no family uses."""
    module = _family_module(class_name)
    return None if module is None else next(iter(module.backbone_presets))

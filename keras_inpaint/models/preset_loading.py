"""Resolve a preset (built-in name, directory, ``hf://``) and build a task from its files.

Every preset, built-in or not, is a keras-hub preset folder: ``config.json`` (the generator),
``task.json`` (an ``InpaintingGAN``'s recipe — discriminator, loss weights, optimizers — and the
inference settings, or an ``Inpainter``'s settings alone), ``model.weights.h5`` and, for a GAN,
``task.weights.h5`` (the discriminator). A built-in name is only a registered handle of such a
folder, so a preset gives the same models by name, as the folder it saves to, and through the Hub.

Loading never runs code from a preset: configs are JSON deserialised by Keras in safe
mode, only classes registered by Keras or keras_inpaint are accepted, and weights are
read from ``.weights.h5`` files.
"""

from __future__ import annotations

import difflib
import json
import os
import warnings
from typing import Callable, Iterable

import keras
import numpy as np

from keras_inpaint.errors import PresetError
from keras_inpaint.hub_download import HF_SCHEME, download_preset
from keras_inpaint.models import registry
from keras_inpaint.models.keras_hub_presets import (
    CONFIG_FILE,
    MODEL_WEIGHTS_FILE,
    TASK_CONFIG_FILE,
    TASK_WEIGHTS_FILE,
    get_preset_loader,
)
from keras_inpaint.models.networks import InpaintingGenerator


def _check_classes(config, source: str) -> None:
    """Refuse configs naming classes outside Keras and keras_inpaint (and Lambda layers)."""
    if isinstance(config, dict):
        module = config.get("module")
        registered = config.get("registered_name")
        class_name = config.get("class_name")
        if "class_name" in config:
            ours = isinstance(registered, str) and registered.startswith("keras_inpaint>")
            keras_builtin = module is None or (isinstance(module, str) and module.split(".")[0] == "keras")
            if class_name in ("Lambda", "__lambda__") or not (ours or keras_builtin):
                raise PresetError(
                    f"{source} names class {class_name!r} (module {module!r}, registered as {registered!r}), "
                    "which is neither a Keras nor a keras_inpaint class. Presets may only use those; "
                    "loading never runs code from a preset."
                )
        for value in config.values():
            _check_classes(value, source)
    elif isinstance(config, list):
        for value in config:
            _check_classes(value, source)


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise PresetError(f"{path} is not valid JSON: {e}") from e


def resolve_preset(preset: str, revision: str | None = None) -> tuple[str, bool]:
    """Return (local preset directory, whether it is a built-in preset)."""
    if not isinstance(preset, (str, os.PathLike)):
        raise PresetError(f"a preset must be a name, a directory or 'hf://org/name'; got {type(preset).__name__}.")
    preset = os.fspath(preset)
    builtin = registry.builtin_presets()
    if preset in builtin:
        return builtin[preset]["kaggle_handle"], True
    if preset.startswith(HF_SCHEME):
        return download_preset(preset, revision=revision), False
    if os.path.isdir(preset):
        return preset, False
    if os.path.exists(preset):
        raise PresetError(f"preset {preset!r} is a file; a preset is a directory with config.json and weights.")
    close = difflib.get_close_matches(preset, list(builtin), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise PresetError(
        f"unknown preset {preset!r}: not a built-in name, an existing directory or an 'hf://org/name' handle.{hint} "
        "keras_inpaint.list_presets() lists the built-in names."
    )


def _require_files(preset_dir: str, weights_required: bool) -> None:
    required = (CONFIG_FILE, MODEL_WEIGHTS_FILE) if weights_required else (CONFIG_FILE,)
    missing = [f for f in required if not os.path.exists(os.path.join(preset_dir, f))]
    if missing:
        raise PresetError(
            f"preset directory {preset_dir!r} is missing {', '.join(missing)}; save one with "
            "model.save_to_preset(directory)."
        )


def _load_weights(model: keras.Model, path: str, what: str) -> None:
    try:
        model.load_weights(path)
    except Exception as e:  # h5py and Keras raise many kinds for a damaged file
        raise PresetError(
            f"could not load the {what} weights from {path}: {type(e).__name__}: {e}. "
            "The file is truncated, corrupt or belongs to another architecture; download or save it again."
        ) from e


def _deserialize(config: dict, source: str) -> keras.Model:
    _check_classes(config, source)
    try:
        return keras.saving.deserialize_keras_object(config, safe_mode=True)
    except PresetError:
        raise
    except Exception as e:
        raise PresetError(f"could not build the model described by {source}: {type(e).__name__}: {e}") from e


def load_generator(preset_dir: str, load_weights: bool = True) -> InpaintingGenerator:
    """Build the generator of a preset directory with keras-hub's loader and load its weights."""
    _require_files(preset_dir, weights_required=load_weights)
    config_path = os.path.join(preset_dir, CONFIG_FILE)
    _check_classes(_read_json(config_path), config_path)
    try:
        loader = get_preset_loader(preset_dir)
        generator_cls = loader.check_backbone_class()
    except ValueError as e:
        raise PresetError(f"{config_path}: {e}") from e
    if not (isinstance(generator_cls, type) and issubclass(generator_cls, InpaintingGenerator)):
        raise PresetError(f"{config_path} describes a {generator_cls.__name__}, not a keras_inpaint generator.")
    try:
        generator = loader.load_backbone(generator_cls, load_weights=False)
    except Exception as e:
        raise PresetError(f"could not build the generator described by {config_path}: {type(e).__name__}: {e}") from e
    if load_weights:
        _load_weights(generator, os.path.join(preset_dir, MODEL_WEIGHTS_FILE), "generator")
    return generator


def read_task_config(preset_dir: str) -> dict | None:
    """A preset's ``task.json`` (checked against the class allow-list), or None without one."""
    path = os.path.join(preset_dir, TASK_CONFIG_FILE)
    if not os.path.exists(path):
        return None
    config = _read_json(path)
    _check_classes(config, path)
    return config


def training_recipe(preset_dir: str, generator_class: str) -> tuple[dict, str | None]:
    """(the GAN config a preset trains with, the folder whose discriminator weights go with it).

    A GAN preset carries its own recipe. A preset saved from an ``Inpainter`` carries none: it
    trains with its family's reference recipe (the family's first built-in preset), with a
    fresh discriminator and its own inference settings.
    """
    own = read_task_config(preset_dir)
    if own is not None and "discriminator" in own["config"]:
        return own["config"], preset_dir
    reference = registry.family_reference_preset(generator_class)
    if reference is None:
        raise PresetError(f"{preset_dir!r} holds no training recipe and {generator_class!r} belongs to no "
                          "family; pass discriminator= and the loss weights.")
    recipe = dict(read_task_config(registry.preset_dir(reference))["config"])
    recipe.update({k: v for k, v in (own or {}).get("config", {}).items() if k != "backbone"})
    return recipe, None


def load_task(cls, preset: str, load_weights: bool = True, revision: str | None = None, **kwargs):
    """Build ``cls`` (``Inpainter`` or ``InpaintingGAN``) from a preset; see ``Inpainter.from_preset``.

    ``cls.inference_settings`` names the constructor arguments read from the preset;
    ``cls.needs_discriminator`` says whether the training recipe is built too. ``kwargs``
    override the preset's values.
    """
    preset_dir, builtin = resolve_preset(preset, revision=revision)
    _require_files(preset_dir, weights_required=not builtin)  # built-in architectures may ship no weights
    if builtin and not registry.has_weights(preset_dir):
        warnings.warn(
            f"preset {preset!r} has no published weights: its architecture is built with RANDOM weights. "
            "Train it (InpaintingGAN.fit) or convert a checkpoint (keras-inpaint convert) before use.",
            stacklevel=3,
        )
        load_weights = False
    generator = load_generator(preset_dir, load_weights=load_weights)
    if not cls.needs_discriminator:
        task_config = (read_task_config(preset_dir) or {}).get("config", {})
        settings = {k: task_config[k] for k in cls.inference_settings if k in task_config}
        return cls(backbone=generator, **{**settings, **kwargs})
    recipe, weights_dir = training_recipe(preset_dir, type(generator).__name__)
    config = {k: v for k, v in recipe.items() if k not in ("backbone", "name")}
    config["discriminator"] = kwargs.pop("discriminator", None) or _deserialize(config["discriminator"], preset_dir)
    if config.get("perceptual_model"):
        config["perceptual_model"] = _deserialize(config["perceptual_model"], preset_dir)
    task = cls.from_config({**config, **kwargs, "backbone": generator})
    weights = None if weights_dir is None else os.path.join(weights_dir, TASK_WEIGHTS_FILE)
    if load_weights and weights and os.path.exists(weights) and "discriminator" not in kwargs:
        try:
            task.load_task_weights(weights)
        except Exception as e:
            raise PresetError(f"could not load the discriminator weights from {weights}: {type(e).__name__}: {e}") from e
    return task


def count_parameters(model: keras.Model | None) -> int:
    """Trainable parameters, as PyTorch's ``sum(p.numel() for p in model.parameters())`` counts them."""
    if model is None:
        return 0
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def list_presets(count_parameters_: bool = False, progress: Callable[..., Iterable] | None = None) -> list[dict]:
    """The preset table: name, family, resolution, description, license, whether weights ship,
    and the trainable parameters of G and D (:func:`count_parameters`).

    The counts are those recorded in each preset's metadata (``*_presets.py``; a test checks
    them against the built models). ``count_parameters_=True`` builds every model to count them
    instead (seconds for the large ones); ``progress`` wraps that loop (a progress bar).
    """
    entries = list(registry.builtin_presets().items())
    if count_parameters_ and progress is not None:
        entries = progress(entries, total=len(entries), what="counting parameters", unit="preset")
    rows = []
    for name, entry in entries:
        directory = entry["kaggle_handle"]
        row = {"name": name, **entry["metadata"], "pretrained": registry.has_weights(directory)}
        if count_parameters_:
            generator = load_generator(directory, load_weights=False)
            recipe, _ = training_recipe(directory, type(generator).__name__)
            row["generator_parameters"] = count_parameters(generator)
            row["discriminator_parameters"] = count_parameters(_deserialize(recipe["discriminator"], directory))
            keras.backend.clear_session()
        rows.append(row)
    return rows

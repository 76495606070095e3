"""Resolve a preset (built-in name, directory, ``hf://``) and build an Inpainter from it.

Loading never runs code from a preset: configs are JSON deserialised by Keras in safe
mode, only classes registered by Keras or keras_inpaint are accepted, and weights are
read from ``.weights.h5`` files.
"""

from __future__ import annotations

import difflib
import json
import os
import warnings

import keras
from keras_hub.src.utils import preset_utils

from keras_inpaint.errors import PresetError
from keras_inpaint.models import registry

HF_SCHEME = "hf://"


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


def resolve_preset(preset: str, revision: str | None = None) -> tuple[str | None, str | None]:
    """Return (local preset directory or None, built-in name or None).

    A built-in name without shipped weights returns (None, name).
    """
    if not isinstance(preset, (str, os.PathLike)):
        raise PresetError(f"a preset must be a name, a directory or 'hf://org/name'; got {type(preset).__name__}.")
    preset = os.fspath(preset)
    builtin = registry.builtin_presets()
    if preset in builtin:
        return registry.bundled_weights_dir(preset), preset
    if preset.startswith(HF_SCHEME):
        from keras_inpaint.hub import download_preset

        return download_preset(preset, revision=revision), None
    if os.path.isdir(preset):
        return preset, None
    if os.path.exists(preset):
        raise PresetError(f"preset {preset!r} is a file; a preset is a directory with config.json and weights.")
    close = difflib.get_close_matches(preset, list(builtin), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise PresetError(
        f"unknown preset {preset!r}: not a built-in name, an existing directory or an 'hf://org/name' handle.{hint} "
        "keras_inpaint.list_presets() lists the built-in names."
    )


def _require_files(preset_dir: str) -> None:
    missing = [f for f in (preset_utils.CONFIG_FILE, preset_utils.MODEL_WEIGHTS_FILE) if not os.path.exists(os.path.join(preset_dir, f))]
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


def _deserialize(config: dict, source: str, **overrides) -> keras.Model:
    _check_classes(config, source)
    config = dict(config)
    config["config"] = {**config["config"], **overrides}
    try:
        with keras.saving.custom_object_scope({}):
            return keras.saving.deserialize_keras_object(config, safe_mode=True)
    except PresetError:
        raise
    except Exception as e:
        raise PresetError(f"could not build the model described by {source}: {type(e).__name__}: {e}") from e


def load_generator(preset_dir: str, load_weights: bool = True, **overrides):
    """Build the generator of a preset directory with keras-hub's loader and load its weights."""
    from keras_inpaint.models.networks import InpaintingGenerator

    _require_files(preset_dir)
    config_path = os.path.join(preset_dir, preset_utils.CONFIG_FILE)
    _check_classes(_read_json(config_path), config_path)
    try:
        loader = preset_utils.get_preset_loader(preset_dir)
        generator_cls = loader.check_backbone_class()
    except ValueError as e:
        raise PresetError(f"{config_path}: {e}") from e
    if not (isinstance(generator_cls, type) and issubclass(generator_cls, InpaintingGenerator)):
        raise PresetError(f"{config_path} describes a {generator_cls.__name__}, not a keras_inpaint generator.")
    try:
        generator = loader.load_backbone(generator_cls, load_weights=False, **overrides)
    except Exception as e:
        raise PresetError(f"could not build the generator described by {config_path}: {type(e).__name__}: {e}") from e
    if load_weights:
        _load_weights(generator, os.path.join(preset_dir, preset_utils.MODEL_WEIGHTS_FILE), "generator")
    return generator


def _gan_kwargs(builtin_name: str | None, generator, kwargs: dict) -> dict:
    """A GAN's arguments: a built-in preset's loss settings under the caller's, and a discriminator
    (the caller's, the preset's, or the generator family's default)."""
    if builtin_name is not None:
        kwargs = {**registry.builtin_presets()[builtin_name].get("gan", {}), **kwargs}
        if "discriminator" not in kwargs:
            discriminator = registry.build_discriminator(builtin_name)
            if discriminator is not None:
                kwargs["discriminator"] = discriminator
    if "discriminator" not in kwargs:
        kwargs["discriminator"] = registry.build_discriminator(registry.family_default_preset(type(generator).__name__))
    return kwargs


INFERENCE_KEYS = ("working_size", "blend")


def _inference_kwargs(preset_dir: str | None) -> dict:
    """``Inpainter.inpaint``'s defaults carried by a preset directory's ``task.json``
    (``working_size``, ``blend``); none for a preset without one."""
    task_path = os.path.join(preset_dir, preset_utils.TASK_CONFIG_FILE) if preset_dir else None
    if task_path and os.path.exists(task_path):
        config = _read_json(task_path).get("config", {})
        return {key: config[key] for key in INFERENCE_KEYS if key in config}
    return {}


def load_task(cls, preset: str, load_weights: bool = True, revision: str | None = None, **kwargs):
    """Build ``cls`` (Inpainter or InpaintingGAN) from a preset; see ``Inpainter.from_preset``."""
    from keras_inpaint.models.inpainting_gan import InpaintingGAN

    preset_dir, builtin_name = resolve_preset(preset, revision=revision)
    kwargs = {**_inference_kwargs(preset_dir), **kwargs}
    wants_gan = issubclass(cls, InpaintingGAN)
    if preset_dir is None:
        warnings.warn(
            f"preset {builtin_name!r} has no published weights: its {registry.builtin_presets()[builtin_name]['family']} "
            "architecture is built with RANDOM weights. Train it (InpaintingGAN.fit) before use.",
            stacklevel=3,
        )
        generator = registry.build_generator(builtin_name)
        if wants_gan:
            kwargs = _gan_kwargs(builtin_name, generator, kwargs)
        return cls(backbone=generator, **kwargs)

    generator = load_generator(preset_dir, load_weights=load_weights)
    task_path = os.path.join(preset_dir, preset_utils.TASK_CONFIG_FILE)
    task_config = _read_json(task_path) if wants_gan and os.path.exists(task_path) else None
    # An Inpainter's task.json (inference settings, no discriminator) leaves the GAN to be built below.
    if task_config is not None and "discriminator" in task_config.get("config", {}):
        _check_classes(task_config, task_path)
        config = dict(task_config["config"])
        discriminator = kwargs.pop("discriminator", None) or _deserialize(config["discriminator"], task_path)
        config.update(kwargs)
        config.pop("backbone", None)
        config.pop("name", None)
        config["discriminator"] = discriminator
        if config.get("perceptual_model"):
            config["perceptual_model"] = _deserialize(config["perceptual_model"], task_path)
        task = cls.from_config({**config, "backbone": generator})
        weights = os.path.join(preset_dir, preset_utils.TASK_WEIGHTS_FILE)
        if load_weights and os.path.exists(weights):
            try:
                keras.saving.load_weights(task, weights, objects_to_skip=list(generator._flatten_layers()))
            except Exception as e:
                raise PresetError(f"could not load the discriminator weights from {weights}: {type(e).__name__}: {e}") from e
        return task
    if wants_gan:
        kwargs = _gan_kwargs(builtin_name, generator, kwargs)
    return cls(backbone=generator, **kwargs)

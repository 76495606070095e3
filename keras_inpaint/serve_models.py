"""The models a server offers: fixed at start, each loaded once, called one at a time.

:class:`ModelPool` is given preset names, directories or ``hf://`` handles when the server
starts; requests choose among them by name and can never name anything else. A preset is
loaded on its first use (or by :meth:`ModelPool.load`) and then shared by every request. One
lock guards loading and every model call: Keras layers and TensorFlow's eager state are not
meant to be driven from several threads at once, and on a CPU one call already uses every core,
so requests decode and encode images in parallel and take turns on the model.
"""

from __future__ import annotations

import inspect
import os
import threading
from typing import Sequence

import numpy as np

from keras_inpaint.errors import InpaintInputError, PresetError
from keras_inpaint.hub_download import HF_SCHEME
from keras_inpaint.models import registry
from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.models.preset_loading import resolve_preset

# THE place for large-photo strategies: Inpainter.inpaint gains ``hd_strategy`` on another
# branch. Requests may set it only where this library's inpaint accepts it; otherwise the
# model's defaults apply (working size and blend from its preset).
ACCEPTS_HD_STRATEGY = "hd_strategy" in inspect.signature(Inpainter.inpaint).parameters


def _public_name(preset: str) -> str:
    """The name a request uses: a built-in name or a handle as given, a directory by its base
    name (a request never sees, nor sends, a server path)."""
    if preset in registry.builtin_presets() or preset.startswith(HF_SCHEME):
        return preset
    return os.path.basename(os.path.normpath(preset))


def _describe(name: str, directory: str, builtin: bool) -> dict:
    """What ``GET /api/presets`` says about one preset (no server path)."""
    if builtin:
        metadata = registry.builtin_presets()[name]["metadata"]
        return {"name": name, "family": metadata["family"], "license": metadata["license"],
                "description": metadata["description"], "pretrained": registry.has_weights(directory)}
    family = registry.family_of_generator(registry.generator_class_name(directory))
    return {"name": name, "family": family[0] if family else None, "license": family[1] if family else None,
            "description": "a preset given to this server", "pretrained": registry.has_weights(directory)}


class ModelPool:
    """Presets offered by name, each loaded once, every model call under one lock.

    Args:
        presets: built-in names, preset directories or ``hf://org/name[@revision]`` handles,
            resolved now (an unknown one raises :class:`PresetError` before anything is
            served; a handle is downloaded now). The first is the default.
    """

    def __init__(self, presets: Sequence[str]):
        if not presets:
            raise PresetError("give at least one preset to serve.")
        self._sources: dict[str, str] = {}  # what Inpainter.from_preset is given: a built-in name or a folder
        self._descriptions: dict[str, dict] = {}
        for preset in presets:
            directory, builtin = resolve_preset(preset)
            name = _public_name(os.fspath(preset))
            if name in self._sources:
                raise PresetError(f"two presets are named {name!r}; serve folders with distinct names.")
            self._sources[name] = name if builtin else directory
            self._descriptions[name] = _describe(name, directory, builtin)
        self.default = next(iter(self._sources))
        self._models: dict[str, Inpainter] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The presets offered, default first."""
        return list(self._sources)

    def describe(self) -> list[dict]:
        """One dict per preset: name, family, license, description, pretrained (bool), loaded (bool)."""
        return [{**self._descriptions[name], "loaded": name in self._models} for name in self._sources]

    def check(self, name: str | None) -> str:
        """The preset a request asked for (None: the default); an unknown name raises
        :class:`InpaintInputError` naming those offered."""
        if name is None or name == "":
            return self.default
        if name not in self._sources:
            raise InpaintInputError(f"unknown preset {name!r}; this server offers {', '.join(self._sources)}.")
        return name

    def _model(self, name: str) -> Inpainter:
        # Called with self._lock held: a preset is built once even when many requests ask at once.
        if name not in self._models:
            self._models[name] = Inpainter.from_preset(self._sources[name])
        return self._models[name]

    def load(self, name: str | None = None) -> None:
        """Load a preset now (the default if None) instead of on its first request."""
        name = self.check(name)
        with self._lock:
            self._model(name)

    def inpaint(self, name: str | None, image: np.ndarray, mask: np.ndarray, **options) -> np.ndarray:
        """:meth:`Inpainter.inpaint` of preset ``name`` on one image, one call at a time.

        Args:
            image: uint8 (H, W, 3) in [0, 255].
            mask: bool (H, W), True = hole.
            options: ``working_size``, ``blend`` (and ``hd_strategy`` where accepted); left out,
                the preset's settings apply.

        Returns:
            uint8 (H, W, 3); pixels outside the hole equal ``image``'s.
        """
        name = self.check(name)
        with self._lock:
            return self._model(name).inpaint(image, mask, **options)

"""keras_inpaint: a Keras 3 model zoo of image-inpainting GANs.

>>> import keras_inpaint
>>> model = keras_inpaint.Inpainter.from_preset("pix2pix_tiny")      # doctest: +SKIP
>>> filled = model.inpaint(image_uint8, mask)                          # doctest: +SKIP

The public names below are imported on first use (PEP 562): ``import keras_inpaint`` alone
does not import Keras or TensorFlow, so the command line starts (and ``--help`` answers) in a
fraction of a second. ``keras_inpaint.Inpainter`` imports them, backend selection first.
"""

from __future__ import annotations

import importlib

from keras_inpaint import _backend  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
from keras_inpaint.errors import InpaintInputError, PresetError
from keras_inpaint.version import __version__

# Public name -> the module that defines it (a module itself when the value is None).
_LAZY = {
    "data": None,
    "losses": None,
    "masks": None,
    "convert_checkpoint": "keras_inpaint.convert",
    "evaluate": "keras_inpaint.evaluation",
    "upload_preset": "keras_inpaint.hub",
    "Inpainter": "keras_inpaint.models.inpainter",
    "InpaintingGAN": "keras_inpaint.models.inpainting_gan",
    "InpaintingDiscriminator": "keras_inpaint.models.networks",
    "InpaintingGenerator": "keras_inpaint.models.networks",
    "DeepFillV2Generator": "keras_inpaint.models.deepfill_v2",
    "SNPatchGANDiscriminator": "keras_inpaint.models.deepfill_v2",
    "LamaDiscriminator": "keras_inpaint.models.lama",
    "LamaGenerator": "keras_inpaint.models.lama",
    "MiganDiscriminator": "keras_inpaint.models.migan",
    "MiganGenerator": "keras_inpaint.models.migan",
    "PConvGenerator": "keras_inpaint.models.pconv",
    "PatchGANDiscriminator": "keras_inpaint.models.patchgan",
    "Pix2PixGenerator": "keras_inpaint.models.pix2pix",
    "count_parameters": "keras_inpaint.models.preset_loading",
    "list_presets": "keras_inpaint.models.preset_loading",
}

__all__ = sorted([*_LAZY, "InpaintInputError", "PresetError", "__version__"])


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_inpaint' has no attribute {name!r}")
    module_name = _LAZY[name]
    value = (importlib.import_module(f"keras_inpaint.{name}") if module_name is None
             else getattr(importlib.import_module(module_name), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

"""Turn an official checkpoint into a keras_inpaint preset: ``keras-inpaint convert``.

Each family's ``convert`` module maps tensors to its Keras networks; this module reads the file
(:func:`keras_inpaint.checkpoints.read_state_dict`: no torch, no code from the checkpoint is
run), finds the family from the tensor names when none is given, and writes a preset folder an
``Inpainter`` and an ``InpaintingGAN`` load: the converted generator, the converted
discriminator where the checkpoint has one (else the family's reference discriminator, fresh),
the family's reference training recipe, the inference settings of the original code, and the
provenance (work, license, the file's sha256) in ``metadata.json`` and the model card.
The folder appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
from types import ModuleType

from keras_inpaint.checkpoints import read_state_dict, unwrap_state_dict
from keras_inpaint.errors import CheckpointError
from keras_inpaint.hub import render_model_card
from keras_inpaint.models.deepfill_v2 import convert as deepfill_v2_convert
from keras_inpaint.models.inpainting_gan import InpaintingGAN
from keras_inpaint.models.lama import convert as lama_convert
from keras_inpaint.models.migan import convert as migan_convert
from keras_inpaint.models.pix2pix import convert as pix2pix_convert
from keras_inpaint.models.preset_loading import training_recipe
from keras_inpaint.models.registry import family_reference_preset, preset_dir
from keras_inpaint.training import save_preset_atomically

CONVERTERS: dict[str, ModuleType] = {m.FAMILY: m for m in (lama_convert, migan_convert, deepfill_v2_convert, pix2pix_convert)}
# What the original prediction code does that a preset setting expresses (see each INFERENCE).
INFERENCE_SETTINGS = {
    "lama": {"pad_mode": "symmetric"},
    # MIGAN_Pipeline: a square crop around the hole (side >= resolution: the generator's input
    # size), padding 128 as released, the crop's mask shrunk by torchvision's nearest resize. The
    # image keeps image_resize="area": the pipeline shrinks with antialiased bilinear, which an area
    # average approximates and an unfiltered bicubic does not. scripts/demo.py (bicubic resizes, PIL's
    # nearest mask) is image_resize="bicubic", mask_resize="nearest_exact" on top of these.
    "migan": {"hd_strategy": "crop", "crop_margin": 128, "mask_resize": "nearest"},
}


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def detect_family(state: dict) -> str:
    """The family whose tensor names ``state`` has; CheckpointError naming a few keys otherwise."""
    found = [family for family, module in CONVERTERS.items() if module.matches(state)]
    if len(found) != 1:
        shown = ", ".join(repr(k) for k in list(state)[:3])
        raise CheckpointError(f"the tensor names ({shown}, ...) match {'no' if not found else 'several'} known "
                              f"families ({', '.join(CONVERTERS)}); pass --family.")
    return found[0]


def _read(path: str) -> dict:
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist or is not a file.")
    return unwrap_state_dict(read_state_dict(path))


def convert_checkpoint(checkpoint: str, out_dir: str, family: str | None = None,
                       discriminator_checkpoint: str | None = None) -> InpaintingGAN:
    """Convert ``checkpoint`` (and optionally a separate discriminator file, e.g. pix2pix's
    ``latest_net_D.pth``) into the preset folder ``out_dir``; return the GAN written there.

    ``out_dir`` must not exist or be empty; on any error nothing is left there.
    """
    if family is not None and family not in CONVERTERS:
        raise CheckpointError(f"unknown family {family!r}; converters exist for {', '.join(CONVERTERS)}.")
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
        raise CheckpointError(f"{out_dir} exists and is not an empty folder; nothing is overwritten.")
    state = _read(checkpoint)
    family = family or detect_family(state)
    module = CONVERTERS[family]
    if not module.matches(state):
        raise CheckpointError(f"{checkpoint} is not a {family} generator checkpoint (its tensor names do not match).")
    generator = module.convert_generator(state)
    discriminator = module.convert_discriminator(state) if module.DISCRIMINATOR_IN_CHECKPOINT else None
    if discriminator_checkpoint is not None:
        d_state = _read(discriminator_checkpoint)
        if not getattr(module, "is_discriminator", lambda _: False)(d_state):
            raise CheckpointError(f"{discriminator_checkpoint} is not a discriminator checkpoint of {family}.")
        discriminator = module.convert_discriminator(d_state)
    reference = family_reference_preset(type(generator).__name__)
    recipe, _ = training_recipe(preset_dir(reference), type(generator).__name__)
    config = {k: v for k, v in recipe.items() if k not in ("backbone", "name")}
    config.update({"working_size": None, "blend": None, **INFERENCE_SETTINGS.get(family, {}), "backbone": generator})
    if discriminator is not None:
        config["discriminator"] = discriminator
    gan = InpaintingGAN.from_config(config)

    def add_provenance(staging: str) -> None:
        metadata_path = os.path.join(staging, "metadata.json")
        with open(metadata_path, encoding="utf-8") as f:
            metadata = json.load(f)
        metadata["converted_from"] = {
            "family": family, **module.SOURCE, "file": os.path.basename(checkpoint), "sha256": sha256(checkpoint),
            "discriminator": None if discriminator is None else (
                os.path.basename(discriminator_checkpoint) if discriminator_checkpoint else "in the checkpoint"),
        }
        with open(metadata_path, "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=4)
        card = render_model_card(staging, f"converted/{os.path.basename(os.path.normpath(out_dir))}")
        card.save(os.path.join(staging, "README.md"))

    save_preset_atomically(gan, out_dir, finish=add_provenance)
    return gan

"""Convert official pix2pix state dicts (``latest_net_G.pth`` / ``latest_net_D.pth``) to Keras models.

The input is a state dict as a mapping of names to numpy arrays (reading ``.pth`` files is
another module's job). Generator keys are those of pix2pix's ``UnetGenerator``
(``model.model.0.weight``, ``model.model.1.model.1.weight``, ...): the U-Net's level ``i``
lives in the Sequential ``model.model`` (level 0) or ``model.model.1.model`` followed by
``i - 1`` times ``.3.model``. Discriminator keys are those of ``NLayerDiscriminator``
(``model.0.weight`` ... ``model.11.bias`` for the 70x70 ``basic`` one, 22 tensors).

Convolution weights are transposed from PyTorch's (out, in, kh, kw) to Keras's
(kh, kw, in, out); transposed convolutions from PyTorch's (in, out, kh, kw) to Keras's
(kh, kw, out, in) (the same axis permutation; no kernel flip: both frameworks define the
transposed conv as the gradient of their cross-correlation). BatchNorm affine parameters
and running statistics are copied; ``num_batches_tracked`` is ignored and may be absent.
Every tensor must be used and every Keras weight filled, or :class:`CheckpointError`
names the offending tensors.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from keras_inpaint.checkpoints import listed, mismatch_error
from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.patchgan import PatchGANDiscriminator
from keras_inpaint.models.pix2pix.pix2pix_generator import Pix2PixGenerator

FAMILY = "pix2pix"
# Whether the generator checkpoint also holds the discriminator:
# the discriminator is its own file, ``latest_net_D.pth``.
DISCRIMINATOR_IN_CHECKPOINT = False
SOURCE = {
    "work": "pix2pix (Isola et al., CVPR 2017)",
    "code": "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
    "license": "BSD-3-Clause",
    "hub_license": "bsd-3-clause",
}

_BN_KEYS = ("weight", "bias", "running_mean", "running_var")
_BN_OPTIONAL = "num_batches_tracked"
_SHOW = 3  # how many names an error message lists


def _level_prefix(level: int) -> str:
    """The Sequential of U-Net level ``level`` (0 = outermost) in a UnetGenerator state dict."""
    return "model.model" + ".1.model" * min(level, 1) + ".3.model" * max(level - 1, 0)


def _generator_levels(state: Mapping[str, np.ndarray]) -> int:
    """Number of U-Net levels: follow the nesting while a level's down conv exists."""
    if "model.model.0.weight" not in state:
        return 0
    levels = 1
    while f"{_level_prefix(levels)}.1.weight" in state:
        levels += 1
    return levels


def matches(state_dict: Mapping[str, np.ndarray]) -> bool:
    """Whether a state dict looks like a pix2pix ``UnetGenerator`` (``model.model.0.weight``, ...)."""
    keys = set(state_dict)
    return (
        "model.model.0.weight" in keys
        and "model.model.1.model.1.weight" in keys
        and all(k.startswith("model.model.") for k in keys)
    )


def is_discriminator(state_dict: Mapping[str, np.ndarray]) -> bool:
    """Whether a state dict looks like a pix2pix ``NLayerDiscriminator`` (``model.0.weight``, ...)."""
    keys = set(state_dict)
    return (
        {"model.0.weight", "model.0.bias", "model.2.weight", "model.3.running_mean"} <= keys
        and not any(k.startswith("model.1.") for k in keys)  # [1] is the LeakyReLU
        and all(len(k.split(".")) == 3 and k.split(".")[0] == "model" and k.split(".")[1].isdigit() for k in keys)
    )


class _Loader:
    """Hands out state-dict tensors once each and checks their shapes against Keras weights."""

    def __init__(self, state: Mapping[str, np.ndarray], what: str):
        self.state = state
        self.what = what
        self.used: set[str] = set()
        self.missing: list[str] = []
        self.misshaped: list[str] = []

    def _take(self, key: str):
        if key not in self.state:
            self.missing.append(key)
            return None
        self.used.add(key)
        return np.asarray(self.state[key])

    def _assign(self, variable, key: str, value, transform=None):
        if value is None:
            return
        expected = tuple(variable.shape)
        if transform is not None:
            expected = (expected[3], expected[2], expected[0], expected[1])  # back to PyTorch's order
        if tuple(value.shape) != expected:
            self.misshaped.append((key, value.shape, expected))
            return
        if transform is not None:
            value = transform(value)
        variable.assign(value.astype(np.float32))

    def conv(self, layer, prefix: str) -> None:
        """Conv2D or Conv2DTranspose: both permute PyTorch's 4-D weight with (2, 3, 1, 0)."""
        key = f"{prefix}.weight"
        self._assign(layer.kernel, key, self._take(key), lambda w: np.transpose(w, (2, 3, 1, 0)))
        if layer.use_bias:
            key = f"{prefix}.bias"
            self._assign(layer.bias, key, self._take(key))

    def batch_norm(self, layer, prefix: str) -> None:
        variables = (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance)
        for variable, name in zip(variables, _BN_KEYS):
            key = f"{prefix}.{name}"
            self._assign(variable, key, self._take(key))
        if f"{prefix}.{_BN_OPTIONAL}" in self.state:
            self.used.add(f"{prefix}.{_BN_OPTIONAL}")

    def finish(self) -> None:
        error = mismatch_error(self.what, self.missing, set(self.state) - self.used, self.misshaped)
        if error:
            raise error


def _shape(state: Mapping[str, np.ndarray], key: str, ndim: int, what: str) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"not a {what} state dict: no tensor {key!r}.")
    shape = tuple(np.shape(state[key]))
    if len(shape) != ndim:
        raise CheckpointError(f"not a {what} state dict: {key!r} has shape {shape}, expected {ndim} dimensions.")
    return shape


def generator_config(state_dict: Mapping[str, np.ndarray]) -> dict:
    """Pix2PixGenerator arguments read off a ``UnetGenerator`` state dict (ngf, channels, depth)."""
    what = "pix2pix UnetGenerator"
    if not matches(state_dict):
        found = listed(list(state_dict)[:_SHOW], _SHOW) if state_dict else "no tensors"
        raise CheckpointError(f"not a {what} state dict (expected 'model.model.0.weight', ...); found {found}.")
    ngf, in_channels = _shape(state_dict, "model.model.0.weight", 4, what)[:2]
    out_channels = _shape(state_dict, "model.model.3.weight", 4, what)[1]
    levels = _generator_levels(state_dict)
    if in_channels not in (3, 4):
        raise CheckpointError(f"{what}: 'model.model.0.weight' takes {in_channels} input channels; "
                              "only 3 (image) or 4 (image + mask) fit an inpainting generator.")
    if out_channels != 3:
        raise CheckpointError(f"{what}: 'model.model.3.weight' gives {out_channels} output channels; "
                              "an inpainting generator outputs 3 (RGB).")
    if levels < 5:
        raise CheckpointError(f"{what}: found {levels} U-Net levels; pix2pix's UnetGenerator has at least 5.")
    return {"num_downsamplings": levels, "base_filters": int(ngf), "input_channels": int(in_channels), "dropout": 0.5}


def convert_generator(state_dict: Mapping[str, np.ndarray], **overrides) -> Pix2PixGenerator:
    """Build a :class:`Pix2PixGenerator` from a pix2pix ``latest_net_G.pth`` state dict.

    ``overrides`` replace inferred constructor arguments (e.g. ``dropout=0.0``; dropout has
    no weights and is the identity at inference anyway).
    """
    config = {**generator_config(state_dict), **overrides}
    generator = Pix2PixGenerator(**config)
    loader = _Loader(state_dict, "pix2pix UnetGenerator")
    innermost = config["num_downsamplings"] - 1
    for i in range(innermost + 1):
        seq = _level_prefix(i)
        if i == 0:
            loader.conv(generator.get_layer("down0_conv"), f"{seq}.0")
            loader.conv(generator.get_layer("up0_conv"), f"{seq}.3")
        elif i < innermost:
            loader.conv(generator.get_layer(f"down{i}_conv"), f"{seq}.1")
            loader.batch_norm(generator.get_layer(f"down{i}_bn"), f"{seq}.2")
            loader.conv(generator.get_layer(f"up{i}_conv"), f"{seq}.5")
            loader.batch_norm(generator.get_layer(f"up{i}_bn"), f"{seq}.6")
        else:
            loader.conv(generator.get_layer(f"down{i}_conv"), f"{seq}.1")
            loader.conv(generator.get_layer(f"up{i}_conv"), f"{seq}.3")
            loader.batch_norm(generator.get_layer(f"up{i}_bn"), f"{seq}.4")
    loader.finish()
    return generator


def discriminator_config(state_dict: Mapping[str, np.ndarray]) -> dict:
    """PatchGANDiscriminator arguments read off an ``NLayerDiscriminator`` state dict."""
    what = "pix2pix NLayerDiscriminator"
    if not is_discriminator(state_dict):
        found = listed(list(state_dict)[:_SHOW], _SHOW) if state_dict else "no tensors"
        raise CheckpointError(f"not a {what} state dict (expected 'model.0.weight', 'model.0.bias', ...); "
                              f"found {found}.")
    ndf, in_channels = _shape(state_dict, "model.0.weight", 4, what)[:2]
    # Sequential: [0] conv, [1] LeakyReLU, then (conv, BatchNorm, LeakyReLU) per layer, then the logits conv.
    convs = sorted(int(k.split(".")[1]) for k in state_dict if k.endswith(".weight") and np.ndim(state_dict[k]) == 4)
    num_layers = len(convs) - 2
    if num_layers < 1:
        raise CheckpointError(f"{what}: found {len(convs)} convolutions; expected at least 3.")
    return {"base_filters": int(ndf), "num_layers": num_layers, "input_channels": int(in_channels),
            "padding": 1, "norm": "batch", "bias_with_norm": False}


def convert_discriminator(state_dict: Mapping[str, np.ndarray]) -> PatchGANDiscriminator:
    """Build a :class:`PatchGANDiscriminator` from a pix2pix ``latest_net_D.pth`` state dict.

    pix2pix's D is conditional: its 6 input channels are concat(A, B) = (masked input image,
    real or generated image), A first.
    """
    config = discriminator_config(state_dict)
    discriminator = PatchGANDiscriminator(**config)
    loader = _Loader(state_dict, "pix2pix NLayerDiscriminator")
    loader.conv(discriminator.get_layer("layer0_conv"), "model.0")
    for i in range(1, config["num_layers"] + 1):
        loader.conv(discriminator.get_layer(f"layer{i}_conv"), f"model.{3 * i - 1}")
        loader.batch_norm(discriminator.get_layer(f"layer{i}_bn"), f"model.{3 * i}")
    loader.conv(discriminator.get_layer("logits_conv"), f"model.{3 * config['num_layers'] + 2}")
    loader.finish()
    return discriminator

"""Convert official LaMa checkpoints (PyTorch Lightning ``.ckpt``, ``.pth``, ``.npz``) into Keras models.

Usage (the preset is written by :mod:`keras_inpaint.convert`)::

    keras-inpaint convert big-lama/models/best.ckpt ./big_lama_preset

Files are read by :func:`keras_inpaint.checkpoints.read_state_dict`: no torch, no code in the
checkpoint is run. A LaMa training checkpoint (``best.ckpt``) holds the whole training module:
``generator.*`` (``FFCResNetGenerator``), ``discriminator.*`` (``NLayerDiscriminator``) and other
modules (e.g. the ``loss_resnet_pl.*`` perceptual network), which are ignored here. A plain
state dict of the generator alone (no prefix) is accepted too.

Generator: the state-dict names of ``FFCResNetGenerator`` (``model.1.ffc.convl2l.weight``,
``model.5.conv1.ffc.convg2g.fu.bn.running_mean``, ...) are the names of our Keras layers, so
the mapping is one-to-one. Discriminator: ``model{i}.0`` (conv) and ``model{i}.1`` (BatchNorm)
map to ``layer{i}_conv`` / ``layer{i}_bn``, the last ``model{n+1}.0`` to ``logits_conv``.
Convolutions are transposed from (out, in, kh, kw) to (kh, kw, in, out), transposed
convolutions from (in, out, kh, kw) to (kh, kw, out, in); BatchNorm affine parameters and
running statistics are copied (``num_batches_tracked`` is optional and unused). Every
tensor must be used and every Keras weight filled: missing, unexpected or wrongly shaped
tensors stop the conversion with a :class:`~keras_inpaint.errors.CheckpointError` naming them.

The interface every family's converter implements: :data:`FAMILY`, :data:`SOURCE`,
:func:`matches`, :func:`convert_generator`, :func:`convert_discriminator`, :data:`INFERENCE`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import keras
import numpy as np

from keras_inpaint.checkpoints import mismatch_error, read_state_dict, unwrap_state_dict
from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.lama.ffc import split_channels
from keras_inpaint.models.lama.fourier import SpectralTransform
from keras_inpaint.models.lama.lama_discriminator import LamaDiscriminator
from keras_inpaint.models.lama.lama_generator import LamaGenerator

FAMILY = "lama"
# Whether the generator checkpoint also holds the discriminator:
# LaMa's Lightning checkpoint holds ``discriminator.*`` beside ``generator.*``.
DISCRIMINATOR_IN_CHECKPOINT = True
SOURCE = {
    "work": "LaMa (Suvorov et al., WACV 2022)",
    "code": "https://github.com/advimman/lama",
    "license": "Apache-2.0",
    "hub_license": "apache-2.0",
}

INFERENCE = {
    "image": "RGB read as uint8, float32 = uint8 / 255 (range [0, 1])",
    "mask": "8-bit grayscale / 255, padded like the image, then binarized: hole where mask > 0",
    "pad_to_multiple": 8,
    "pad_sides": "bottom and right",
    "pad_mode": "symmetric",
    "pad_minimum": None,
    "generator_input": "concat(image * (1 - mask), mask) on channels (4 channels, [0, 1])",
    "output_activation": "sigmoid",
    "composite": "mask * output + (1 - mask) * image",
    "crop": "back to the unpadded height and width",
    "to_uint8": "np.clip(x * 255, 0, 255).astype('uint8') (truncation, not rounding)",
    "resize": None,
    "refine": False,
    "batchnorm": "eval (running statistics)",
    "batch_size": 1,
    "dtype": "float32",
}
"""What LaMa's ``bin/predict.py`` does with ``configs/prediction/default.yaml`` (out_key
``inpainted``, ``dataset.pad_out_to_modulo: 8``, ``refine: False``), which a converted preset
must reproduce to give LaMa's outputs:

1. image: ``PIL.Image.open(f).convert("RGB")`` -> float32 / 255; mask: ``.convert("L")`` / 255;
2. both padded at the bottom and right to the next multiple of 8 with
   ``np.pad(..., mode="symmetric")`` (edge pixel repeated; no minimum size; no resizing);
3. ``mask = (mask > 0) * 1``, after padding: any non-zero mask pixel is a hole;
4. generator (eval-mode BatchNorm) on ``concat(image * (1 - mask), mask)``; sigmoid output;
5. ``inpainted = mask * output + (1 - mask) * image``, cropped to the original size;
6. saved as ``np.clip(inpainted * 255, 0, 255).astype("uint8")``: truncated, not rounded.

Where keras_inpaint's ``Inpainter`` differs today: it pads with numpy ``reflect`` (edge not
repeated) to at least 2 x 8 = 16 pixels; it rounds to uint8 (LaMa truncates, so hole pixels
can differ by one level); a preset's ``working_size``/``blend`` may downscale or Poisson-blend
(LaMa does neither: use ``working_size=None, blend=None``). Known pixels come back exact in both.
"""

GENERATOR_PREFIX = "generator."
DISCRIMINATOR_PREFIX = "discriminator."
_FIRST_CONV = "model.1.ffc.convl2l.weight"
_BLOCK_KEY = re.compile(r"model\.(\d+)\.conv1\.ffc\.")


def _flat_state(obj: Any) -> dict[str, np.ndarray]:
    """A state dict from a checkpoint object (Lightning dict, nested dict or state dict)."""
    if isinstance(obj, str):
        obj = read_state_dict(obj)
    return unwrap_state_dict(obj)


def generator_state(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The generator's tensors without ``generator.``; a state dict without it is taken whole."""
    if any(k.startswith(GENERATOR_PREFIX) for k in state):
        return {k[len(GENERATOR_PREFIX):]: v for k, v in state.items() if k.startswith(GENERATOR_PREFIX)}
    return dict(state)


def discriminator_state(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The discriminator's tensors without ``discriminator.`` (empty if there are none)."""
    return {k[len(DISCRIMINATOR_PREFIX):]: v for k, v in state.items() if k.startswith(DISCRIMINATOR_PREFIX)}


def matches(state_dict: Any) -> bool:
    """Whether tensor names identify a LaMa ``FFCResNetGenerator`` (with or without ``generator.``)."""
    try:
        state = generator_state(_flat_state(state_dict))
    except CheckpointError:
        return False
    return _FIRST_CONV in state and any(_BLOCK_KEY.match(k) for k in state)


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """Read a LaMa checkpoint file; return the generator's tensors (``generator.`` removed)."""
    return generator_state(_flat_state(read_state_dict(path)))


def _shape(state, key) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"not a LaMa FFCResNetGenerator state dict: no {key!r}.")
    return tuple(np.shape(state[key]))


def infer_config(state: Mapping[str, np.ndarray]) -> dict:
    """LamaGenerator arguments read off a generator state dict's names and shapes."""
    first = _shape(state, _FIRST_CONV)
    if len(first) != 4 or first[1] != 4:
        raise CheckpointError(f"expected a LaMa generator with 4 input channels (image + mask); {_FIRST_CONV} is {first}.")
    convs = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.ffc\.", k))}
    blocks = sorted({int(m.group(1)) for k in state if (m := _BLOCK_KEY.match(k))})
    if not blocks:
        raise CheckpointError("not a LaMa FFCResNetGenerator state dict: no FFC residual blocks ('model.N.conv1.ffc.*').")
    num_downsamplings = len(convs) - 1
    if sorted(convs) != list(range(1, num_downsamplings + 2)) or blocks != list(
            range(num_downsamplings + 2, num_downsamplings + 2 + len(blocks))):
        raise CheckpointError(
            f"LaMa generator layers out of order: convolutions at model.{sorted(convs)}, residual blocks at model.{blocks}."
        )
    block = blocks[0]
    local = _shape(state, f"model.{block}.conv1.ffc.convl2l.weight")[0]
    global_ = _shape(state, f"model.{block}.conv1.ffc.convl2g.weight")[0]
    channels = local + global_
    ratio = global_ / channels
    if split_channels(channels, ratio) != (local, global_):
        raise CheckpointError(f"cannot express the residual blocks' split {local}+{global_} as a global ratio.")
    config = {
        "base_filters": int(first[0]),
        "num_downsamplings": num_downsamplings,
        "num_blocks": len(blocks),
        "global_ratio": ratio,
    }
    if channels != first[0] * 2**num_downsamplings:  # LaMa's max_features cap (1024) was reached
        config["max_filters"] = int(channels)
    return config


def _conv_kernel(weight: np.ndarray) -> np.ndarray:
    return np.transpose(weight, (2, 3, 1, 0))


def _plan_layer(layer, prefix: str, plan: list, batchnorms: list) -> None:
    """Append (checkpoint key, Keras variable, transform) for each weight of ``layer``."""
    if isinstance(layer, SpectralTransform):
        _plan_layer(layer.conv1, f"{prefix}.conv1.0", plan, batchnorms)
        _plan_layer(layer.conv1_bn, f"{prefix}.conv1.1", plan, batchnorms)
        _plan_layer(layer.fu.conv_layer, f"{prefix}.fu.conv_layer", plan, batchnorms)
        _plan_layer(layer.fu.bn, f"{prefix}.fu.bn", plan, batchnorms)
        _plan_layer(layer.conv2, f"{prefix}.conv2", plan, batchnorms)
    elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        # (out, in, kh, kw) -> (kh, kw, in, out); transposed: (in, out, kh, kw) -> (kh, kw, out, in)
        plan.append((f"{prefix}.weight", layer.kernel, _conv_kernel))
        if layer.use_bias:
            plan.append((f"{prefix}.bias", layer.bias, None))
    elif isinstance(layer, keras.layers.BatchNormalization):
        plan += [(f"{prefix}.weight", layer.gamma, None), (f"{prefix}.bias", layer.beta, None),
                 (f"{prefix}.running_mean", layer.moving_mean, None),
                 (f"{prefix}.running_var", layer.moving_variance, None)]
        batchnorms.append(prefix)
    elif layer.weights:
        raise CheckpointError(f"no conversion rule for Keras layer {layer.name!r} ({type(layer).__name__}).")


def _fill(what: str, plan: list, batchnorms: list, state: Mapping[str, np.ndarray]) -> None:
    """Check every planned tensor exists with the right shape and every tensor is planned; then assign."""
    planned = {key for key, _, _ in plan} | {f"{p}.num_batches_tracked" for p in batchnorms}
    missing = [key for key, _, _ in plan if key not in state]
    unexpected = [key for key in state if key not in planned]
    wrong, dtypes, values = [], [], []
    for key, variable, transform in plan:
        if key in missing:
            continue
        value = np.asarray(state[key])
        if not np.issubdtype(value.dtype, np.floating):
            dtypes.append(f"{key!r} has dtype {value.dtype}")
            continue
        value = transform(value) if transform is not None and value.ndim == 4 else value
        if tuple(variable.shape) != value.shape:
            wrong.append((key, np.shape(state[key]), _torch_shape(variable, transform)))
            continue
        values.append((variable, value))
    error = mismatch_error(what, missing, unexpected, wrong, dtypes)
    if error:
        raise error
    for variable, value in values:
        variable.assign(value.astype(np.float32))


def _torch_shape(variable, transform) -> tuple[int, ...]:
    shape = tuple(variable.shape)
    return (shape[3], shape[2], shape[0], shape[1]) if transform is not None and len(shape) == 4 else shape


def load_lama_state_dict(generator: LamaGenerator, state: Mapping[str, np.ndarray]) -> None:
    """Fill ``generator`` from a LaMa generator state dict; every tensor must be used exactly once."""
    plan, batchnorms = [], []
    for layer in generator.layers:
        if layer.weights and not layer.name.startswith("refine."):
            _plan_layer(layer, layer.name, plan, batchnorms)
    _fill("LaMa generator", plan, batchnorms, state)


def convert_generator(state_dict: Any) -> LamaGenerator:
    """A :class:`LamaGenerator` holding a LaMa generator's weights.

    ``state_dict``: a state dict (``generator.``-prefixed keys of a full LaMa checkpoint, or
    the generator's alone), a checkpoint object as :func:`read_state_dict` returns it, or a
    path. Base filters, downsamplings, blocks and global ratio are read off the tensors.
    """
    state = generator_state(_flat_state(state_dict))
    generator = LamaGenerator(**infer_config(state))
    load_lama_state_dict(generator, state)
    return generator


def infer_discriminator_config(state: Mapping[str, np.ndarray]) -> dict:
    """LamaDiscriminator arguments from an ``NLayerDiscriminator`` state dict (no prefix)."""
    if "model0.0.weight" not in state:
        raise CheckpointError("not a LaMa NLayerDiscriminator state dict: no 'discriminator.model0.0.weight'.")
    first = tuple(np.shape(state["model0.0.weight"]))
    if len(first) != 4 or first[2:] != (4, 4):
        raise CheckpointError(f"LaMa's discriminator starts with a 4x4 convolution; model0.0.weight is {first}.")
    indices = sorted({int(m.group(1)) for k in state if (m := re.match(r"model(\d+)\.", k))})
    if indices != list(range(len(indices))) or len(indices) < 3:
        raise CheckpointError(f"LaMa discriminator sequences model{indices} are not model0 .. model(n_layers + 1).")
    return {"base_filters": int(first[0]), "num_layers": len(indices) - 2, "input_channels": int(first[1]),
            "padding": 2, "norm": "batch", "bias_with_norm": True, "max_filters": 512, "unit_range_input": True}


def convert_discriminator(state_dict: Any) -> LamaDiscriminator | None:
    """LaMa's ``NLayerDiscriminator`` from the ``discriminator.*`` tensors; ``None`` if there are none.

    The result judges our [-1, 1] images exactly as LaMa's judged [0, 1] ones
    (``unit_range_input=True``) and caps filters at 512 as LaMa does (``max_filters=512``).
    """
    state = discriminator_state(_flat_state(state_dict))
    if not state:
        return None
    config = infer_discriminator_config(state)
    discriminator = LamaDiscriminator(**config)
    n = config["num_layers"]
    plan, batchnorms = [], []
    for i in range(n + 1):
        _plan_layer(discriminator.get_layer(f"layer{i}_conv"), f"model{i}.0", plan, batchnorms)
        if i > 0:
            _plan_layer(discriminator.get_layer(f"layer{i}_bn"), f"model{i}.1", plan, batchnorms)
    _plan_layer(discriminator.get_layer("logits_conv"), f"model{n + 1}.0", plan, batchnorms)
    _fill("LaMa discriminator", plan, batchnorms, state)
    return discriminator

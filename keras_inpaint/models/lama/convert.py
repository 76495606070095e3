"""Convert an official LaMa generator checkpoint (PyTorch) into a keras_inpaint preset.

Usage::

    python -m keras_inpaint.models.lama.convert big-lama/models/best.ckpt ./big_lama_preset

The state-dict names of LaMa's ``saicinpainting`` ``FFCResNetGenerator`` (``model.1.ffc.convl2l.weight``,
``model.5.conv1.ffc.convg2g.fu.bn.running_mean``, ...) are the names of our Keras layers, so
the mapping is one-to-one: convolutions are transposed from (out, in, kh, kw) to
(kh, kw, in, out), transposed convolutions from (in, out, kh, kw) to (kh, kw, out, in),
BatchNorm statistics are copied. Every tensor must be used and every Keras weight filled,
otherwise the conversion stops and names what is missing.

Reading ``.ckpt``/``.pth`` files needs PyTorch (``pip install keras-inpaint[convert]``) and
uses ``torch.load(weights_only=True)``: no code in the checkpoint is run. A ``.npz`` of the
state dict needs only numpy.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Mapping

import keras
import numpy as np

from keras_inpaint.models.lama.fourier import SpectralTransform
from keras_inpaint.models.lama.lama_generator import LamaGenerator

GENERATOR_PREFIX = "generator."


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """Read a LaMa checkpoint (``.ckpt``/``.pth`` via torch, or ``.npz``) as numpy arrays.

    Lightning checkpoints keep the weights under ``state_dict`` with a ``generator.`` prefix;
    only the generator's tensors are returned, without the prefix.
    """
    if path.endswith(".npz"):
        with np.load(path) as archive:
            state = {k: archive[k] for k in archive.files}
    else:
        try:
            import torch
        except ImportError as e:
            raise ImportError("reading PyTorch checkpoints needs torch: pip install 'keras-inpaint[convert]'") from e
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise ValueError(
                f"{path} cannot be read with torch.load(weights_only=True) ({e}); we never unpickle code. "
                "Save its state_dict alone (torch.save(ckpt['state_dict'], 'weights.pth')) and convert that."
            ) from e
        checkpoint = checkpoint.get("state_dict", checkpoint)
        state = {k: v.detach().cpu().numpy() for k, v in checkpoint.items() if hasattr(v, "detach")}
    if any(k.startswith(GENERATOR_PREFIX) for k in state):
        state = {k[len(GENERATOR_PREFIX):]: v for k, v in state.items() if k.startswith(GENERATOR_PREFIX)}
    return state


def infer_config(state: Mapping[str, np.ndarray]) -> dict:
    """Read LamaGenerator arguments off a state dict's shapes and names."""
    try:
        first = state["model.1.ffc.convl2l.weight"]
    except KeyError as e:
        raise ValueError("not a LaMa FFCResNetGenerator state dict: no 'model.1.ffc.convl2l.weight'.") from e
    if first.shape[1] != 4:
        raise ValueError(f"expected a generator with 4 input channels (image + mask); got {first.shape[1]}.")
    indices = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.ffc\.", k))}
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv1\.ffc\.", k))}
    if not blocks:
        raise ValueError("no FFC residual blocks ('model.N.conv1.ffc.*') in the state dict.")
    block = min(blocks)
    local = state[f"model.{block}.conv1.ffc.convl2l.weight"].shape[0]
    global_ = state[f"model.{block}.conv1.ffc.convl2g.weight"].shape[0]
    return {
        "base_filters": int(first.shape[0]),
        "num_downsamplings": len(indices) - 1,
        "num_blocks": len(blocks),
        "global_ratio": global_ / (local + global_),
    }


def _conv_kernel(weight: np.ndarray) -> np.ndarray:
    return np.transpose(weight, (2, 3, 1, 0))


def _assign(variable, value: np.ndarray, name: str) -> None:
    if tuple(variable.shape) != value.shape:
        raise ValueError(f"{name}: checkpoint shape {value.shape} does not fit Keras weight {tuple(variable.shape)}.")
    variable.assign(value.astype(np.float32))


def _load_layer(layer, prefix: str, state: Mapping[str, np.ndarray], used: set[str]) -> None:
    def take(key):
        full = f"{prefix}.{key}"
        if full not in state:
            raise ValueError(f"the checkpoint has no tensor {full!r} for Keras layer {layer.name!r}.")
        used.add(full)
        return np.asarray(state[full])

    if isinstance(layer, SpectralTransform):
        _load_layer(layer.conv1, f"{prefix}.conv1.0", state, used)
        _load_layer(layer.conv1_bn, f"{prefix}.conv1.1", state, used)
        _load_layer(layer.fu.conv_layer, f"{prefix}.fu.conv_layer", state, used)
        _load_layer(layer.fu.bn, f"{prefix}.fu.bn", state, used)
        _load_layer(layer.conv2, f"{prefix}.conv2", state, used)
    elif isinstance(layer, keras.layers.Conv2DTranspose):  # before Conv2D: it subclasses the base conv
        _assign(layer.kernel, _conv_kernel(take("weight")), prefix)
        if layer.use_bias:
            _assign(layer.bias, take("bias"), prefix)
    elif isinstance(layer, keras.layers.Conv2D):
        _assign(layer.kernel, _conv_kernel(take("weight")), prefix)
        if layer.use_bias:
            _assign(layer.bias, take("bias"), prefix)
    elif isinstance(layer, keras.layers.BatchNormalization):
        _assign(layer.gamma, take("weight"), prefix)
        _assign(layer.beta, take("bias"), prefix)
        _assign(layer.moving_mean, take("running_mean"), prefix)
        _assign(layer.moving_variance, take("running_var"), prefix)
        used.add(f"{prefix}.num_batches_tracked")
    elif layer.weights:
        raise ValueError(f"no conversion rule for Keras layer {layer.name!r} ({type(layer).__name__}).")


def load_lama_state_dict(generator: LamaGenerator, state: Mapping[str, np.ndarray]) -> None:
    """Fill ``generator`` from a LaMa state dict; every tensor must be used exactly once."""
    used: set[str] = set()
    for layer in generator.layers:
        if layer.weights:
            _load_layer(layer, layer.name, state, used)
    unused = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
    if unused:
        raise ValueError(f"{len(unused)} checkpoint tensors have no Keras layer, e.g. {unused[:5]}.")


def convert(checkpoint: str | Mapping[str, np.ndarray], preset_dir: str | None = None):
    """Build a :class:`LamaGenerator` from a LaMa checkpoint; save an Inpainter preset if asked.

    Returns the ``Inpainter``.
    """
    from keras_inpaint.models.inpainter import Inpainter

    state = load_state_dict(checkpoint) if isinstance(checkpoint, str) else dict(checkpoint)
    generator = LamaGenerator(**infer_config(state))
    load_lama_state_dict(generator, state)
    inpainter = Inpainter(generator)
    if preset_dir is not None:
        inpainter.save_to_preset(preset_dir)
    return inpainter


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="LaMa .ckpt/.pth (needs torch) or a .npz of the generator state dict")
    parser.add_argument("preset_dir", help="where to write the keras_inpaint preset")
    args = parser.parse_args(argv)
    if os.path.exists(os.path.join(args.preset_dir, "config.json")):
        parser.error(f"{args.preset_dir} already holds a preset; choose an empty directory.")
    convert(args.checkpoint, args.preset_dir)
    print(f"wrote {args.preset_dir}")


if __name__ == "__main__":
    main()

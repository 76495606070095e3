"""Convert DeepFill v2's official weights (as converted to PyTorch) into a :class:`DeepFillV2Generator`.

The released checkpoints ``states_tf_places2.pth`` / ``states_tf_celebahq.pth`` of
nipponjo/deepfillv2-pytorch are the official TensorFlow weights of DeepFill v2 (Yu et al., ICCV
2019) converted to PyTorch for that repo's ``model/networks_tf.py`` ``Generator``; the file holds
the generator's state dict under the key ``"G"``. Its tensor names (``conv1.conv.weight``,
``conv13_upsample.conv.conv.weight``, ``pmconv6.conv.bias``, ``allconv17.conv.weight``, ...)
are our layer names plus ``.conv`` (``.conv.conv`` for the ``*_upsample`` layers, whose gated
conv follows a nearest x2 upsampling). Convolution kernels go from (out, in, kh, kw) to
(kh, kw, in, out). The repo's other network (``model/networks.py``, keys ``stage1.conv1...``,
its own fine-tuned ``states_pt_*.pth``) is a different layout and is not converted here.

This module gets the inner dict as numpy arrays; reading the file, dispatching between
families and the command line live elsewhere.
"""

from __future__ import annotations

import re
from typing import Mapping

import numpy as np

from keras_inpaint.checkpoints import listed, mismatch_error
from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.deepfill_v2.deepfill_v2_generator import DeepFillV2Generator
from keras_inpaint.models.deepfill_v2.gated_conv import GatedConv2D

FAMILY = "deepfill_v2"
# Whether the generator checkpoint also holds the discriminator:
# the converted official weights hold the generator only.
DISCRIMINATOR_IN_CHECKPOINT = False
SOURCE = {
    "work": "DeepFill v2 (Yu et al., ICCV 2019), weights converted by nipponjo/deepfillv2-pytorch",
    "code": "https://github.com/JiahuiYu/generative_inpainting",
    "license": "CC BY-NC 4.0 (non-commercial use only)",
    "hub_license": "cc-by-nc-4.0",
}

#: What the reference's end-to-end entry point ``Generator.infer`` (networks_tf.py) does, for
#: whoever reproduces it on the pipeline side (``Inpainter`` pads and composites its own way).
INFERENCE = {
    "entry_point": "nipponjo/deepfillv2-pytorch model/networks_tf.py Generator.infer(image, mask)",
    "image": "RGB (3, H, W) float in [0, 1] (ToTensor: uint8 / 255), mapped to image * 2 - 1 in [-1, 1]",
    "mask": "(1, H, W) float in [0, 1], 1 = hole; binarised as mask > 0",
    "crop": "top-left kept, H and W floored to multiples of 8 (no padding, no resizing)",
    "model_input": "cat[image * (1 - mask), ones, mask] (5 channels); DeepFillV2Generator builds it from "
                   "our 4 channels [image * (1 - mask), mask]",
    "inpainted": "image * (1 - mask) + stage2 * mask",
    "stage1": "the coarse output, returned raw (not composited)",
    "to_uint8": "((x + 1) * 127.5) cast to uint8: truncation, not rounding (a known pixel can come back one "
                "level low through float rounding)",
    "size_multiple": 8,
}

_NAME = re.compile(r"^(?:x|pm|all)?conv\d+(?:_downsample|_upsample|_atrous)?\.conv\.(?:conv\.)?(?:weight|bias)$")


def matches(state_dict: Mapping[str, object]) -> bool:
    """Whether a state dict's tensor names are DeepFill v2's ``networks_tf`` generator's.

    True when it has DeepFill v2's first convolution (``conv1.conv.weight``) and at least one
    tensor of a refinement branch (``xconv*``, ``pmconv*`` or ``allconv*``), and most of its
    names follow DeepFill v2's pattern. Shapes and completeness are checked by
    :func:`convert_generator`.
    """
    keys = [k for k in state_dict if isinstance(k, str)]
    if "conv1.conv.weight" not in keys or not any(re.match(r"^(x|pm|all)conv\d", k) for k in keys):
        return False
    return sum(bool(_NAME.match(k)) for k in keys) >= 0.9 * len(keys)


def _expected(generator: DeepFillV2Generator) -> dict[str, tuple[object, tuple[int, ...]]]:
    """State-dict key -> (Keras variable, PyTorch shape) for every weight of the generator."""
    expected = {}
    for layer in generator.layers:
        if not layer.weights:
            continue
        if not isinstance(layer, GatedConv2D):
            raise CheckpointError(f"no conversion rule for Keras layer {layer.name!r} ({type(layer).__name__}).")
        prefix = f"{layer.name}.conv.conv" if layer.name.endswith("_upsample") else f"{layer.name}.conv"
        kh, kw, cin, cout = (int(d) for d in layer.conv.kernel.shape)
        expected[f"{prefix}.weight"] = (layer.conv.kernel, (cout, cin, kh, kw))
        expected[f"{prefix}.bias"] = (layer.conv.bias, (cout,))
    return expected


def convert_generator(state_dict: Mapping[str, np.ndarray]) -> DeepFillV2Generator:
    """Build a :class:`DeepFillV2Generator` from the generator state dict (the ``.pth``'s ``"G"``).

    ``cnum`` is read off ``conv1.conv.weight`` (shape (2 * (cnum // 2), 5, 5, 5)): base_filters =
    cnum / 2. Every tensor must be used and every Keras weight filled with the right shape,
    otherwise :class:`~keras_inpaint.errors.CheckpointError` names the first offenders.
    """
    state = dict(state_dict)
    first = state.get("conv1.conv.weight")
    if first is None:
        unexpected = [k for k in state if not _NAME.match(str(k))]
        hint = f"; it has e.g. {listed(unexpected, 4)}" if unexpected else ""
        raise CheckpointError(f"not a DeepFill v2 generator state dict: missing conv1.conv.weight{hint}.")
    first = np.asarray(first)
    if first.ndim != 4 or first.shape[1:] != (5, 5, 5) or first.shape[0] % 2:
        raise CheckpointError(f"conv1.conv.weight has shape {first.shape}; DeepFill v2's is (2 * (cnum // 2), 5, 5, 5).")
    try:
        generator = DeepFillV2Generator(base_filters=first.shape[0] // 2)
    except ValueError as e:
        raise CheckpointError(f"conv1.conv.weight {first.shape} gives an unsupported width: {e}") from e
    expected = _expected(generator)
    missing = [k for k in expected if k not in state]
    unexpected = [str(k) for k in state if k not in expected]
    wrong = [(k, np.shape(state[k]), shape) for k, (_, shape) in expected.items()
             if k in state and tuple(np.shape(state[k])) != shape]
    error = mismatch_error(f"DeepFill v2 generator (cnum {first.shape[0]})", missing, unexpected, wrong)
    if error:
        raise error
    for key, (variable, _) in expected.items():
        value = np.asarray(state[key], dtype=np.float32)
        if value.ndim == 4:
            value = np.transpose(value, (2, 3, 1, 0))
        variable.assign(value)
    return generator


def convert_discriminator(state_dict: Mapping[str, np.ndarray]) -> None:
    """No DeepFill v2 discriminator weights are published: always None."""
    return None

"""Convert MI-GAN checkpoints (PyTorch state dicts as numpy arrays) into Keras models.

The released checkpoints (``migan_256_places2.pt``, ``migan_512_places2.pt``,
``migan_256_ffhq.pt``) are plain ``state_dict`` s of the inference ``Generator`` of
``lib/model_zoo/migan_inference.py`` (keys such as ``encoder.b256.fromrgb.weight``,
``synthesis.b64.conv1.noise_const``, no prefix). :func:`convert_generator` builds a
:class:`MiganGenerator` with ``layout="official"`` whose layers carry MI-GAN's module names and
copies every tensor: convolutions from (out, in/groups, kh, kw) to Keras's (kh, kw, in, out)
(depthwise ones to (kh, kw, C, 1)), the FIR taps (``*.filter.weight``) into non-trainable
weights, ``noise_strength`` and ``noise_const`` as they are. ``*.upsample.filter_const`` (the
zero-insertion pattern, 1 at even rows and columns) is hard-coded in our upsampling; it is
checked, not copied.

No discriminator weights were released; :func:`convert_discriminator` reads the state dict of
the training ``Discriminator`` of ``lib/model_zoo/migan.py`` (``migan_dw_reparam_d256``/``d512``:
depthwise, 9 reparametrisation tensors ``w0`` ... ``w8`` per convolution) into a
:class:`MiganDiscriminator` with ``layout="official"``, keeping the n tensors as they are.

Reading files (``.pt`` via torch) is done elsewhere; every function here takes a dict of numpy
arrays. A state dict that does not fit (another family's, missing, unexpected or wrongly shaped
tensors) raises :class:`keras_inpaint.errors.CheckpointError` naming the first few.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping

import numpy as np

from keras_inpaint.checkpoints import listed, mismatch_error
from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.migan.migan_discriminator import MiganDiscriminator
from keras_inpaint.models.migan.migan_generator import MiganGenerator, channels_at
from keras_inpaint.models.migan.migan_layers import BlurUpsample, EqualizedDense, ReparamConv2D, SeparableBlock

FAMILY = "migan"
# Whether the generator checkpoint also holds the discriminator:
# the released .pt files are the inference generator alone; a training D comes as a separate file.
DISCRIMINATOR_IN_CHECKPOINT = False
SOURCE = {
    "work": "MI-GAN (Sargsyan et al., ICCV 2023)",
    "code": "https://github.com/Picsart-AI-Research/MI-GAN",
    "license": "MIT",
    "hub_license": "mit",
}

# What the official scripts do around the generator; a converted preset's pipeline needs these
# (facts read from MI-GAN's scripts/demo.py and scripts/create_onnx_pipeline.py at commit ca4df2e).
INFERENCE = {
    "model_input": {
        "official": "concat([mask - 0.5, image * mask], channels), mask first, mask 1 = known, 0 = hole; "
                    "image = uint8 * 2 / 255 - 1",
        "ours": "MiganGenerator(layout='official') takes our [image * (1 - hole), hole] and builds the official "
                "input inside the model (OfficialInput layer)",
        "input_size": "resolution x resolution only (noise_const and filter_const have the block's fixed size); "
                      "our port tiles noise_const at other sizes, which the official model never sees",
    },
    "model_output": "linear RGB, nominally [-1, 1]; both scripts clamp (out * 0.5 + 0.5) to [0, 1]; our official "
                    "layout clips to [-1, 1] at inference, the same thing",
    "mask_reading": {
        "channel": "alpha of RGBA/LA, red of RGB, the image itself if grayscale",
        "invert_mask_flag": "--invert-mask applies 255 - m first",
        "binarise": "every value < 255 becomes 0: only pure white (255) is known",
        "default_polarity": "white = known, black = hole",
    },
    "demo": {  # scripts/demo.py (the README's Quick Test)
        "shrink": "image shrunk so its longer side is at most `resolution` (never enlarged): size "
                  "(int(w * ratio), int(h * ratio)); image PIL bicubic, mask nearest (mask first capped at 512)",
        "resize_to_model": "both resized to resolution x resolution, aspect ratio not kept: image PIL bicubic, "
                           "mask nearest",
        "mask": "mask_uint8 // 255 (1 = known)",
        "postprocess": "(out * 0.5 + 0.5).clamp(0, 1) * 255, cast to uint8 (truncation), HWC",
        "resize_back": "cv2.resize to the shrunk image size, INTER_CUBIC",
        "composite": "img * m + result * (1 - m), hard 0/1 mask m = mask // 255, on uint8-valued arrays",
        "returns": "the shrunk image size, not the original",
        "ours": "a converted preset with image_resize='bicubic' (keras bicubic both ways, clipped) and "
                "mask_resize='nearest_exact' (PIL's nearest); inpaint rounds the generator's output where the "
                "demo truncates it to uint8 before resizing back",
    },
    "pipeline": {  # scripts/create_onnx_pipeline.py, MIGAN_Pipeline (the ONNX "For Developers" pipeline)
        "released": {"resolution": 512, "padding": 128},
        "inputs": "(1,3,H,W) and (1,1,H,W) uint8, mask 255 = known",
        "crop_box": "x_min, x_max = first and last column holding a hole pixel (likewise y); c = (min + max) // 2; "
                    "crop = max(max(x_max - x_min, y_max - y_min) + 2 * padding, resolution); x0 = max(cx - crop // 2, "
                    "0), x1 = min(cx + crop // 2, W); excess = max(crop - (x1 - x0), 0); x0 = max(x0 - excess, 0), "
                    "x1 = min(x1 + excess, W); same for y; crop = [y0:y1, x0:x1]",
        "resize_to_model": "torchvision resize to resolution x resolution: image bilinear on the uint8 tensor "
                           "(antialiased in torchvision >= 0.17), rounded back to uint8; mask nearest; "
                           "identity when the size already matches",
        "normalise": "image * 2 / 255 - 1, mask / 255",
        "postprocess": "((out * 0.5 + 0.5) * 255).clamp(0, 255), bilinear resize (float) to the crop size",
        "blend_mask": "crop mask (0/255 float) dilated by a 3x3 max-pool (stride 1, padding 1: the known region grows "
                      "one pixel), then blurred by a 5x5 kernel, reflect padding 2, taps proportional to "
                      "exp(-((i-2)/2)^2) * exp(-((j-2)/2)^2) normalised to sum 1, then / 255",
        "composite": "crop * m + out * (1 - m), clamp [0, 255], cast to uint8 (truncation), pasted back into the "
                     "full input image",
        "ours": "a converted preset: hd_strategy='crop', crop_margin=padding (128), mask_resize='nearest'; the box is "
                "keras_inpaint.crops.context_box(square=True, min_side=resolution) per hole (MI-GAN takes one box "
                "around all holes); inpaint rounds to uint8 and never changes a known pixel (no blurred blend)",
    },
}

_GEN_ROOT = re.compile(r"^encoder\.b(\d+)\.fromrgb\.weight$")
_DISC_ROOT = re.compile(r"^b(\d+)\.fromrgb\.w0$")

_DOWN_TAPS = np.outer([1.0, 3.0, 3.0, 1.0], [1.0, 3.0, 3.0, 1.0]).astype(np.float32) / 64.0


def _not_this(message: str, names) -> CheckpointError:
    return CheckpointError(f"{message}: {listed(names)}")


def _keys(state_dict) -> list[str]:
    return [k for k in state_dict if isinstance(k, str)]


def matches(state_dict: Mapping[str, np.ndarray]) -> bool:
    """Whether a state dict is an MI-GAN inference ``Generator``'s (the released ``.pt`` files).

    True when it has exactly one ``encoder.b{R}.fromrgb.weight``, a ``synthesis.b4.torgb.weight``
    and nothing outside ``encoder.*`` / ``synthesis.*``. Completeness and shapes are checked by
    :func:`convert_generator`.
    """
    keys = _keys(state_dict)
    roots = [k for k in keys if _GEN_ROOT.match(k)]
    return (len(roots) == 1 and "synthesis.b4.torgb.weight" in keys
            and all(k.startswith(("encoder.b", "synthesis.b")) for k in keys))


def is_discriminator(state_dict: Mapping[str, np.ndarray]) -> bool:
    """Whether a state dict is MI-GAN's training ``Discriminator``'s (``b{R}.fromrgb.w0``, ``b4.fc.weight``, ...)."""
    keys = _keys(state_dict)
    roots = [k for k in keys if _DISC_ROOT.match(k)]
    return (len(roots) == 1 and {"b4.fc.weight", "b4.out.weight"} <= set(keys)
            and all(re.match(r"^b\d+\.", k) for k in keys))


def _infer_widths(widths: dict[int, int], what: str) -> tuple[int, int]:
    """(channel_base, max_channels) with min(channel_base // r, max_channels) == widths[r] for every r."""
    top = max(widths)
    max_channels = max(widths.values())
    channel_base = widths[top] * top
    wrong = [r for r, c in widths.items() if channels_at(r, channel_base, max_channels) != c]
    if wrong:
        raise CheckpointError(
            f"{what}: channel widths {dict(sorted(widths.items()))} are not min(ch_base // r, ch_max) for any "
            f"ch_base, ch_max (MI-GAN's rule)")
    return channel_base, max_channels


def _shape_of(state_dict, key: str) -> tuple:
    try:
        return tuple(np.shape(state_dict[key]))
    except KeyError:
        raise CheckpointError(f"the checkpoint lacks {key!r}, needed to infer the model's size") from None


def _resolution(state_dict, pattern: re.Pattern, what: str) -> int:
    roots = sorted({int(m.group(1)) for k in _keys(state_dict) if (m := pattern.match(k))})
    if len(roots) != 1:
        first = ", ".join(sorted(_keys(state_dict))[:5])
        label = "encoder.b{R}.fromrgb.weight" if what == "generator" else "b{R}.fromrgb.w0"
        raise CheckpointError(f"not an MI-GAN {what} state dict: expected one {label} tensor, found "
                              f"{len(roots)} (first keys: {first})")
    resolution = roots[0]
    if resolution < 8 or resolution & (resolution - 1):
        raise CheckpointError(f"MI-GAN {what}: top resolution {resolution} is not a power of two >= 8")
    return resolution


# --- loading ------------------------------------------------------------------------------------------------------

_TO_KERAS_CONV = (2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)
_TO_KERAS_DEPTHWISE = (2, 3, 0, 1)  # (C, 1, kh, kw) -> (kh, kw, C, 1)


def _torch_shape(variable, transpose) -> tuple:
    shape = tuple(variable.shape)
    if transpose is None:
        return shape
    inverse = np.argsort(transpose)
    return tuple(shape[i] for i in inverse)


class _Entries:
    """Expected state-dict keys: key -> (torch shape, how to use the array)."""

    def __init__(self):
        self.items: dict[str, tuple[tuple, Callable[[np.ndarray], None]]] = {}

    def variable(self, key, variable, transpose=None):
        def assign(value):
            value = np.transpose(value, transpose) if transpose is not None else value
            variable.assign(value.astype(np.float32))
        self.items[key] = (_torch_shape(variable, transpose), assign)

    def constant(self, key, expected: np.ndarray):
        def check(value):
            if not np.array_equal(value.astype(np.float32), expected):
                raise CheckpointError(f"{key} does not hold the constant values our port hard-codes")
        self.items[key] = (tuple(expected.shape), check)


def _load(entries: _Entries, state_dict: Mapping[str, np.ndarray], what: str) -> None:
    given = set(_keys(state_dict))
    missing = [k for k in entries.items if k not in given]
    unexpected = [k for k in given if k not in entries.items]
    wrong = [(k, np.shape(state_dict[k]), shape)
             for k, (shape, _) in entries.items.items() if k in given and tuple(np.shape(state_dict[k])) != shape]
    error = mismatch_error(f"MI-GAN {what}", missing, unexpected, wrong)
    if error:
        raise error
    for key, (_, use) in entries.items.items():
        use(np.asarray(state_dict[key]))


def _generator_entries(generator: MiganGenerator) -> _Entries:
    entries = _Entries()
    for layer in generator.layers:
        name = layer.name
        if isinstance(layer, SeparableBlock):
            entries.variable(f"{name}.conv1.weight", layer.depthwise.kernel, _TO_KERAS_DEPTHWISE)
            entries.variable(f"{name}.conv1.bias", layer.depthwise.bias)
            entries.variable(f"{name}.conv2.weight", layer.pointwise.kernel, _TO_KERAS_CONV)
            if layer.down_filter is not None:
                entries.variable(f"{name}.downsample.filter.weight", layer.down_filter, _TO_KERAS_DEPTHWISE)
            if layer.up_filter is not None:
                entries.variable(f"{name}.upsample.filter.weight", layer.up_filter, _TO_KERAS_DEPTHWISE)
                entries.constant(f"{name}.upsample.filter_const", _filter_const(_block_resolution(name)))
            if layer.noise:
                entries.variable(f"{name}.noise_strength", layer.noise_strength)
                entries.variable(f"{name}.noise_const", layer.noise_const)
        elif isinstance(layer, BlurUpsample):
            prefix = name.rsplit(".", 1)[0]  # synthesis.b{r}
            entries.variable(f"{prefix}.upsample.filter.weight", layer.filter, _TO_KERAS_DEPTHWISE)
            entries.constant(f"{prefix}.upsample.filter_const", _filter_const(_block_resolution(name)))
        elif layer.weights:  # fromrgb, torgb: 1x1 convolutions with bias
            entries.variable(f"{name}.weight", layer.kernel, _TO_KERAS_CONV)
            entries.variable(f"{name}.bias", layer.bias)
    return entries


def _block_resolution(layer_name: str) -> int:
    return int(re.match(r"^\w+\.b(\d+)\.", layer_name).group(1))


def _filter_const(res: int) -> np.ndarray:
    const = np.zeros((1, 1, res, res), np.float32)
    const[..., ::2, ::2] = 1.0
    return const


def generator_config(state_dict: Mapping[str, np.ndarray]) -> dict:
    """MiganGenerator arguments (official layout) read off an MI-GAN generator state dict's names and shapes."""
    resolution = _resolution(state_dict, _GEN_ROOT, "generator")
    log2 = int(np.log2(resolution))
    widths = {2**i: _shape_of(state_dict, f"encoder.b{2**i}.conv1.conv1.weight")[0] for i in range(log2, 1, -1)}
    channel_base, max_channels = _infer_widths(widths, "MI-GAN generator")
    return {"resolution": resolution, "channel_base": channel_base, "max_channels": max_channels, "layout": "official"}


def convert_generator(state_dict: Mapping[str, np.ndarray]) -> MiganGenerator:
    """Build a ``MiganGenerator(layout="official")`` from an MI-GAN inference Generator state dict."""
    if not matches(state_dict):
        if is_discriminator(state_dict):
            raise CheckpointError("this is an MI-GAN discriminator state dict; use convert_discriminator")
        _resolution(state_dict, _GEN_ROOT, "generator")  # names what is wrong
        bad = [k for k in _keys(state_dict) if not k.startswith(("encoder.b", "synthesis.b"))]
        raise _not_this("not an MI-GAN generator state dict (keys outside encoder.*/synthesis.*, or no "
                    "synthesis.b4.torgb.weight)", bad or ["synthesis.b4.torgb.weight"])
    generator = MiganGenerator(**generator_config(state_dict))
    _load(_generator_entries(generator), state_dict, "generator")
    return generator


def _discriminator_entries(discriminator: MiganDiscriminator) -> _Entries:
    entries = _Entries()
    for layer in discriminator.layers:
        name = layer.name
        if isinstance(layer, ReparamConv2D):
            transpose = _TO_KERAS_DEPTHWISE if layer.depthwise else _TO_KERAS_CONV
            for i, tensor in enumerate(layer.tensors):
                entries.variable(f"{name}.w{i}", tensor, transpose)
            if layer.bias is not None:
                entries.variable(f"{name}.bias", layer.bias)
            if layer.down > 1:
                entries.constant(f"{name}.resample_filter", _DOWN_TAPS)
        elif isinstance(layer, EqualizedDense):
            entries.variable(f"{name}.weight", layer.kernel, (1, 0))
            entries.variable(f"{name}.bias", layer.bias)
        elif layer.weights:
            raise AssertionError(f"no conversion rule for {name}")  # a bug of ours, not of the checkpoint
    return entries


def discriminator_config(state_dict: Mapping[str, np.ndarray]) -> dict:
    """MiganDiscriminator arguments (official layout) read off an MI-GAN discriminator state dict."""
    resolution = _resolution(state_dict, _DISC_ROOT, "discriminator")
    n = len([k for k in _keys(state_dict) if re.match(rf"^b{resolution}\.fromrgb\.w\d+$", k)])
    log2 = int(np.log2(resolution))
    widths = {2**i: _shape_of(state_dict, f"b{2**i}.conv1.conv1.w0")[0] for i in range(log2, 2, -1)}
    widths[4] = _shape_of(state_dict, "b4.conv.conv2.w0")[0]
    channel_base, max_channels = _infer_widths(widths, "MI-GAN discriminator")
    return {"resolution": resolution, "channel_base": channel_base, "max_channels": max_channels,
            "layout": "official", "num_reparam_tensors": n}


def convert_discriminator(state_dict: Mapping[str, np.ndarray]) -> MiganDiscriminator:
    """Build a ``MiganDiscriminator(layout="official")`` from MI-GAN's training Discriminator state dict."""
    if not is_discriminator(state_dict):
        if matches(state_dict):
            raise CheckpointError("this is an MI-GAN generator state dict; use convert_generator")
        _resolution(state_dict, _DISC_ROOT, "discriminator")
        bad = [k for k in _keys(state_dict) if not re.match(r"^b\d+\.", k)]
        raise _not_this("not an MI-GAN discriminator state dict (keys outside b{r}.*, or no b4.fc/b4.out)",
                    bad or ["b4.fc.weight", "b4.out.weight"])
    discriminator = MiganDiscriminator(**discriminator_config(state_dict))
    _load(_discriminator_entries(discriminator), state_dict, "discriminator")
    return discriminator

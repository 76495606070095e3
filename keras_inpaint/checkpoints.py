"""Read checkpoints (PyTorch ``.pt``/``.pth``/``.ckpt`` zip files, ``.npz``) as numpy arrays: no torch, no code run.

>>> from keras_inpaint.checkpoints import read_state_dict, unwrap_state_dict
>>> checkpoint = read_state_dict("big-lama/models/best.ckpt")        # doctest: +SKIP
>>> state = unwrap_state_dict(checkpoint)                             # doctest: +SKIP
>>> state["generator.model.1.ffc.convl2l.weight"].shape             # doctest: +SKIP
(64, 4, 7, 7)

**Why torch is not needed.** Since PyTorch 1.6, ``torch.save`` writes a zip archive. Its
``<archive>/data.pkl`` is a pickle of the saved object tree, in which every tensor is the call
``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
backward_hooks[, metadata])`` and every storage a *persistent id*
``("storage", torch.FloatStorage, key, location, numel)`` whose elements are the raw bytes of
``<archive>/data/<key>`` (little-endian unless ``<archive>/byteorder`` says ``big``). All of
that is data: numpy rebuilds each tensor from the storage bytes, its offset, sizes and
strides (made contiguous). float16, float32, float64, the integer types, bool and complex
keep their dtype; bfloat16, which numpy lacks, is widened exactly to float32 (bit shift).

**Why no code in the file is run.** A pickle can run code only by naming a global (the
``GLOBAL``, ``STACK_GLOBAL``, ``INST``, ``OBJ`` and ``EXT*`` opcodes all resolve names
through ``Unpickler.find_class``) and then calling what it got (``REDUCE``, ``NEWOBJ``,
``BUILD``). Our unpickler's ``find_class`` imports nothing. It answers only the names in
:data:`ALLOWED_GLOBALS` and answers each with an object of ours:

- tensors: ``torch._utils._rebuild_tensor_v2``, ``_rebuild_parameter`` and
  ``_rebuild_parameter_with_state`` -> our numpy re-implementations; the ``torch.*Storage``
  types and ``torch.UntypedStorage`` -> dtype tags read by ``persistent_load``, which
  returns storage bytes, nothing else; ``torch.Size`` -> ``tuple``;
- plain containers and scalars: ``builtins`` ``dict list tuple set frozenset int float
  complex str bool``, ``collections`` ``OrderedDict defaultdict``; ``builtins`` ``bytes
  bytearray`` and ``_codecs.encode`` (how protocol 2 pickles bytes) -> re-implementations
  that only turn latin-1 text into bytes (no ``bytes(10**12)``);
  ``numpy.dtype`` and ``numpy.core.multiarray.scalar`` (numpy scalars in hyper-parameters)
  -> re-implementations that accept plain numeric dtypes only;
- the configuration objects of PyTorch Lightning checkpoints (LaMa's ``hyper_parameters``
  and old Lightning callback states) -> :class:`Placeholder` classes that only record the
  arguments and state the pickle hands them and never call into the real library:
  OmegaConf's ``DictConfig``, ``ListConfig``, ``ContainerMetadata``, ``Metadata`` and its
  value nodes (``AnyNode``, ``StringNode``, ``IntegerNode``, ``FloatNode``, ``BooleanNode``,
  ``BytesNode``, ``PathNode``), ``typing`` ``Any Dict List Tuple Optional Union``,
  ``pathlib`` paths, and Lightning's ``ModelCheckpoint`` / ``EarlyStopping`` classes (dict
  keys of the callback states). :func:`plain_config` turns them into dicts and lists.

Any other global (``os.system``, ``posix.system``, ``builtins.eval``, ``subprocess.Popen``,
``torch.load``, ...) stops the read with :class:`~keras_inpaint.errors.CheckpointError`
before it is called: nothing was executed. So do a truncated or corrupt file, a zip without
``data.pkl`` (e.g. TorchScript), the legacy pre-1.6 (non-zip) torch format, storage bounds
outside the storage and unknown file extensions.
"""

from __future__ import annotations

import _compat_pickle
import collections
import io
import os
import pathlib
import pickle
import re
import struct
import zipfile
import zlib
from typing import Any, Mapping

import numpy as np

from keras_inpaint.errors import CheckpointError

TORCH_EXTENSIONS = (".pt", ".pth", ".ckpt")

# Storage type name -> (numpy dtype the bytes hold, itemsize). bfloat16 is read as uint16 bits.
_STORAGE_DTYPES = {
    "DoubleStorage": "f8",
    "FloatStorage": "f4",
    "HalfStorage": "f2",
    "BFloat16Storage": "bf16",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "b1",
    "ComplexFloatStorage": "c8",
    "ComplexDoubleStorage": "c16",
    "UntypedStorage": "u1",
}

_OMEGACONF = {
    "omegaconf.dictconfig": ("DictConfig",),
    "omegaconf.listconfig": ("ListConfig",),
    "omegaconf.base": ("ContainerMetadata", "Metadata"),
    "omegaconf.nodes": ("AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode", "BytesNode", "PathNode"),
    "typing": ("Any", "Dict", "List", "Tuple", "Optional", "Union"),
    "pathlib": ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"),
    "pytorch_lightning.callbacks.model_checkpoint": ("ModelCheckpoint",),
    "pytorch_lightning.callbacks.early_stopping": ("EarlyStopping",),
    "lightning.pytorch.callbacks.model_checkpoint": ("ModelCheckpoint",),
    "lightning.pytorch.callbacks.early_stopping": ("EarlyStopping",),
}
PLACEHOLDER_GLOBALS = frozenset(f"{module}.{name}" for module, names in _OMEGACONF.items() for name in names)
_BUILTINS = {t.__name__: t for t in (dict, list, tuple, set, frozenset, int, float, complex, str, bool)}


class Placeholder:
    """Stand-in for an object whose class we refuse to import (OmegaConf configs, paths, ...).

    A subclass per global name (``Placeholder.global_name``). Creating one through the pickle
    only records data: ``args`` (constructor arguments) and ``state`` (what ``BUILD`` passed).
    """

    global_name = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args, obj.kwargs, obj.state = args, kwargs, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f"<placeholder {self.global_name}>"


def _placeholder_class(global_name: str) -> type:
    return type(global_name.rsplit(".", 1)[1], (Placeholder,), {"global_name": global_name, "__module__": __name__})


def plain_config(obj: Any) -> Any:
    """Turn placeholders of OmegaConf containers and nodes into plain dicts, lists and values.

    ``DictConfig`` -> dict, ``ListConfig`` -> list, value nodes -> their value, paths -> str,
    ``typing`` names -> their name; tensors and plain data pass through. Interpolations
    (``"${...}"``) stay strings: nothing is resolved.
    """
    if isinstance(obj, Placeholder):
        state = obj.state if isinstance(obj.state, dict) else {}
        kind = obj.global_name
        if kind.endswith(".DictConfig") or kind.endswith(".ListConfig"):
            content = state.get("_content")
            if isinstance(content, dict):
                return {plain_config(k): plain_config(v) for k, v in content.items()}
            if isinstance(content, list):
                return [plain_config(v) for v in content]
            return content  # None, or an interpolation / "???" string
        if kind.startswith("omegaconf.nodes."):
            return plain_config(state.get("_val"))
        if kind.startswith("pathlib."):  # pure paths only join strings; nothing touches the filesystem
            pure = pathlib.PureWindowsPath if "Windows" in kind else pathlib.PurePosixPath
            return str(pure(*(str(a) for a in obj.args)))
        if kind.startswith("typing."):
            return kind
        return obj
    if isinstance(obj, dict):
        return {plain_config(k): plain_config(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain_config(v) for v in obj) if not hasattr(obj, "_fields") else obj
    return obj


class _StorageTag:
    """What ``torch.FloatStorage`` & co. stand for in a pickle: the dtype of a storage's bytes."""

    def __init__(self, name: str):
        self.name, self.dtype = name, _STORAGE_DTYPES[name]

    def __repr__(self):
        return f"<storage type {self.name}>"


class _Storage:
    """One storage's elements: a flat numpy array (bfloat16 as its uint16 bits)."""

    def __init__(self, flat: np.ndarray, bfloat16: bool):
        self.flat, self.bfloat16 = flat, bfloat16


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    """numpy version of ``torch._utils._rebuild_tensor_v2``: a contiguous copy of the view."""
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"a tensor's storage is {type(storage).__name__}, not a storage record.")
    size, stride = tuple(size), tuple(stride)
    if not (_is_int(storage_offset) and storage_offset >= 0 and len(size) == len(stride)
            and all(_is_int(s) and s >= 0 for s in size + stride)):
        raise CheckpointError(f"a tensor has an invalid offset/size/stride ({storage_offset}, {size}, {stride}).")
    flat = storage.flat
    if 0 in size:
        array = np.zeros(size, flat.dtype)
    else:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise CheckpointError(
                f"a tensor (offset {storage_offset}, size {size}, stride {stride}) reaches element {last} "
                f"of a storage of {flat.size}: the file is corrupt."
            )
        view = np.lib.stride_tricks.as_strided(
            flat[storage_offset:], shape=size, strides=tuple(s * flat.itemsize for s in stride), writeable=False
        )
        array = np.array(view, copy=True, order="C")
    if storage.bfloat16:
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


def _byte_string(kind):
    """``bytes``/``bytearray`` as protocol 2 pickles them (``()`` or ``(text, "latin-1")``), not ``bytes(10**12)``."""

    def build(*args):
        if args == ():
            return kind()
        if len(args) in (1, 2) and isinstance(args[0], (bytes, str)):
            return kind(args[0].encode("latin-1") if isinstance(args[0], str) else args[0])
        raise CheckpointError(f"{kind.__name__}{args!r:.40} is not how pickle stores {kind.__name__}; refused.")

    return build


def _codecs_encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise CheckpointError(f"_codecs.encode with {encoding!r} is not how pickle stores bytes; refused.")
    return text.encode("latin-1")


class _NumpyDtype:
    """``numpy.dtype(name, align, copy)`` as pickled; the byte order arrives through BUILD."""

    def __init__(self, name, *unused):
        if not isinstance(name, str) or not re.fullmatch(r"[biufc]\d{1,2}", name):
            raise CheckpointError(f"numpy dtype {name!r} in the pickle is not a plain numeric dtype; refused.")
        self.name, self.order = name, "<"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.order = state[1]


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, _NumpyDtype) or not isinstance(data, bytes):
        raise CheckpointError("numpy.core.multiarray.scalar without a plain dtype and bytes; refused.")
    order = "<" if dtype.order in ("|", "=") else dtype.order
    return np.frombuffer(data, np.dtype(order + dtype.name), count=1)[0].item()


ALLOWED_GLOBALS: dict[str, Any] = {
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
    "torch.Size": tuple,
    "torch.storage.UntypedStorage": _StorageTag("UntypedStorage"),
    **{f"torch.{name}": _StorageTag(name) for name in _STORAGE_DTYPES},
    "collections.OrderedDict": collections.OrderedDict,
    "collections.defaultdict": collections.defaultdict,
    **{f"builtins.{name}": t for name, t in _BUILTINS.items()},
    "builtins.bytes": _byte_string(bytes),
    "builtins.bytearray": _byte_string(bytearray),
    "_codecs.encode": _codecs_encode,
    "numpy.dtype": _NumpyDtype,
    "numpy.core.multiarray.scalar": _numpy_scalar,
    "numpy._core.multiarray.scalar": _numpy_scalar,
    **{name: _placeholder_class(name) for name in sorted(PLACEHOLDER_GLOBALS)},
}
"""Every global a checkpoint's pickle may name, and the object of ours it gets instead."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, load_storage, where: str):
        super().__init__(io.BytesIO(data))
        self._load_storage, self._where = load_storage, where

    def find_class(self, module, name):
        # Protocol 2 (torch.save's) writes Python 2 names, e.g. __builtin__.dict: map them as pickle does.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        key = f"{module}.{name}"
        if key in ALLOWED_GLOBALS:
            return ALLOWED_GLOBALS[key]
        raise CheckpointError(
            f"{self._where}: refused the pickled global '{key}' (not a tensor, storage or plain container); "
            "nothing was executed."
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _StorageTag)
                and isinstance(pid[2], str) and _is_int(pid[4]) and pid[4] >= 0):
            raise CheckpointError(f"{self._where}: unexpected persistent id {pid!r:.80} (not a torch storage).")
        return self._load_storage(pid[1], pid[2], pid[4])


def _read_torch_zip(path: str) -> Any:
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80":  # a bare pickle: torch.save(..., _use_new_zipfile_serialization=False)
        raise CheckpointError(
            f"{path} is in PyTorch's legacy (pre-1.6, non-zip) format, which we do not read; "
            "re-save it with torch>=1.6's default torch.save."
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"{path} is truncated or not a PyTorch zip checkpoint ({e}).") from None
    with archive:
        names = archive.namelist()
        pickles = [n for n in names if re.fullmatch(r"[^/]+/data\.pkl", n)]
        if len(pickles) != 1:
            found = "no" if not pickles else f"{len(pickles)}"
            raise CheckpointError(
                f"{path} holds {found} '<archive>/data.pkl' record(s): not a torch.save checkpoint "
                "(TorchScript archives and other zips are not read)."
            )
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in names:
            byteorder = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise CheckpointError(f"{path}: unknown byte order {byteorder!r}.")
        storages: dict[str, _Storage] = {}

        def load_storage(tag: _StorageTag, key: str, numel: int) -> _Storage:
            if key not in storages:
                record = f"{prefix}data/{key}"
                if record not in names:
                    raise CheckpointError(f"{path}: the storage record {record!r} is missing.")
                raw = archive.read(record)
                bfloat16 = tag.dtype == "bf16"
                dtype = np.dtype("u2" if bfloat16 else tag.dtype)
                if dtype.itemsize > 1:
                    dtype = dtype.newbyteorder("<" if byteorder == "little" else ">")
                count = len(raw) // dtype.itemsize
                if count < numel:
                    raise CheckpointError(f"{path}: storage {record!r} holds {count} elements, the pickle says {numel}.")
                flat = np.frombuffer(raw, dtype=dtype, count=numel).astype(dtype.newbyteorder("="), copy=False)
                storages[key] = _Storage(flat, bfloat16)
            return storages[key]

        try:
            return _RestrictedUnpickler(archive.read(pickles[0]), load_storage, path).load()
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, zlib.error, struct.error, ValueError,
                TypeError, AttributeError, KeyError, IndexError, RecursionError, MemoryError) as e:
            raise CheckpointError(f"{path} is corrupt or truncated: {type(e).__name__}: {e}".splitlines()[0]) from None


def _read_npz(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CheckpointError(f"{path} is not a readable .npz of plain arrays: {e}".splitlines()[0]) from None


def read_state_dict(path: str) -> Any:
    """Read a checkpoint's top-level content with every tensor as a numpy array.

    ``.npz``: a dict of arrays (``allow_pickle=False``). ``.pt``/``.pth``/``.ckpt``: the object
    ``torch.save`` stored (for a Lightning checkpoint, a dict with ``state_dict``,
    ``hyper_parameters``, ``epoch``...), read without torch and without running code (see the
    module docstring). Raises :class:`CheckpointError` for anything unreadable or unsafe.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint file at {path}.")
    extension = os.path.splitext(path)[1].lower()
    if extension == ".npz":
        return _read_npz(path)
    if extension in TORCH_EXTENSIONS:
        return _read_torch_zip(path)
    raise CheckpointError(
        f"{path}: unknown checkpoint extension {extension or '(none)'!r}; expected .npz, " + ", ".join(TORCH_EXTENSIONS) + "."
    )


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, np.ndarray) for v in obj.values())


def unwrap_state_dict(obj: Any) -> dict[str, np.ndarray]:
    """The ``{name: array}`` state dict inside what :func:`read_state_dict` returned.

    A Lightning checkpoint -> its ``state_dict``; a plain state dict -> itself; a dict with a
    single key holding a dict (e.g. ``{"G": {...}}`` of the DeepFill v2 port) -> that dict,
    unwrapped again. Anything else raises :class:`CheckpointError` naming the top-level keys.
    """
    seen = 0
    while isinstance(obj, Mapping) and seen < 8:
        seen += 1
        if _is_state_dict(obj):
            return dict(obj)
        if isinstance(obj.get("state_dict"), Mapping):
            obj = obj["state_dict"]
        elif len(obj) == 1 and isinstance(next(iter(obj.values())), Mapping):
            obj = next(iter(obj.values()))
        else:
            break
    if isinstance(obj, Mapping):
        keys = list(obj)[:8]
        raise CheckpointError(
            f"no state dict found: a dict of {len(obj)} entries that are not all tensors and has no 'state_dict' "
            f"(keys {keys})."
        )
    raise CheckpointError(f"no state dict found: the checkpoint holds a {type(obj).__name__}, not a dict of tensors.")


def listed(names, count: int = 5) -> str:
    """``'a', 'b', 'c' and 4 more``: how a converter's error names tensors (sorted, quoted)."""
    names = sorted(str(n) for n in names)
    more = f" and {len(names) - count} more" if len(names) > count else ""
    return ", ".join(repr(n) for n in names[:count]) + more


def mismatch_error(what: str, missing=(), unexpected=(), wrong_shapes=(), other=()) -> CheckpointError | None:
    """The one-line error of a state dict that does not fit a network, or None if it fits.

    ``wrong_shapes``: ``(name, shape in the checkpoint, expected shape)``; ``other``: further
    problems already phrased (e.g. a tensor's dtype). Every converter reports through this.
    """
    problems = []
    if missing:
        problems.append(f"missing {listed(missing)}")
    if unexpected:
        problems.append(f"unexpected {listed(unexpected)}")
    if wrong_shapes:
        shown = ", ".join(f"{name!r} {tuple(got)} instead of {tuple(expected)}"
                          for name, got, expected in sorted(wrong_shapes)[:3])
        problems.append(f"wrong shape {shown}" + (f" and {len(wrong_shapes) - 3} more" if len(wrong_shapes) > 3 else ""))
    problems.extend(other)
    return CheckpointError(f"{what} state dict does not fit: " + "; ".join(problems) + ".") if problems else None

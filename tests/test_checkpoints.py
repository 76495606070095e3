"""keras_inpaint.checkpoints: torch zip checkpoints read without torch and without running code.

The checkpoints are written here the way ``torch.save`` writes them (zip of ``archive/data.pkl``
+ raw storages), by a pickler whose stand-in classes and functions are emitted as the globals
torch and OmegaConf would emit (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``,
``omegaconf.dictconfig.DictConfig``...). Nothing of torch's or OmegaConf's is needed or copied.
"""

import collections
import io
import os
import pickle
import types
import zipfile

import numpy as np
import pytest

from keras_inpaint.checkpoints import Placeholder, plain_config, read_state_dict, unwrap_state_dict
from keras_inpaint.errors import CheckpointError

# ---------------------------------------------------------------------------------------------
# A torch.save-format writer (no torch): used by these tests and by tests/models/lama.


def _as_global(module, name):
    """Mark a stand-in class/function: the writer pickles it as GLOBAL ``module.name``."""

    def mark(obj):
        obj._pickle_as = (module, name)
        return obj

    return mark


def _stand_in_class(module, name, **attrs):
    return _as_global(module, name)(type(name, (), {"__module__": module, **attrs}))


@_as_global("torch._utils", "_rebuild_tensor_v2")
def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
    raise AssertionError


STORAGE_TYPES = {
    "float32": "FloatStorage", "float16": "HalfStorage", "bfloat16": "BFloat16Storage", "float64": "DoubleStorage",
    "int64": "LongStorage", "int32": "IntStorage", "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
}
_STORAGE_CLASSES = {dtype: _stand_in_class("torch", name) for dtype, name in STORAGE_TYPES.items()}


class Storage:
    """A flat storage: ``data`` (the raw little-endian bytes), its dtype name and element count."""

    def __init__(self, data: bytes, dtype: str, numel: int):
        self.data, self.dtype, self.numel = data, dtype, numel

    @classmethod
    def of(cls, flat: np.ndarray, dtype: str | None = None):
        flat = np.ascontiguousarray(flat).reshape(-1)
        if dtype == "bfloat16":  # flat holds float32 values exactly representable in bfloat16
            bits = (flat.astype("<f4").view("<u4") >> 16).astype("<u2")
            assert np.array_equal((bits.astype(np.uint32) << 16).view(np.float32), flat), "not bfloat16-exact"
            return cls(bits.tobytes(), "bfloat16", flat.size)
        return cls(flat.astype(flat.dtype.newbyteorder("<")).tobytes(), dtype or flat.dtype.name, flat.size)


class Tensor:
    """A tensor as torch pickles it: a view (offset, size, stride in elements) of a storage."""

    def __init__(self, storage: Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __reduce__(self):
        return _rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict())


def tensor(array, dtype: str | None = None) -> Tensor:
    """A contiguous tensor holding ``array`` (its own storage)."""
    array = np.asarray(array)
    strides = tuple(int(np.prod(array.shape[i + 1:])) for i in range(array.ndim))
    return Tensor(Storage.of(array, dtype), 0, array.shape, strides)


class _TorchPickler(pickle._Pickler):  # the pure-Python pickler, to emit our stand-ins' globals
    dispatch = {**pickle._Pickler.dispatch, types.FunctionType: lambda self, obj: self.save_global(obj)}

    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.storage_keys: dict[int, tuple[str, Storage]] = {}

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            key, _ = self.storage_keys.setdefault(id(obj), (str(len(self.storage_keys)), obj))
            return ("storage", _STORAGE_CLASSES[obj.dtype], key, "cpu", obj.numel)
        return None

    def save_global(self, obj, name=None):
        where = obj.__dict__.get("_pickle_as") if hasattr(obj, "__dict__") else None
        if where is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{where[0]}\n{where[1]}\n".encode("utf-8"))
        self.memoize(obj)


def torch_zip_bytes(obj, archive: str = "archive") -> bytes:
    """What ``torch.save(obj, f)`` writes (zip format, protocol 2), with stand-ins for torch's objects."""
    pickled = io.BytesIO()
    pickler = _TorchPickler(pickled)
    pickler.dump(obj)
    return _zip(pickled.getvalue(), {key: s.data for key, s in pickler.storage_keys.values()}, archive)


def _zip(data_pkl: bytes, storages: dict, archive: str = "archive") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", data_pkl)
        z.writestr(f"{archive}/byteorder", "little")
        for key, data in storages.items():
            z.writestr(f"{archive}/data/{key}", data)
        z.writestr(f"{archive}/version", "3\n")
        z.writestr(f"{archive}/.data/serialization_id", "0123456789")
    return out.getvalue()


def write_torch_checkpoint(path, obj, archive: str = "archive") -> str:
    with open(path, "wb") as f:
        f.write(torch_zip_bytes(obj, archive))
    return str(path)


# OmegaConf's classes as they appear in a pickled LaMa config (state = the object's __dict__).
DictConfig = _stand_in_class("omegaconf.dictconfig", "DictConfig")
ListConfig = _stand_in_class("omegaconf.listconfig", "ListConfig")
ContainerMetadata = _stand_in_class("omegaconf.base", "ContainerMetadata")
Metadata = _stand_in_class("omegaconf.base", "Metadata")
AnyNode = _stand_in_class("omegaconf.nodes", "AnyNode")
TypingAny = _stand_in_class("typing", "Any")
ModelCheckpoint = _stand_in_class("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint")
PosixPath = _stand_in_class("pathlib", "PosixPath", __reduce__=lambda self: (type(self), self.parts))


def _new(cls, **state):
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def omegaconf(value, parent=None, key=None):
    """A plain dict/list/value as the OmegaConf object tree LaMa's hyper_parameters pickle holds."""
    if isinstance(value, (dict, list)):
        is_dict = isinstance(value, dict)
        meta = _new(ContainerMetadata, ref_type=TypingAny, object_type=dict if is_dict else list, optional=True,
                    key=key, flags={}, flags_root=False, resolver_cache=collections.defaultdict(dict),
                    key_type=TypingAny, element_type=TypingAny)
        node = _new(DictConfig if is_dict else ListConfig, _metadata=meta, _parent=parent)
        items = value.items() if is_dict else enumerate(value)
        content = {k: omegaconf(v, node, k) for k, v in items}
        node._content = content if is_dict else list(content.values())
        return node
    meta = _new(Metadata, ref_type=TypingAny, object_type=None, optional=True, key=key, flags={}, flags_root=False,
                resolver_cache=collections.defaultdict(dict))
    return _new(AnyNode, _metadata=meta, _parent=parent, _val=value)


def lama_hyper_parameters(ngf=8, n_blocks=2, ndf=8, n_layers=3):
    """A trimmed LaMa training config (configs/training/lama-fourier.yaml's layout)."""
    return {
        "run_title": "test",
        "location": {"data_root_dir": _new(PosixPath, parts=("/", "data", "places")), "out_root_dir": "/tmp/out"},
        "generator": {"kind": "ffc_resnet", "input_nc": 4, "output_nc": 3, "ngf": ngf, "n_downsampling": 3,
                      "n_blocks": n_blocks, "add_out_act": "sigmoid",
                      "init_conv_kwargs": {"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False},
                      "downsample_conv_kwargs": {"ratio_gin": "${generator.init_conv_kwargs.ratio_gout}",
                                                 "ratio_gout": "${generator.downsample_conv_kwargs.ratio_gin}",
                                                 "enable_lfu": False},
                      "resnet_conv_kwargs": {"ratio_gin": 0.75, "ratio_gout": "${generator.resnet_conv_kwargs.ratio_gin}",
                                             "enable_lfu": False}},
        "discriminator": {"kind": "pix2pixhd_nlayer", "input_nc": 3, "ndf": ndf, "n_layers": n_layers},
        "losses": {"l1": {"weight_missing": 0, "weight_known": 10}, "adversarial": {"weight": 10}},
        "optimizers": {"generator": {"kind": "adam", "lr": 0.001}, "discriminator": {"kind": "adam", "lr": 0.0001}},
        "trainer": {"kwargs": {"gpus": [0, 1], "max_epochs": 40}},
    }


def lightning_checkpoint(state: dict, hyper_parameters: dict | None = None, epoch: int = 3) -> dict:
    """What PyTorch Lightning 1.2 (LaMa's) saves: state dict + training state + OmegaConf config."""
    return {
        "epoch": epoch,
        "global_step": 1000 * epoch,
        "pytorch-lightning_version": "1.2.9",
        "state_dict": collections.OrderedDict((k, tensor(v)) for k, v in state.items()),
        "callbacks": {ModelCheckpoint: {"monitor": "val_ssim_fid100_f1_total_mean",
                                        "best_model_score": tensor(np.float32(0.91)),
                                        "best_model_path": "/tmp/out/models/best.ckpt"}},
        "optimizer_states": [{"state": {0: {"step": 10, "exp_avg": tensor(np.ones(3, np.float32))}},
                              "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0]}]}],
        "lr_schedulers": [],
        "hparams_name": "kwargs",
        "hyper_parameters": omegaconf(hyper_parameters or lama_hyper_parameters()),
    }


# ---------------------------------------------------------------------------------------------


def test_plain_state_dict_round_trips_exactly(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "conv.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "bn.running_var": rng.uniform(0.5, 2, 4).astype(np.float32),
        "bn.num_batches_tracked": np.array(7, np.int64),  # 0-d, LongStorage
        "half": rng.standard_normal((2, 5)).astype(np.float16),
        "double": rng.standard_normal(3),
        "mask": np.array([True, False, True]),
        "bytes": np.arange(5, dtype=np.uint8),
        "empty": np.zeros((0, 3), np.float32),
    }
    state = collections.OrderedDict((k, tensor(v)) for k, v in arrays.items())
    # A non-contiguous view at an offset: element [i, j] is flat[3 + i + 5 j] (like a transpose of a slice).
    flat = rng.standard_normal(30).astype(np.float32)
    state["view"] = Tensor(Storage.of(flat), 3, (3, 4), (1, 5))
    # Two tensors sharing one storage (as torch saves views of one parameter).
    shared = Storage.of(np.arange(12, dtype=np.float32))
    state["first_half"], state["second_half"] = Tensor(shared, 0, (6,), (1,)), Tensor(shared, 6, (2, 3), (3, 1))
    bf16 = np.array([1.0, -2.5, 3.140625, 0.0078125, -65536.0], np.float32)
    state["bf16"] = tensor(bf16, "bfloat16")
    path = write_torch_checkpoint(tmp_path / "weights.pth", state)

    loaded = read_state_dict(path)
    assert isinstance(loaded, collections.OrderedDict) and list(loaded) == list(state)
    for key, expected in arrays.items():
        assert loaded[key].dtype == expected.dtype and loaded[key].shape == expected.shape, key
        np.testing.assert_array_equal(loaded[key], expected)
    expected_view = np.array([[flat[3 + i + 5 * j] for j in range(4)] for i in range(3)])
    np.testing.assert_array_equal(loaded["view"], expected_view)
    assert loaded["view"].flags.c_contiguous and loaded["view"].flags.owndata
    np.testing.assert_array_equal(loaded["first_half"], np.arange(6))
    np.testing.assert_array_equal(loaded["second_half"], np.arange(6, 12).reshape(2, 3))
    assert loaded["bf16"].dtype == np.float32
    np.testing.assert_array_equal(loaded["bf16"], bf16)
    assert unwrap_state_dict(loaded) == loaded


def test_lightning_checkpoint_with_omegaconf_hyper_parameters(tmp_path):
    weights = {"generator.model.1.ffc.convl2l.weight": np.full((8, 4, 7, 7), 0.5, np.float32),
               "discriminator.model0.0.bias": np.arange(8, dtype=np.float32)}
    checkpoint = lightning_checkpoint(weights)
    path = write_torch_checkpoint(tmp_path / "best.ckpt", checkpoint, archive="best")  # torch 1.6 named it so
    loaded = read_state_dict(path)
    assert loaded["epoch"] == 3 and loaded["pytorch-lightning_version"] == "1.2.9"
    state = unwrap_state_dict(loaded)
    assert sorted(state) == sorted(weights)
    for key, value in weights.items():
        np.testing.assert_array_equal(state[key], value)
    # The config objects are inert placeholders, readable as plain data.
    hparams = loaded["hyper_parameters"]
    assert isinstance(hparams, Placeholder) and hparams.global_name == "omegaconf.dictconfig.DictConfig"
    config = plain_config(hparams)
    assert config["generator"]["ngf"] == 8 and config["generator"]["n_blocks"] == 2
    assert config["generator"]["resnet_conv_kwargs"]["ratio_gout"] == "${generator.resnet_conv_kwargs.ratio_gin}"
    assert config["discriminator"] == {"kind": "pix2pixhd_nlayer", "input_nc": 3, "ndf": 8, "n_layers": 3}
    assert config["trainer"]["kwargs"]["gpus"] == [0, 1]
    assert config["location"]["data_root_dir"] == "/data/places"
    (callback_key, callback_state), = loaded["callbacks"].items()
    assert isinstance(callback_key, type) and issubclass(callback_key, Placeholder)
    np.testing.assert_array_equal(callback_state["best_model_score"], np.float32(0.91))
    assert loaded["optimizer_states"][0]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_unwrap_state_dict_forms():
    state = {"a.weight": np.zeros(2), "b.bias": np.ones(1)}
    assert unwrap_state_dict(state) == state
    assert unwrap_state_dict({"state_dict": state, "epoch": 1}) is not None
    assert sorted(unwrap_state_dict({"G": state})) == sorted(state)  # the DeepFill v2 port's layout
    assert sorted(unwrap_state_dict({"model": {"G": state}})) == sorted(state)
    with pytest.raises(CheckpointError, match="no state dict found"):
        unwrap_state_dict({"G": state, "D": state, "epoch": 2})
    with pytest.raises(CheckpointError, match="no state dict found"):
        unwrap_state_dict([1, 2])


class _System:  # pickles as GLOBAL posix.system (os.system's real module) + REDUCE
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


_OsSystem = _as_global("os", "system")(lambda *a: None)
_Eval = _as_global("builtins", "eval")(lambda *a: None)
_Popen = _as_global("subprocess", "Popen")(lambda *a: None)


class _Call:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize("payload, refused", [
    ("posix_system", "posix.system"),
    ("os_system", "os.system"),
    ("eval", "builtins.eval"),
    ("popen", "subprocess.Popen"),
])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, payload, refused):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    evil = {
        "posix_system": lambda: _System(command),
        "os_system": lambda: _Call(_OsSystem, command),
        "eval": lambda: _Call(_Eval, f"open({str(marker)!r}, 'w').close()"),
        "popen": lambda: _Call(_Popen, ["touch", str(marker)]),
    }[payload]()
    state = collections.OrderedDict([("conv.weight", tensor(np.ones((2, 2), np.float32))), ("bias", evil)])
    path = write_torch_checkpoint(tmp_path / "evil.pth", state)
    with pytest.raises(CheckpointError) as info:
        read_state_dict(path)
    message = str(info.value)
    assert f"'{refused}'" in message and "nothing was executed" in message and "\n" not in message
    assert not marker.exists()


def test_the_planted_payload_is_live(tmp_path):
    """Control: the builtins.eval payload does run under a plain pickle.loads (so the test above means something)."""
    marker = tmp_path / "ran"
    data = torch_zip_bytes({"x": _Call(_Eval, f"open({str(marker)!r}, 'w').close()")})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        pickle.loads(z.read("archive/data.pkl"))
    assert marker.exists()


def test_truncated_and_corrupt_files(tmp_path):
    data = torch_zip_bytes({"w": tensor(np.arange(64, dtype=np.float32))})
    for cut in (len(data) // 2, len(data) - 10, 100):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated"):
            read_state_dict(str(path))
    # Flipped bytes inside the storage record: the zip's CRC catches it.
    corrupt = bytearray(data)
    start = data.index(np.arange(64, dtype=np.float32).tobytes())
    corrupt[start + 8:start + 16] = b"\xff" * 8
    (tmp_path / "crc.pth").write_bytes(bytes(corrupt))
    with pytest.raises(CheckpointError, match="corrupt"):
        read_state_dict(str(tmp_path / "crc.pth"))
    # A storage shorter than the tensor that views it.
    (tmp_path / "short.pth").write_bytes(
        torch_zip_bytes({"w": Tensor(Storage.of(np.arange(10, dtype=np.float32)), 4, (3, 3), (3, 1))}))
    with pytest.raises(CheckpointError, match="reaches element 12 of a storage of 10"):
        read_state_dict(str(tmp_path / "short.pth"))


def test_other_unreadable_inputs(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        read_state_dict(str(tmp_path / "absent.pth"))
    (tmp_path / "w.safetensors").write_bytes(b"{}")
    with pytest.raises(CheckpointError, match="unknown checkpoint extension '.safetensors'"):
        read_state_dict(str(tmp_path / "w.safetensors"))
    legacy = tmp_path / "legacy.pth"  # torch.save(..., _use_new_zipfile_serialization=False) starts with a pickle
    legacy.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2))
    with pytest.raises(CheckpointError, match="legacy"):
        read_state_dict(str(legacy))
    no_pickle = tmp_path / "script.pt"  # e.g. a TorchScript archive: no data.pkl
    with zipfile.ZipFile(no_pickle, "w") as z:
        z.writestr("archive/constants.pkl", b"")
        z.writestr("archive/code/__torch__.py", b"")
    with pytest.raises(CheckpointError, match="data.pkl"):
        read_state_dict(str(no_pickle))
    missing_storage = tmp_path / "nostorage.pth"
    data = torch_zip_bytes({"w": tensor(np.zeros(3, np.float32))})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        pkl = z.read("archive/data.pkl")
    missing_storage.write_bytes(_zip(pkl, {}))
    with pytest.raises(CheckpointError, match="storage record 'archive/data/0' is missing"):
        read_state_dict(str(missing_storage))


def test_npz(tmp_path):
    arrays = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(3, np.int64)}
    np.savez(tmp_path / "w.npz", **arrays)
    loaded = read_state_dict(str(tmp_path / "w.npz"))
    assert sorted(loaded) == sorted(arrays)
    np.testing.assert_array_equal(loaded["a.weight"], arrays["a.weight"])
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="plain arrays"):
        read_state_dict(str(tmp_path / "objects.npz"))
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 nonsense")
    with pytest.raises(CheckpointError):
        read_state_dict(str(tmp_path / "bad.npz"))


def test_matches_real_torch_save(tmp_path):
    """Only where torch is installed (never required): real torch.save files read the same."""
    torch = pytest.importorskip("torch")
    base = torch.arange(40, dtype=torch.float32).reshape(5, 8)
    tensors = {
        "plain": torch.randn(3, 4, generator=torch.Generator().manual_seed(0)),
        "transposed": base.t(),
        "offset_view": base[1:4, 2:7:2],
        "half": torch.tensor([1.5, -2.25, 65504.0], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16),
        "long": torch.tensor(12, dtype=torch.int64),
        "bool": torch.tensor([True, False]),
    }
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    torch.save({"state_dict": module.state_dict(), "tensors": tensors, "epoch": 1}, tmp_path / "real.ckpt")
    loaded = read_state_dict(str(tmp_path / "real.ckpt"))
    for key, value in tensors.items():
        expected = value.float().numpy() if value.dtype == torch.bfloat16 else value.numpy()
        np.testing.assert_array_equal(loaded["tensors"][key], expected)
        assert loaded["tensors"][key].dtype == expected.dtype
    for key, value in module.state_dict().items():
        np.testing.assert_array_equal(unwrap_state_dict(loaded)[key], value.numpy())

    marker = tmp_path / "pwned"
    torch.save({"x": _System(f"touch {marker}")}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="'posix.system'"):
        read_state_dict(str(tmp_path / "evil.pth"))
    assert not marker.exists()


def test_real_omegaconf_hyper_parameters(tmp_path):
    """Only where torch and omegaconf are installed (never required): a real DictConfig reads as placeholders."""
    torch = pytest.importorskip("torch")
    omegaconf_module = pytest.importorskip("omegaconf")
    import pathlib

    config = omegaconf_module.OmegaConf.create(
        {"generator": {"ngf": 64, "n_blocks": 18, "ratio": "${generator.ngf}"}, "gpus": [0, 1],
         "root": pathlib.PosixPath("/data/places")}, flags={"allow_objects": True})
    torch.save({"state_dict": {"generator.w": torch.ones(2)}, "hyper_parameters": {"config": config},
                "score": np.float64(0.5)}, tmp_path / "best.ckpt")
    loaded = read_state_dict(str(tmp_path / "best.ckpt"))
    assert isinstance(loaded["hyper_parameters"]["config"], Placeholder)
    assert plain_config(loaded["hyper_parameters"]) == {"config": {
        "generator": {"ngf": 64, "n_blocks": 18, "ratio": "${generator.ngf}"}, "gpus": [0, 1], "root": "/data/places"}}
    assert loaded["score"] == 0.5


def test_bytes_as_protocol_2_pickles_them_and_no_huge_allocations(tmp_path):
    state = {"w": tensor(np.zeros(2, np.float32)), "blob": b"\x00\xffabc", "empty": b"", "array": bytearray(b"xy")}
    loaded = read_state_dict(write_torch_checkpoint(tmp_path / "bytes.pth", state))
    assert loaded["blob"] == b"\x00\xffabc" and loaded["empty"] == b"" and loaded["array"] == bytearray(b"xy")
    huge = _as_global("builtins", "bytearray")(lambda *a: None)
    with pytest.raises(CheckpointError, match="not how pickle stores bytearray"):
        read_state_dict(write_torch_checkpoint(tmp_path / "huge.pth", {"x": _Call(huge, 10**12)}))

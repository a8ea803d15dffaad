"""PyTorch's zip checkpoint format, read and written without torch and without running code.

Reading uses an unpickler whose ``find_class`` allows only what a state dict
needs (tensor rebuild functions, storage types, OrderedDict, dtypes), like
``torch.load(weights_only=True)``; anything else is refused before it is
resolved, so a malicious pickle cannot execute. Writing emits the pickle
opcodes for tensors and plain containers directly, so no torch import is needed.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile

from . import backend as B
from ._tensor import Tensor
from .backend import xp
from .serialization import CheckpointError, UnsafeCheckpointError

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "BFloat16Storage": "bfloat16",
}
_DTYPE_STORAGE = {v: k for k, v in _STORAGE_DTYPES.items()}
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
                 "float", "double", "half", "long", "int", "short"}


# ---------------------------------------------------------------- reading
class _StorageType:
    def __init__(self, name):
        if name not in _STORAGE_DTYPES:
            raise UnsafeCheckpointError(f"unsupported tensor storage type torch.{name}")
        self.dtype = B.as_dtype(_STORAGE_DTYPES[name])


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    itemsize = storage.itemsize
    arr = xp.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    ) if size else storage[offset:offset + 1].reshape(())
    t = Tensor._make(xp.array(arr))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data, requires_grad, hooks, *state):
    from .nn.parameter import Parameter

    return Parameter(data, requires_grad=requires_grad)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, records):
        super().__init__(file)
        self._records = records

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name in _TORCH_DTYPES:
            return B.as_dtype(name)
        if module == "torch" and name == "Size":
            return tuple
        raise UnsafeCheckpointError(
            f"refusing to load '{module}.{name}': gradstep only loads tensors, containers and plain "
            "values from torch checkpoints (like torch.load(weights_only=True))"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafeCheckpointError(f"unsupported persistent id {pid!r} in torch checkpoint")
        stype, key = pid[1], pid[2]
        if not isinstance(stype, _StorageType):
            raise UnsafeCheckpointError("storage of an unknown type in torch checkpoint")
        raw = self._records.get(str(key))
        if raw is None:
            raise CheckpointError(f"torch checkpoint is missing the data record for storage {key}")
        return xp.frombuffer(raw, dtype=stype.dtype.np)


def load_torch_zip(data, name):
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"{name}: corrupted torch checkpoint ({e})") from None
    pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if not pkl:
        raise CheckpointError(f"{name}: zip file without data.pkl; not a torch checkpoint")
    prefix = pkl[0][: -len("data.pkl")]
    try:
        byteorder = zf.read(prefix + "byteorder").decode() if prefix + "byteorder" in names else "little"
        if byteorder != "little":
            raise CheckpointError(f"{name}: big-endian torch checkpoints are not supported")
        records = {n[len(prefix) + 5:]: zf.read(n) for n in names if n.startswith(prefix + "data/")}
        return _RestrictedUnpickler(io.BytesIO(zf.read(pkl[0])), records).load()
    except (zipfile.BadZipFile, EOFError, struct.error, pickle.UnpicklingError) as e:
        if isinstance(e, UnsafeCheckpointError):
            raise
        raise CheckpointError(f"{name}: corrupted torch checkpoint ({e})") from None


# ---------------------------------------------------------------- writing
class _PickleWriter:
    """Emits protocol-2 pickle opcodes for tensors and plain containers."""

    def __init__(self):
        self.out = io.BytesIO()
        self.storages = []

    def w(self, b):
        self.out.write(b)

    def global_(self, module, name):
        self.w(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def dump(self, obj):
        self.w(b"\x80\x02")
        self.obj(obj)
        self.w(b".")
        return self.out.getvalue()

    def obj(self, o):
        if o is None:
            self.w(b"N")
        elif o is True:
            self.w(b"\x88")
        elif o is False:
            self.w(b"\x89")
        elif isinstance(o, int):
            self._int(o)
        elif isinstance(o, float):
            self.w(b"G" + struct.pack(">d", o))
        elif isinstance(o, str):
            raw = o.encode("utf-8")
            self.w(b"X" + struct.pack("<I", len(raw)) + raw)
        elif isinstance(o, Tensor):
            self._tensor(o)
        elif isinstance(o, xp.ndarray):
            self._tensor(Tensor._make(o))
        elif isinstance(o, xp.generic):
            self.obj(o.item())
        elif isinstance(o, B.dtype):
            self.global_("torch", o.name)
        elif isinstance(o, tuple):
            self.w(b"(")
            for v in o:
                self.obj(v)
            self.w(b"t")
        elif isinstance(o, list):
            self.w(b"]")
            if o:
                self.w(b"(")
                for v in o:
                    self.obj(v)
                self.w(b"e")
        elif isinstance(o, dict):
            if isinstance(o, collections.OrderedDict):
                self.global_("collections", "OrderedDict")
                self.w(b")R")
            else:
                self.w(b"}")
            if o:
                self.w(b"(")
                for k, v in o.items():
                    self.obj(k)
                    self.obj(v)
                self.w(b"u")
        else:
            raise TypeError(f"cannot write an object of type {type(o).__name__} in torch format")

    def _int(self, v):
        if 0 <= v < 256:
            self.w(b"K" + bytes([v]))
        elif -(2**31) <= v < 2**31:
            self.w(b"J" + struct.pack("<i", v))
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.w(b"\x8a" + bytes([len(raw)]) + raw)

    def _tensor(self, t):
        arr = xp.ascontiguousarray(t._data)
        key = str(len(self.storages))
        self.storages.append(arr)
        is_param = type(t).__name__ == "Parameter"
        if is_param:
            self.global_("torch._utils", "_rebuild_parameter")
            self.w(b"(")
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.w(b"(")
        self.w(b"(")  # persistent id tuple
        self.obj("storage")
        self.global_("torch", _DTYPE_STORAGE[t.dtype.name])
        self.obj(key)
        self.obj("cpu")
        self.obj(int(arr.size))
        self.w(b"tQ")
        self.obj(0)
        self.obj(tuple(arr.shape))
        strides = []
        acc = 1
        for s in reversed(arr.shape):
            strides.append(acc)
            acc *= s
        self.obj(tuple(reversed(strides)))
        self.obj(bool(t.requires_grad) and not is_param)
        self.global_("collections", "OrderedDict")
        self.w(b")R")
        self.w(b"tR")
        if is_param:
            self.obj(bool(t.requires_grad))
            self.global_("collections", "OrderedDict")
            self.w(b")R")
            self.w(b"tR")


def torch_bytes(obj, archive="archive"):
    writer = _PickleWriter()
    pkl = writer.dump(obj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{archive}/data.pkl", pkl)
        zf.writestr(f"{archive}/byteorder", "little")
        for i, arr in enumerate(writer.storages):
            zf.writestr(f"{archive}/data/{i}", arr.tobytes())
        zf.writestr(f"{archive}/version", "3\n")
    return buf.getvalue()

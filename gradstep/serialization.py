"""``gradstep.save`` / ``gradstep.load``: checkpoints that never run code on load.

The native format (``.gs``) is::

    b"GRADSTEP" | u32 version | u64 header length | header (JSON) | data blob | sha256 of all before

The JSON header describes the nested structure (dicts, lists, tuples, numbers,
strings, bools, None, dtypes) and, for each tensor or array, its dtype, shape
and place in the blob. Nothing is unpickled, so loading a file can only ever
produce data. The trailing SHA-256 makes truncation and corruption a clear error.

Writes are atomic: the bytes go to a temporary file in the target's folder,
which is flushed, fsync'ed and renamed over the target, so a process killed
while saving leaves the previous file intact.

``load`` also reads the zip files written by ``torch.save`` (state dicts),
through an unpickler that accepts only tensors, containers and plain values,
like torch's ``weights_only=True``. ``save(obj, path, format="torch")`` writes
such a file for ``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import struct
import tempfile

from . import backend as B
from ._tensor import Tensor
from .backend import xp

MAGIC = b"GRADSTEP"
VERSION = 1
_ALIGN = 64


class CheckpointError(RuntimeError):
    """A file that is not a valid checkpoint: truncated, corrupted, or of an unknown format."""


class UnsafeCheckpointError(CheckpointError):
    """A pickle that asks for something other than tensors and plain containers."""


# ---------------------------------------------------------------- encoding
class _Encoder:
    def __init__(self):
        self.chunks = []
        self.offset = 0
        self.memo = {}

    def add_array(self, arr):
        arr = xp.ascontiguousarray(arr)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        pad = (-self.offset) % _ALIGN
        if pad:
            self.chunks.append(b"\0" * pad)
            self.offset += pad
        start = self.offset
        raw = arr.tobytes()
        self.chunks.append(raw)
        self.offset += len(raw)
        return start, len(raw)

    def encode(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj if -(2**63) <= obj < 2**63 else {"t": "bigint", "v": str(obj)}
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"t": "float", "v": repr(obj)}
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, xp.ndarray):
            start, n = self.add_array(obj)
            return {"t": "ndarray", "dtype": obj.dtype.str, "shape": list(obj.shape), "at": start, "n": n}
        if isinstance(obj, xp.generic):
            return self.encode(obj.item())
        if isinstance(obj, B.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, (bytes, bytearray)):
            start, n = self.add_array(xp.frombuffer(bytes(obj), dtype=xp.uint8))
            return {"t": "bytes", "at": start, "n": n}
        if isinstance(obj, tuple):
            return {"t": "tuple", "v": [self.encode(v) for v in obj]}
        if isinstance(obj, list):
            return {"t": "list", "v": [self.encode(v) for v in obj]}
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            return {"t": kind, "k": [self.encode(k) for k in obj], "v": [self.encode(v) for v in obj.values()]}
        raise TypeError(
            f"gradstep.save cannot store an object of type {type(obj).__name__}; it stores tensors, "
            "NumPy arrays, numbers, strings, bools, None and dicts/lists/tuples of them"
        )

    def _tensor(self, t):
        key = id(t)
        if key in self.memo:
            return {"t": "ref", "v": self.memo[key]}
        ref = len(self.memo)
        self.memo[key] = ref
        start, n = self.add_array(t._data)
        return {"t": "tensor", "dtype": t.dtype.name, "shape": list(t.shape), "at": start, "n": n,
                "requires_grad": bool(t.requires_grad), "param": type(t).__name__ == "Parameter",
                "id": ref}


class _Decoder:
    def __init__(self, blob):
        self.blob = blob
        self.refs = {}

    def array(self, spec, dtype):
        at, n = spec["at"], spec["n"]
        if at < 0 or at + n > len(self.blob):
            raise CheckpointError("checkpoint data is truncated (an array lies past the end of the data)")
        arr = xp.frombuffer(self.blob, dtype=dtype, count=n // dtype.itemsize, offset=at)
        return arr.reshape(spec["shape"]).copy()

    def decode(self, obj):
        if not isinstance(obj, dict):
            return obj
        t = obj.get("t")
        if t == "tensor":
            arr = self.array(obj, B.as_dtype(obj["dtype"]).np)
            if obj.get("param"):
                from .nn.parameter import Parameter

                val = Parameter(Tensor._make(arr), requires_grad=obj["requires_grad"])
            else:
                val = Tensor._make(arr)
                if obj["requires_grad"]:
                    val.requires_grad_(True)
            self.refs[obj["id"]] = val
            return val
        if t == "ref":
            return self.refs[obj["v"]]
        if t == "ndarray":
            return self.array(obj, xp.dtype(obj["dtype"]))
        if t == "bytes":
            return self.array(dict(obj, shape=[obj["n"]]), xp.dtype(xp.uint8)).tobytes()
        if t == "float":
            return float(obj["v"])
        if t == "bigint":
            return int(obj["v"])
        if t == "dtype":
            return B.as_dtype(obj["v"])
        if t == "tuple":
            return tuple(self.decode(v) for v in obj["v"])
        if t == "list":
            return [self.decode(v) for v in obj["v"]]
        if t in ("dict", "odict"):
            keys = [self._key(k) for k in obj["k"]]
            pairs = zip(keys, (self.decode(v) for v in obj["v"]))
            return collections.OrderedDict(pairs) if t == "odict" else dict(pairs)
        raise CheckpointError(f"unknown entry type {t!r} in checkpoint header")

    def _key(self, k):
        k = self.decode(k)
        return tuple(k) if isinstance(k, list) else k


# ---------------------------------------------------------------- native format
def _native_bytes(obj):
    enc = _Encoder()
    header = json.dumps(enc.encode(obj), separators=(",", ":")).encode()
    body = MAGIC + struct.pack("<IQ", VERSION, len(header)) + header + b"".join(enc.chunks)
    return body + hashlib.sha256(body).digest()


def _parse_native(data, name):
    if len(data) < len(MAGIC) + 12 + 32:
        raise CheckpointError(f"{name}: file is truncated ({len(data)} bytes)")
    body, digest = data[:-32], data[-32:]
    if hashlib.sha256(body).digest() != digest:
        raise CheckpointError(
            f"{name}: checksum mismatch; the file is truncated or corrupted (was the save interrupted?)"
        )
    version, hlen = struct.unpack_from("<IQ", body, len(MAGIC))
    if version > VERSION:
        raise CheckpointError(f"{name}: checkpoint format version {version} is newer than this gradstep ({VERSION})")
    start = len(MAGIC) + 12
    header = json.loads(body[start:start + hlen].decode())
    blob = memoryview(body)[start + hlen:]
    return _Decoder(blob).decode(header)


def atomic_write(path, data: bytes):
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj, f, format="gradstep"):  # noqa: A002
    """Save ``obj`` (nested dicts/lists/tuples of tensors, arrays and plain values) to ``f``.

    ``format="torch"`` writes a file that ``torch.load(f, weights_only=True)`` reads.
    """
    if format == "gradstep":
        data = _native_bytes(obj)
    elif format == "torch":
        from ._torch_format import torch_bytes

        data = torch_bytes(obj, _archive_name(f))
    else:
        raise ValueError(f"unknown format {format!r}; expected 'gradstep' or 'torch'")
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write(f, data)


def _archive_name(f):
    if hasattr(f, "write"):
        return "archive"
    base = os.path.splitext(os.path.basename(os.fspath(f)))[0]
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in base) or "archive"


def load(f, map_location=None, weights_only=True, **kwargs):
    """Load what ``save`` (or ``torch.save``, for state dicts) wrote; never executes code."""
    if weights_only is False:
        raise ValueError("gradstep.load never unpickles arbitrary objects; weights_only=False is not supported")
    if hasattr(f, "read"):
        data, name = f.read(), getattr(f, "name", "<stream>")
    else:
        name = os.fspath(f)
        if not os.path.exists(name):
            raise FileNotFoundError(f"No such checkpoint file: '{name}'")
        with open(name, "rb") as fh:
            data = fh.read()
    if data.startswith(MAGIC):
        return _parse_native(data, name)
    if data.startswith(b"PK"):
        from ._torch_format import load_torch_zip

        return load_torch_zip(data, name)
    if data[:1] == b"\x80":
        raise UnsafeCheckpointError(
            f"{name}: a bare pickle file (not a torch zip checkpoint); gradstep refuses to unpickle it"
        )
    raise CheckpointError(f"{name}: not a gradstep or torch checkpoint (unrecognised header {data[:8]!r})")

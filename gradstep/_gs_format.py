"""gradstep's native checkpoint format (``.gs``): a JSON header and a data blob, nothing unpickled.

Layout::

    b"GRADSTEP" | u32 version | u64 header length | header (JSON) | data blob | sha256 of all before

The header describes the nested structure (dicts, lists, tuples, numbers,
strings, bools, None, dtypes, NumPy scalars and dtypes) and, for each tensor or array, its dtype, shape
and place in the blob (a sparse COO tensor: its indices array, values tensor, size and
coalesced flag, checked as torch's are: :mod:`gradstep._checkpoint_sparse`). The SHA-256 catches truncation and accidental
corruption, not an attacker (who recomputes it), so :class:`_Decoder` checks
every field before use: types, dtype names from a fixed set, shapes, offsets
and lengths inside the blob, equal key/value counts, nesting depth, and a total
of array bytes no larger than the blob (so overlapping entries cannot multiply
memory).
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
import re
import struct

import numpy as np

from . import backend as B
from ._brief import brief, printable
from ._np_data import normalized_bools, plain_numpy_dtype
from ._sparse_coo import SparseCooTensor
from ._tensor import Tensor
from .nn.parameter import Parameter
from .serialization import CheckpointError

MAGIC = b"GRADSTEP"
VERSION = 1
MAX_DEPTH = 200
_ALIGN = 64
_I64 = 2**63 - 1


# ---------------------------------------------------------------- encoding
class _Encoder:
    def __init__(self):
        self.chunks = []
        self.offset = 0
        self.memo = {}

    def add_array(self, arr):
        arr = np.ascontiguousarray(arr)
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
        if isinstance(obj, np.generic) and obj.dtype.kind in _NP_KINDS:
            return self._np_scalar(obj)
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj if -(2**63) <= obj < 2**63 else {"t": "bigint", "v": str(obj)}
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"t": "float", "v": repr(obj)}
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in _NP_KINDS or obj.dtype.fields is not None:
                raise TypeError(f"gradstep.save cannot store a NumPy array of dtype {obj.dtype}")
            start, n = self.add_array(obj)
            dt = obj.dtype.newbyteorder("<") if obj.dtype.byteorder == ">" else obj.dtype
            return {"t": "ndarray", "dtype": dt.str, "shape": list(obj.shape), "at": start, "n": n}
        if isinstance(obj, np.generic):
            return self.encode(obj.item())
        if isinstance(obj, np.dtype) and obj.kind in _NP_KINDS and obj.fields is None:
            return {"t": "npdtype", "v": obj.str}
        if isinstance(obj, B.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, (bytes, bytearray)):
            start, n = self.add_array(np.frombuffer(bytes(obj), dtype=np.uint8))
            return {"t": "bytes", "at": start, "n": n}
        if isinstance(obj, tuple):
            return {"t": "tuple", "v": [self.encode(v) for v in obj]}
        if isinstance(obj, list):
            return {"t": "list", "v": [self.encode(v) for v in obj]}
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            return {"t": kind, "k": [self.encode(k) for k in obj], "v": [self.encode(v) for v in obj.values()]}
        raise TypeError(_unstorable(obj))

    def _np_scalar(self, obj):
        """A NumPy scalar stays one, as in torch's format (np.float64 is a float: item() would lose that)."""
        start, n = self.add_array(np.asarray(obj))
        dt = obj.dtype.newbyteorder("<") if obj.dtype.byteorder == ">" else obj.dtype
        return {"t": "npscalar", "dtype": dt.str, "at": start, "n": n}

    def _tensor(self, t):
        key = id(t)
        if key in self.memo:
            return {"t": "ref", "v": self.memo[key]}
        ref = len(self.memo)
        self.memo[key] = ref
        if isinstance(t, SparseCooTensor):
            return self._sparse(t, ref)
        start, n = self.add_array(t._data)
        return {"t": "tensor", "dtype": t.dtype.name, "shape": list(t.shape), "at": start, "n": n,
                "requires_grad": bool(t.requires_grad), "param": isinstance(t, Parameter),
                "id": ref}

    def _sparse(self, t, ref):
        """A sparse COO tensor: its indices (an int64 array), values (a tensor entry, which keeps
        requires_grad), size and coalesced flag; loaded through the same checks as torch's."""
        st = t._struct
        return {"t": "sparse", "indices": self.encode(st.idx), "values": self._tensor(t._vals),
                "size": list(st.shape), "coalesced": bool(st.coalesced), "id": ref}


def _unstorable(obj):
    """The message for an object the format cannot hold; whole modules, optimizers, schedulers
    and other objects with a ``state_dict()`` are told to save that (as torch format's writer says)."""
    from ._torch_writer import unwritable

    text = unwritable(obj, "gradstep's .gs format")
    if "state_dict()" in text:
        return "gradstep.save " + text
    return (f"gradstep.save cannot store an object of type {type(obj).__name__}; it stores tensors, "
            "NumPy arrays, numbers, strings, bools, None and dicts/lists/tuples of them")


def native_bytes(obj):
    enc = _Encoder()
    header = json.dumps(enc.encode(obj), separators=(",", ":")).encode()
    body = MAGIC + struct.pack("<IQ", VERSION, len(header)) + header + b"".join(enc.chunks)
    return body + hashlib.sha256(body).digest()


# ---------------------------------------------------------------- decoding
_NP_KINDS = "biufc"


def _field(obj, key, types, what):
    if key not in obj:
        raise CheckpointError(f"{what} has no {key!r} field")
    v = obj[key]
    if type(v) not in types:
        raise CheckpointError(f"{what}: field {key!r} must be {'/'.join(t.__name__ for t in types)}, "
                              f"got {type(v).__name__}")
    return v


def _int_field(obj, key, what, lo=0, hi=_I64):
    v = _field(obj, key, (int,), what)
    if not lo <= v <= hi:
        raise CheckpointError(f"{what}: field {key!r} = {brief(v)} is out of range")
    return v


class _Decoder:
    def __init__(self, blob, map_location=None):
        self.blob = blob
        self.map_location = map_location if callable(map_location) else None
        self.refs = {}
        self.used = 0  # bytes of the blob copied out so far

    def array(self, obj, dtype, what):
        at, n = _int_field(obj, "at", what), _int_field(obj, "n", what)
        shape = _field(obj, "shape", (list,), what)
        if any(type(s) is not int or not 0 <= s <= _I64 for s in shape):
            raise CheckpointError(f"{what}: shape {brief(shape)} must be non-negative ints")
        if len(shape) > 64:
            raise CheckpointError(f"{what}: {len(shape)} dimensions (at most 64)")
        numel = math.prod(shape)
        if numel * dtype.itemsize != n:
            raise CheckpointError(f"{what}: shape {shape} of {dtype} needs {numel * dtype.itemsize} bytes, "
                                  f"the header says {n}")
        if at + n > len(self.blob):
            raise CheckpointError(f"{what}: bytes {at}..{at + n} lie outside the {len(self.blob)}-byte data "
                                  "(truncated or corrupted checkpoint)")
        self.used += n
        if self.used > len(self.blob):
            raise CheckpointError(f"{what}: the arrays in the header claim more bytes than the data holds")
        arr = np.frombuffer(self.blob, dtype=dtype, count=numel, offset=at) if n else np.empty(0, dtype)
        return normalized_bools(arr.reshape(shape).copy())

    def decode(self, obj, depth=0):
        if obj is None or type(obj) in (bool, str, int, float):
            return obj
        if depth > MAX_DEPTH:
            raise CheckpointError(f"checkpoint header nested more than {MAX_DEPTH} deep")
        if type(obj) is not dict:
            raise CheckpointError(f"unexpected {type(obj).__name__} in checkpoint header")
        t = obj.get("t")
        method = _DECODERS.get(t) if type(t) is str else None
        if method is None:
            raise CheckpointError(f"unknown entry type {brief(t)} in checkpoint header")
        return method(self, obj, depth + 1)

    def _tensor(self, obj, depth):
        name = _field(obj, "dtype", (str,), "tensor")
        dt = B._BY_NAME.get(name)
        if dt is None:
            raise CheckpointError(f"tensor: unknown dtype {brief(name)}")
        ref = _int_field(obj, "id", "tensor")
        if ref in self.refs:
            raise CheckpointError(f"tensor: id {ref} appears twice")
        rg = _field(obj, "requires_grad", (bool,), "tensor")
        param = obj.get("param", False)
        if type(param) is not bool:
            raise CheckpointError("tensor: field 'param' must be bool")
        if rg and not (dt.is_floating_point or dt.is_complex):
            raise CheckpointError(f"tensor: a {dt.name} tensor cannot require grad")
        arr = self._mapped(self.array(obj, dt.np, f"tensor {ref}"))
        if param:
            val = Parameter(Tensor._make(arr), requires_grad=rg)
        else:
            val = Tensor._make(arr)
            if rg:
                val.requires_grad_(True)
        self.refs[ref] = val
        return val

    def _mapped(self, arr):
        """A ``map_location`` callable sees each tensor's data as torch's sees a storage: a 1-D
        CPU tensor and the location ``'cpu'``; it may return it (or a copy) or None."""
        if self.map_location is None:
            return arr
        from ._checkpoint_location import location_target

        held = _Held(arr.reshape(-1))
        location_target("cpu", self.map_location, held)
        return held.array.reshape(arr.shape)

    def _sparse(self, obj, depth):
        from ._checkpoint_sparse import checked_sparse

        idx = self.decode(_field(obj, "indices", (dict,), "sparse"), depth)
        values = self.decode(_field(obj, "values", (dict,), "sparse"), depth)
        if not isinstance(idx, np.ndarray) or not isinstance(values, Tensor) or isinstance(values, SparseCooTensor):
            raise CheckpointError("sparse: 'indices' must be an ndarray entry and 'values' a dense tensor entry")
        coalesced = _field(obj, "coalesced", (bool,), "sparse")
        ref = _int_field(obj, "id", "sparse")
        if ref in self.refs:
            raise CheckpointError(f"sparse: id {ref} appears twice")
        self.refs[ref] = checked_sparse(idx, values, _field(obj, "size", (list,), "sparse"), coalesced)
        return self.refs[ref]

    def _ref(self, obj, depth):
        ref = _int_field(obj, "v", "ref")
        if ref not in self.refs:
            raise CheckpointError(f"ref to tensor {ref}, which is not defined before it")
        return self.refs[ref]

    def _ndarray(self, obj, depth):
        code = _field(obj, "dtype", (str,), "ndarray")
        dt = plain_numpy_dtype(code)
        if dt is None:
            raise CheckpointError(f"ndarray: dtype {code[:20]!r} is not a plain numeric NumPy dtype")
        return self.array(obj, dt, "ndarray")

    def _npscalar(self, obj, depth):
        code = _field(obj, "dtype", (str,), "npscalar")
        dt = plain_numpy_dtype(code)
        if dt is None:
            raise CheckpointError(f"npscalar: dtype {code[:20]!r} is not a plain numeric NumPy dtype")
        return self.array(dict(obj, shape=[]), dt, "npscalar")[()]

    def _npdtype(self, obj, depth):
        code = _field(obj, "v", (str,), "npdtype")
        dt = plain_numpy_dtype(code)
        if dt is None:
            raise CheckpointError(f"npdtype: {code[:20]!r} is not a plain numeric NumPy dtype")
        return dt

    def _bytes(self, obj, depth):
        n = _int_field(obj, "n", "bytes")
        return self.array(dict(obj, shape=[n]), np.dtype(np.uint8), "bytes").tobytes()

    def _float(self, obj, depth):
        v = _field(obj, "v", (str,), "float")
        if v not in ("inf", "-inf", "nan"):
            raise CheckpointError(f"float: {v[:20]!r} is not inf, -inf or nan")
        return float(v)

    def _bigint(self, obj, depth):
        v = _field(obj, "v", (str,), "bigint")
        if not 0 < len(v) <= 4000 or not v.lstrip("-").isdigit() or not v.isascii():
            raise CheckpointError("bigint: 'v' must be a decimal integer of at most 4000 digits")
        return int(v)

    def _dtype(self, obj, depth):
        v = _field(obj, "v", (str,), "dtype")
        if v not in B._BY_NAME:
            raise CheckpointError(f"dtype: unknown dtype {v[:20]!r}")
        return B._BY_NAME[v]

    def _seq(self, obj, depth):
        items = [self.decode(v, depth) for v in _field(obj, "v", (list,), obj["t"])]
        return tuple(items) if obj["t"] == "tuple" else items

    def _dict(self, obj, depth):
        keys = _field(obj, "k", (list,), obj["t"])
        values = _field(obj, "v", (list,), obj["t"])
        if len(keys) != len(values):
            raise CheckpointError(f"{obj['t']}: {len(keys)} keys but {len(values)} values")
        out = collections.OrderedDict() if obj["t"] == "odict" else {}
        for k, v in zip(keys, values):
            k = self.decode(k, depth)
            if isinstance(k, list):
                k = tuple(k)
            try:
                hash(k)
            except TypeError:
                raise CheckpointError(f"{obj['t']}: a {type(k).__name__} cannot be a key") from None
            out[k] = self.decode(v, depth)
        return out


_DECODERS = {"tensor": _Decoder._tensor, "sparse": _Decoder._sparse, "ref": _Decoder._ref, "ndarray": _Decoder._ndarray,
             "npscalar": _Decoder._npscalar, "npdtype": _Decoder._npdtype,
             "bytes": _Decoder._bytes, "float": _Decoder._float, "bigint": _Decoder._bigint,
             "dtype": _Decoder._dtype, "tuple": _Decoder._seq, "list": _Decoder._seq,
             "dict": _Decoder._dict, "odict": _Decoder._dict}


def _check_header_cost(raw, file_size, name):
    """Refuse a header whose JSON would build far more Python objects than the file's size.

    ``json.loads`` has no budget, and ``[{},{},...]`` builds 64 bytes of dict
    per 3 bytes of file. The estimate charges what each JSON token can cost
    (a dict ~200 bytes, a list 64, an item 16, and 4 per byte for numbers and
    strings); like a torch pickle, a header may build 16x the file (+64 MiB).
    An honest header (tensor entries, configs, histories) stays under 16x of
    itself, and the tensor data adds to the file's size.
    """
    cost = 200 * raw.count(b"{") + 64 * raw.count(b"[") + 16 * raw.count(b",") + 4 * len(raw)
    if cost > 16 * file_size + (64 << 20):
        raise CheckpointError(f"{name}: the {len(raw)}-byte checkpoint header would build about {cost >> 20} MiB "
                              f"of Python objects, far more than a {file_size}-byte checkpoint needs (memory bound)")


_JSON_DEPTH = 2 * MAX_DEPTH + 8  # each header entry is an object holding its items' array: two levels
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))  # bytes that never change the nesting
_JSON_STRING = re.compile(rb'"[^"]*"')


def _check_header_depth(raw, name):
    """Refuse a header nested deeper than any entry the decoder accepts, before ``json.loads`` sees it.

    ``json.loads`` recurses in C once per level; under a raised ``sys.setrecursionlimit`` (which
    some programs set) ``[[[...`` 300000 deep overflows the C stack and kills the interpreter
    instead of raising RecursionError. Brackets inside strings do not count: escaped backslashes
    and quotes are dropped first, then every byte but quotes and brackets, then the strings.
    """
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = structure.replace(b'""', b"")  # the usual case: no string holds a bracket
    if b'"' in brackets:  # the first string holding one keeps a quote, so this is exact
        brackets = _JSON_STRING.sub(b"", structure)
    codes = np.frombuffer(brackets, np.uint8)
    steps = ((codes == ord("[")) | (codes == ord("{"))).astype(np.int8) - ((codes == ord("]")) | (codes == ord("}")))
    if steps.size and int(np.cumsum(steps, dtype=np.int64).max()) > _JSON_DEPTH:
        raise CheckpointError(f"{name}: checkpoint header nested more than {MAX_DEPTH} entries deep")


class _Held:
    """A tensor's data as :func:`~gradstep._checkpoint_location.location_target` takes a storage."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def parse_native(data, name, map_location=None):
    data = memoryview(data)
    head = len(MAGIC) + 12
    if len(data) < head + 32:
        raise CheckpointError(f"{name}: file is truncated ({len(data)} bytes)")
    body, digest = data[:-32], data[-32:]
    if hashlib.sha256(body).digest() != bytes(digest):
        raise CheckpointError(
            f"{name}: checksum mismatch; the file is truncated or corrupted (was the save interrupted?)"
        )
    version, hlen = struct.unpack_from("<IQ", body, len(MAGIC))
    if version > VERSION:
        raise CheckpointError(f"{name}: checkpoint format version {version} is newer than this gradstep ({VERSION})")
    if version < 1:
        raise CheckpointError(f"{name}: invalid checkpoint format version {version}")
    if hlen > len(body) - head:
        raise CheckpointError(f"{name}: header length {hlen} runs past the end of the file")
    raw = bytes(body[head:head + hlen])
    _check_header_cost(raw, len(data), name)
    _check_header_depth(raw, name)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{name}: checkpoint header is not valid JSON ({type(e).__name__}: "
                              f"{str(e)[:200]})") from None
    from ._checkpoint_location import CallerError

    try:
        return _Decoder(body[head + hlen:], map_location).decode(header)
    except CallerError as e:  # the map_location callable's own error, as it raised it
        raise e.error from None
    except CheckpointError as e:
        raise CheckpointError(f"{name}: {e}") from None
    except (ValueError, TypeError, OverflowError, RecursionError, KeyError, IndexError, RuntimeError) as e:
        text = brief(e.args[0]) if isinstance(e, KeyError) and e.args else printable(str(e), 300)
        raise CheckpointError(f"{name}: malformed checkpoint header ({type(e).__name__}: {text})") from None

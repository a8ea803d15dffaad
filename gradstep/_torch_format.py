"""PyTorch's zip checkpoint format, read and written without torch and without running code.

Reading (:func:`load_torch_zip`) treats the file as hostile:

* the pickle runs in :class:`~gradstep._torch_unpickler.RestrictedUnpickler`,
  which only builds tensors, containers and plain values (torch's
  ``weights_only=True`` set, plus NumPy arrays/dtypes/scalars as data);
* the zip's records may not share bytes, and the format version must be one
  torch reads (1 to 10, from ``.data/version`` or ``version``, as in torch);
* only the ``data/<key>`` records the pickle references are read, each bounded
  by the byte size the pickle claims for it (a record of another size is an
  error, as in torch), read to the end so zipfile checks its CRC;
* a ``byteorder`` record of ``big`` byteswaps the storages, as in torch;
* deflated records may inflate to 64x the file's size (+64 MiB) in all.
  torch writes records stored (uncompressed), so this only matters for
  re-zipped files: real weights deflate by a few percent, zeros ~1000x, so
  only zip bombs and re-zipped files of mostly zeros go past it;
* every tensor view (offset, sizes, strides) is checked against its storage with
  torch's rule (``computeStorageNbytes``): no negative stride on a dimension of
  size > 1, no overflow, the last element inside the storage. Tensors stay views
  of their storage (stride-0 ones read-only), so nothing is allocated beyond the
  records themselves.
* torch's lazy conjugate / negative bits (tensor metadata ``{'conj': True}``, ``{'neg': True}``,
  written for ``x.conj()`` and its ``.imag``) are resolved into a copy of the view, charged to the
  pickle's memory bound (so a stride-0 view cannot make it huge); such a tensor no longer shares
  memory with other views of its storage, as it does in torch;
* sparse COO tensors are checked as torch's ``check_sparse_tensor_invariants``
  checks them, always, and never densified (:mod:`gradstep._checkpoint_sparse`);
  other sparse layouts are refused by name.

Writing (:func:`~gradstep._torch_writer.torch_bytes`, re-exported here) emits the protocol-2 opcodes
``torch.save`` emits.
"""

from __future__ import annotations

import collections
import io
import re
import struct
import sys
import zipfile
import zlib

import numpy as np

from . import _torch_unpickler
from . import backend as B
from ._brief import brief, printable
from ._checkpoint_location import CallerError, location_target
from ._checkpoint_sparse import get_layout, rebuild_sparse
from ._pickle_globals import (
    _ITEM_COST,
    Internal,
    Token,
    Unsupported,
    Value,
    check_int,
    check_ints,
    describe,
    settable_attribute,
)
from ._sparse_coo import SparseCooTensor
from ._tensor import Size, Tensor, device
from ._torch_unpickler import RestrictedUnpickler
from ._torch_writer import STORAGE_DTYPES as _STORAGE_DTYPES
from ._torch_writer import torch_bytes  # noqa: F401 - re-exported: the writer lived here
from .nn.parameter import Parameter
from .serialization import CheckpointError, UnsafeCheckpointError

_I64 = 2**63 - 1
_DEVICE_INDEX_MAX = 127  # torch's DeviceIndex is an int8
_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
                  "int": "int32", "short": "int16"}
# torch names a torch file may hold that gradstep knows but cannot load: each GLOBAL raises this, not the
# add_safe_globals advice (approving them would not help: gradstep has no such dtype or tensor kind)
_CONVERT = "; convert such tensors in torch before saving (e.g. t.to(torch.float32) or t.dequantize())"
_LACKED_DTYPES = ("complex32", "chalf", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2",
                  "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2",
                  *(f"{u}int{n}" for u in ("", "u") for n in range(1, 8)))  # torch's weights_only allows them all
_UNSUPPORTED = {
    **{f"torch.{d}": f"the dtype torch.{d}, which gradstep lacks" for d in _LACKED_DTYPES},
    **{f"torch.{s}Storage": f"a {s} storage, whose dtype gradstep lacks"
       for s in ("QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4")},
    "torch._utils._rebuild_qtensor": "a quantized tensor, which gradstep does not support",
    "torch._utils._rebuild_nested_tensor": "a nested tensor, which gradstep does not support",
    "torch._utils._rebuild_meta_tensor_no_storage": "a meta tensor, which gradstep does not support",
    "torch._utils._rebuild_wrapper_subclass": "a tensor subclass, which gradstep does not support",
}
# the untyped storage torch.save writes for t.untyped_storage() (and under _rebuild_tensor_v3, refused by name)
_UNTYPED = ("torch.storage.UntypedStorage", "torch.UntypedStorage")
_CHUNK = 1 << 20
# bytes of Python objects a rebuilt tensor takes beyond the 200 every call is charged (a Tensor and its
# NumPy view of the storage take ~350 on CPython 3.11, NumPy 2): a pickle can rebuild tensors from one
# memoized argument tuple 5 bytes apart, so each must be charged what it takes
_TENSOR_COST = 256
_PKL_RATIO = 64  # data.pkl may decompress to at most this many times the archive's size (+1 MiB)
_INFLATE_RATIO = 64  # all deflated records read may decompress to this many times the archive's size ...
_INFLATE_SLACK = 64 << 20  # ... plus this
_MEMORY_SLACK = 64 << 20  # the Python objects a pickle builds: 16x the file's size plus this
_VERSIONS = (1, 10)  # the format versions torch 2.13 reads (kMin/kMaxSupportedFileFormatVersion)


def _dtype_named(name):
    return B._BY_NAME.get(_DTYPE_ALIASES.get(name, name))


# ---------------------------------------------------------------- the archive
class _Archive:
    """A validated torch zip: one ``<prefix>/data.pkl``, unique safe names, bounded reads."""

    def __init__(self, data, name):
        self.name, self.size = name, len(data)
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error,
                NotImplementedError, UnicodeDecodeError, OverflowError) as e:
            raise CheckpointError(f"{name}: corrupted torch checkpoint (zip: {e})") from None
        self.infos = {}
        for info in infos:
            n = info.filename
            if n in self.infos:
                raise CheckpointError(f"{name}: zip record {n!r} appears twice")
            parts = n.split("/")
            if n.startswith("/") or "\\" in n or "\0" in n or ".." in parts or ":" in parts[0]:
                raise CheckpointError(f"{name}: zip record name {n!r} is not a plain relative path")
            self.infos[n] = info
        pkls = [n for n in self.infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise CheckpointError(f"{name}: zip file with {len(pkls)} <archive>/data.pkl records; "
                                  "not a torch checkpoint")
        self.prefix = pkls[0][: -len("data.pkl")]
        self.inflate_left = _INFLATE_RATIO * self.size + _INFLATE_SLACK
        self._check_spans(data)
        self._check_version()

    def _check_spans(self, data):
        """Refuse records that share bytes (Python 3.11's zipfile does not check this).

        A record spans its local header, name, extra field and data. K central
        directory entries over one block of N bytes would otherwise read as K
        storages of N bytes each from a file of N bytes.
        """
        spans = []
        for n, info in self.infos.items():
            start = info.header_offset
            if not 0 <= start <= self.size - 30:
                raise CheckpointError(f"{self.name}: zip record {n!r} starts outside the file")
            name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
            end = start + 30 + name_len + extra_len + info.compress_size
            if end > self.size:
                raise CheckpointError(f"{self.name}: zip record {n!r} runs past the end of the file "
                                      "(truncated or corrupted checkpoint)")
            spans.append((start, end, n))
        spans.sort()
        for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
            if start < end:
                raise CheckpointError(f"{self.name}: zip records {first!r} and {second!r} overlap; the records "
                                      "of a zip file never share bytes (a crafted file)")

    def _check_version(self):
        """torch's check of the format version: ``.data/version`` (or ``version``) read like ``std::stoull``."""
        record = ".data/version" if self.prefix + ".data/version" in self.infos else "version"
        info = self.infos.get(self.prefix + record)
        if info is None:
            raise CheckpointError(f"{self.name}: torch checkpoint without a version record ({self.prefix}version); "
                                  "torch refuses it too, the file is damaged or not written by torch.save")
        if info.file_size > 32:
            raise CheckpointError(f"{self.name}: version record of {info.file_size} bytes")
        text = self.read(record, None, "format version").tobytes().decode("latin-1")
        match = re.match(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)", text)
        if match is None:
            raise CheckpointError(f"{self.name}: couldn't parse the format version {text!r} as an integer")
        version = int(match.group(2)) * (-1 if match.group(1) == "-" else 1)
        lo, hi = _VERSIONS
        if version < lo:
            raise CheckpointError(f"{self.name}: torch checkpoint of format version {version}, but the minimum "
                                  f"supported version for reading is {lo} (as in torch)")
        if version > hi:
            raise CheckpointError(f"{self.name}: torch checkpoint of format version {version}, but the maximum "
                                  f"supported version for reading is {hi} (as in torch 2.13); it was written by "
                                  "a newer PyTorch, which can re-save it in a format this one reads")

    def read(self, record, size, what):
        """The bytes of ``prefix + record`` into a fresh uint8 array, which must hold exactly ``size``."""
        full = self.prefix + record
        info = self.infos.get(full)
        if info is None:
            raise CheckpointError(f"{self.name}: torch checkpoint is missing the record {full!r} ({what})")
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{self.name}: zip record {full!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{self.name}: zip record {full!r} uses compression method "
                                  f"{info.compress_type}; only stored and deflated records are read")
        if size is not None and info.file_size != size:
            raise CheckpointError(f"{self.name}: record {full!r} ({what}) is {info.file_size} bytes, "
                                  f"the pickle says {size}")
        n = info.file_size
        if info.compress_type == zipfile.ZIP_STORED and (n != info.compress_size or n > self.size):
            raise CheckpointError(f"{self.name}: stored record {full!r} claims {n} bytes in "
                                  f"{info.compress_size} (file of {self.size})")
        if info.compress_type != zipfile.ZIP_STORED:
            self._inflate(full, n)
            self._copy(info, None)  # a compressed record must prove its size before memory is allocated
        out = np.empty(n, np.uint8)
        self._copy(info, out)
        return out

    def _inflate(self, full, n):
        """Charge ``n`` inflated bytes: deflated records may inflate to 64x the file (+64 MiB), together.

        torch writes every record stored, so a deflated one means the file was
        re-zipped. Weights are high-entropy (floats deflate by a few percent),
        while zeros deflate ~1000x: past the bound is a zip bomb, or a file of
        mostly zeros that was re-zipped, which torch.save would write stored.
        """
        if n > self.inflate_left:
            raise CheckpointError(
                f"{self.name}: deflated record {full!r} inflates to {n} bytes; the deflated records of this "
                f"{self.size}-byte file would inflate to more than {_INFLATE_RATIO}x its size (+64 MiB), which "
                "only a zip bomb or a re-zipped file of zeros does (torch.save writes records uncompressed: "
                "re-save the file with it)")
        self.inflate_left -= n

    def _copy(self, info, out):
        """Read ``info`` to its end (so zipfile checks the CRC) into ``out``, or just count it."""
        n, full = info.file_size, info.filename
        try:
            with self.zf.open(info) as f:
                done = 0
                while done < n:
                    chunk = f.read(min(_CHUNK, n - done))
                    if not chunk:
                        raise CheckpointError(f"{self.name}: record {full!r} is truncated "
                                              f"({done} of {n} bytes)")
                    if out is not None:
                        out[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    done += len(chunk)
                if f.read(1):
                    raise CheckpointError(f"{self.name}: record {full!r} holds more than its {n} bytes")
        except (zipfile.BadZipFile, OSError, EOFError, struct.error, ValueError, NotImplementedError,
                OverflowError, zlib.error) as e:
            raise CheckpointError(f"{self.name}: corrupted record {full!r} ({type(e).__name__}: {e})") from None

    def pickle_bytes(self):
        info = self.infos[self.prefix + "data.pkl"]
        if info.file_size > _PKL_RATIO * self.size + (1 << 20):
            raise CheckpointError(f"{self.name}: data.pkl claims {info.file_size} bytes, far more than "
                                  f"the {self.size}-byte file holds")
        return self.read("data.pkl", None, "the pickle").tobytes()

    def byteorder(self):
        if self.prefix + "byteorder" not in self.infos:
            return "little"
        info = self.infos[self.prefix + "byteorder"]
        if info.file_size > 16:
            raise CheckpointError(f"{self.name}: byteorder record of {info.file_size} bytes")
        raw = self.read("byteorder", None, "byteorder").tobytes()
        if raw not in (b"little", b"big"):
            raise CheckpointError(f"{self.name}: byteorder record says {raw[:16]!r}")
        return raw.decode()


# ---------------------------------------------------------------- storages and tensors
class _Storage(Internal):
    __slots__ = ("key", "dtype", "array", "views", "public")

    def __init__(self, key, dtype, array):
        self.key, self.dtype, self.array = key, dtype, array
        self.views = 0  # tensors rebuilt on it, for the memory bound's message
        self.public = None

    def as_data(self, u):
        """The storage as loaded data (``torch.save(t.storage())``): a ``TypedStorage`` sharing the memory
        of the tensors rebuilt on it, the same object each time, as torch loads it (an untyped storage
        loads as a ``TypedStorage`` of uint8, as in torch)."""
        if self.public is None:
            from ._storage import TypedStorage, UntypedStorage

            u.charge(_TENSOR_COST)
            raw = UntypedStorage._wrap(self.array.view(np.uint8))
            self.public = TypedStorage(wrap_storage=raw, dtype=self.dtype, _internal=True)
        return self.public


def _check_view(storage, offset, size, stride, what):
    """torch's accept/refuse rule for ``set_(storage, offset, size, stride)``, in Python ints."""
    offset = check_int(offset, f"{what} storage offset", -(2**63), _I64)
    size = check_ints(size, f"{what} size", -(2**63), _I64)
    stride = check_ints(stride, f"{what} stride", -(2**63), _I64)
    if len(size) > 64:
        raise CheckpointError(f"{what}: {len(size)} dimensions (at most 64)")
    if len(size) != len(stride):
        raise CheckpointError(f"{what}: unequal size length ({len(size)}) and stride length ({len(stride)})")
    if offset < 0:
        raise CheckpointError(f"{what}: invalid storage offset {offset}")
    if any(s < 0 for s in size):
        raise CheckpointError(f"{what}: negative size {size}")
    numel = 1
    for s in size:
        numel *= s
    itemsize = storage.dtype.itemsize
    if numel * itemsize > _I64:
        raise CheckpointError(f"{what}: size {size} has more bytes than a NumPy array can address "
                              "(torch keeps such a stride-0 view; gradstep cannot)")
    if numel == 0:
        _check_empty_shape(size, itemsize, what)
        return offset, size, stride, 0
    needed = offset + 1
    for s, st in zip(size, stride):
        if st < 0 and s > 1:
            raise CheckpointError(f"{what}: negative stride {st} on a dimension of size {s}")
        needed += st * (s - 1)
    if needed * itemsize > _I64:
        raise CheckpointError(f"{what}: storage size overflows with sizes {size} and strides {stride}")
    if needed > storage.array.size:
        raise CheckpointError(f"{what}: sizes {size}, strides {stride} and offset {offset} need "
                              f"{needed} elements, storage {storage.key!r} holds {storage.array.size}")
    return offset, size, stride, numel


def _check_empty_shape(size, itemsize, what):
    """NumPy's limit on an empty array's shape (it allocates nothing, but describes its sizes in bytes)."""
    nbytes = itemsize
    for s in size:
        nbytes *= s or 1
    if nbytes > _I64:
        raise CheckpointError(f"{what}: an empty tensor of size {size}, whose other sizes come to {nbytes} bytes, "
                              "more than a NumPy array can describe (2**63); torch loads it, gradstep cannot "
                              "(a tensor with a 0 in its size holds no data: save it with smaller sizes)")


def _tensor_view(storage, offset, size, stride, what):
    offset, size, stride, numel = _check_view(storage, offset, size, stride, what)
    dt = storage.dtype.np
    if numel == 0:  # no data: the file's strides are kept, as torch keeps them, where NumPy can hold them
        byte_strides = [st * dt.itemsize for st in stride]
        try:
            return np.ndarray(size, dt, buffer=np.empty(0, dt), strides=byte_strides)
        except (ValueError, OverflowError):  # a stride past what NumPy holds
            return np.empty(size, dt)
    overlap = any(st == 0 and s > 1 for s, st in zip(size, stride))
    # a stride on a dimension of size 1 is never used; NumPy needs it to fit in bytes
    strides = [st * dt.itemsize if s > 1 or abs(st * dt.itemsize) <= _I64 else 0 for s, st in zip(size, stride)]
    # a view whose base is the storage itself: a third of as_strided's memory (which wraps its source
    # in a helper object and dict), and NumPy checks again that it stays inside the storage's bytes
    view = np.ndarray(size, dt, buffer=storage.array, offset=offset * dt.itemsize, strides=strides)
    if overlap:
        view.flags.writeable = False
    return view


def _no_hooks(hooks, what):
    if hooks is not None and not (type(hooks) in (dict, collections.OrderedDict) and not hooks):
        raise UnsafeCheckpointError(f"{what}: backward hooks in a checkpoint are not supported")


def _rebuild(u, args, what="_rebuild_tensor_v2"):
    if len(args) not in (4, 6, 7):
        raise CheckpointError(f"torch._utils.{what} takes 4, 6 or 7 arguments, got {len(args)}")
    storage, offset, size, stride = args[:4]
    requires_grad = args[4] if len(args) > 4 else False
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"torch._utils.{what} needs a storage, got {describe(storage)}")
    if type(requires_grad) is not bool:
        raise CheckpointError(f"torch._utils.{what}: requires_grad must be a bool")
    if len(args) > 5:
        _no_hooks(args[5], what)
    conj, neg = _metadata_bits(args[6] if len(args) > 6 else None, storage.dtype, what)
    u.charge(_TENSOR_COST)
    storage.views += 1
    view = _tensor_view(storage, offset, size, stride, f"tensor of storage {storage.key!r}")
    if conj or neg:  # gradstep has no lazy conj/neg bits: the values are resolved into a copy, charged
        u.charge(view.size * view.itemsize)
        view = np.negative(np.conj(view) if conj else view) if neg else np.conj(view)
    t = Tensor._make(view)
    if requires_grad:
        _check_differentiable(storage.dtype)
        t.requires_grad_(True)
    return t


def _metadata_bits(meta, dt, what):
    """(conj, neg): the lazy bits torch.save records as tensor metadata (``x.conj()``, ``x.conj().imag``)."""
    if meta is None or (type(meta) is dict and not meta):
        return False, False
    if type(meta) is not dict or any(type(k) is not str or k not in ("conj", "neg") or type(v) is not bool
                                     for k, v in meta.items()):
        raise CheckpointError(f"torch._utils.{what}: tensor metadata {brief(meta)} is not supported (torch.save "
                              "writes {'conj': True} and {'neg': True})")
    conj, neg = meta.get("conj", False), meta.get("neg", False)
    if conj and not dt.is_complex:
        raise CheckpointError(f"torch._utils.{what}: tensor metadata sets the conjugate bit of a {dt.name} "
                              "tensor; only complex tensors have one")
    if neg and dt.name == "bool":
        raise CheckpointError(f"torch._utils.{what}: tensor metadata sets the negative bit of a bool tensor")
    return conj, neg


def _check_differentiable(dt):
    if not (dt.is_floating_point or dt.is_complex):
        raise CheckpointError("Only Tensors of floating point and complex dtype can require gradients")


def _rebuild_v3(u, args):
    """A tensor of a dtype torch stores untyped (uint16/32/64, the float8s): the storage's bytes
    seen as ``dtype``, the last argument."""
    if len(args) != 7:
        raise CheckpointError(f"torch._utils._rebuild_tensor_v3 takes 7 arguments, got {len(args)}")
    storage, dt = args[0], args[6]
    if not isinstance(storage, _Storage) or storage.dtype is not B.uint8:
        raise CheckpointError(f"torch._utils._rebuild_tensor_v3 needs an untyped storage, got {describe(storage)}")
    if not isinstance(dt, B.dtype) or dt.name not in B._LIMITED_BY_NAME:
        raise CheckpointError(f"torch._utils._rebuild_tensor_v3: unsupported dtype {describe(dt)}")
    B._activate_limited()
    if storage.array.size % dt.itemsize:
        raise CheckpointError(f"storage {storage.key!r} of {storage.array.size} bytes does not hold whole "
                              f"{dt.name} elements")
    typed = _Storage(storage.key, dt, storage.array.view(dt.np))
    typed.views = storage.views
    return _rebuild(u, (typed,) + tuple(args[1:6]), "_rebuild_tensor_v3")


def _rebuild_v1(u, args):
    if len(args) != 4:
        raise CheckpointError(f"torch._utils._rebuild_tensor takes 4 arguments, got {len(args)}")
    return _rebuild(u, args, "_rebuild_tensor")


def _set_state(u, obj, state, what):
    if type(state) is tuple and len(state) == 2:
        dicts = state
    else:
        dicts = (state,)
    for d in dicts:
        if d is None or (type(d) is dict and not d):
            continue
        if type(d) is not dict:
            raise CheckpointError(f"{what}: state must be a dict")
        u.charge(_ITEM_COST * len(d))  # a copy of every item, however often the state dict is shared
        for k, v in d.items():
            if not settable_attribute(type(obj), k):
                raise UnsafeCheckpointError(f"{what}: refusing to set attribute {brief(k)}")
            obj.__dict__[k] = v


def _parameter(u, args):
    if len(args) != 3:
        raise CheckpointError(f"torch._utils._rebuild_parameter takes 3 arguments, got {len(args)}")
    return _parameter_of(u, args)


def _parameter_with_state(u, args):
    if len(args) != 4:
        raise CheckpointError(f"torch._utils._rebuild_parameter_with_state takes 4 arguments, got {len(args)}")
    return _parameter_of(u, args)


def _parameter_of(u, args):
    data, requires_grad = args[0], args[1]
    if isinstance(data, SparseCooTensor):
        raise CheckpointError("this checkpoint holds a sparse nn.Parameter, which gradstep does not support; "
                              "save its sparse tensor (p.data) instead")
    if type(data) is not Tensor or type(requires_grad) is not bool:
        raise CheckpointError("torch._utils._rebuild_parameter takes a tensor and a bool")
    _no_hooks(args[2], "_rebuild_parameter")
    if requires_grad:
        _check_differentiable(data.dtype)
    u.charge(_TENSOR_COST // 2)
    p = Parameter(data, requires_grad=requires_grad)
    if len(args) == 4:
        _set_state(u, p, args[3], "_rebuild_parameter_with_state")
    return p


_REBUILDS = ("torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
             "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state")


def _from_type(u, args):
    if len(args) != 4 or not isinstance(args[0], Token) or args[0].name not in _REBUILDS \
            or not isinstance(args[1], Token) or type(args[2]) is not tuple:
        raise CheckpointError("torch._tensor._rebuild_from_type_v2 takes a rebuild function, a tensor "
                              "class, arguments and a state")
    t = args[0].call(u, args[2])
    if args[1].name != "torch.Tensor" and not (args[1].name.endswith("Parameter") and type(t).__name__
                                               == "Parameter"):
        raise UnsafeCheckpointError(f"tensor subclass '{args[1].name}' is not supported")
    _set_state(u, t, args[3], "_rebuild_from_type_v2")
    return t


def _size(u, args):
    if not args:
        return Size(())  # torch.Size(), as torch builds it
    if len(args) != 1:
        raise CheckpointError("torch.Size takes one argument")
    if type(args[0]) in (tuple, list):
        u.charge(64 + 8 * len(args[0]))  # a new tuple each call, however often its argument is shared
    return Size(check_ints(args[0], "torch.Size", -_I64 - 1, _I64))  # int64s, as torch.Size([-1]) holds


def _device(u, args):
    if not 1 <= len(args) <= 2 or type(args[0]) is not str or (len(args) == 2 and args[1] is not None
                                                                and type(args[1]) is not int):
        raise CheckpointError("torch.device takes a string and an optional index")
    if len(args[0]) > 64:
        raise CheckpointError("torch.device name is too long")
    index = args[1] if len(args) == 2 else args[0].partition(":")[2]
    if type(index) is str and index.isdigit():
        index = int(index)
    if type(index) is int and not 0 <= index <= _DEVICE_INDEX_MAX:
        # torch keeps the index in an int8: it refuses indexes past int32 ("Could not parse device
        # index") and wraps the others (cuda:128 loads as cuda:-128); gradstep refuses them all
        raise CheckpointError(f"torch.device {brief(args)}: device index {brief(index)} is out of range (torch "
                              f"keeps a device index in an int8, 0 to {_DEVICE_INDEX_MAX})")
    return device(*args)


def _torch_globals():
    g = {"torch._utils._rebuild_tensor_v2": _rebuild, "torch._utils._rebuild_tensor": _rebuild_v1,
         "torch._utils._rebuild_tensor_v3": _rebuild_v3,
         **{f"torch.{name}": Value(d) for name, d in B._LIMITED_BY_NAME.items()},
         "torch._utils._rebuild_parameter": _parameter, "torch._utils._rebuild_parameter_with_state": _parameter_with_state,
         "torch._tensor._rebuild_from_type_v2": _from_type, "torch.Size": _size, "torch.device": _device,
         "torch.Tensor": None, "torch.nn.parameter.Parameter": None,
         "torch.serialization._get_layout": get_layout, "torch._utils._rebuild_sparse_tensor": rebuild_sparse}
    for storage, name in _STORAGE_DTYPES.items():
        if name in B._BY_NAME:
            g[f"torch.{storage}"] = None
    for name in _UNTYPED:
        g[name] = None
    for name in list(B._BY_NAME) + list(_DTYPE_ALIASES):
        g[f"torch.{name}"] = Value(_dtype_named(name))
    for name, what in _UNSUPPORTED.items():
        if name not in g:
            g[name] = Unsupported(f"this checkpoint holds {what} ('{name}'). gradstep's dtypes are "
                                  f"{', '.join(B._BY_NAME)}{_CONVERT}")
    return g


class _Loader:
    def __init__(self, archive, map_location):
        self.archive, self.map_location = archive, map_location
        self.storages = {}
        # torch byteswaps the storages of a file whose byteorder record differs from this machine's
        self.swap = archive.byteorder() != sys.byteorder

    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) != 5 or type(pid[0]) not in (str, bytes) \
                or pid[0] not in ("storage", b"storage"):
            raise UnsafeCheckpointError(f"unsupported persistent id {describe(pid)}; only storages are allowed")
        _, stype, key, location, numel = pid
        if not isinstance(stype, Token) or (stype.name[len("torch."):] not in _STORAGE_DTYPES
                                            and stype.name not in _UNTYPED):
            raise UnsafeCheckpointError(f"storage of type {describe(stype)} is not supported")
        dt = B._BY_NAME[_STORAGE_DTYPES.get(stype.name[len("torch."):], "uint8")]  # untyped: bytes
        if type(key) is not str or not key or len(key) > 64 or not key.isprintable() \
                or "/" in key or "\\" in key or key in (".", ".."):
            raise CheckpointError(f"storage key {brief(key)} is not a plain record name")
        if type(location) is not str or len(location) > 64:
            raise CheckpointError("storage location must be a short string")
        check_int(numel, f"element count of storage {key!r}", 0, _I64 // dt.itemsize)
        if key in self.storages:
            s = self.storages[key]
            if s.dtype is not dt or s.array.size != numel:
                raise CheckpointError(f"storage {key!r} is used with two dtypes or sizes")
            return s
        raw = self.archive.read(f"data/{key}", numel * dt.itemsize, f"storage {key!r} of {numel} {dt.name}")
        width = dt.itemsize // 2 if np.dtype(dt.np).kind == "c" else dt.itemsize  # complex: each half
        if self.swap and width > 1:
            raw = np.ascontiguousarray(raw.reshape(-1, width)[:, ::-1]).reshape(-1)
        if dt.name == "bool":
            np.minimum(raw, 1, out=raw)  # NumPy bools must be 0 or 1
        s = _Storage(key, dt, raw.view(dt.np))
        location_target(location, self.map_location, s)
        self.storages[key] = s
        return s


def unsafe_globals(data, name):
    """The globals in a torch zip's pickle that the loader would refuse (torch's name for them)."""
    from ._pickle_globals import BUILTIN_GLOBALS
    from ._torch_unpickler import _user_allowed, globals_in
    from ._weights_only import REFUSED_BY_DEFAULT

    archive = _Archive(data, name)
    try:
        found = globals_in(archive.pickle_bytes(), archive.size)
    except (ValueError, UnicodeError, struct.error, OverflowError, Warning) as e:  # Warning: see RestrictedUnpickler.load
        raise CheckpointError(f"{name}: malformed pickle in data.pkl ({type(e).__name__}: "
                              f"{printable(str(e), 300)})") from None
    # NumPy's names (and a few others) are data to gradstep, but torch's weights_only refuses them
    allowed = (set(BUILTIN_GLOBALS) - REFUSED_BY_DEFAULT) | set(_torch_globals()) | set(_user_allowed())
    return sorted({g for g in found if g not in allowed})


def load_torch_zip(data, name, map_location=None, encoding="utf-8", errors="strict"):
    """Load a ``torch.save`` zip file; see the module docstring for what is checked.

    ``encoding`` and ``errors`` decode protocol 0/1 strings, as torch passes them to its unpickler."""
    archive = _Archive(data, name)
    loader = _Loader(archive, map_location)
    # the Python objects a pickle builds may take up to 16x the file's size (plus 64 MiB), its work
    # (opcodes, hashing) a few steps per byte of the file: both bounds follow the file, not data.pkl
    budget = 16 * archive.size + _MEMORY_SLACK
    work = _torch_unpickler.WORK_PER_BYTE * archive.size + _torch_unpickler.WORK_SLACK
    try:
        return RestrictedUnpickler(archive.pickle_bytes(), name, _torch_globals(), loader.persistent_load,
                                   budget, work, encoding, errors).load()
    except CallerError as e:
        raise e.error from None
    except CheckpointError as e:
        hint = _many_views_hint(loader.storages.values(), str(e))
        if hint:
            raise type(e)(f"{e}. {hint}") from None
        raise


# Measured on CPython 3.11, NumPy 2: a view saved one by one (torch.save([base[i] for i in ...])) is
# ~56 bytes of pickle; loading it charges ~2.7 KB (its Tensor and NumPy view, argument tuples, the
# hooks OrderedDict and memo entries torch's pickle keeps, and the calls) and takes ~530 bytes of
# real memory, so such a file loads about (16 * size + 64 MiB) / 2.7 KB views, ~60k for 100k views
_VIEW_CHARGE = 2700


def _many_views_hint(storages, text):
    """Why a file of many small views of few storages hits the memory bound, and the way out."""
    storages = list(storages)
    views = sum(s.views for s in storages)
    if "memory bound" not in text or views < 10_000 or views < 10 * len(storages):
        return ""
    return (f"It rebuilds {views}+ tensors from {len(storages)} storage(s): views saved one by one (like "
            f"torch.save([base[i] for i in range(n)])) cost gradstep's loader about {_VIEW_CHARGE} bytes each "
            "against a bound of 16x the file's size (+64 MiB), where torch loads them. Save the base "
            "tensor instead and index it after loading (torch.save(base); views = list(torch.load(f))), "
            "or save the views as one stacked tensor")

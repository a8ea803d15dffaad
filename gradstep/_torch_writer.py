"""Writing torch's zip checkpoint format: the protocol-2 opcodes ``torch.save`` emits, records stored.

Tensors, NumPy arrays and scalars, plain values and containers are written (see
:meth:`_PickleWriter.obj`), and whole modules as torch pickles them (``_module_pickle``);
gradstep pickles no other objects, since loading them would run their classes' code.
:mod:`gradstep._torch_format` reads the result.
"""

from __future__ import annotations

import argparse
import collections
import io
import struct
import warnings
import zipfile

import numpy as np

from . import _module_pickle
from . import backend as B
from ._checkpoint_sparse import write_layout, write_sparse
from ._layout import layout
from ._sparse_coo import SparseCooTensor
from ._storage import _addr, _contiguous_strides, storage_elements
from ._tensor import Size, Tensor, device
from .nn.parameter import Parameter

STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",  # where the backend has them
}
_NUMERIC_KINDS = "biufc"  # the NumPy dtype kinds written (and loaded) as data


def unwritable(o, fmt="torch format"):
    """The TypeError text for an object torch.save could pickle but gradstep does not write.

    gradstep pickles modules (and the functions and classes they name) but no other objects,
    since loading them would run their classes' code. An optimizer, scheduler, GradScaler or
    any other object with a ``state_dict()`` gets the way out: save its state dict and restore
    it with ``load_state_dict`` into an object the program builds.
    """
    from .nn.modules.module import Module

    name = type(o).__name__
    what = _stateful_kind(o)
    if isinstance(o, Module):  # only the native format gets here
        return (f"cannot write a whole module ({name}) in {fmt}, which holds data only: save it in "
                "torch's format (format='torch', or a .pt/.pth name), or save model.state_dict() and "
                "restore it with model.load_state_dict(torch.load(f)) into a model your code builds")
    if what is not None:
        label = what if what == name else f"{what} ({name})"
        return (f"cannot write a whole {label} in {fmt}: gradstep saves modules, tensors, containers "
                f"and plain values, no other pickled objects. Save its state_dict() instead (e.g. "
                f"{{'model': model.state_dict(), 'optimizer': optimizer.state_dict()}}) and restore it with "
                f".load_state_dict(...) into the {what} your code builds")
    return f"cannot write an object of type {name} in {fmt}"


def _stateful_kind(o):
    """'optimizer', 'learning rate scheduler', ... for objects restored through ``load_state_dict``."""
    if not (callable(getattr(o, "state_dict", None)) and callable(getattr(o, "load_state_dict", None))):
        return None
    from .optim.optimizer import Optimizer

    if isinstance(o, Optimizer):
        return "optimizer"
    names = [c.__name__ for c in type(o).__mro__]
    if any(n in ("LRScheduler", "_LRScheduler", "ReduceLROnPlateau") for n in names):
        return "learning rate scheduler"
    if "GradScaler" in names:
        return "GradScaler"
    return "object with a state_dict()"


class _PickleWriter:
    """Emits the protocol-2 opcodes torch.save writes for tensors, NumPy arrays and plain containers."""

    PID_END = b"tQ"  # TUPLE, BINPERSID: the end of a storage's persistent id (the legacy format adds None)

    def __init__(self):
        self.out = io.BytesIO()
        self.storages = []
        self.storage_keys = {}  # (address, bytes, dtype) of a storage -> its record name
        self.memo = {}  # id(tensor) -> memo index, so a tensor saved twice loads as one object
        self.keep = []

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
        elif isinstance(o, np.generic) and o.dtype.kind in _NUMERIC_KINDS:
            self._np_scalar(o)  # before float: np.float64 is a float, and torch keeps it a NumPy scalar
        elif isinstance(o, np.dtype):
            self._np_dtype(o)
        elif isinstance(o, int):
            self._int(o)
        elif isinstance(o, float):
            self.w(b"G" + struct.pack(">d", o))
        elif isinstance(o, str):
            raw = o.encode("utf-8", "surrogatepass")
            self.w(b"X" + struct.pack("<I", len(raw)) + raw)
        elif isinstance(o, bytes):
            self.global_("_codecs", "encode")
            self.obj(o.decode("latin-1"))
            self.obj("latin1")
            self.w(b"\x86R")
        elif isinstance(o, SparseCooTensor):
            write_sparse(self, o)
        elif isinstance(o, Tensor):
            self._tensor(o)
        elif isinstance(o, np.ndarray):
            self._ndarray(o)
        elif isinstance(o, B.dtype):
            self.global_("torch", o.name)
        elif isinstance(o, layout):
            write_layout(self, o)
        elif isinstance(o, Size):
            self.global_("torch", "Size")
            self.obj(tuple(o))
            self.w(b"\x85R")
        elif isinstance(o, (complex, device, set, frozenset, argparse.Namespace,
                            collections.Counter)) or (isinstance(o, tuple) and hasattr(o, "_fields")):
            self._reduced(o)
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
        elif _module_pickle.writable(o):  # a whole module (torch.save(model, f)), or a function
            _module_pickle.write(self, o)
        else:
            raise TypeError(unwritable(o))

    def _reduced(self, o):
        """The other objects torch.save is often given, written as Python's pickle writes them:
        a complex, a device, a set (torch's loader takes these), argparse.Namespace (training
        arguments saved beside the weights; gradstep loads it, torch asks for
        ``weights_only=False``), a Counter, and a namedtuple (loaded where its class is
        approved with ``add_safe_globals``, in torch too)."""
        cls = type(o)
        if isinstance(o, complex):
            self.global_("builtins", "complex")
            self.obj((o.real, o.imag))
        elif isinstance(o, device):
            self.global_("torch", "device")
            self.obj((o.type,) if o.index is None else (o.type, o.index))
        elif isinstance(o, (set, frozenset)):
            self.global_("builtins", "frozenset" if isinstance(o, frozenset) else "set")
            self.obj((list(o),))
        elif isinstance(o, collections.Counter):
            self.global_("collections", "Counter")
            self.obj((dict(o),))
        else:  # Namespace (its attributes by BUILD) and namedtuples (their fields as arguments)
            self.global_(cls.__module__, cls.__qualname__)
            if isinstance(o, argparse.Namespace):
                self.w(b")\x81")  # EMPTY_TUPLE, NEWOBJ
                self.obj(dict(vars(o)))
                self.w(b"b")  # BUILD
            else:
                self.obj(tuple(o))
                self.w(b"\x81")
            return
        self.w(b"R")

    def _int(self, v):
        if 0 <= v < 256:
            self.w(b"K" + bytes([v]))
        elif -(2**31) <= v < 2**31:
            self.w(b"J" + struct.pack("<i", v))
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.w(b"\x8a" + bytes([len(raw)]) + raw)

    def _np_scalar(self, o):
        """A NumPy scalar, as pickle writes it: ``numpy._core.multiarray.scalar(dtype, bytes)``."""
        self.global_("numpy._core.multiarray", "scalar")
        self._np_dtype(o.dtype)
        self.obj(o.tobytes())
        self.w(b"\x86R")

    def _np_dtype(self, dt):
        if dt.kind not in _NUMERIC_KINDS or dt.fields is not None:
            raise TypeError(f"cannot write a NumPy array of dtype {dt} in torch format")
        self.global_("numpy", "dtype")
        self.obj((dt.str[1:], False, True))
        self.w(b"R")
        self.obj((3, dt.byteorder if dt.byteorder != "=" else "<", None, None, None, -1, -1, 0))
        self.w(b"b")

    def _ndarray(self, a):
        self.global_("numpy._core.multiarray", "_reconstruct")
        self.global_("numpy", "ndarray")
        self.obj((0,))
        self.obj(b"b")
        self.w(b"\x87R(K\x01")
        self.obj(tuple(a.shape))
        self._np_dtype(a.dtype)
        self.w(b"\x89")
        self.obj(_c_order(a).tobytes())
        self.w(b"tb")

    def _put(self, key):
        n = len(self.memo)
        self.memo[key] = n
        self.w(b"r" + struct.pack("<I", n))

    def _tensor(self, t):
        if id(t) in self.memo:
            self.w(b"j" + struct.pack("<I", self.memo[id(t)]))
            return
        self.keep.append(t)
        key, nelem, offset, strides = self._storage(t)
        is_param = isinstance(t, Parameter)  # a Parameter subclass is written as a Parameter, as torch's
        state = _parameter_state(t) if is_param else None  # its attributes, as torch keeps them
        if is_param:
            self.global_("torch._utils", "_rebuild_parameter_with_state" if state else
                         "_rebuild_parameter")
            self.w(b"(")
        # uint16/32/64 and the float8s have no typed storage class: torch writes them untyped
        # (its size in bytes), rebuilt by _rebuild_tensor_v3, whose last argument is the dtype
        untyped = t.dtype.name not in STORAGE_DTYPES.values()
        self.global_("torch._utils", "_rebuild_tensor_v3" if untyped else "_rebuild_tensor_v2")
        self.w(b"((")  # arguments, persistent id tuple
        self.obj("storage")
        if untyped:
            self.global_("torch.storage", "UntypedStorage")
        else:
            self.global_("torch", next(s for s, d in STORAGE_DTYPES.items() if d == t.dtype.name))
        self.obj(key)
        self.obj("cpu")
        self.obj(int(nelem * t._data.itemsize if untyped else nelem))
        self.w(self.PID_END)
        self.obj(offset)
        self.obj(tuple(t._data.shape))
        self.obj(strides)
        self.obj(bool(t.requires_grad) and not is_param)
        self.global_("collections", "OrderedDict")
        self.w(b")R")
        if untyped:
            self.global_("torch", t.dtype.name)
        self.w(b"tR")
        if is_param:
            self.obj(bool(t.requires_grad))
            self.global_("collections", "OrderedDict")
            self.w(b")R")
            if state:
                self.obj(state)
            self.w(b"tR")
        self._put(id(t))

    def _storage(self, t):
        """(record name, elements, offset, strides) of ``t``'s storage. Tensors that share memory
        (tied weights, a view and its base) share one record, as torch writes them, so they load
        sharing it again; the rest (and views that do not fall on whole elements) get a C-order copy."""
        a = t._data
        whole = storage_elements(t) if a.size else None
        if whole is not None and all(s >= 0 and s % a.itemsize == 0 for s in a.strides):
            start = _addr(a) - _addr(whole)
            if start >= 0 and start % a.itemsize == 0:
                skey = (_addr(whole), whole.nbytes, a.dtype.str)
                key = self.storage_keys.get(skey)
                if key is None:
                    key = self.storage_keys[skey] = str(len(self.storages))
                    self.storages.append(whole)
                return key, whole.size, start // a.itemsize, tuple(s // a.itemsize for s in a.strides)
        arr = _c_order(a)  # (np.ascontiguousarray would make a 0-d array 1-d)
        key = str(len(self.storages))
        self.storages.append(arr)
        return key, arr.size, 0, _contiguous_strides(arr.shape)  # torch's: a size-0 dimension counts as 1


def _parameter_state(p):
    """The attributes of Parameter ``p`` that torch would save and gradstep's loader sets
    back: names :func:`~gradstep._pickle_globals.settable_attribute` allows (HF's private
    ``_is_hf_initialized`` too) holding plain data. Others are left out, with a warning."""
    from ._pickle_globals import settable_attribute
    from ._warn_once import user_stacklevel

    state, dropped = {}, []
    for name, value in p.__dict__.items():
        if settable_attribute(type(p), name) and _plain(value):
            state[name] = value
        else:
            dropped.append(name)
    if dropped:
        warnings.warn(f"torch.save: attributes {dropped} of an nn.Parameter are not saved (only "
                      "attributes holding numbers, strings, tensors and containers of them are, "
                      "except dunder names and hook tables)", UserWarning, stacklevel=user_stacklevel())
    return state


def _plain(value, depth=0):
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, Tensor)):
        return True
    if depth > 20 or not isinstance(value, (list, tuple, dict)):
        return False
    items = value.items() if isinstance(value, dict) else enumerate(value)
    return all((isinstance(value, (list, tuple)) or _plain(k, depth + 1)) and _plain(v, depth + 1)
               for k, v in items)


def _c_order(a):
    return a if a.flags.c_contiguous else a.copy(order="C")


def torch_bytes(obj, archive="archive", byteorder=True):
    """``obj`` in torch's zip format (what ``torch.save`` writes, records stored uncompressed)."""
    writer = _PickleWriter()
    pkl = writer.dump(obj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{archive}/data.pkl", pkl)
        if byteorder:
            zf.writestr(f"{archive}/byteorder", "little")
        for i, arr in enumerate(writer.storages):
            zf.writestr(f"{archive}/data/{i}", arr.tobytes())
        zf.writestr(f"{archive}/version", "3\n")
    return buf.getvalue()

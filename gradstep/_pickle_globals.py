"""The restricted unpickler's own objects and its builtin and NumPy data constructors.

:mod:`gradstep._torch_unpickler` runs the pickle; this module holds what its
opcodes produce and call: the object kinds that live only inside the
interpreter (:class:`Token`, :class:`Pending`, ...), the argument checks every
constructor uses, and :data:`BUILTIN_GLOBALS`, the constructors for plain data
(``OrderedDict``, ``set``, ``bytes``, ``complex``, NumPy arrays, dtypes and
scalars) that any checkpoint may name. Each checks its arguments before it
builds anything and charges the interpreter (``u.charge``) what it allocates.
"""

from __future__ import annotations

import argparse
import codecs
import collections

import numpy as np

from ._brief import brief
from ._np_data import normalized_bools, plain_numpy_dtype
from ._weights_only import cannot_build, refuses_numpy_build
from .serialization import CheckpointError, UnsafeCheckpointError

_ITEM_COST = 100  # bytes per item a constructor copies into a new dict or set (table slots, OrderedDict links)


# ---------------------------------------------------------------- interpreter objects
class Internal:
    """Objects that only live inside the interpreter (tokens, storages, half-built values)."""

    __slots__ = ()


class Token(Internal):
    """An allowlisted global: ``call(unpickler, args)`` builds a value (None: usable only as an argument)."""

    __slots__ = ("name", "call", "user")

    def __init__(self, name, call=None, user=None):
        self.name, self.call, self.user = name, call, user

    def __repr__(self):
        return self.name


class Value:
    """An allowlist entry whose GLOBAL pushes a value (torch.float32 -> gradstep.float32)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj


class Unsupported:
    """An allowlist entry for a torch name gradstep knows but cannot load (a dtype it lacks): its GLOBAL
    raises :class:`CheckpointError` with ``message`` instead of the add_safe_globals advice, which would not help."""

    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message


class Pending(Internal):
    """A value BUILD completes (a NumPy array or dtype); it must be built before it is used."""

    __slots__ = ("kind", "value", "build", "used")

    def __init__(self, kind, value, build):
        self.kind, self.value, self.build, self.used = kind, value, build, False


def describe(x):
    if isinstance(x, Token):
        return f"the global '{x.name}'"
    return f"a {type(x).__module__}.{type(x).__qualname__}" if type(x).__module__ != "builtins" \
        else f"a {type(x).__name__}"


def check_int(v, what, lo=None, hi=None):
    if type(v) is not int:
        raise CheckpointError(f"{what} must be an int, got {describe(v)}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise CheckpointError(f"{what} = {brief(v)} is out of range")
    return v


def check_ints(v, what, lo=None, hi=None):
    if type(v) not in (tuple, list) and not isinstance(v, tuple):
        raise CheckpointError(f"{what} must be a tuple of ints, got {describe(v)}")
    return tuple(check_int(x, f"{what}[{i}]", lo, hi) for i, x in enumerate(v))


# names a tensor's state may not set although they are not the class's: what NamedTuple checks
# (pytree, collate: ``hasattr(x, "_fields")``) look for; hook tables are refused by name below
_TENSOR_ATTRS_REFUSED = frozenset({"_fields", "_asdict", "_make", "_replace"})


def settable_attribute(cls, k):
    """Whether a checkpoint may set instance attribute ``k`` of a ``cls`` tensor (torch's
    ``_rebuild_parameter_with_state`` sets any; HF transformers saves ``_is_hf_initialized``).

    Private names load as in torch; dunder names, names of the class (methods, gradstep's slots
    such as ``_data``), hook tables (any name holding ``hook``) and NamedTuple markers do not.
    """
    return (type(k) is str and k.isidentifier() and not k.startswith("__") and "hook" not in k.lower()
            and k not in _TENSOR_ATTRS_REFUSED and not hasattr(cls, k))


# ---------------------------------------------------------------- builtin and NumPy constructors
def _args(args, n, what):
    if len(args) not in (n if isinstance(n, tuple) else (n,)):
        raise CheckpointError(f"{what} takes {n} arguments, got {len(args)}")
    return args


def _ordered_dict(u, args):
    _args(args, (0, 1), "collections.OrderedDict")
    d = collections.OrderedDict()
    if args:
        items = u.iter_items(args[0], "collections.OrderedDict")
        u.charge(_ITEM_COST * len(items))
        for kv in items:
            if type(kv) is not tuple or len(kv) != 2:
                raise CheckpointError("collections.OrderedDict items must be (key, value) pairs")
            d[u.hashed(kv[0])] = kv[1]
    return u.fresh(d, build=_build_ordered_dict)


def _build_ordered_dict(u, inst, state):
    if type(state) is not dict or any(type(k) is not str or k != "_metadata" for k in state):
        raise UnsafeCheckpointError("BUILD on an OrderedDict may only set its _metadata attribute")
    if "_metadata" in state:
        inst._metadata = state["_metadata"]


def _namespace(u, args):
    """``argparse.Namespace``, the attribute bag training scripts save their arguments in
    (``torch.save({"args": args, ...})``): built empty, its attributes set by BUILD."""
    _args(args, 0, "argparse.Namespace")
    return u.fresh(argparse.Namespace(), build=_build_namespace)


def _build_namespace(u, inst, state):
    """Sets the attributes; a name the class already has (``_get_kwargs``, ``__class__``) is refused,
    as an instance attribute would shadow the method (``repr`` of the loaded Namespace then raises)."""
    if type(state) is not dict or any(type(k) is not str for k in state):
        raise CheckpointError("an argparse.Namespace's state must be a dict of str names")
    shadowing = [k for k in state if hasattr(argparse.Namespace, k)]
    if shadowing:
        raise UnsafeCheckpointError(f"an argparse.Namespace's state may not set {brief(shadowing[0])}, "
                                    "which would shadow the class's own attribute")
    u.charge(_ITEM_COST * len(state))  # a copy of every item, however often the state dict is shared
    inst.__dict__.update(state)


def _counter(u, args):
    _args(args, (0, 1), "collections.Counter")
    c = collections.Counter()
    if args:
        if type(args[0]) in (list, tuple):  # Counter(iterable) counts its items, as in torch
            items = u.iter_items(args[0], "collections.Counter")
            u.charge(_ITEM_COST * len(items))
            for k in items:
                c[u.hashed(k)] += 1
            return u.fresh(c)
        if type(args[0]) is not dict:
            raise CheckpointError("collections.Counter takes a dict, list or tuple")
        u.charge(_ITEM_COST * len(args[0]))
        for k, v in args[0].items():
            c[u.hashed(k)] = v
    return u.fresh(c)


def _set_items(u, args, what):
    items = u.iter_items(args[0], what) if args else []
    u.charge(_ITEM_COST * len(items))
    return [u.hashed(x) for x in items]


def _set(u, args):
    _args(args, (0, 1), "builtins.set")
    return u.fresh(set(_set_items(u, args, "builtins.set")))


def _frozenset(u, args):
    _args(args, (0, 1), "builtins.frozenset")
    return u.sized(frozenset(_set_items(u, args, "builtins.frozenset")))


def _bytes_arg(u, args, what):
    """The bytes ``args`` describe; new bytes (from a str) are charged, a bytes argument is returned as is."""
    if len(args) == 1 and type(args[0]) is bytes:
        return args[0]
    if len(args) == 2 and type(args[0]) is str and type(args[1]) is str and args[1] in ("latin1", "latin-1"):
        u.charge(len(args[0]))
        return codecs.encode(args[0], "latin-1")
    raise CheckpointError(f"{what} takes bytes, or a str and the 'latin1' encoding")


def _bytes(u, args):  # protocol 2 pickles b"" as bytes()
    return _bytes_arg(u, args, "builtins.bytes") if args else b""


def _bytearray(u, args):
    raw = _bytes_arg(u, args, "builtins.bytearray") if args else b""
    u.charge(len(raw))  # a copy
    return u.fresh(bytearray(raw))


def _encode(u, args):
    if len(args) != 2:  # pickle writes _codecs.encode(str, 'latin1'); codecs.encode(b"...") raises in torch
        raise CheckpointError("_codecs.encode takes a str and the 'latin1' encoding")
    return _bytes_arg(u, args, "_codecs.encode")


def _complex(u, args):
    _args(args, (1, 2), "builtins.complex")
    if any(type(a) not in (int, float) for a in args):
        raise CheckpointError("builtins.complex takes numbers")
    return complex(*args)


def _np_dtype(u, args):
    _args(args, (1, 2, 3), "numpy.dtype")
    if type(args[0]) is not str or not all(type(a) is bool for a in args[1:]):
        raise CheckpointError("numpy.dtype takes a type code string and two bools")
    dt = plain_numpy_dtype(args[0])
    if dt is None:
        raise UnsafeCheckpointError(f"NumPy dtype {brief(args[0])} is not plain numeric data (a type code "
                                    "such as 'f4' or '<i8')")
    return Pending("numpy.dtype", dt, _build_np_dtype)


def _build_np_dtype(u, p, state):
    if type(state) is not tuple or len(state) not in (8, 9) or type(state[0]) is not int or state[0] not in (3, 4):
        raise CheckpointError("numpy.dtype state must be a version-3/4 tuple of 8 or 9 items")
    order = state[1]
    if type(order) is not str or order not in ("<", ">", "|", "=") or any(s is not None for s in state[2:5]):
        raise CheckpointError("numpy.dtype state: only plain numeric dtypes are supported")
    if refuses_numpy_build(type(p.value), u.user):  # torch's weights_only asks for np.dtypes.XDType too
        raise UnsafeCheckpointError(cannot_build(type(p.value)))
    if order in "<>" and p.value.itemsize > 1:  # np.dtype makes the native order '=', as pickle's load does
        p.value = np.dtype(order + p.value.str[1:])


def _np_reconstruct(u, args):
    if (len(args) != 3 or not isinstance(args[0], Token) or args[0].name != "numpy.ndarray"
            or type(args[1]) is not tuple or args[1] != (0,) or type(args[2]) is not bytes):
        raise CheckpointError("numpy._core.multiarray._reconstruct takes (numpy.ndarray, (0,), b'b')")
    return Pending("numpy.ndarray", None, _build_np_array)


def _build_np_array(u, p, state):
    if type(state) is not tuple or len(state) != 5 or type(state[0]) is not int or state[0] != 1:
        raise CheckpointError("numpy.ndarray state must be (1, shape, dtype, is_fortran, data)")
    _, shape, dt, fortran, raw = state
    shape = check_ints(shape, "numpy.ndarray shape", 0, 2**62)
    if not isinstance(dt, np.dtype) or type(fortran) is not bool:
        raise CheckpointError("numpy.ndarray state needs a numpy.dtype and a bool")
    if type(raw) is str:
        raw = codecs.encode(raw, "latin-1")
    if type(raw) not in (bytes, bytearray):
        raise UnsafeCheckpointError("numpy.ndarray data must be bytes (object arrays are refused)")
    n = 1
    for s in shape:
        n *= s
    if n * dt.itemsize != len(raw):
        raise CheckpointError(f"numpy.ndarray of shape {shape} and dtype {dt} needs {n * dt.itemsize} bytes, "
                              f"the file holds {len(raw)}")
    u.charge(len(raw))  # the copy below
    arr = np.frombuffer(raw, dtype=dt).reshape(shape, order="F" if fortran else "C")
    p.value = normalized_bools(arr.copy(order="K"))


def _np_frombuffer(u, args):  # protocol 5's form of an ndarray
    if (len(args) != 4 or type(args[0]) not in (bytes, bytearray) or not isinstance(args[1], np.dtype)
            or type(args[3]) is not str or args[3] not in ("C", "F")):
        raise CheckpointError("numpy._core.numeric._frombuffer takes (bytes, numpy.dtype, shape, 'C' or 'F')")
    p = Pending("numpy.ndarray", None, None)
    raw = args[0] if type(args[0]) is bytes else bytes(args[0])
    if raw is not args[0]:
        u.charge(len(raw))
    _build_np_array(u, p, (1, args[2], args[1], args[3] == "F", raw))
    return p.value


def _np_scalar(u, args):
    if len(args) != 2 or not isinstance(args[0], np.dtype) or type(args[1]) not in (bytes, str):
        raise CheckpointError("numpy._core.multiarray.scalar takes a numpy.dtype and bytes")
    raw = args[1] if type(args[1]) is bytes else codecs.encode(args[1], "latin-1")
    if len(raw) != args[0].itemsize:
        raise CheckpointError(f"a NumPy {args[0]} scalar needs {args[0].itemsize} bytes, got {len(raw)}")
    if args[0].kind == "b":
        raw = b"\x01" if any(raw) else b"\x00"
    return np.frombuffer(raw, dtype=args[0])[0]


_SLICE_ITEMS = (int, bool, float, type(None))
_I64_RANGE = range(-(2**63), 2**63)


def _int64s(args):
    """Whether the ints in ``args`` fit in 64 bits: hashing a range (and, from Python 3.12, a slice)
    does arithmetic on them each time, which the work bound charges only for ints it sees as keys."""
    return all(type(a) is not int or a in _I64_RANGE for a in args)


def _slice(u, args):
    """``slice(start, stop, step)`` of numbers or None (torch's weights_only asks for approval first)."""
    _args(args, (1, 2, 3), "builtins.slice")
    if any(type(a) not in _SLICE_ITEMS for a in args) or not _int64s(args):
        raise CheckpointError(f"builtins.slice takes numbers (ints of 64 bits) or None, got {brief(args)}")
    return slice(*args)


def _range(u, args):
    """``range(start, stop, step)``: ints, a nonzero step (a range stores its three ints, nothing more)."""
    _args(args, (1, 2, 3), "builtins.range")
    if any(type(a) not in (int, bool) for a in args) or not _int64s(args):
        raise CheckpointError(f"builtins.range takes ints of 64 bits, got {brief(args)}")
    if len(args) == 3 and args[2] == 0:
        raise CheckpointError("builtins.range: the step must not be zero")
    return range(*args)


BUILTIN_GLOBALS = {
    "builtins.slice": _slice,
    "builtins.range": _range,
    "builtins.Ellipsis": Value(Ellipsis),
    "collections.OrderedDict": _ordered_dict,
    "collections.Counter": _counter,
    "builtins.set": _set,
    "builtins.frozenset": _frozenset,
    "builtins.bytearray": _bytearray,
    "builtins.bytes": _bytes,
    "builtins.complex": _complex,
    "argparse.Namespace": _namespace,
    "_codecs.encode": _encode,
    "numpy.dtype": _np_dtype,
    "numpy.ndarray": None,
    "numpy._core.multiarray._reconstruct": _np_reconstruct,
    "numpy._core.multiarray.scalar": _np_scalar,
    "numpy._core.numeric._frombuffer": _np_frombuffer,
}

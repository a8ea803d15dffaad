"""Top-level torch names programs reach that are compositions of gradstep's own ops: the
``*_scatter`` functions (out-of-place writes into a copy), the ``*_copy`` functions (a view op
whose result is a fresh tensor), ``constant_pad_nd``, ``narrow_copy``, the ``sym_*`` helpers on
plain numbers, and a few aliases and flags. Merged into ``gradstep`` by
``gradstep/__init__.py`` (never over a name defined there), as ``_torch_aliases`` is.

Each is built from differentiable gradstep ops, so autograd gives torch's gradients (the
grad_fn names are those of the ops used: a ``slice_scatter`` records a ``CopySlices``).
"""

from __future__ import annotations

import builtins
import math


# ---------------------------------------------------------------- scatters
def _written_copy(input, src, view):  # noqa: A002 - torch's keyword name
    """``input`` cloned, with ``view(clone)`` overwritten by ``src`` (shapes must agree)."""
    out = input.clone()
    target = view(out)
    if tuple(target.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(target.shape)}")
    target.copy_(src)
    return out


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):  # noqa: A002
    def view(t):
        d = dim % t.ndim if t.ndim else 0
        return t[(slice(None),) * d + (slice(start, end, step),)]
    return _written_copy(input, src, view)


def select_scatter(input, src, dim, index):  # noqa: A002
    return _written_copy(input, src, lambda t: t.select(dim, index))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):  # noqa: A002
    return _written_copy(input, src, lambda t: t.diagonal(offset, dim1, dim2))


def as_strided_scatter(input, src, size, stride, storage_offset=None):  # noqa: A002
    """Written through the flat positions the strided view reads (of ``input`` laid out
    contiguously, as torch's result is), with an index assignment autograd follows."""
    from . import arange, as_strided

    positions = as_strided(arange(input.numel()), size, stride, storage_offset)
    if tuple(positions.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(positions.shape)}")
    out = input.reshape(-1).clone()
    out[positions.reshape(-1)] = src.reshape(-1)
    return out.reshape(input.shape)


# ---------------------------------------------------------------- *_copy
def _copy_of(method):
    def fn(input, *args, **kwargs):  # noqa: A002
        out = getattr(input, method)(*args, **kwargs)
        if isinstance(out, (tuple, list)):
            return tuple(o.clone() for o in out)  # torch's split_copy/unbind_copy give tuples
        return out.clone(memory_format=_contiguous())
    name = f"{method}_copy"
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: ``input.{method}(...)`` as a new tensor."
    return fn


def _contiguous():
    from ._memory_format import contiguous_format

    return contiguous_format


_COPY_METHODS = ("view", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze", "select",
                 "split", "split_with_sizes", "unbind", "diagonal", "detach", "unfold", "values",
                 "indices", "narrow")


def slice_copy(input, dim=0, start=None, end=None, step=1):  # noqa: A002
    d = dim % input.ndim if input.ndim else 0
    return input[(slice(None),) * d + (slice(start, end, step),)].clone()


def alias_copy(input):  # noqa: A002
    return input.clone()


def view_as_real_copy(input):  # noqa: A002
    from . import view_as_real

    return view_as_real(input).clone()


def view_as_complex_copy(input):  # noqa: A002
    from . import view_as_complex

    return view_as_complex(input).clone()


def as_strided_copy(input, size, stride, storage_offset=None):  # noqa: A002
    from . import as_strided

    return as_strided(input, size, stride, storage_offset).clone()


def constant_pad_nd(input, pad, value=0):  # noqa: A002
    from .nn import functional as F

    return F.pad(input, pad, mode="constant", value=value)


def is_storage(obj):
    from ._storage import TypedStorage, UntypedStorage

    return isinstance(obj, (TypedStorage, UntypedStorage))


# ---------------------------------------------------------------- symbolic-shape helpers
class SymInt:
    """torch.SymInt: a symbolic int of a traced shape. gradstep traces nothing, so no value is
    ever one (``isinstance(3, torch.SymInt)`` is False, as in torch)."""

    def __init__(self, node):
        self.node = node


class SymFloat:
    """torch.SymFloat (see SymInt)."""

    def __init__(self, node):
        self.node = node


class SymBool:
    """torch.SymBool (see SymInt)."""

    def __init__(self, node):
        self.node = node


for _cls in (SymInt, SymFloat, SymBool):
    _cls.__module__ = "torch"
del _cls


def sym_int(a):
    return a if isinstance(a, int) and not isinstance(a, bool) else builtins.int(a)


def sym_float(a):
    return builtins.float(a)


def _sym_extreme(pick, a, b):
    r = pick(a, b)
    # a float with an int gives a float, as torch's sym_max/sym_min
    return builtins.float(r) if isinstance(a, builtins.float) or isinstance(b, builtins.float) else r


def sym_max(a, b):
    return _sym_extreme(builtins.max, a, b)


def sym_min(a, b):
    return _sym_extreme(builtins.min, a, b)


def sym_not(a):
    return not a


def sym_sqrt(a):
    return math.sqrt(a)


def sym_ite(b, t, f):
    if not isinstance(b, (SymBool, bool)):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    if type(t) is not type(f):
        raise AssertionError(f"type mismatch: {type(t)} vs {type(f)}")
    return t if b else f


def sym_sum(args):
    return builtins.sum(args)


# ---------------------------------------------------------------- flags and modules
def get_device_module(device=None):
    """The ``torch.<type>`` module of a device (``torch.cpu`` for None: gradstep has no
    accelerator)."""
    import importlib

    if device is None:
        name = "cpu"
    elif isinstance(device, str):
        name = device.split(":")[0]
    elif hasattr(device, "type"):
        name = device.type
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or None")
    if name not in ("cpu", "cuda", "mps", "xpu"):
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered as "
                           f"'torch.{name}'.")
    return importlib.import_module(f"gradstep.{name}")


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode):
    from . import use_deterministic_algorithms

    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode == 0:
        use_deterministic_algorithms(False)
    elif debug_mode == 1:
        use_deterministic_algorithms(True, warn_only=True)
    elif debug_mode == 2:
        use_deterministic_algorithms(True)
    else:
        raise RuntimeError("invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")


def get_deterministic_debug_mode():
    from . import (
        are_deterministic_algorithms_enabled,
        is_deterministic_algorithms_warn_only_enabled,
    )

    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


class AcceleratorError(RuntimeError):
    """torch.AcceleratorError: an accelerator runtime failure (never raised without one)."""


AcceleratorError.__module__ = "torch"

# gradstep runs NumPy: no MKL or OpenMP of its own; LAPACK (numpy.linalg) and FFTs it has
has_mkl = False
has_lapack = True
has_openmp = False
has_spectral = True


def _functions():
    from .amp import GradScaler
    from .cuda import OutOfMemoryError

    fns = {f"{m}_copy": _copy_of(m) for m in _COPY_METHODS}
    fns.update({name: obj for name, obj in globals().items() if not name.startswith("_")
                and callable(obj) and getattr(obj, "__module__", None) in (__name__, "torch")})
    fns.update(GradScaler=GradScaler, OutOfMemoryError=OutOfMemoryError,
               AcceleratorError=AcceleratorError, has_mkl=has_mkl, has_lapack=has_lapack,
               has_openmp=has_openmp, has_spectral=has_spectral)
    return fns


FUNCTIONS = _functions()
METHODS = {"slice_scatter": slice_scatter, "select_scatter": select_scatter,
           "diagonal_scatter": diagonal_scatter, "as_strided_scatter": as_strided_scatter,
           "narrow_copy": FUNCTIONS["narrow_copy"]}


def bind():
    from ._tensor import Tensor

    for name, fn in METHODS.items():
        if name not in Tensor.__dict__:
            setattr(Tensor, name, fn)


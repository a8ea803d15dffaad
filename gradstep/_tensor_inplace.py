"""In-place ``Tensor`` methods made from their out-of-place ops, bound onto ``Tensor``.

Each generated ``x.op_(...)`` computes ``op(x, ...)`` and writes the result back through
``Tensor``'s in-place machinery (``_inplace_graph`` when a graph is recorded, ``_write``
otherwise), so every one of them checks and behaves like the hand-written ones in
``_tensor.py``: the leaf-requires-grad error, the version-counter bump, the result's
``grad_fn``, and torch's error when the result type cannot be cast back (``long.sqrt_()``).

The methods whose torch 1.x overloads are still accepted (``add``, ``sub``, ``addcmul``,
``addcdiv`` and their in-place forms) go through ``_legacy``.
"""

from __future__ import annotations

import math
from itertools import chain

from . import _legacy
from ._tensor import Tensor, _leaf_inplace_error
from .autograd.function import Node
from .autograd.grad_mode import _GradState, no_grad
from .backend import xp
from .ops import arithmetic as R
from .ops import compare as C
from .ops import pointwise as P
from .ops import shape as S
from .ops import unary as U


def inplace_from(op):
    """``Tensor.<op>_``: ``op(self, ...)`` written back into ``self``."""

    def method(self, *args, **kwargs):
        others = [a for a in chain(args, kwargs.values()) if isinstance(a, Tensor)]
        if self._needs_graph(*others):
            return self._inplace_graph(lambda old: op(old, *args, **kwargs))
        with no_grad():
            out = op(self.detach(), *args, **kwargs)
        self._write(out._data)
        return self

    method.__name__ = getattr(op, "__name__", "op") + "_"
    return method


def inplace_untracked(op):
    """An in-place op autograd does not see (torch's ``logical_*_``): no leaf check, no graph."""

    def method(self, *args):
        with no_grad():
            out = op(self.detach(), *args)
        self._write(out._data)
        return self

    method.__name__ = getattr(op, "__name__", "op") + "_"
    return method


class _ComparedInPlace(Node):
    """``x.eq_(y)`` and friends on a tensor that requires grad: torch keeps it in the graph
    with a zero gradient (``EqBackward0``, ...)."""

    def forward(self, a):
        return self.value.astype(a.dtype)

    def backward(self, g):
        return g * 0


def _compared(op, backward_name):
    def compare(a, *args):
        out = op(a, *args)
        if not a._needs_graph():
            return out
        return _ComparedInPlace.apply(a, value=out._data, _name=backward_name)

    compare.__name__ = op.__name__
    return compare


def _bitwise(fn):
    return lambda a, b: C.bitwise(a, b, fn)


# in-place name -> the out-of-place op it writes back
GENERATED = {
    "log_": U.log, "log1p_": U.log1p, "log2_": U.log2, "log10_": U.log10, "expm1_": U.expm1,
    "rsqrt_": U.rsqrt, "sin_": U.sin, "cos_": U.cos, "reciprocal_": U.reciprocal,
    "floor_": U.floor, "ceil_": U.ceil, "round_": U.round, "trunc_": U.trunc, "fix_": U.trunc,
    "square_": U.square, "erf_": U.erf,
    "frac_": P.frac, "sgn_": P.sgn, "fmod_": P.fmod, "nan_to_num_": P.nan_to_num,
    "remainder_": R.remainder, "floor_divide_": R.floor_divide,
    "eq_": _compared(C.eq, "EqBackward0"), "ne_": _compared(C.ne, "NeBackward0"),
    "lt_": _compared(C.lt, "LtBackward0"), "le_": _compared(C.le, "LeBackward0"),
    "gt_": _compared(C.gt, "GtBackward0"), "ge_": _compared(C.ge, "GeBackward0"),
}
# in-place ops autograd does not track at all in torch
UNTRACKED = {
    "logical_not_": C.logical_not, "logical_and_": C.logical_and, "logical_or_": C.logical_or,
    "logical_xor_": C.logical_xor, "bitwise_not_": C.invert,
    "bitwise_and_": _bitwise(xp.bitwise_and), "bitwise_or_": _bitwise(xp.bitwise_or),
    "bitwise_xor_": _bitwise(xp.bitwise_xor),
}

# in-place aliases torch has for methods that exist under another name
ALIASES = {
    "absolute_": "abs_", "negative_": "neg_", "multiply_": "mul_", "divide_": "div_",
    "true_divide_": "div_", "subtract_": "sub_", "less_": "lt_", "less_equal_": "le_",
    "greater_": "gt_", "greater_equal_": "ge_", "not_equal_": "ne_",
}

# out-of-place methods torch has that had no Tensor method here
METHODS = {
    "frac": P.frac, "sgn": P.sgn, "fmod": P.fmod, "nan_to_num": P.nan_to_num,
    "addcmul": _legacy.method("addcmul", P.addcmul),
    "addcdiv": _legacy.method("addcdiv", P.addcdiv),
    "log1p": U.log1p, "expm1": U.expm1, "fix": U.trunc,
    "bitwise_and": _bitwise(xp.bitwise_and), "bitwise_or": _bitwise(xp.bitwise_or),
    "bitwise_xor": _bitwise(xp.bitwise_xor),
}


# ---------------------------------------------------------------- addcmul_ / addcdiv_
def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def addcmul_(self, tensor1, tensor2, *, value=1):
    """``self += value * tensor1 * tensor2``, rounded in torch's order."""
    if self._needs_graph(tensor1, tensor2):
        return self._inplace_graph(lambda s: P.addcmul(s, tensor1, tensor2, value=value))
    value = _number(value)
    t1 = tensor1._data if value == 1 else tensor1._data * value
    return self._ufunc_(xp.add, xp.multiply(t1, tensor2._data))


def addcdiv_(self, tensor1, tensor2, *, value=1):
    """``self += value * tensor1 / tensor2``, rounded in torch's order."""
    if self._needs_graph(tensor1, tensor2) or not (
            tensor1.is_floating_point() or tensor2.is_floating_point()):
        return self._inplace_graph(lambda s: P.addcdiv(s, tensor1, tensor2, value=value))
    value = _number(value)
    t1 = tensor1._data if value == 1 else tensor1._data * value
    return self._ufunc_(xp.add, xp.true_divide(t1, tensor2._data))


# ---------------------------------------------------------------- shape changes in place
def _shape_inplace(op):
    """``t_``, ``transpose_``, ... : ``self`` takes the shape (and history) of ``op(self)``."""

    def method(self, *args):
        if _GradState.enabled and self._rg and self.grad_fn is None:
            raise _leaf_inplace_error()
        out = op(self, *args)
        self._data = out._data
        if out.grad_fn is not None:
            self.grad_fn, self._out_nr = out.grad_fn, out._out_nr
        return self

    method.__name__ = op.__name__ + "_"
    return method


def resize_(self, *sizes, memory_format=None):
    """Reshape in place, keeping the leading elements; new elements are uninitialised (zeros)."""
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if _GradState.enabled and self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    n = math.prod(shape)
    flat = self._data.reshape(-1)
    if n <= flat.size:
        self._data = flat[:n].reshape(shape)
    else:
        grown = xp.zeros(n, self._data.dtype)
        grown[:flat.size] = flat
        self._data = grown.reshape(shape)
    return self


def bind():
    T = Tensor
    for name, op in GENERATED.items():
        setattr(T, name, inplace_from(op))
    for name, op in UNTRACKED.items():
        setattr(T, name, inplace_untracked(op))
    for alias, name in ALIASES.items():
        setattr(T, alias, getattr(T, name))
    for name, op in METHODS.items():
        setattr(T, name, op)
    T.addcmul_ = _legacy.method("addcmul_", addcmul_)
    T.addcdiv_ = _legacy.method("addcdiv_", addcdiv_)
    T.add = _legacy.method("add", R.add)
    T.sub = _legacy.method("sub", R.sub)
    T.add_ = _legacy.method("add_", T.add_)
    T.sub_ = _legacy.method("sub_", T.sub_)
    for name, op in (("t", S.t), ("transpose", S.transpose), ("squeeze", S.squeeze),
                     ("unsqueeze", S.unsqueeze), ("swapaxes", S.transpose),
                     ("swapdims", S.transpose)):
        setattr(T, name + "_", _shape_inplace(op))
    T.resize_ = resize_
    T.resize_as_ = lambda self, other, memory_format=None: resize_(self, other.shape)


bind()

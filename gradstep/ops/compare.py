"""Comparisons, logical and bitwise ops, and closeness tests (results never require grad)."""

from __future__ import annotations

from ..autograd.function import Node
from ..backend import xp
from ._util import binary_args, check_broadcast, dtype_title
from .arithmetic import _scalar, _t


# ---------------------------------------------------------------- comparisons and logic
class _NoGrad(Node):
    """Marker base: results never require grad."""


def _compare(a, b, fn):
    from .._tensor import Tensor

    if isinstance(a, Tensor) and isinstance(b, (int, float, bool)):
        if isinstance(b, int) and a.dtype.np.kind in "iu":
            b = _scalar(b, a.dtype)  # torch compares in the tensor's dtype (uint8 < -2 wraps)
        return Tensor._make(fn(a._data, b))
    a, b = binary_args(a, b)
    return Tensor._make(fn(a._data, b._data))


def _logical(a, b, fn):
    from .._tensor import Tensor

    a, b = _t(a), _t(b)
    if a.shape != b.shape:
        check_broadcast(a.shape, b.shape)
    return Tensor._make(fn(a._data, b._data))


def eq(a, b):
    return _compare(a, b, xp.equal)


def ne(a, b):
    return _compare(a, b, xp.not_equal)


def lt(a, b):
    return _compare(a, b, xp.less)


def le(a, b):
    return _compare(a, b, xp.less_equal)


def gt(a, b):
    return _compare(a, b, xp.greater)


def ge(a, b):
    return _compare(a, b, xp.greater_equal)


def logical_and(a, b):
    return _logical(a, b, xp.logical_and)


def logical_or(a, b):
    return _logical(a, b, xp.logical_or)


def logical_xor(a, b):
    return _logical(a, b, xp.logical_xor)


def logical_not(a):
    from .._tensor import Tensor

    return Tensor._make(xp.logical_not(_t(a)._data))


def bitwise(a, b, fn):
    from .._tensor import Tensor

    a, b = binary_args(a, b)
    if a.dtype.is_floating_point:
        raise NotImplementedError(f"\"{fn.__name__}_cpu\" not implemented for "
                                  f"'{dtype_title(a.dtype)}'")
    return Tensor._make(fn(a._data, b._data))


def invert(a):
    from .._tensor import Tensor

    if a.dtype.is_floating_point:
        raise TypeError("~ (bitwise_not) is only supported for integer and bool tensors")
    return Tensor._make(xp.invert(a._data))


def isnan(a):
    from .._tensor import Tensor

    return Tensor._make(xp.isnan(a._data))


def isinf(a):
    from .._tensor import Tensor

    return Tensor._make(xp.isinf(a._data))


def isfinite(a):
    from .._tensor import Tensor

    return Tensor._make(xp.isfinite(a._data))


def _check_close_args(name, a, b, rtol, atol):
    """torch's checks of isclose/allclose: two tensors (no Python numbers) of one dtype (no
    promotion, not even float32 with float64), tolerances not negative."""
    from .._tensor import Tensor

    for what, pos, t in (("input", 1, a), ("other", 2, b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{what}' (position {pos}) must be Tensor, not "
                            f"{type(t).__name__}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{dtype_title(a.dtype)} did not match {dtype_title(b.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol:g}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol:g}")


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    _check_close_args("allclose", a, b, rtol, atol)
    return bool(xp.allclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    from .._tensor import Tensor

    _check_close_args("isclose", a, b, rtol, atol)
    return Tensor._make(xp.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b):
    a, b = _t(a), _t(b)
    return a.shape == b.shape and bool(xp.array_equal(a._data, b._data))

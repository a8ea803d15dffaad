"""Sign and IEEE helpers: copysign, fmax/fmin, heaviside, nextafter, signbit, isposinf/isneginf,
isreal, positive, rsub; and the NaN-ignoring reductions nansum/nanmean."""

from __future__ import annotations

from ..autograd.function import Node
from ..backend import xp
from ._util import as_float, binary_args, check_broadcast, check_float_input, sum_to
from .arithmetic import _t, mul, sub
from .unary import _tensor_operands, where


def _tensor(arr):
    from .._tensor import Tensor

    return Tensor._make(arr)


class CopySign(Node):
    """|a| with the sign of b; the gradient to ``a`` is ``g * out / a`` (0 where a == 0)."""

    saves = (0,)
    saves_output = True

    def forward(self, a, b):
        self.b_shape = b.shape
        return xp.copysign(a, b)

    def backward(self, g):
        (a,) = self.saved_tensors
        zero = g.new_zeros(())
        ga = where(a == 0, zero, g * self.saved_output / a)
        return sum_to(ga, a.shape), g.new_zeros(self.b_shape)


def copysign(input, other):  # noqa: A002
    if isinstance(other, (int, float)):  # float first: -1 must not wrap into a uint8 input's type
        other = float(other)
    a, b = binary_args(input, other)
    return CopySign.apply(as_float(a), as_float(b))


class FMax(Node):
    """fmax/fmin: a NaN loses; the gradient goes wholly to the chosen input (``self`` on ties)."""

    saves = (0, 1)

    def forward(self, a, b):
        return (xp.fmax if self.is_max else xp.fmin)(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        pick_a = ((a >= b) if self.is_max else (a <= b)) | b.isnan()
        zero = g.new_zeros(())
        return sum_to(where(pick_a, g, zero), a.shape), sum_to(where(pick_a, zero, g), b.shape)


def fmax(input, other):  # noqa: A002
    _tensor_operands("fmax", input, other)
    return FMax.apply(*binary_args(input, other), is_max=True, _name="FmaxBackward0")


def fmin(input, other):  # noqa: A002
    _tensor_operands("fmin", input, other)
    return FMax.apply(*binary_args(input, other), is_max=False, _name="FminBackward0")


def heaviside(input, values):  # noqa: A002
    """0 where input < 0, ``values`` where input == 0, 1 where input > 0 (no gradient)."""
    a, v = _t(input), _t(values)
    if a.dtype is not v.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    check_broadcast(a.shape, v.shape)
    x = a._data
    res = xp.where(x == 0, v._data, (x > 0).astype(x.dtype))
    return _tensor(res.astype(x.dtype))


def nextafter(input, other):  # noqa: A002
    _tensor_operands("nextafter", input, other)
    a, b = binary_args(input, other)
    check_float_input(a, "nextafter_cpu")
    return _tensor(xp.nextafter(a._data, b._data))


def signbit(input):  # noqa: A002
    x = _t(input)._data
    return _tensor(xp.signbit(x) if x.dtype.kind in "fV" else (x < 0))


def isposinf(input):  # noqa: A002
    x = _t(input)._data
    return _tensor(xp.isposinf(x) if x.dtype.kind in "f" else xp.isinf(x) & (x > 0))


def isneginf(input):  # noqa: A002
    x = _t(input)._data
    return _tensor(xp.isneginf(x) if x.dtype.kind in "f" else xp.isinf(x) & (x < 0))


def isreal(input):  # noqa: A002
    """True everywhere for a real tensor (torch's result for non-complex input)."""
    return _tensor(xp.ones(_t(input)._data.shape, dtype=bool))


def positive(input):  # noqa: A002
    a = _t(input)
    if a.dtype.name == "bool":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return a


def rsub(input, other, *, alpha=1):  # noqa: A002
    """``other - alpha * input``."""
    return sub(other, input if alpha == 1 else mul(input, alpha))


def nansum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Sum treating NaN as zero; the gradient is 0 at the NaNs."""
    a = _t(input)
    if dtype is not None:
        a = a.to(dtype)
    z = a.masked_fill(a.isnan(), 0) if a.dtype.is_floating_point else a
    return z.sum() if dim is None and not keepdim else z.sum(dim=dim, keepdim=keepdim)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Mean over the non-NaN elements (NaN where all are NaN); floating input only."""
    a = _t(input)
    if dtype is not None:
        a = a.to(dtype)
    if not a.dtype.is_floating_point:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {a.dtype.name.capitalize()}")
    count = nansum((~a.isnan()).to(a.dtype), dim, keepdim)
    return nansum(a, dim, keepdim) / count

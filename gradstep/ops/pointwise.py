"""Pointwise ops built on the elementwise families: addcmul, addcdiv, frac, sgn, fmod, nan_to_num."""

from __future__ import annotations

from ..autograd.function import Node
from ..backend import xp
from ._util import binary_args, sum_to
from .arithmetic import _t
from .arithmetic import add as _add
from .arithmetic import div as _div
from .arithmetic import mul as _mul
from .arithmetic import sub as _sub
from .unary import sign as _sign
from .unary import trunc as _trunc


def _scaled(t1, value):
    """``value * t1``, skipped for 1; torch's kernels compute ``self + value * t1 * t2`` (and
    ``self + value * t1 / t2``) left to right, which this ordering reproduces."""
    return t1 if isinstance(value, (int, float)) and value == 1 else _mul(t1, value)


def _value(value):
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError("value must be a Number or a one-element tensor")
        return value.item()
    return value


def addcmul(input, tensor1, tensor2, *, value=1, out=None):  # noqa: A002 - torch's names
    """``input + value * tensor1 * tensor2``."""
    result = _add(input, _mul(_scaled(tensor1, _value(value)), tensor2))
    return _into(out, result)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):  # noqa: A002
    """``input + value * tensor1 / tensor2`` (true division; integer operands are refused)."""
    t1, t2 = _t(tensor1), _t(tensor2)
    if not t1.is_floating_point() and not t2.is_floating_point():
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) using Tensor.div_ and torch.trunc."
        )
    result = _add(input, _div(_scaled(t1, _value(value)), t2))
    return _into(out, result)


def _into(out, result):
    if out is None:
        return result
    if out._data.shape != result._data.shape:  # torch resizes ``out`` to the result's shape
        out._data = xp.empty(result._data.shape, out._data.dtype)
    out._write(result._data)
    return out


def frac(input):  # noqa: A002
    """``input - trunc(input)`` (floating point only, as in torch)."""
    a = _t(input)
    if not a.is_floating_point():
        raise NotImplementedError(f'"frac_cpu" not implemented for \'{a.dtype.name.capitalize()}\'')
    return _sub(a, _trunc(a))


def sgn(input):  # noqa: A002
    """The sign of a real tensor (``sign``; torch's ``sgn`` differs only for complex)."""
    return _sign(input)


class Fmod(Node):
    """C's ``fmod``: the remainder with the sign of the dividend."""

    saves = (0, 1)

    def forward(self, a, b):
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and (b == 0).any():
            raise RuntimeError("ZeroDivisionError")
        return xp.fmod(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        return sum_to(g, a.shape), sum_to(-g * _trunc(a / b), b.shape)


def fmod(input, other):  # noqa: A002
    a, b = binary_args(input, other)
    return Fmod.apply(a, b)


class NanToNum(Node):
    """Replace NaN, +inf and -inf; the gradient passes only where the input was finite."""

    saves = (0,)

    def forward(self, a):
        if a.dtype.kind != "f":
            return a.copy()
        info = xp.finfo(a.dtype)
        pos = info.max if self.posinf is None else self.posinf
        neg = info.min if self.neginf is None else self.neginf
        return xp.nan_to_num(a, nan=self.nan, posinf=pos, neginf=neg)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g * a.isfinite()


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    return NanToNum.apply(_t(input), nan=nan, posinf=posinf, neginf=neginf)

"""Pointwise ops built on the elementwise families: addcmul, addcdiv, frac, sgn, fmod, nan_to_num."""

from __future__ import annotations

from ..autograd.function import Node, as_torch_node
from ..backend import result_type, xp
from ._lowp import F32, float32_compute, is_lowp
from ._util import binary_args, check_broadcast, sum_to
from .arithmetic import _check_int_divisor, _t
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


def _promoted(*operands):
    """The tensor operands in their common dtype when they differ: torch computes
    ``input + value * t1 * t2`` in it, where ``value * t1`` in a bfloat16 ``t1`` would round
    to bfloat16 here. One dtype test per operand when they agree."""
    T = _tensor_cls()
    dts = {t._data.dtype for t in operands if isinstance(t, T)}
    if len(dts) < 2:
        return operands
    dt = result_type(*operands)
    return tuple(t.to(dt) if isinstance(t, T) and t.dtype is not dt else t for t in operands)


def _value(value):
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError("value must be a Number or a one-element tensor")
        return value.item()
    return value


@float32_compute(backward=False)
class _AddcLowp(Node):
    """addcmul/addcdiv of three float16/bfloat16 tensors: ``input + value * t1 * t2`` (or
    ``/ t2``) in float32 with a float32 ``value``, rounded once as torch's kernels. The
    gradients are torch's formulas in Tensor ops, each step rounded: ``grad * (t2 * value)``,
    ``grad * (value / t2)``, ``-grad * (value * t1 / (t2 * t2))``."""

    saves = (1, 2)

    def forward(self, a, t1, t2):
        self.shapes = (a.shape, t1.shape, t2.shape)
        scaled = F32.type(self.value) * t1
        return a + (xp.true_divide(scaled, t2) if self.div else scaled * t2)

    def backward(self, g):
        t1, t2 = self.saved_tensors
        v, (sa, s1, s2) = self.value, self.shapes
        if self.div:
            g1, g2 = g * (v / t2), -g * (v * t1 / (t2 * t2))
        else:
            g1, g2 = g * (t2 * v), g * (t1 * v)
        return sum_to(g, sa), sum_to(g1, s1), sum_to(g2, s2)


def _addc_lowp(input, tensor1, tensor2, value, div):  # noqa: A002
    """``_AddcLowp`` when the three operands are tensors of one float16/bfloat16 dtype, else None."""
    T = _tensor_cls()
    if not all(isinstance(t, T) for t in (input, tensor1, tensor2)):
        return None
    dt = input._data.dtype
    if not is_lowp(dt) or tensor1._data.dtype != dt or tensor2._data.dtype != dt:
        return None
    _broadcast(input.shape, _broadcast(tensor1.shape, tensor2.shape))
    name = "AddcdivBackward0" if div else "AddcmulBackward0"
    return _AddcLowp.apply(input, tensor1, tensor2, value=value, div=div, _name=name)


def _broadcast(sa, sb):
    check_broadcast(sa, sb)
    return xp.broadcast_shapes(sa, sb)


def _tensor_cls():
    from .._tensor import Tensor

    return Tensor


def addcmul(input, tensor1, tensor2, *, value=1, out=None):  # noqa: A002 - torch's names
    """``input + value * tensor1 * tensor2``."""
    value = _value(value)
    input, tensor1, tensor2 = _promoted(input, tensor1, tensor2)  # noqa: A001
    result = _addc_lowp(input, tensor1, tensor2, value, div=False)
    if result is None:
        result = as_torch_node(_add(input, _mul(_scaled(tensor1, value), tensor2)),
                               "AddcmulBackward0")
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
    value = _value(value)
    input, t1, t2 = _promoted(input, t1, t2)  # noqa: A001
    result = _addc_lowp(input, t1, t2, value, div=True)
    if result is None:
        result = as_torch_node(_add(input, _div(_scaled(t1, value), t2)), "AddcdivBackward0")
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
        _check_int_divisor(a, b, "fmod_cpu")  # bool: no kernel; integer division by zero
        return xp.fmod(a, b)

    def backward(self, g):
        if not self.saves:  # the divisor needs no gradient: nothing was saved (as in torch)
            return g, None
        a, b = self.saved_tensors
        return sum_to(g, a.shape), sum_to(-g * _trunc(a / b), b.shape)


def fmod(input, other):  # noqa: A002
    scalar_b = isinstance(other, (bool, int, float))
    a, b = binary_args(input, other)
    if scalar_b:  # torch's fmod(tensor, scalar): one input, nothing saved
        return Fmod.apply(a, b, saves=(), _shown_edges=(0,))
    return Fmod.apply(a, b, _name="FmodBackward1", saves=(0, 1) if b._rg else ())


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

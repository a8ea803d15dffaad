"""Trigonometric and hyperbolic functions (tan, asin, ..., atanh), atan2, hypot, deg2rad, rad2deg.

Each is an autograd ``Node`` whose backward is torch's derivative formula written in
Tensor ops (so double backward works), in torch's order: float16/bfloat16 gradients round
after each op as torch's do. Integer and bool inputs compute in the default float dtype,
as torch's unary float ops do; float16/bfloat16 compute in float32 and round once.
"""

from __future__ import annotations

import math

from ..autograd.function import Node
from ..backend import xp
from ._lowp import float32_compute
from ._util import as_float, binary_args, sum_to
from .arithmetic import _t
from .unary import _tensor_operands, _Unary, _UnaryOut


class _Fn(_Unary):
    """``forward`` applies the class's ufunc ``fn`` (a method, so float32_compute can wrap it)."""

    def forward(self, a):
        return self.fn(a)


class _FnOut(_UnaryOut):
    def forward(self, a):
        return self.fn(a)


@float32_compute(backward=False)
class Tan(_FnOut):
    fn = staticmethod(xp.tan)

    def deriv(self, out):
        return 1.0 + out * out


@float32_compute(backward=False)
class Asin(_Fn):
    fn = staticmethod(xp.arcsin)

    def deriv(self, a):
        return (1.0 - a * a).rsqrt()


@float32_compute(backward=False)
class Acos(_Fn):
    fn = staticmethod(xp.arccos)

    def deriv(self, a):
        return -(1.0 - a * a).rsqrt()


@float32_compute(backward=False)
class Atan(_Fn):
    fn = staticmethod(xp.arctan)

    def backward(self, g):  # torch: grad / (self * self + 1)
        (a,) = self.saved_tensors
        return g / (a * a + 1.0)


@float32_compute(backward=False)
class Sinh(_Fn):
    fn = staticmethod(xp.sinh)

    def deriv(self, a):
        return a.cosh()


@float32_compute(backward=False)
class Cosh(_Fn):
    fn = staticmethod(xp.cosh)

    def deriv(self, a):
        return a.sinh()


@float32_compute(backward=False)
class Asinh(_Fn):
    fn = staticmethod(xp.arcsinh)

    def deriv(self, a):
        return (a * a + 1.0).rsqrt()


@float32_compute(backward=False)
class Acosh(_Fn):
    fn = staticmethod(xp.arccosh)

    def deriv(self, a):
        return (a * a - 1.0).rsqrt()  # torch's formula: (x^2 - 1)^(-1/2)


@float32_compute(backward=False)
class Atanh(_Fn):
    fn = staticmethod(xp.arctanh)

    def backward(self, g):  # torch: grad * 1 / (1 - self.pow(2))
        (a,) = self.saved_tensors
        return g / (1.0 - a * a)


class _Scale(Node):
    """Multiplication by a constant (deg2rad, rad2deg): the gradient is scaled the same way."""

    def forward(self, a):
        return a * a.dtype.type(self.c) if a.dtype.kind != "V" else (a * self.c).astype(a.dtype)

    def backward(self, g):
        return g * self.c


@float32_compute(backward=False)
class Atan2(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return xp.arctan2(a, b)

    def backward(self, g):  # torch: recip = (a*a + b*b).reciprocal(); grad * b * recip, ...
        a, b = self.saved_tensors
        recip = (a * a + b * b).reciprocal()
        return sum_to(g * b * recip, a.shape), sum_to(g * -a * recip, b.shape)


@float32_compute(backward=False)
class Hypot(Node):
    saves = (0, 1)
    saves_output = True

    def forward(self, a, b):
        return xp.hypot(a, b)

    def backward(self, g):  # torch: grad * self / result, grad * other / result
        a, b = self.saved_tensors
        out = self.saved_output
        return sum_to(g * a / out, a.shape), sum_to(g * b / out, b.shape)


def _unary(cls, name):
    def op(input):  # noqa: A002 - torch's keyword name
        return cls.apply(as_float(_t(input)))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` (integer input computes in the default float dtype)."
    return op


tan = _unary(Tan, "tan")
asin = arcsin = _unary(Asin, "asin")
acos = arccos = _unary(Acos, "acos")
atan = arctan = _unary(Atan, "atan")
sinh = _unary(Sinh, "sinh")
cosh = _unary(Cosh, "cosh")
asinh = arcsinh = _unary(Asinh, "asinh")
acosh = arccosh = _unary(Acosh, "acosh")
atanh = arctanh = _unary(Atanh, "atanh")


def _float_pair(input, other):  # noqa: A002
    a, b = binary_args(input, other)
    return as_float(a), as_float(b)


def atan2(input, other):  # noqa: A002
    """``atan2(input, other)``, the angle of the point (other, input)."""
    _tensor_operands("atan2", input, other)
    return Atan2.apply(*_float_pair(input, other))


arctan2 = atan2


def hypot(input, other):  # noqa: A002
    """``sqrt(input**2 + other**2)`` without overflow; torch accepts floating tensors only."""
    _tensor_operands("hypot", input, other)
    a, b = binary_args(input, other)
    if not a.dtype.is_floating_point:
        from ._util import check_float_input

        check_float_input(a, "hypot_cpu")
    return Hypot.apply(a, b)


def deg2rad(input):  # noqa: A002
    a = _t(input)
    if not a.dtype.is_floating_point:  # torch refuses integer input for the in-place form only
        a = as_float(a)
    return _Scale.apply(a, c=math.pi / 180.0, _name="Deg2RadBackward0")


def rad2deg(input):  # noqa: A002
    a = as_float(_t(input))
    return _Scale.apply(a, c=180.0 / math.pi, _name="Rad2DegBackward0")

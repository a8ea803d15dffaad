"""Exponents and logarithms: exp2, logaddexp(2), xlogy, xlog1py, logit, sinc, float_power,
ldexp, frexp.

Backwards are torch's derivative formulas (tools/autograd/derivatives.yaml), in Tensor ops.
"""

from __future__ import annotations

import math

from ..autograd.function import Node
from ..backend import float64, result_type, xp
from ._lowp import float32_compute
from ._util import as_float, binary_args, cast, check_float_input, sum_to
from .arithmetic import _t, pow
from .unary import _tensor_operands, _UnaryOut, where

_LN2 = math.log(2.0)


@float32_compute(backward=False)
class Exp2(_UnaryOut):
    def forward(self, a):
        return xp.exp2(a)

    def backward(self, g):  # torch: grad * result * M_LN2
        return g * self.saved_output * _LN2


def exp2(input):  # noqa: A002
    return Exp2.apply(as_float(_t(input)))


def _float_pair(input, other):  # noqa: A002
    a, b = binary_args(input, other)
    return as_float(a), as_float(b)


def _logaddexp_pair(name, input, other):  # noqa: A002
    """logaddexp/logaddexp2's operands: two tensors (torch refuses a Python number) of a
    floating (or complex) promoted dtype (torch has no integer kernel)."""
    _tensor_operands(name, input, other)
    a, b = binary_args(input, other)
    if not a.dtype.is_floating_point and not a.dtype.is_complex:
        check_float_input(a, f"{name}_cpu")
    return a, b


@float32_compute(backward=False)
class LogAddExp(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return xp.logaddexp(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        return (sum_to(g / ((b - a).exp() + 1.0), a.shape),
                sum_to(g / ((a - b).exp() + 1.0), b.shape))


@float32_compute(backward=False)
class LogAddExp2(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return xp.logaddexp2(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        return (sum_to(g / (pow(2.0, b - a) + 1.0), a.shape),
                sum_to(g / (pow(2.0, a - b) + 1.0), b.shape))


def logaddexp(input, other):  # noqa: A002
    return LogAddExp.apply(*_logaddexp_pair("logaddexp", input, other))


def logaddexp2(input, other):  # noqa: A002
    return LogAddExp2.apply(*_logaddexp_pair("logaddexp2", input, other))


class XLogY(Node):
    """``x * log(y)``, 0 where x == 0 (unless y is NaN); ``log1p`` for xlog1py. float16/bfloat16
    round the log, then the product, as torch's kernel (NumPy's ops on those dtypes do too)."""

    saves = (0, 1)

    def forward(self, x, y):
        val = x * self.log(y)
        return xp.where((x == 0) & ~xp.isnan(y), x.dtype.type(0), val)

    def backward(self, g):
        x, y = self.saved_tensors
        zero = g.new_zeros(())
        logy = y.log() if self.variant == "xlogy" else y.log1p()
        edge = 0.0 if self.variant == "xlogy" else -1.0
        gx = where((g == 0) & ~y.isnan(), zero, g * logy)  # xlogy(grad, y)
        gx = where((x == 0) & (y <= edge), zero, gx)
        gy = g * x / (y if self.variant == "xlogy" else y + 1.0)
        return sum_to(gx, x.shape), sum_to(gy, y.shape)


def xlogy(input, other):  # noqa: A002
    return XLogY.apply(*_float_pair(input, other), log=xp.log, variant="xlogy",
                       _name="XlogyBackward0")


def xlog1py(input, other):  # noqa: A002
    return XLogY.apply(*_float_pair(input, other), log=xp.log1p, variant="xlog1py",
                       _name="SpecialXlog1PyBackward0")


@float32_compute(backward=False)
class Sinc(Node):
    saves = (0,)

    def forward(self, a):
        p = a * a.dtype.type(math.pi)
        with xp.errstate(invalid="ignore", divide="ignore"):
            return xp.where(a == 0, a.dtype.type(1), xp.sin(p) / p)

    def backward(self, g):  # torch's sinc_backward, in its order
        (a,) = self.saved_tensors
        p = a * math.pi
        sq = a * a * math.pi
        return where(sq == 0, g.new_zeros(()), g * ((p * p.cos() - p.sin()) / sq))


def sinc(input):  # noqa: A002
    return Sinc.apply(as_float(_t(input)))


class Logit(Node):
    """log(x / (1 - x)); bfloat16 rounds after each step, as torch's kernel does."""

    saves = (0,)

    def forward(self, a):
        if self.eps is not None:
            a = xp.clip(a, a.dtype.type(self.eps), a.dtype.type(1 - self.eps))
        return xp.log(a / (1 - a))

    def backward(self, g):
        (a,) = self.saved_tensors
        d = g / (a * (1.0 - a))
        if self.eps is None:
            outside = (a < 0) | (a > 1)
            return where(outside, g.new_full((), float("nan")), d)
        outside = (a < self.eps) | (a > 1 - self.eps)
        return where(outside, g.new_zeros(()), d)


def logit(input, eps=None):  # noqa: A002
    return Logit.apply(as_float(_t(input)), eps=eps)


def float_power(input, exponent):  # noqa: A002
    """``input ** exponent`` computed in float64 (torch's result dtype is always double)."""
    from .._tensor import Tensor

    a = cast(_t(input), float64)
    b = cast(exponent, float64) if isinstance(exponent, Tensor) else float(exponent)
    return pow(a, b)


class Ldexp(Node):
    """``a * 2**e``. torch's backward multiplies by ``pow(2, other)`` in ``other``'s dtype, so
    an integer exponent below 0 gives a zero gradient (integer 2**-n); reproduced here."""

    saves = (1,)
    saves_output = True

    def forward(self, a, e):
        self.shapes = (a.shape, e.shape)
        return (a * xp.power(2.0, e.astype(xp.float64))).astype(self.dtype)

    def backward(self, g):
        (e,) = self.saved_tensors
        sa, se = self.shapes
        if e.dtype.is_floating_point:
            return sum_to(g * pow(2.0, e), sa), sum_to(g * self.saved_output * _LN2, se)
        scale = where(e < 0, g.new_zeros(()), pow(2.0, e.to(g.dtype)))
        return sum_to(g * scale, sa), None


def ldexp(input, other):  # noqa: A002
    """``input * 2 ** other``; the result is floating (the default dtype for integer input)."""
    a, e = _t(input), _t(other)
    dt = result_type(as_float(a), e)
    if not dt.is_floating_point:
        dt = as_float(a).dtype
    return Ldexp.apply(cast(a, dt), e, dtype=dt.np, _name="LdexpBackward0")


class Frexp(Node):
    """Mantissa in [0.5, 1) and int32 exponent; the mantissa's gradient is ``g / 2**exponent``."""

    holds_saved = True  # the exponent, as torch saves it

    def forward(self, a):
        m, e = xp.frexp(a)
        self.exponent = e.astype(xp.int32)
        return m

    def backward(self, g):
        from .._tensor import Tensor

        return g / pow(2.0, Tensor._make(self.exponent.astype(g._data.dtype)))


def frexp(input):  # noqa: A002
    from .._tensor import Tensor

    a = _t(input)
    if not a.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    node_out = Frexp.apply(a)
    exponent = xp.frexp(a._data)[1].astype(xp.int32)
    return _FREXP(node_out, Tensor._make(exponent))


def _frexp_type():
    from .. import return_types

    return getattr(return_types, "frexp", None) or return_types._named(
        "frexp", ("mantissa", "exponent"))


_FREXP = _frexp_type()

"""Elementwise operations and their gradients (broadcasting like torch)."""

from __future__ import annotations

import math

from ..autograd.function import Node
from ..autograd.grad_mode import _GradState
from ..backend import bool_ as _BOOL
from ..backend import result_type, xp
from ._util import as_float, binary_args, cast, check_broadcast, sum_to


# ---------------------------------------------------------------- casting
class Cast(Node):
    """Conversion to another dtype; the gradient is cast back."""

    _name = "ToCopyBackward0"

    @classmethod
    def apply(cls, a, dtype):
        if not dtype.is_floating_point:  # integer/bool results never require grad (as in torch)
            from .._tensor import Tensor

            return Tensor._make(a._data.astype(dtype.np))
        return super().apply(a, dtype=dtype)

    def forward(self, a):
        self.src = a.dtype
        return a.astype(self.dtype.np)

    def backward(self, g):
        from ..backend import from_numpy_dtype

        return cast(g, from_numpy_dtype(self.src))


# ---------------------------------------------------------------- arithmetic
class Add(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to(g, sa), sum_to(g, sb)


class Sub(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to(g, sa), sum_to(-g, sb)


class Mul(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.saved_tensors
        return sum_to(g * b, a.shape), sum_to(g * a, b.shape)


class Div(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.saved_tensors
        ga = g / b
        return sum_to(ga, a.shape), sum_to(-ga * a / b, b.shape)


class AddScalar(Node):
    _name = "AddBackward0"

    def forward(self, a):
        return a + self.s

    def backward(self, g):
        return g


class MulScalar(Node):
    _name = "MulBackward0"

    def forward(self, a):
        return a * self.s

    def backward(self, g):
        return g * self.s


class RDivScalar(Node):
    """``s / a``."""

    _name = "MulBackward0"  # torch computes s / a as reciprocal(a) * s
    saves = (0,)

    def forward(self, a):
        return self.s / a

    def backward(self, g):
        (a,) = self.saved_tensors
        return -g * self.s / (a * a)


class Neg(Node):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class PowScalar(Node):
    """``a ** p`` for a Python number ``p``."""

    _name = "PowBackward0"
    saves = (0,)

    def forward(self, a):
        p = self.p
        if p == 2:
            return a * a
        return a**p

    def backward(self, g):
        (a,) = self.saved_tensors
        p = self.p
        if p == 0:
            return g * 0
        if p == 1:
            return g
        if p == 2:
            return g * a * 2.0
        return g * p * a ** (p - 1)


class RPowScalar(Node):
    """``s ** a`` for a Python number ``s``."""

    _name = "PowBackward2"
    saves_output = True

    def forward(self, a):
        return _power(_scalar(self.s, a.dtype), a)

    def backward(self, g):
        out = self.saved_output
        s = self.s
        if s == 0:  # d/dx 0**x: 0 where x >= 0 (out <= 1), else out * log(0) (torch's convention)
            return where(out > 1, g * out * float("-inf"), 0.0)
        return g * out * (math.log(s) if s > 0 else float("nan"))


class Pow(Node):
    _name = "PowBackward1"
    saves = (0, 1)

    def forward(self, a, b):
        return _power(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        ga = g * b * a ** (b - 1)
        ga = where(b == 0, 0.0, ga)
        gb = g * a**b * log(a)  # a == 0, b < 0: inf * -inf, as in torch
        gb = where((a == 0) & (b >= 0), 0.0, gb)
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


def _power(a, b):
    """``a ** b``; integer negative exponents give torch's results (1, -1 or 0) instead of an error."""
    if a.dtype.kind not in "iu" or not (xp.asarray(b) < 0).any():
        return xp.power(a, b)
    neg = b < 0
    out = xp.power(a, xp.where(neg, 0, b).astype(a.dtype if xp.ndim(b) else b.dtype))
    odd = (b % 2) != 0
    inv = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(out.dtype)
    return xp.where(neg, inv, out).astype(xp.result_type(a, b))


def _check_int_divisor(b, op):
    """torch raises for integer division by zero (floats give inf/nan)."""
    if b.dtype.kind == "b":
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")
    if b.dtype.kind in "iu" and not b.all():
        raise RuntimeError("ZeroDivisionError")


class FloorDivide(Node):
    """``a // b``. As in torch, backward raises; ``div(rounding_mode="floor")`` gives zeros.

    ``xp.floor_divide`` on floats is Python's divmod rule (like torch's div_floor),
    more exact than ``floor(a / b)`` near integer quotients.
    """

    zero_grad = False

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        _check_int_divisor(b, "div_floor_cpu")
        return xp.floor_divide(a, b)

    def backward(self, g):
        if not self.zero_grad:
            raise RuntimeError(
                "derivative for floor_divide is not implemented; use "
                "div(a, b, rounding_mode='floor') for a (zero) gradient"
            )
        sa, sb = self.shapes
        return sum_to(g * 0, sa), sum_to(g * 0, sb)


class Remainder(Node):
    saves = (0, 1)

    def forward(self, a, b):
        _check_int_divisor(b, "remainder_cpu")
        return xp.remainder(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        return sum_to(g, a.shape), sum_to(-g * (a / b).floor(), b.shape)


# ---------------------------------------------------------------- unary functions
class _Unary(Node):
    """An op f(a) whose backward is ``g * df(a)``, with ``df`` in Tensor ops."""

    saves = (0,)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g * self.deriv(a)


class _UnaryOut(Node):
    """An op whose derivative is best written through its output."""

    saves_output = True

    def backward(self, g):
        return g * self.deriv(self.saved_output)


class Exp(_UnaryOut):
    forward = staticmethod(xp.exp)

    def deriv(self, out):
        return out


class Log(_Unary):
    forward = staticmethod(xp.log)

    def deriv(self, a):
        return a.reciprocal()


class Log1p(_Unary):
    _name = "Log1PBackward0"
    forward = staticmethod(xp.log1p)

    def deriv(self, a):
        return (a + 1.0).reciprocal()


class Expm1(_UnaryOut):
    forward = staticmethod(xp.expm1)

    def deriv(self, out):
        return out + 1.0


class Sqrt(_UnaryOut):
    forward = staticmethod(xp.sqrt)

    def backward(self, g):
        return g / (self.saved_output * 2.0)


class Rsqrt(_UnaryOut):
    def forward(self, a):
        return 1.0 / xp.sqrt(a)

    def deriv(self, out):
        return out * out * out * -0.5


class Abs(_Unary):
    forward = staticmethod(xp.abs)

    def deriv(self, a):
        return a.sign()


class Sin(_Unary):
    forward = staticmethod(xp.sin)

    def deriv(self, a):
        return a.cos()


class Cos(_Unary):
    forward = staticmethod(xp.cos)

    def deriv(self, a):
        return -a.sin()


class Tanh(_UnaryOut):
    forward = staticmethod(xp.tanh)

    def deriv(self, out):
        return 1.0 - out * out


class Sigmoid(_UnaryOut):
    def forward(self, a):
        return _sigmoid(a)

    def deriv(self, out):
        return out * (1.0 - out)


def _sigmoid(a):
    # 1/(1+exp(-a)) without overflow warnings: use exp of -|a|
    e = xp.exp(-xp.abs(a))
    pos = 1.0 / (1.0 + e)
    return xp.where(a >= 0, pos, e * pos)


class Relu(Node):
    saves_output = True

    def forward(self, a):
        return xp.maximum(a, 0)

    def backward(self, g):
        out = self.saved_output
        if _GradState.enabled:  # create_graph=True: Tensor ops, so it differentiates again
            return g * (out > 0)
        # one multiply by the bool mask (the Tensor path would also cast the mask to float)
        return g._make(g._data * (out._data > 0))


class LeakyRelu(_Unary):
    def forward(self, a):
        return xp.where(a > 0, a, a * a.dtype.type(self.slope))

    def deriv(self, a):
        from .._tensor import Tensor

        # built in a's dtype: a float32 slope would be off by ~1e-8 in float64
        return Tensor._make(xp.where(a._data > 0, a.dtype.np.type(1), a.dtype.np.type(self.slope)))


class Elu(_Unary):
    def forward(self, a):
        alpha = a.dtype.type(self.alpha)
        return xp.where(a > 0, a, alpha * xp.expm1(xp.minimum(a, 0)))

    def deriv(self, a):
        return where(a > 0, 1.0, (a.clamp(max=0.0).exp() * self.alpha))


class Silu(_Unary):
    def forward(self, a):
        return a * _sigmoid(a)

    def deriv(self, a):
        s = a.sigmoid()
        return s * (1.0 + a * (1.0 - s))


class Softplus(_Unary):
    def forward(self, a):
        beta, th = self.beta, self.threshold
        z = a * a.dtype.type(beta)
        soft = (xp.logaddexp(0, z) / a.dtype.type(beta)).astype(a.dtype)
        return xp.where(z > th, a, soft)

    def deriv(self, a):
        z = a * self.beta
        return where(z > self.threshold, 1.0, z.sigmoid())


class Gelu(_Unary):
    def forward(self, a):
        if self.approximate == "tanh":
            k = math.sqrt(2.0 / math.pi)
            inner = k * (a + 0.044715 * a * a * a)
            return (0.5 * a * (1.0 + xp.tanh(inner))).astype(a.dtype)
        return (0.5 * a * (1.0 + erf_array(a / math.sqrt(2.0)))).astype(a.dtype)

    def deriv(self, a):
        if self.approximate == "tanh":
            k = math.sqrt(2.0 / math.pi)
            inner = (a + a * a * a * 0.044715) * k
            t = inner.tanh()
            dinner = (1.0 + a * a * (3 * 0.044715)) * k
            return 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * dinner
        cdf = 0.5 * (1.0 + (a * (1.0 / math.sqrt(2.0))).erf())
        pdf = (a * a * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))
        return cdf + a * pdf


class Erf(_Unary):
    def forward(self, a):
        return erf_array(a).astype(a.dtype)

    def deriv(self, a):
        return (-(a * a)).exp() * (2.0 / math.sqrt(math.pi))


class Reciprocal(_UnaryOut):
    def forward(self, a):
        return 1.0 / a

    def deriv(self, out):
        return -(out * out)


class Sign(Node):
    def forward(self, a):
        self.shape = a.shape
        out = xp.sign(a)
        if a.dtype.kind == "f":
            out = xp.where(xp.isnan(out), a.dtype.type(0), out)  # torch: sign(nan) is 0
        return out

    def backward(self, g):
        return g * 0


class Floor(Node):
    def forward(self, a):
        return xp.floor(a)

    def backward(self, g):
        return g * 0


class Ceil(Floor):
    def forward(self, a):
        return xp.ceil(a)


class Round(Floor):
    def forward(self, a):
        if self.decimals:
            return xp.round(a, self.decimals)
        return xp.round(a)


class Trunc(Floor):
    def forward(self, a):
        return xp.trunc(a)


class Clamp(Node):
    """clamp with scalar bounds; the gradient passes where min <= a <= max."""

    _name = "ClampBackward1"
    saves = (0,)

    def forward(self, a):
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return xp.minimum(xp.maximum(a, lo), hi)
        return xp.maximum(a, lo) if lo is not None else xp.minimum(a, hi)

    def backward(self, g):
        (a,) = self.saved_tensors
        mask = None
        if self.lo is not None:
            mask = a >= self.lo
        if self.hi is not None:
            m = a <= self.hi
            mask = m if mask is None else mask & m
        return g * mask


class ClampTensor(Node):
    """clamp with tensor bounds (one may be absent), with torch's gradient rule.

    The input gets the gradient where ``min <= a <= max``; ``min`` where ``a < min``
    (and ``min < max``); ``max`` where ``a > max`` or ``max < min`` (max wins then).
    Unlike maximum/minimum, ties are not split.
    """

    _name = "ClampBackward0"
    saves = (0, 1, 2)

    def forward(self, a, lo, hi):
        self.shapes = (a.shape, lo.shape, hi.shape)
        out = xp.maximum(a, lo) if self.has_lo else a
        out = xp.minimum(out, hi) if self.has_hi else out
        return out

    def backward(self, g):
        a, lo, hi = self.saved_tensors
        if self.has_lo and self.has_hi:
            keep, to_lo, to_hi = (a >= lo) & (a <= hi), (a < lo) & (lo < hi), (a > hi) | (hi < lo)
        elif self.has_lo:
            keep, to_lo, to_hi = a >= lo, a < lo, None
        else:
            keep, to_lo, to_hi = a <= hi, None, a > hi
        zero = g.new_zeros(())
        sa, sl, sh = self.shapes
        return (sum_to(where(keep, g, zero), sa),
                None if to_lo is None else sum_to(where(to_lo, g, zero), sl),
                None if to_hi is None else sum_to(where(to_hi, g, zero), sh))


class Maximum(Node):
    """Where the inputs tie, each gets half the gradient (torch's rule)."""

    saves = (0, 1)
    pick = staticmethod(xp.maximum)

    def forward(self, a, b):
        return self.pick(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        wins = (a > b) if self.pick is xp.maximum else (a < b)
        tie = a == b
        ga = g * wins + g * tie * 0.5
        gb = g - ga if a.shape == b.shape == g.shape else g * (~wins & ~tie) + g * tie * 0.5
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


class Minimum(Maximum):
    pick = staticmethod(xp.minimum)


class Where(Node):
    saves = (0,)

    def forward(self, c, a, b):
        self.shapes = (a.shape, b.shape)
        return xp.where(c, a, b)

    def backward(self, g):
        (c,) = self.saved_tensors
        sa, sb = self.shapes
        zero = g.new_zeros(())
        return None, sum_to(where(c, g, zero), sa), sum_to(where(c, zero, g), sb)


# ---------------------------------------------------------------- erf (Abramowitz-Stegun is not enough)
def erf_array(x):
    """erf elementwise to float64 accuracy, with NumPy only.

    Uses W. J. Cody's rational Chebyshev approximations (Math. Comp. 1969), the
    same scheme as most libm implementations: three ranges, each a ratio of
    polynomials, relative error below 1e-15 in float64.
    """
    x = xp.asarray(x)
    xd = x.astype(xp.float64)
    ax = xp.abs(xd)
    out = xp.full_like(xd, xp.nan)  # nan stays nan: it falls in none of the ranges below
    small = ax <= 0.5
    mid = (ax > 0.5) & (ax <= 4.0)
    big = ax > 4.0
    if small.any():
        y = xd[small]
        z = y * y
        num = ((((_A[4] * z + _A[0]) * z + _A[1]) * z + _A[2]) * z + _A[3])
        den = ((((z + _B[0]) * z + _B[1]) * z + _B[2]) * z + _B[3])
        out[small] = y * num / den
    if mid.any():
        y = ax[mid]
        num = _C[8] * y
        den = y
        for i in range(7):
            num = (num + _C[i]) * y
            den = (den + _D[i]) * y
        r = (num + _C[7]) / (den + _D[7])
        out[mid] = xp.sign(xd[mid]) * (1.0 - _exp_sq(y) * r)
    if big.any():
        y = ax[big]
        z = 1.0 / (y * y)
        num = _P[5] * z
        den = z
        for i in range(4):
            num = (num + _P[i]) * z
            den = (den + _Q[i]) * z
        r = z * (num + _P[4]) / (den + _Q[4])
        r = (_SQRPI - r) / y
        out[big] = xp.sign(xd[big]) * (1.0 - _exp_sq(y) * r)
        inf = xp.isinf(xd)
        out[inf] = xp.sign(xd[inf])
    return out.astype(x.dtype) if x.dtype.kind == "f" else out


def _exp_sq(y):
    """exp(-y*y) computed as in Cody's code to keep accuracy for large y."""
    ysq = xp.trunc(y * 16.0) / 16.0
    delta = (y - ysq) * (y + ysq)
    return xp.exp(-ysq * ysq) * xp.exp(-delta)


_SQRPI = 5.6418958354775628695e-1
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)


# ---------------------------------------------------------------- functional API
def _scalar(v, dt):
    """Python number ``v`` as a backend scalar of dtype ``dt``; integers wrap like torch's casts."""
    npdt = getattr(dt, "np", dt)  # a gradstep dtype or a backend one
    if isinstance(v, int) and not isinstance(v, bool) and npdt.kind in "iu":
        return xp.asarray(v).astype(npdt)[()]
    return npdt.type(v)


def _scalar_fast(a, b):
    """True when ``a op b`` (Tensor ``a``, Python number ``b``) keeps ``a``'s dtype and shape."""
    if isinstance(b, bool) or not isinstance(b, (int, float)):
        return False
    from .._tensor import Tensor

    if not isinstance(a, Tensor):
        return False
    return a.dtype.is_floating_point or (isinstance(b, int) and a.dtype is not _BOOL)


def _t(x):
    from ._util import to_tensor

    return to_tensor(x)


def add(a, b, alpha=1):
    _check_alpha(a, b, alpha)
    if alpha != 1:
        b = b * alpha
    if _scalar_fast(a, b):
        return AddScalar.apply(a, s=_scalar(b, a.dtype))
    a, b = binary_args(a, b)
    return Add.apply(a, b)


def sub(a, b, alpha=1):
    _sub_check(a, b)
    _check_alpha(a, b, alpha)
    if alpha != 1:
        b = b * alpha
    if _scalar_fast(a, b):
        return AddScalar.apply(a, s=_scalar(-b, a.dtype), _name="SubBackward0")
    name = "RsubBackward1" if isinstance(a, (int, float)) else "SubBackward0"
    a, b = binary_args(a, b)
    return Sub.apply(a, b, _name=name)


def _check_alpha(a, b, alpha):
    """torch rejects a float ``alpha`` for integer results and a bool one for non-bool results."""
    if type(alpha) is int and alpha == 1:
        return
    dt = result_type(*(x if isinstance(x, (bool, int, float)) else _t(x) for x in (a, b)))
    if isinstance(alpha, bool) and dt is not _BOOL:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and not dt.is_floating_point:
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )


def _sub_check(a, b):
    """torch refuses subtraction involving a bool tensor (a Python bool counts as one)."""
    ba = isinstance(a, bool) or getattr(getattr(a, "_data", None), "dtype", None) == _BOOL.np
    bb = isinstance(b, bool) or getattr(getattr(b, "_data", None), "dtype", None) == _BOOL.np
    if ba and bb:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    if ba or bb:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def mul(a, b):
    if _scalar_fast(a, b):
        return MulScalar.apply(a, s=_scalar(b, a.dtype))
    a, b = binary_args(a, b)
    if a.dtype is _BOOL:
        return _logical(a, b, xp.logical_and)
    return Mul.apply(a, b)


def div(a, b, rounding_mode=None):
    from .._tensor import Tensor

    if rounding_mode == "floor":
        a, b = binary_args(a, b)
        return FloorDivide.apply(a, b, zero_grad=True, _name="DivBackward2")
    if rounding_mode == "trunc":
        a, b = binary_args(a, b)
        return DivTrunc.apply(a, b)
    if rounding_mode is not None:
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and isinstance(b, (int, float)) and a.dtype.is_floating_point:
        return _div_scalar(a, b)
    if ta and tb and a.dtype is b.dtype and a.dtype.is_floating_point:
        if a.shape != b.shape:
            check_broadcast(a.shape, b.shape)
        return Div.apply(a, b)
    a, b = (x if isinstance(x, (bool, int, float)) else _t(x) for x in (a, b))
    if not result_type(a, b).is_floating_point:
        # true division of integers: convert the tensors first, so a Python int
        # divisor is not wrapped into the tensor's dtype (uint8 / -2 is -0.5 each)
        a, b = (as_float(x) if isinstance(x, Tensor) else x for x in (a, b))
    a, b = binary_args(a, b)
    return Div.apply(a, b)


class DivTrunc(Node):
    """``div(a, b, rounding_mode="trunc")``: zero gradient, as in torch."""

    _name = "DivBackward2"

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        if a.dtype.kind == "f":
            return xp.trunc(a / b)
        _check_int_divisor(b, "div_trunc_cpu")
        q = xp.floor_divide(a, b)
        return q + ((q < 0) & (q * b != a))

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to(g * 0, sa), sum_to(g * 0, sb)


class DivScalar(Node):
    _name = "DivBackward0"

    def forward(self, a):
        return a / self.s

    def backward(self, g):
        return g / self.s


def _div_scalar(a, b):
    return DivScalar.apply(a, s=a.dtype.np.type(b))


def rdiv(a, s):
    """``s / a`` for a scalar ``s``."""
    a = as_float(a)
    return RDivScalar.apply(a, s=a.dtype.np.type(s))


def pow(a, p):  # noqa: A001 - torch's name
    from .._tensor import Tensor
    if isinstance(a, Tensor) and isinstance(p, (bool, int, float)):
        dt = result_type(a, p)
        if dt is _BOOL:  # bool ** True is the tensor, bool ** False is all True
            return a.clone() if p else a.new_ones(a.shape)
        a = cast(a, dt)
        if not dt.is_floating_point and p < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return PowScalar.apply(a, p=p)
    if not isinstance(a, Tensor) and isinstance(p, Tensor):
        dt = result_type(a, p)
        _no_bool_pow(dt)
        return RPowScalar.apply(cast(p, dt), s=a)
    a, p = binary_args(a, p)
    _no_bool_pow(a.dtype)
    return Pow.apply(a, p)


def _no_bool_pow(dt):
    if dt is _BOOL:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")


def floor_divide(a, b):
    a, b = binary_args(a, b)
    return FloorDivide.apply(a, b)


def remainder(a, b):
    name = "RemainderBackward0" if isinstance(b, (bool, int, float)) else "RemainderBackward1"
    a, b = binary_args(a, b)
    return Remainder.apply(a, b, _name=name)


def neg(a):
    if a.dtype is _BOOL:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(a)


def _float_unary(cls):
    def op(a, **kw):
        return cls.apply(as_float(_t(a)), **kw)

    op.__name__ = cls.__name__.lower()
    op.__doc__ = f"Elementwise {cls.__name__.lower()} (computed in floating point)."
    return op


exp = _float_unary(Exp)
log = _float_unary(Log)
log1p = _float_unary(Log1p)
expm1 = _float_unary(Expm1)
sqrt = _float_unary(Sqrt)
rsqrt = _float_unary(Rsqrt)
sin = _float_unary(Sin)
cos = _float_unary(Cos)
tanh = _float_unary(Tanh)
sigmoid = _float_unary(Sigmoid)
silu = _float_unary(Silu)
erf = _float_unary(Erf)
reciprocal = _float_unary(Reciprocal)


def log2(a):
    return log(a) / math.log(2.0)


def log10(a):
    return log(a) / math.log(10.0)


def abs(a):  # noqa: A001
    return Abs.apply(_t(a))


def sign(a):
    return Sign.apply(_t(a))


def floor(a):
    return Floor.apply(a) if a.dtype.is_floating_point else a.clone()


def ceil(a):
    return Ceil.apply(a) if a.dtype.is_floating_point else a.clone()


def trunc(a):
    return Trunc.apply(a) if a.dtype.is_floating_point else a.clone()


def round(a, decimals=0):  # noqa: A001
    return Round.apply(a, decimals=decimals) if a.dtype.is_floating_point else a.clone()


def square(a):
    return pow(a, 2)


def relu(a):
    return Relu.apply(a)


def relu6(a):
    return hardtanh(a, 0.0, 6.0)


def hardtanh(a, min_val=-1.0, max_val=1.0):
    return clamp(a, min_val, max_val)


def leaky_relu(a, negative_slope=0.01):
    return LeakyRelu.apply(a, slope=negative_slope)


def elu(a, alpha=1.0):
    return Elu.apply(as_float(a), alpha=alpha)


def softplus(a, beta=1.0, threshold=20.0):
    return Softplus.apply(as_float(a), beta=beta, threshold=threshold)


def gelu(a, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return Gelu.apply(as_float(a), approximate=approximate)


def mish(a):
    return a * softplus(a).tanh()


def clamp(a, min=None, max=None):  # noqa: A002
    from .._tensor import Tensor

    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor(a, min, max)
    if not a.dtype.is_floating_point and (isinstance(min, float) or isinstance(max, float)):
        a = as_float(a)
    return Clamp.apply(a, lo=None if min is None else _scalar(min, a.dtype),
                       hi=None if max is None else _scalar(max, a.dtype))


def _clamp_tensor(a, lo, hi):
    from .._tensor import Tensor
    dt = result_type(*(x for x in (a, lo, hi) if x is not None))
    a, lo_t, hi_t = (_t(x) if x is not None else None for x in (a, lo, hi))
    for b in (lo_t, hi_t):
        if b is not None and b.shape != a.shape:
            check_broadcast(a.shape, b.shape)
    absent = Tensor._make(xp.zeros((), dt.np))  # placeholder input for a missing bound
    return ClampTensor.apply(cast(a, dt), absent if lo is None else cast(lo_t, dt),
                             absent if hi is None else cast(hi_t, dt),
                             has_lo=lo is not None, has_hi=hi is not None)


def maximum(a, b):
    a, b = binary_args(a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    a, b = binary_args(a, b)
    return Minimum.apply(a, b)


def where(cond, a, b):
    cond = _t(cond)
    if cond.dtype is not _BOOL:
        if cond.dtype.name != "uint8":  # torch still accepts (deprecated) uint8 masks
            raise RuntimeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{_dtype_title(cond.dtype)}"
            )
        cond = cond.bool()
    a, b = binary_args(a, b)
    if cond.shape != a.shape or cond.shape != b.shape:
        check_broadcast(cond.shape, a.shape)
        check_broadcast(cond.shape, b.shape)
    return Where.apply(cond, a, b)


def _dtype_title(dt):
    """torch's ScalarType name for messages: Float, Double, Half, Long, Int, ..."""
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}[dt.name]


def lerp(a, end, weight):
    return a + (end - a) * weight


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
        raise RuntimeError(f"\"{fn.__name__}_cpu\" not implemented for '{a.dtype.name}'")
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


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(xp.allclose(_t(a)._data, _t(b)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    from .._tensor import Tensor

    return Tensor._make(xp.isclose(_t(a)._data, _t(b)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b):
    a, b = _t(a), _t(b)
    return a.shape == b.shape and bool(xp.array_equal(a._data, b._data))

"""Arithmetic: casting, + - * / // % ** and negation, with torch's promotion and gradients."""

from __future__ import annotations

import math

from .. import _blas, _float8, _parallel
from .._errstate import quiet, restore
from ..autograd.function import Node
from ..autograd.grad_mode import _GradState
from ..backend import bool_ as _BOOL
from ..backend import result_type, xp
from . import _util
from ._lowp import F32, float32_compute, is_lowp
from ._util import as_float, binary_args, cast, check_broadcast, sum_to, tensor_cls


# ---------------------------------------------------------------- casting
class Cast(Node):
    """Conversion to another dtype; the gradient is cast back."""

    _name = "ToCopyBackward0"

    @classmethod
    def apply(cls, a, dtype):
        if not dtype.is_floating_point:  # integer/bool results never require grad (as in torch)
            from .._tensor import Tensor

            if dtype._category == 3 or a._data.dtype.kind == "c":
                from .._complex import cast as complex_cast

                return complex_cast(a, dtype)

            if a._data.dtype.itemsize == 1 and _float8.is_float8(a._data.dtype):
                return Tensor._make(_float8.from_float8(a._data, dtype.np))
            return Tensor._make(a._data.astype(dtype.np))
        return super().apply(a, dtype=dtype)

    def forward(self, a):
        self.src = a.dtype
        if a.dtype.kind == "c":  # complex to real: torch warns and keeps the real part
            return _complex_to_real(a, self.dtype)
        if self.dtype.itemsize == 1 or a.dtype.itemsize == 1:  # to or from a float8: torch's bits
            if _float8.is_float8(a.dtype):
                return _float8.from_float8(a, self.dtype.np)
            if _float8.is_float8(self.dtype.np):
                return _float8.to_float8(a, self.dtype.np)
        if self.dtype.np.kind == "V":  # bfloat16: a signalling NaN converts quietly, as in torch
            with xp.errstate(invalid="ignore"):
                return a.astype(self.dtype.np)
        return a.astype(self.dtype.np)

    def backward(self, g):
        from ..backend import from_numpy_dtype

        return cast(g, from_numpy_dtype(self.src))


def _complex_to_real(a, dtype):
    from .._complex import warn_discard_imag

    warn_discard_imag(stacklevel=7)
    return a.real.astype(dtype.np)


# ---------------------------------------------------------------- arithmetic
class Add(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return _parallel.ufunc(xp.add, a, b)  # large arrays: split among threads

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to(g, sa), sum_to(g, sb)


class Sub(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return _parallel.ufunc(xp.subtract, a, b)

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to(g, sa), sum_to(-g, sb)


class Mul(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return _parallel.ufunc(xp.multiply, a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        return sum_to(_mul_grad(g, b), a._data.shape), sum_to(_mul_grad(g, a), b._data.shape)


def _mul_grad(g, x):
    """``g * x`` in a backward: straight to ``Mul`` when ``mul`` would change nothing first."""
    dg, dx = g._data, x._data
    if dg.dtype is not dx.dtype or dg.dtype.kind in "bc":
        return g * x  # complex: conjugated by Mul's holomorphic twin (gradstep._complex)
    if dg.shape != dx.shape:
        check_broadcast(dg.shape, dx.shape)
    return Mul.apply(g, x)


class Div(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return _parallel.ufunc(xp.true_divide, a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        ga = g / b
        return sum_to(ga, a.shape), sum_to(-ga * a / b, b.shape)


@float32_compute(backward=False)
class AddAlpha(Node):
    """``a + alpha * b`` for two float16/bfloat16 tensors, as torch's add kernel: ``alpha``
    rounded to their dtype, the sum computed in float32 and rounded once. The gradient of
    ``b`` is ``grad * alpha`` with the Python ``alpha`` (``sub`` passes ``-alpha``)."""

    _name = "AddBackward0"

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        alpha = xp.float32(self.alpha).astype(self.dtype).astype(F32)
        return a + alpha * b

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to(g, sa), sum_to(g * self.alpha, sb)


def _add_alpha_lowp(a, b, alpha, name):
    """``AddAlpha`` for two float16/bfloat16 tensors of one dtype; None for other operands."""
    T = _util._Tensor or tensor_cls()
    if not isinstance(a, T) or not isinstance(b, T) or not isinstance(alpha, (int, float)):
        return None
    dt = a._data.dtype
    if dt != b._data.dtype or not is_lowp(dt):
        return None
    if a._data.shape != b._data.shape:
        check_broadcast(a._data.shape, b._data.shape)
    return AddAlpha.apply(a, b, alpha=alpha, dtype=dt, _name=name)


class AddScalar(Node):
    _name = "AddBackward0"
    _shown_edges = (0, None)  # torch lists the scalar operand as an input without a graph

    def forward(self, a):
        return _parallel.ufunc(xp.add, a, self.s)

    def backward(self, g):
        return g


@float32_compute  # float16/bfloat16: plus a float32 scalar in float32, rounded once
class AddScalarLowp(AddScalar):
    """``a + alpha * v`` for a float16/bfloat16 tensor and a Python number ``v``, as torch's
    vectorized add kernel: ``v`` and ``alpha`` rounded to the tensor's dtype, their product
    (exact in float32: 8- or 11-bit significands) added in float32 and rounded once."""


def _lowp_scalar_alpha(a, b, alpha):
    """The float32 ``s`` of ``AddScalarLowp`` for ``a + alpha * b`` with a float16/bfloat16
    tensor ``a`` and a number ``b``; None for any other operands (a rare case: ``alpha != 1``)."""
    if not _scalar_fast(a, b) or not is_lowp(a._data.dtype) or isinstance(alpha, bool):
        return None
    dt = a._data.dtype
    return F32.type(_scalar(b, dt)) * F32.type(_scalar(alpha, dt))


@float32_compute  # float16/bfloat16: times a float32 scalar in float32, rounded once (opmath)
class MulScalar(Node):
    _name = "MulBackward0"
    _shown_edges = (0, None)  # as AddScalar
    holds_saved = True  # torch saves the scalar (a wrapped tensor): a second backward raises

    def forward(self, a):
        return _parallel.ufunc(xp.multiply, a, self.s)

    def backward(self, g):
        return g * self.s


class RDivScalar(Node):
    """``s / a``."""

    _name = "MulBackward0"  # torch computes s / a as reciprocal(a) * s
    _shown_edges = (0, None)  # as AddScalar (torch's first input is ReciprocalBackward0)
    saves = (0,)

    def forward(self, a):
        if is_lowp(a.dtype):  # float16/bfloat16: the reciprocal rounded, then the float32 product
            return ((1 / a).astype(xp.float32) * self.s).astype(a.dtype)
        return (1 / a) * self.s  # two roundings, as torch's reciprocal(a) * s

    def backward(self, g):
        (a,) = self.saved_tensors
        if is_lowp(a.dtype.np):  # torch's two backward steps, each rounded to float16/bfloat16
            r = a.reciprocal()
            return -((g * float(self.s)) * (r * r))
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
        if is_lowp(a.dtype):
            if a.dtype.char == "E" and self.p in (3, -2):  # torch's bfloat16 x*x*x and
                sq = a * a                                   # 1/(x*x): each step rounded
                return sq * a if self.p == 3 else 1 / sq
            return _pow_scalar(a.astype(F32), self.p).astype(a.dtype)  # float32, rounded once
        return _pow_scalar(a, self.p)

    def backward(self, g):
        (a,) = self.saved_tensors
        p = self.p
        if p == 0:  # torch: zeros_like(self) (+0, whatever the sign of grad)
            return g._make(xp.zeros(g.shape, g._data.dtype))
        if p == 1:
            return g
        if p == 2:
            return g * a * 2.0
        return g * (p * a ** (p - 1))  # torch's grouping: grad * (p * self.pow(p - 1))


def _complex_power(a, b):
    """Complex ``a ** b`` as torch's kernel, C's ``cpow``: ``exp(b * log(a))``. NumPy's power
    is that too, except for integer exponents, which it raises by repeated multiplication
    (exact where torch rounds: ``1j ** 1`` is ``-4.4e-08+1j`` in complex64, ``0 ** 0`` NaN).
    With a real ``b`` the product ``b * log(a)`` rounds as C's does, so that form is used
    there (and for a zero base); NumPy's power, which calls ``cpow``, elsewhere."""
    b = xp.asarray(b, dtype=a.dtype)
    c_form = (b.imag == 0) | (a == 0)  # NumPy's power also special-cases a zero base
    if c_form.all():
        return xp.exp(b * xp.log(a))
    return xp.where(c_form, xp.exp(b * xp.log(a)), xp.power(a, b))


def _complex_pow_scalar(a, p):
    """Complex ``a ** p`` for a number ``p``, as torch's kernel: ``sqrt``/``1/sqrt`` for
    +-0.5, its products for 2, 3 and -1, -2 (NumPy's power forms round as they do), and C's
    ``cpow`` (``_complex_power``) otherwise."""
    if p == 0.5:
        return xp.sqrt(a)
    if p == -0.5:
        return 1 / xp.sqrt(a)
    if p in (0, 1):  # torch fills ones / copies
        return xp.ones_like(a) if p == 0 else a.copy()
    if p in (2, 3, -1, -2):
        return xp.power(a, a.dtype.type(p))
    return _complex_power(a, p)


def _pow_scalar(a, p):
    """``a ** p`` with torch's special cases (its kernels' exact operations: sqrt(-0.0) is -0.0,
    rsqrt(-0.0) is -inf, and x*x*x rounds twice where pow rounds once)."""
    if a.dtype.kind == "c":
        return _complex_pow_scalar(a, p)
    if a.dtype.kind != "f":
        return a**p
    if p == 2:
        return a * a
    if p == 3:
        return a * a * a
    if p == 0.5:
        return xp.sqrt(a)
    if p == -0.5:
        return 1 / xp.sqrt(a)
    if p == -1:
        return 1 / a
    if p == -2:
        return 1 / (a * a)
    return a**p


class RPowScalar(Node):
    """``s ** a`` for a Python number ``s``."""

    _name = "PowBackward2"
    saves_output = True

    def forward(self, a):
        return _power(_scalar(self.s, a.dtype), a)

    def backward(self, g):
        from .unary import where

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
        from .unary import log, where

        a, b = self.saved_tensors
        ga = g * b * a ** (b - 1)
        ga = where(b == 0, 0.0, ga)
        gb = g * a**b * log(a)  # a == 0, b < 0: inf * -inf, as in torch
        gb = where((a == 0) & (b >= 0), 0.0, gb)
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


def _power(a, b):
    """``a ** b``; integer negative exponents give torch's results (1, -1 or 0) instead of an error."""
    if a.dtype.kind == "c":
        return _complex_power(a, b)
    if a.dtype.kind not in "iu" or not (xp.asarray(b) < 0).any():
        return xp.power(a, b)
    neg = b < 0
    out = xp.power(a, xp.where(neg, 0, b).astype(a.dtype if xp.ndim(b) else b.dtype))
    odd = (b % 2) != 0
    inv = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(out.dtype)
    return xp.where(neg, inv, out).astype(xp.result_type(a, b))


def _check_int_divisor(a, b, op):
    """torch raises for integer division by zero (floats give inf/nan), in a non-empty result."""
    if b.dtype.kind == "b":
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")
    if b.dtype.kind in "iu" and a.size and not b.all():  # an empty a: an empty result
        raise RuntimeError("ZeroDivisionError")


class FloorDivide(Node):
    """``a // b``. As in torch, backward raises; ``div(rounding_mode="floor")`` gives zeros.

    ``xp.floor_divide`` on floats is Python's divmod rule (like torch's div_floor),
    more exact than ``floor(a / b)`` near integer quotients.
    """

    zero_grad = False
    holds_saved = True  # torch saves the divisor

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        _check_int_divisor(a, b, "div_floor_cpu")
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
    scalar_a = False

    def forward(self, a, b):
        _check_int_divisor(a, b, "remainder_cpu")
        return xp.remainder(a, b)

    def backward(self, g):
        if self.scalar_a:
            raise RuntimeError("derivative for aten::remainder is not implemented")
        if not self.saves:  # the divisor needs no gradient: nothing was saved (as in torch)
            return g, None
        a, b = self.saved_tensors
        # the floor division as torch's div(rounding_mode="floor"): floor(a / b) can round up
        return sum_to(g, a.shape), sum_to(-g * a.div(b, rounding_mode="floor"), b.shape)


# ---------------------------------------------------------------- functional API
def _scalar(v, dt):
    """Python number ``v`` as a backend scalar of dtype ``dt``; integers wrap like torch's casts."""
    npdt = getattr(dt, "np", dt)  # a gradstep dtype or a backend one
    if isinstance(v, int) and not isinstance(v, bool) and npdt.kind in "iu":
        return xp.asarray(v).astype(npdt)[()]
    token = quiet()  # 1e300 as float32 is inf, silently as in torch
    try:
        return npdt.type(v)
    finally:
        restore(token)


def _opmath_scalar(v, dt):
    """The scalar of ``tensor * v`` / ``tensor / v``: for float16/bfloat16 torch keeps it in
    float32 (its opmath type) and rounds only the product; ``tensor + v`` rounds ``v`` first."""
    return _scalar(v, F32) if is_lowp(dt.np) else _scalar(v, dt)


def _scalar_fast(a, b):
    """True when ``a op b`` (Tensor ``a``, Python number ``b``) keeps ``a``'s dtype and shape."""
    if isinstance(b, bool) or not isinstance(b, (int, float)):
        return False
    if not isinstance(a, _util._Tensor or tensor_cls()):
        return False
    return a.dtype.is_floating_point or (isinstance(b, int) and a.dtype is not _BOOL)


def _t(x):
    from ._util import to_tensor

    return to_tensor(x)


def _times_alpha(a, b, alpha):
    """``b * alpha`` in the result dtype: torch promotes first (uint8 * -1 does not wrap)."""
    from .._tensor import Tensor

    if isinstance(b, Tensor):
        dt = result_type(a if isinstance(a, (bool, int, float)) else _t(a), b)
        return cast(cast(b, dt) * alpha, dt)  # a bool result stays bool (True * 2 is True)
    if result_type(a if isinstance(a, (bool, int, float)) else _t(a), b) is _BOOL:
        return bool(b * alpha)
    return b * alpha


class AddScaled(Node):
    """``a + alpha * b`` rounded once (torch's FMA) for two float32/float64 tensors of one
    shape, recorded as torch's one ``AddBackward0`` (``SubBackward0`` for ``sub``, which passes
    ``-alpha``): the gradient of ``b`` is ``grad * alpha``."""

    def forward(self, a, b):
        return _blas.axpy(self.alpha, b, a.copy())

    def backward(self, g):
        return g, g * self.alpha


def _fused_add(a, b, alpha, name="AddBackward0"):
    """``a + alpha * b`` rounded once (torch's FMA), or None where it does not apply.

    Taken for same-shape float32/float64 tensors, e.g. the ``d_p = d_p.add(p.data,
    alpha=wd)`` of hand-written optimizers (see ``gradstep._blas``); with a gradient to
    record, as one ``AddScaled`` node named ``name``.
    """
    T = _util._Tensor or tensor_cls()
    if not isinstance(a, T) or not isinstance(b, T) or not _blas.fusable_scale(alpha):
        return None
    if a._data.dtype != b._data.dtype or a._data.shape != b._data.shape:
        return None
    if _GradState.enabled and (a._rg or b._rg):
        if a._data.dtype.char not in "fd":
            return None
        return AddScaled.apply(a, b, alpha=alpha, _name=name)
    out = a._data.copy()  # C-contiguous
    if not _blas.can_fuse(b._data, out):
        return None
    return T._make(_blas.axpy(alpha, b._data, out))


def add(a, b, alpha=1):
    if type(alpha) is not int or alpha != 1:
        _check_alpha(a, b, alpha)
        if alpha != 1:
            fused = _fused_add(a, b, alpha)
            if fused is None:
                fused = _add_alpha_lowp(a, b, alpha, "AddBackward0")
            if fused is not None:
                return fused
            s = _lowp_scalar_alpha(a, b, alpha)
            if s is not None:
                return AddScalarLowp.apply(a, s=s)
            b = _times_alpha(a, b, alpha)
    if _scalar_fast(a, b):
        return AddScalar.apply(a, s=_scalar(b, a.dtype))
    a, b = binary_args(a, b)
    return Add.apply(a, b)


def sub(a, b, alpha=1):
    _sub_check(a, b)
    if type(alpha) is not int or alpha != 1:
        _check_alpha(a, b, alpha)
        if alpha != 1:
            fused = _fused_add(a, b, -alpha, "SubBackward0")  # torch: sub(alpha) is add(-alpha)
            if fused is None:
                fused = _add_alpha_lowp(a, b, -alpha, "SubBackward0")
            if fused is not None:
                return fused
            s = _lowp_scalar_alpha(a, b, -alpha)
            if s is not None:
                return AddScalarLowp.apply(a, s=s, _name="SubBackward0")
            b = _times_alpha(a, b, alpha)
    if _scalar_fast(a, b):
        return AddScalar.apply(a, s=_scalar(-b, a.dtype), _name="SubBackward0")
    if isinstance(a, (int, float)):  # torch's rsub(tensor, scalar): the tensor its one input
        a, b = binary_args(a, b)
        return Sub.apply(a, b, _name="RsubBackward1", _shown_edges=(1,))
    a, b = binary_args(a, b)
    return Sub.apply(a, b, _name="SubBackward0")


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
        return MulScalar.apply(a, s=_opmath_scalar(b, a.dtype))
    a, b = binary_args(a, b)
    if a.dtype._category != 2:  # not floating: bool is logical and, complex has its own backward
        if a.dtype is _BOOL:
            return a._make(xp.logical_and(a._data, b._data))
        if a.dtype._category == 3:
            return _holomorphic(Mul).apply(a, b)
    return Mul.apply(a, b)


def _holomorphic(cls):
    from .._complex import holomorphic

    return holomorphic(cls)


def div(a, b, rounding_mode=None):
    Tensor = _util._Tensor or tensor_cls()
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
    a, b = (x if isinstance(x, (bool, int, float, complex)) else _t(x) for x in (a, b))
    if result_type(a, b)._category == 3:
        a, b = binary_args(a, b)
        return _holomorphic(Div).apply(a, b)
    if not result_type(a, b).is_floating_point:
        # true division of integers: convert the tensors first, so a Python int
        # divisor is not wrapped into the tensor's dtype (uint8 / -2 is -0.5 each)
        a, b = (as_float(x) if isinstance(x, Tensor) else x for x in (a, b))
    a, b = binary_args(a, b)
    return Div.apply(a, b)


class DivTrunc(Node):
    """``div(a, b, rounding_mode="trunc")``: zero gradient, as in torch."""

    _name = "DivBackward2"
    holds_saved = True  # torch saves the divisor

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        if a.dtype.kind == "f":
            return xp.trunc(a / b)
        _check_int_divisor(a, b, "div_trunc_cpu")
        q = xp.floor_divide(a, b)
        return q + ((q < 0) & (q * b != a))

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to(g * 0, sa), sum_to(g * 0, sb)


@float32_compute
class DivScalar(Node):
    _name = "DivBackward0"
    _shown_edges = (0, None)  # as AddScalar
    holds_saved = True  # as MulScalar

    def forward(self, a):
        return a / self.s

    def backward(self, g):
        return g / self.s


def _div_scalar(a, b):
    return DivScalar.apply(a, s=_opmath_scalar(b, a.dtype))


def rdiv(a, s):
    """``s / a`` for a scalar ``s``."""
    a = as_float(a)
    if a.dtype._category == 3 or isinstance(s, complex):
        return div(s, a)  # the complex path: Div's holomorphic twin
    return RDivScalar.apply(a, s=_opmath_scalar(s, a.dtype))


def pow(a, p):  # noqa: A001 - torch's name
    Tensor = _util._Tensor or tensor_cls()
    if isinstance(a, Tensor) and isinstance(p, (bool, int, float, complex)):
        dt = result_type(a, p)
        if dt is _BOOL:  # bool ** True is the tensor, bool ** False is all True
            return a.clone() if p else a.new_ones(a.shape)
        a = cast(a, dt)
        if dt._category < 2 and p < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if dt._category == 3:
            return _holomorphic(PowScalar).apply(a, p=p)
        return PowScalar.apply(a, p=p)
    if not isinstance(a, Tensor) and isinstance(p, Tensor):
        dt = result_type(a, p)
        _no_bool_pow(dt)
        node = _holomorphic(RPowScalar) if dt._category == 3 else RPowScalar
        return node.apply(cast(p, dt), s=a)
    a, p = binary_args(a, p)
    _no_bool_pow(a.dtype)
    return (_holomorphic(Pow) if a.dtype._category == 3 else Pow).apply(a, p)


def _no_bool_pow(dt):
    if dt is _BOOL:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")


def floor_divide(a, b):
    a, b = binary_args(a, b)
    return FloorDivide.apply(a, b)


def remainder(a, b):
    scalar_b = isinstance(b, (bool, int, float))
    scalar_a = isinstance(a, (bool, int, float))  # torch has no derivative for remainder(s, t)
    a, b = binary_args(a, b)
    if scalar_b:  # torch's remainder(tensor, scalar): one input, nothing saved
        return Remainder.apply(a, b, _name="RemainderBackward0", scalar_a=scalar_a, saves=(),
                               _shown_edges=(0,))
    if scalar_a:  # no derivative: torch records its NotImplemented node
        return Remainder.apply(a, b, _name="torch::autograd::NotImplemented", scalar_a=True,
                               saves=(), _shown_edges=(1,))
    return Remainder.apply(a, b, _name="RemainderBackward1", saves=(0, 1) if b._rg else ())


def neg(a):
    if a.dtype is _BOOL:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(a)

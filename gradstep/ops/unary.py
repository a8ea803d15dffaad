"""Elementwise math functions (exp, log, trigonometric, rounding, clamp, where, ...) and their gradients."""

from __future__ import annotations

import math

from .. import _parallel
from ..autograd.function import Node, as_torch_node
from ..backend import bool_ as _BOOL
from ..backend import result_type, xp
from . import _cephes
from ._lowp import BF16_ONLY, F32, float32_compute, fma, is_lowp, opmath_scalar
from ._util import as_float, binary_args, cast, check_broadcast, check_float_input, sum_to
from .arithmetic import _scalar, _t, pow


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
    forward = _parallel.unary(xp.exp)  # large arrays: split among threads

    def deriv(self, out):
        return out


class Log(_Unary):
    forward = _parallel.unary(xp.log)

    def backward(self, g):  # torch's formula: grad / self (not grad * (1 / self): two roundings)
        (a,) = self.saved_tensors
        return g / a

    def deriv(self, a):
        return a.reciprocal()


class Log1p(_Unary):
    _name = "Log1PBackward0"
    forward = _parallel.unary(xp.log1p)

    def deriv(self, a):
        return (a + 1.0).reciprocal()


class Expm1(_UnaryOut):
    forward = _parallel.unary(xp.expm1)

    def deriv(self, out):
        return out + 1.0


class Sqrt(_UnaryOut):
    forward = _parallel.unary(xp.sqrt)

    def backward(self, g):
        return g / (self.saved_output * 2.0)


@float32_compute(backward=False)  # float16/bfloat16: 1 / sqrt in float32, rounded once
class Rsqrt(_UnaryOut):
    def forward(self, a):
        return 1.0 / xp.sqrt(a)

    def backward(self, g):  # torch's -0.5 * grad * result.pow(3), each step rounded
        return (g * -0.5) * self.saved_output.pow(3)


class Abs(_Unary):
    forward = staticmethod(xp.abs)

    def deriv(self, a):
        return a.sign()


class Sin(_Unary):
    forward = _parallel.unary(xp.sin)

    def deriv(self, a):
        return a.cos()


class Cos(_Unary):
    forward = _parallel.unary(xp.cos)

    def deriv(self, a):
        return -a.sin()


class Tanh(_UnaryOut):
    forward = _parallel.unary(xp.tanh)

    def backward(self, g):
        y = self.saved_output
        if g.dtype is y.dtype:
            from ..autograd.grad_mode import _GradState

            if not _GradState.enabled:  # create_graph: Tensor ops below, each rounded
                if is_lowp(y._data.dtype):
                    return _t(_tanh_backward_lowp(g._data, y._data))
                if y._data.dtype.char in "fd":
                    return _t(g._data * _one_minus_square(y._data))
        return g * self.deriv(y)

    def deriv(self, out):
        return 1.0 - out * out


def _one_minus_square(y):
    """``1 - y * y`` rounded once, as torch's vectorised tanh_backward computes it (a fused
    multiply-add: ``g * fnmadd(y, y, 1)``); ``1.0 - y * y`` would round twice and differ in
    the last bit for about a third of the elements."""
    if y.dtype == xp.float32:
        return fma(-y, y, 1.0)
    return _cephes.fma(-y, y, 1.0, xp.float64)


def _tanh_backward_lowp(g, y):
    """torch's float16/bfloat16 tanh_backward kernel: ``g * (1 - y * y)`` computed in float32
    and rounded once (NumPy's float16 ops would round after each step)."""
    y32 = y.astype(F32)
    return (g.astype(F32) * (1.0 - y32 * y32)).astype(y.dtype)


# float16/bfloat16: computed in float32, rounded once; torch's backward kernel is float32
# for bfloat16 and rounds after each step for float16
@float32_compute(backward=BF16_ONLY)
class Sigmoid(_UnaryOut):
    def forward(self, a):
        return _parallel.elementwise(_sigmoid, a)

    def backward(self, g):  # torch's order: grad * (1 - y) * y
        out = self.saved_output
        return (g * (1.0 - out)) * out


def _sigmoid(a):
    if a.dtype.kind == "c":  # torch's complex kernel: 1 / (1 + exp(-a))
        return 1.0 / (1.0 + xp.exp(-a))
    # 1/(1+exp(-a)) without overflow warnings: use exp of -|a|
    e = xp.exp(-xp.abs(a))
    pos = 1.0 / (1.0 + e)
    return xp.where(a >= 0, pos, e * pos)


@float32_compute(backward=False)  # torch's backward: 2/sqrt(pi) * exp(-x^2) * grad, each op rounded
class Erf(_Unary):
    def forward(self, a):
        return _parallel.elementwise(erf_array, a).astype(a.dtype)

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
        if a.dtype.kind == "b":  # sign of a bool is the bool itself
            return a.copy()
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
        return g.masked_fill(~mask, 0.0)  # as torch: an inf/nan gradient outside stays out


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
        # torch's rule: half each at a tie, nothing to the loser; a NaN loses to nobody
        # (both inputs get the whole gradient)
        a, b = self.saved_tensors
        a_loses, b_loses = (a < b, a > b) if self.pick is xp.maximum else (a > b, a < b)
        share = where(a == b, g * 0.5, g)
        zero = g.new_zeros(())
        return (sum_to(where(a_loses, zero, share), a.shape),
                sum_to(where(b_loses, zero, share), b.shape))


class Minimum(Maximum):
    pick = staticmethod(xp.minimum)


class Where(Node):
    saves = (0,)
    _shown_edges = (1, 2)  # torch does not list the condition

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


def _float_unary(cls):
    def op(a, **kw):
        a = as_float(_t(a))
        if a._data.dtype.kind == "c":  # one check a call: torch's conj(f'(z)) backward
            return _complex_unary(cls, a, kw)
        return cls.apply(a, **kw)

    op.__name__ = cls.__name__.lower()
    op.__doc__ = f"Elementwise {cls.__name__.lower()} (computed in floating point)."
    return op


# ops whose derivative formula holds for complex input (sigmoid, erf: numpy has no complex kernel)
_HOLOMORPHIC = frozenset({"Exp", "Log", "Log1p", "Expm1", "Sqrt", "Rsqrt", "Sin", "Cos", "Tanh",
                          "Reciprocal", "Sigmoid"})


def _complex_unary(cls, a, kw):
    """``cls`` on a complex tensor: its holomorphic twin, or torch's error where it has none."""
    if cls.__name__ not in _HOLOMORPHIC:
        from ._util import dtype_title

        raise NotImplementedError(f'"{cls.__name__.lower()}" not implemented for '
                                  f"'{dtype_title(a.dtype)}'")
    from .._complex import holomorphic

    return holomorphic(cls).apply(a, **kw)


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
erf = _float_unary(Erf)
reciprocal = _float_unary(Reciprocal)


def log2(a):
    return log(a) / math.log(2.0)


def log10(a):
    return log(a) / math.log(10.0)


def abs(a):  # noqa: A001
    a = _t(a)
    if a.dtype._category < 2:
        if a.dtype is _BOOL:
            raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
    elif a.dtype._category == 3:
        from .._complex import abs as complex_abs

        return complex_abs(a)
    return Abs.apply(a)


def sign(a):
    return Sign.apply(_t(a))


def _int_rounding(a, name, decimals=0):
    """Rounding an integer tensor copies it; torch has no kernel for bool (nor int with decimals)."""
    if a.dtype is _BOOL or decimals:
        check_float_input(a, f"{name}_cpu" if decimals else f"{name}_vml_cpu")
    return a.clone()


def floor(a):
    return Floor.apply(a) if a.dtype.is_floating_point else _int_rounding(a, "floor")


def ceil(a):
    return Ceil.apply(a) if a.dtype.is_floating_point else _int_rounding(a, "ceil")


def trunc(a):
    return Trunc.apply(a) if a.dtype.is_floating_point else _int_rounding(a, "trunc")


def round(a, decimals=0):  # noqa: A001
    if not a.dtype.is_floating_point:
        return _int_rounding(a, "round", decimals)
    return Round.apply(a, decimals=decimals)


def square(a):
    return pow(a, 2)


def clamp(a, min=None, max=None):  # noqa: A002
    from .._tensor import Tensor

    tmin, tmax = type(min), type(max)
    if not ((tmin is float or tmin is int or min is None) and
            (tmax is float or tmax is int or max is None)):
        min, max = _clamp_bounds(min, max)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor(a, min, max)
    # Python bounds promote like operands (an int bound makes a bool tensor int64)
    a = cast(a, result_type(a, *(x for x in (min, max) if x is not None)))
    if a.dtype == _BOOL:
        _refuse_bool_clamp("clamp_scalar" if None not in (min, max) else
                           "clamp_min_scalar" if max is None else "clamp_max_scalar")
    return Clamp.apply(a, lo=None if min is None else _scalar(min, a.dtype),
                       hi=None if max is None else _scalar(max, a.dtype))


def _clamp_signatures():
    from .._argparse import Signatures

    return Signatures(("Tensor min = None, Tensor max = None",
                       "Number min = None, Number max = None"), ("Tensor out = None",) * 2)


def _clamp_bounds(lo, hi):
    """torch's two clamp signatures: both bounds Tensors, or both Numbers (a 0-d tensor passes
    as a Number, so a 0-d tensor beside a number clamps by its value); else its TypeError."""
    import numbers

    from .._argparse import invalid_combination

    tensor = _tensor_cls()
    if all(x is None or isinstance(x, tensor) for x in (lo, hi)):
        return lo, hi
    if all(x is None or isinstance(x, numbers.Number) or (isinstance(x, tensor) and x.ndim == 0)
           for x in (lo, hi)):
        return tuple(x.item() if isinstance(x, tensor) else x for x in (lo, hi))
    raise invalid_combination("clamp", tuple(x for x in (lo, hi) if x is not None),
                              _clamp_signatures())


def _one_bound(name, argname, v):
    """clamp_min/clamp_max: ``Tensor`` or ``Number`` (not None), else torch's TypeError."""
    import numbers

    from .._argparse import invalid_combination

    if not isinstance(v, (numbers.Number, _tensor_cls())):
        raise invalid_combination(name, (v,), (f"Tensor {argname}", f"Number {argname}"))


def clamp_min(a, min):  # noqa: A002
    """``clamp(a, min=min)`` recorded under torch's ``clamp_min`` node."""
    if type(min) is not float and type(min) is not int:
        _one_bound("clamp_min", "min", min)
    if isinstance(min, _tensor_cls()):
        return as_torch_node(clamp(a, min=min), "ClampMinBackward1", (0, 1))
    return as_torch_node(clamp(a, min=min), "ClampMinBackward0")


def clamp_max(a, max):  # noqa: A002
    """``clamp(a, max=max)`` recorded under torch's ``clamp_max`` node."""
    if type(max) is not float and type(max) is not int:
        _one_bound("clamp_max", "max", max)
    if isinstance(max, _tensor_cls()):
        return as_torch_node(clamp(a, max=max), "ClampMaxBackward1", (0, 2))
    return as_torch_node(clamp(a, max=max), "ClampMaxBackward0")


def _tensor_cls():
    from .._tensor import Tensor

    return Tensor


def _refuse_bool_clamp(kernel):
    """torch has no bool kernel for clamp with two tensor bounds or with number bounds."""
    raise NotImplementedError(f'"{kernel}_cpu" not implemented for \'Bool\'')


def _clamp_tensor(a, lo, hi):
    from .._tensor import Tensor
    dt = result_type(*(x for x in (a, lo, hi) if x is not None))
    if dt == _BOOL and lo is not None and hi is not None:
        _refuse_bool_clamp("clamp")
    a, lo_t, hi_t = (_t(x) if x is not None else None for x in (a, lo, hi))
    for b in (lo_t, hi_t):
        if b is not None and b.shape != a.shape:
            check_broadcast(a.shape, b.shape)
    if lo_t is not None and hi_t is not None:
        check_broadcast(xp.broadcast_shapes(a.shape, lo_t.shape), hi_t.shape)
    absent = Tensor._make(xp.zeros((), dt.np))  # placeholder input for a missing bound
    return ClampTensor.apply(cast(a, dt), absent if lo is None else cast(lo_t, dt),
                             absent if hi is None else cast(hi_t, dt),
                             has_lo=lo is not None, has_hi=hi is not None)


def _tensor_operands(name, a, b):
    """maximum/minimum take two tensors; torch refuses a Python number."""
    from .._tensor import Tensor

    for pos, x in ((1, a), (2, b)):
        if not isinstance(x, Tensor):
            arg = "input" if pos == 1 else "other"
            raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, "
                            f"not {type(x).__name__}")


def maximum(a, b):
    _tensor_operands("maximum", a, b)
    a, b = binary_args(a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    _tensor_operands("minimum", a, b)
    a, b = binary_args(a, b)
    return Minimum.apply(a, b)


_MISSING = object()


def where(cond, a=_MISSING, b=_MISSING):
    if a is _MISSING and b is _MISSING:  # torch.where(condition) is nonzero(condition, as_tuple=True)
        from .. import _vmap_batched as _vmap
        from .index import nonzero_unchecked

        if isinstance(cond._data, _vmap.BatchedArray):  # inside vmap: a dynamic shape
            _vmap.refuse_dynamic("where", cond._data)
        return nonzero_unchecked(cond, as_tuple=True)
    if a is _MISSING or b is _MISSING:
        raise TypeError("where() takes 1 or 3 arguments: where(condition) or where(condition, input, other)")
    cond = _t(cond)
    if cond.dtype is not _BOOL:
        if cond.dtype.name != "uint8":  # torch still accepts (deprecated) uint8 masks
            raise RuntimeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{_dtype_title(cond.dtype)}"
            )
        from .._warn_once import warn_once

        warn_once("where-uint8", "where received a uint8 condition tensor. This behavior is "
                  "deprecated and will be removed in a future version of PyTorch. Use a boolean "
                  "condition instead.")
        cond = cond.bool()
    a, b = binary_args(a, b)
    if cond.shape != a.shape or cond.shape != b.shape:
        check_broadcast(cond.shape, a.shape)
        check_broadcast(cond.shape, b.shape)
    return Where.apply(cond, a, b)


def _dtype_title(dt):
    """torch's ScalarType name for messages: Float, Double, Half, Long, Int, ..."""
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "bfloat16": "BFloat16"}[dt.name]


class Lerp(Node):
    """torch's two-sided formula: from ``a`` where |weight| < 0.5, else from ``end`` (exact at 1).

    The gradients are torch's: (1 - w), w and (end - a), without a branch's inf * 0. A Python
    ``weight`` (attribute ``ws``, no third input) keeps torch's precision: float32 for
    float16/bfloat16 tensors, whose lerp is one float32 multiply-add rounded once.
    """

    def forward(self, a, end, w=None):
        self.shapes = (a.shape, end.shape, None if w is None else w.shape)
        if w is None:
            w = opmath_scalar(self.ws, a.dtype)
        if is_lowp(a.dtype):
            return _lerp_float32(a.astype(F32), end.astype(F32), xp.asarray(w, F32)).astype(a.dtype)
        if a.dtype == F32 and end.dtype == F32:  # torch's float32 kernel: one multiply-add
            return _lerp_float32(a, end, xp.asarray(w, F32))
        diff = end - a
        return xp.where(xp.abs(w) < 0.5, a + w * diff, end - diff * (1 - w))

    def backward(self, g):
        sa, se, sw = self.shapes
        if sw is None:  # torch: grad * (1 - weight) and grad * weight, weight a Python number
            return sum_to(g * (1.0 - self.ws), sa), sum_to(g * self.ws, se)
        a, end, w = self.saved_tensors
        return sum_to(g * (1 - w), sa), sum_to(g * w, se), sum_to(g * (end - a), sw)


def _lerp_float32(a, end, w):
    """torch's float32 lerp kernel: ``fma(w, d, a)`` or ``end - d * (1 - w)`` (one fnmadd)."""
    d = end - a
    return xp.where(xp.abs(w) < 0.5, fma(w, d, a), fma(-d, 1 - w, end))


def lerp(a, end, weight):
    from .._tensor import Tensor

    a, end = _t(a), _t(end)
    tensor_w = isinstance(weight, Tensor)
    if not a.dtype.is_floating_point:
        check_float_input(a, f"lerp_kernel_{'tensor' if tensor_w else 'scalar'}")
    if tensor_w and weight.dim() == 0 and weight.dtype is not a.dtype \
            and not weight.dtype.is_complex:
        weight = weight.to(a.dtype)  # torch takes a 0-d weight of any real dtype, cast to a's
    for name, x in (("end", end), ("weight", weight if tensor_w else a)):
        if x.dtype is not a.dtype:
            raise RuntimeError(f"expected dtype {_c_name(a.dtype)} for `{name}` but got dtype "
                               f"{_c_name(x.dtype)}")
    check_broadcast(a.shape, end.shape)
    if not tensor_w:
        return Lerp.apply(a, end, ws=float(weight), saves=())
    check_broadcast(xp.broadcast_shapes(a.shape, end.shape), weight.shape)
    return Lerp.apply(a, end, weight, saves=(0, 1, 2), _name="LerpBackward1")


def _c_name(dt):
    """The C type name torch's dtype messages use (float, double, long, ...)."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "bool": "bool", "bfloat16": "c10::BFloat16"}.get(dt.name, dt.name)

"""Special functions with NumPy only: lgamma, digamma, polygamma, Hurwitz zeta, mvlgamma,
erfc, erfcx, erfinv, ndtr, ndtri, log_ndtr, i0, entr.

Array code computes in float64 and rounds once to the input's dtype, except where noted:
* lgamma: libm's ``math.lgamma`` per element (the function torch's CPU kernel calls);
* digamma, trigamma, zeta: the Cephes algorithms torch uses (recurrence to x >= 10 and
  the asymptotic series; Euler-Maclaurin summation for zeta);
* erfc/erfcx: W. J. Cody's rational approximations (shared with ``unary.erf_array``);
* erfinv/ndtri: M. Giles' single-precision approximation refined by Newton steps on
  erf (|x| < 0.5) or on log(erfc) (the tails, so no cancellation near +-1);
* i0, i1, i0e, i1e: Cephes' Chebyshev series in the input's precision, as torch's kernels
  (``special_bessel.bessel_i``: torch's bits);
* igamma/igammac: the power series for x < a + 1, Legendre's continued fraction above.
  (torch switches to Temme's expansion for a > 20 near x = a, where it is off by up to
  4e-10 from the mpmath value; these sums stay within 2e-14 there.)
"""

from __future__ import annotations

import math

from ..autograd.function import Node
from ..backend import xp
from . import special_bessel
from ._lowp import float32_compute
from ._util import as_float, binary_args, sum_to
from .arithmetic import _t
from .unary import _C, _D, _P, _Q, _SQRPI, _exp_sq, erf_array, where

_INF = float("inf")
_NAN = float("nan")


def _f64(x):
    return xp.asarray(x, dtype=xp.float64)


def _back(out, like):
    return out.astype(like.dtype) if like.dtype.kind in "fV" else out


# ---------------------------------------------------------------- arrays
def _lgamma_scalar(v):
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):
        return _INF  # the poles (0, -1, -2, ...) and huge arguments


_LGAMMA = xp.frompyfunc(_lgamma_scalar, 1, 1)


def lgamma_array(x):
    xd = _f64(x)
    return _back(_f64(_LGAMMA(xd)) if xd.size else xd.copy(), x)


_PSI_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
          -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
          8.33333333333333333333e-2)


def _digamma_pos(x):
    """digamma for x > 0: shift to x >= 10 (psi(x) = psi(x+1) - 1/x), then the series."""
    res = xp.zeros_like(x)
    x = x.copy()
    for _ in range(10):
        small = x < 10
        if not small.any():
            break
        res = res - xp.where(small, 1.0 / xp.where(small, x, 1.0), 0.0)
        x = xp.where(small, x + 1.0, x)
    z = 1.0 / (x * x)
    poly = xp.zeros_like(x)
    for c in _PSI_A:
        poly = poly * z + c
    y = xp.where(x < 1e17, z * poly, 0.0)
    return res + xp.log(x) - 0.5 / x - y


def digamma_array(x):
    xd = _f64(x)
    with xp.errstate(all="ignore"):
        neg = xd < 0
        refl = 1.0 - xd  # psi(x) = psi(1 - x) - pi / tan(pi * frac(x))
        arg = xp.where(neg, refl, xd)
        out = _digamma_pos(xp.where(arg > 0, arg, 1.0))
        frac = xd - xp.trunc(xd)
        out = xp.where(neg, out - math.pi / xp.tan(math.pi * frac), out)
        out = xp.where(neg & (xd == xp.trunc(xd)), _NAN, out)
        out = xp.where(xd == 0, xp.copysign(_INF, -xd), out)
        out = xp.where(xp.isnan(xd), _NAN, out)
        out = xp.where(xd == _INF, _INF, out)
    return _back(out, x)


def trigamma_array(x):
    if x.dtype == xp.float32:
        return _trigamma_float32(x)
    xd = _f64(x)
    with xp.errstate(all="ignore"):
        refl = xd < 0.5
        res = xp.where(refl, -(math.pi ** 2) / xp.sin(math.pi * xd) ** 2, 0.0)
        sign = xp.where(refl, -1.0, 1.0)
        y = xp.where(refl, 1.0 - xd, xd)
        for _ in range(6):
            res = res + 1.0 / (y * y)
            y = y + 1.0
        iyy = 1.0 / (y * y)
        res = res + (1 + 1 / (2 * y) + iyy * (1.0 / 6 - iyy * (1.0 / 30 - iyy * (1.0 / 42)))) / y
    return (sign * res).astype(_out_dtype(x))


def _trigamma_float32(x):
    """trigamma as torch's float kernel computes it, in float32 throughout: near the poles
    ``sin(pi * x)`` of the float32 ``pi * x`` decides the value (float64 would give another)."""
    f = xp.float32
    pi = f(math.pi)
    with xp.errstate(all="ignore"):
        refl = x < f(0.5)
        sin_pi_x = xp.sin(pi * x)
        res = xp.where(refl, -(pi * pi) / (sin_pi_x * sin_pi_x), f(0))
        sign = xp.where(refl, f(-1), f(1))
        y = xp.where(refl, f(1) - x, x)
        for _ in range(6):
            res = res + f(1) / (y * y)
            y = y + f(1)
        iyy = f(1) / (y * y)
        poly = f(1) / f(6) - iyy * (f(1) / f(30) - iyy * (f(1) / f(42)))
        res = res + (f(1) + f(1) / (f(2) * y) + iyy * poly) / y
    return (sign * res).astype(f)


def _out_dtype(x):
    return x.dtype if x.dtype.kind in "fV" else xp.float64


_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)
_MACHEP = 1.11022302462515654042e-16


def zeta_array(x, q):
    """Hurwitz zeta(x, q) = sum_k (k + q)^-x (Cephes' Euler-Maclaurin summation)."""
    x, q = xp.broadcast_arrays(_f64(x), _f64(q))
    with xp.errstate(all="ignore"):
        s = q ** -x
        a = q.copy()
        # the recurrence shifts q past 9; poles (q a non-positive integer, every double below
        # -2**52 among them) are inf whatever it gives, so they do not set its length
        summed = q[~((q <= 0) & (q == xp.floor(q)))]
        lo = float(summed.min()) if summed.size else 0.0
        n_terms = max(9, int(math.ceil(9.0 - lo)) + 1) if math.isfinite(lo) else 9
        b = xp.zeros_like(s)
        for _ in range(n_terms):
            a = a + 1.0
            b = a ** -x
            s = s + b
        w = a
        s = s + b * w / (x - 1.0) - 0.5 * b
        fa, k = xp.ones_like(s), 0.0
        done = xp.abs(b / s) < _MACHEP
        for c in _ZETA_A:
            fa = fa * (x + k)
            b = b / w
            t = fa * b / c
            s = xp.where(done, s, s + t)
            done = done | (xp.abs(t / s) < _MACHEP)
            k += 1.0
            fa = fa * (x + k)
            b = b / w
            k += 1.0
        s = xp.where(x == 1, _INF, s)
        s = xp.where(x < 1, _NAN, s)
        pole = (q <= 0) & (q == xp.floor(q))
        s = xp.where(pole, _INF, s)
        s = xp.where((q <= 0) & ~pole & (x != xp.floor(x)), _NAN, s)
    return s


def polygamma_array(n, x):
    if n == 0:
        return digamma_array(x)
    if n == 1:
        return trigamma_array(x)
    xd = _f64(x)
    out = (1.0 if n % 2 else -1.0) * math.exp(math.lgamma(n + 1.0)) * zeta_array(n + 1.0, xd)
    return out.astype(_out_dtype(x))


def _cody_tail(y):
    """r(y) with erfc(y) = exp(-y^2) r(y) for y > 0.5 (Cody's two outer ranges)."""
    out = xp.empty_like(y)
    mid = y <= 4.0
    ym = y[mid]
    num, den = _C[8] * ym, ym
    for i in range(7):
        num = (num + _C[i]) * ym
        den = (den + _D[i]) * ym
    out[mid] = (num + _C[7]) / (den + _D[7])
    yb = y[~mid]
    with xp.errstate(all="ignore"):
        z = 1.0 / (yb * yb)
        num, den = _P[5] * z, z
        for i in range(4):
            num = (num + _P[i]) * z
            den = (den + _Q[i]) * z
        r = z * (num + _P[4]) / (den + _Q[4])
        out[~mid] = (_SQRPI - r) / yb
    return out


def _erfc64(xd):
    ax = xp.abs(xd)
    tail = ax > 0.5
    out = xp.asarray(1.0 - erf_array(xd))  # a 0-d input's result is a NumPy scalar: writable
    if tail.any():
        y = ax[tail]
        with xp.errstate(all="ignore"):
            e = _exp_sq(y) * _cody_tail(y)
        e = xp.where(xp.isinf(y), 0.0, e)
        out[tail] = xp.where(xd[tail] < 0, 2.0 - e, e)
    return out


def erfc_array(x):
    return _back(_erfc64(_f64(x)), x)


def erfcx_array(x):
    """exp(x^2) erfc(x), without overflow for large positive x."""
    xd = _f64(x)
    with xp.errstate(all="ignore"):
        out = xp.asarray(xp.exp(xd * xd) * _erfc64(xd))
        tail = xd > 0.5
        if tail.any():
            y = xd[tail]
            out[tail] = xp.where(xp.isinf(y), 0.0, _cody_tail(y))
    return _back(out, x)


def _giles(x, w):
    """Giles' erfinv(x) guess, given w = -log((1 - x)(1 + x))."""
    lo = w < 5.0
    w1 = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p1 = p1 * w1 + c
    w2 = xp.sqrt(xp.maximum(w, 5.0)) - 3.0
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = p2 * w2 + c
    return xp.where(lo, p1, p2) * x


def _erfcinv_pos(q):
    """y > 0 with erfc(y) = q, for q in (0, 1]: Newton on log erfc(y) (no cancellation)."""
    x = 1.0 - q
    w = -xp.log(q * (2.0 - q))
    logq = xp.log(q)
    # beyond Giles' float32 range (w > 25): erfc(y) ~ exp(-y^2) / (y sqrt(pi))
    y_far = xp.sqrt(xp.maximum(-logq - xp.log(xp.sqrt(xp.maximum(-logq, 1.0) * math.pi)), 0.0))
    y = xp.where(w > 25.0, y_far, xp.maximum(_giles(x, w), 0.0))
    for _ in range(4):
        # log erfc(y) = log(erfcx(y)) - y^2, its derivative -2/sqrt(pi) / erfcx(y)
        ex = _f64(erfcx_array(y))
        f = xp.log(ex) - y * y - logq
        y = y + f * ex * (math.sqrt(math.pi) / 2.0)
    return y


def erfinv_array(x):
    xd = _f64(x)
    out = xp.full_like(xd, _NAN)
    with xp.errstate(all="ignore"):
        ax = xp.abs(xd)
        core = ax < 0.5
        if core.any():
            xc = xd[core]
            y = _giles(xc, -xp.log1p(-xc * xc))
            for _ in range(2):
                y = y - (erf_array(y) - xc) / (2.0 / math.sqrt(math.pi) * xp.exp(-y * y))
            out[core] = y
        tail = (ax >= 0.5) & (ax < 1.0)
        if tail.any():
            out[tail] = xp.sign(xd[tail]) * _erfcinv_pos(1.0 - ax[tail])
        out[ax == 1.0] = xp.sign(xd[ax == 1.0]) * _INF
    return _back(out, x)


def ndtri_array(p):
    """The standard normal quantile: -sqrt(2) erfcinv(2p), solved on the smaller tail."""
    pd = _f64(p)
    out = xp.full_like(pd, _NAN)
    with xp.errstate(all="ignore"):
        q = xp.minimum(pd, 1.0 - pd) * 2.0
        ok = (q > 0) & (q <= 1.0)
        y = _erfcinv_pos(xp.where(ok, q, 1.0))
        val = xp.where(pd < 0.5, -1.0, 1.0) * math.sqrt(2.0) * y
        out = xp.where(ok, val, out)
        out = xp.where(pd == 0, -_INF, out)
        out = xp.where(pd == 1, _INF, out)
    return _back(out, p)


def log_ndtr_array(x):
    xd = _f64(x)
    with xp.errstate(all="ignore"):
        t = xd / math.sqrt(2.0)
        # log(erfc(-t)/2): erfcx keeps it finite far in the left tail
        left = xp.log(_f64(erfcx_array(-t)) / 2.0) - t * t
        right = xp.log1p(-_erfc64(t) / 2.0)
        out = xp.where(xd < -1.0, left, right)
    return _back(out, x)


def bessel_i_array(x, order=0, scaled=False):
    """I0(x) or I1(x) (times exp(-|x|) when ``scaled``) as torch's CPU kernels compute them:
    Cephes' Chebyshev series in the input's precision (``special_bessel.bessel_i``); float16
    in float32, as torch upcasts it."""
    ct = xp.float64 if x.dtype == xp.float64 else xp.float32
    with xp.errstate(all="ignore"):
        out = special_bessel.bessel_i(xp.array(x, dtype=ct), ct, order, scaled)
    return _back(out, x)


# ---------------------------------------------------------------- autograd nodes
def _array_unary(array_fn):
    # float16/bfloat16: the value in float32, rounded once; the backwards below are torch's
    # derivative formulas in Tensor ops, in its order (each op rounded as torch rounds it)
    @float32_compute(backward=False)
    class _Op(Node):
        saves = (0,)
        saves_output = True

        def forward(self, a):
            return array_fn(a)

    return _Op


class Lgamma(_array_unary(lgamma_array)):
    def backward(self, g):
        (a,) = self.saved_tensors
        return g * digamma(a)


class Digamma(_array_unary(digamma_array)):
    def backward(self, g):
        (a,) = self.saved_tensors
        return g * polygamma(1, a)


class Polygamma(Node):
    saves = (0,)

    def forward(self, a):
        if a.dtype.kind == "V":
            return polygamma_array(self.n, a.astype(xp.float32)).astype(a.dtype)
        return polygamma_array(self.n, a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g * polygamma(self.n + 1, a)


class Erfc(_array_unary(erfc_array)):
    def backward(self, g):
        (a,) = self.saved_tensors
        return (-(a * a)).exp() * (-2.0 / math.sqrt(math.pi)) * g


class Erfcx(_array_unary(erfcx_array)):
    def backward(self, g):
        (a,) = self.saved_tensors
        return g * (2.0 * a * self.saved_output - 2.0 / math.sqrt(math.pi))


class Erfinv(_array_unary(erfinv_array)):
    def backward(self, g):
        return self.saved_output.square().exp() * (math.sqrt(math.pi) / 2.0) * g


class Ndtri(_array_unary(ndtri_array)):
    def backward(self, g):  # d/dp ndtri(p) = sqrt(2 pi) exp(ndtri(p)^2 / 2)
        return g * math.sqrt(2.0 * math.pi) * (self.saved_output.square() * 0.5).exp()


class LogNdtr(_array_unary(log_ndtr_array)):
    def backward(self, g):  # phi(x) / Phi(x) = exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi)
        (a,) = self.saved_tensors
        return g / math.sqrt(2.0 * math.pi) * (-(a * a) * 0.5 - self.saved_output).exp()


def entr_array(x):
    with xp.errstate(all="ignore"):
        out = -x * xp.log(x)
    return xp.where(x < 0, -_INF, xp.where(x == 0, 0.0, out)).astype(x.dtype)


class Entr(_array_unary(entr_array)):
    _name = "SpecialEntrBackward0"

    def backward(self, g):
        (a,) = self.saved_tensors
        return g * -(a.log() + 1.0)


class I0(_array_unary(bessel_i_array)):
    def backward(self, g):
        (a,) = self.saved_tensors
        return g * i1(a)


class _Bessel(Node):
    """i1, i0e, i1e (values; i1's gradient through its recurrence in Tensor ops)."""

    saves = (0,)
    saves_output = True

    def forward(self, a):
        if a.dtype.kind == "V":
            return bessel_i_array(a.astype(xp.float32), self.order, self.scaled).astype(a.dtype)
        return bessel_i_array(a, self.order, self.scaled)

    def backward(self, g):
        (a,) = self.saved_tensors
        out = self.saved_output
        if self.order == 0:  # i0e' = i1e - sign(x) i0e
            return g * (i1e(a) - a.sign() * out)
        # I1' = I0 - I1/x; scaled: minus sign(x) * i1e. torch takes 1/2 (the limit at 0)
        # wherever |x| <= eps, a NaN x included (its test is not |x| > eps)
        base = i0e(a) if self.scaled else i0(a)
        tiny = ~(a.abs() > float(xp.finfo(a._data.dtype).eps))
        d = base - where(tiny, g.new_zeros(()), out / a)
        if self.scaled:
            d = d - a.sign() * out
        return g * where(tiny, g.new_full((), 0.5), d)


# ---------------------------------------------------------------- functions
def _float_op(cls, name, **attrs):
    def op(input):  # noqa: A002 - torch's keyword name
        return cls.apply(as_float(_t(input)), **attrs)

    op.__name__ = op.__qualname__ = name
    return op


lgamma = _float_op(Lgamma, "lgamma", _name="LgammaBackward0")
digamma = _float_op(Digamma, "digamma", _name="DigammaBackward0")
erfc = _float_op(Erfc, "erfc", _name="ErfcBackward0")
erfcx = _float_op(Erfcx, "erfcx", _name="SpecialErfcxBackward0")
erfinv = _float_op(Erfinv, "erfinv", _name="ErfinvBackward0")
ndtri = _float_op(Ndtri, "ndtri", _name="SpecialNdtriBackward0")
log_ndtr = _float_op(LogNdtr, "log_ndtr", _name="SpecialLogNdtrBackward0")
i0 = _float_op(I0, "i0", _name="I0Backward0")
i1 = _float_op(_Bessel, "i1", order=1, scaled=False, _name="SpecialI1Backward0")
i0e = _float_op(_Bessel, "i0e", order=0, scaled=True, _name="SpecialI0EBackward0")
i1e = _float_op(_Bessel, "i1e", order=1, scaled=True, _name="SpecialI1EBackward0")


def polygamma(n, input):  # noqa: A002
    if not isinstance(n, int) or n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(as_float(_t(input)), n=n, _name="PolygammaBackward0")


def mvlgamma(input, p):  # noqa: A002
    """The multivariate log-gamma of dimension ``p``: sum_i lgamma(x - i/2) + const (torch
    2.13 no longer checks x > (p - 1) / 2)."""
    from .._creation import arange

    a = as_float(_t(input))
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    # torch's order: x + [-(p-1)/2, ..., -0.5, 0.0] (a +0.0 shift: x = -0.0 stays a pole at +0,
    # whose digamma, the gradient, is -inf), summed in that order
    shifts = arange(-p * 0.5 + 0.5, 0.5, 0.5, dtype=a.dtype)
    const = float(p * (p - 1)) * math.log(math.pi) * 0.25
    return lgamma(shifts + a.unsqueeze(-1)).sum(-1) + const


def ndtr(input):  # noqa: A002
    """The standard normal CDF as torch composes it: ``(1 + erf(x / sqrt(2))) / 2``."""
    from .unary import erf

    return (erf(as_float(_t(input)) * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5


def entr(input):  # noqa: A002
    """``-x log x`` (0 at 0, -inf below 0); gradient ``-(1 + log x)`` (inf at 0), as torch."""
    return Entr.apply(as_float(_t(input)))


def zeta(input, other):  # noqa: A002
    """Hurwitz zeta(x, q) (values only, as torch: no gradient formula)."""
    from .._tensor import Tensor

    a, b = binary_args(input, other)
    a, b = as_float(a), as_float(b)
    out = zeta_array(a._data, b._data).astype(a._data.dtype)
    return Tensor._make(out)


# ---------------------------------------------------------------- incomplete gamma
def _igam_series(a, x):
    """P(a, x) by its power series (converges fast for x < a + 1)."""
    with xp.errstate(all="ignore"):
        ax = a * xp.log(x) - x - _f64(_LGAMMA(a))
        r, c, ans = a.copy(), xp.ones_like(a), xp.ones_like(a)
        done = xp.zeros(a.shape, bool)
        for _ in range(5000):
            r = r + 1.0
            c = xp.where(done, 0.0, c * x / r)
            ans = ans + c
            done = done | (c <= _MACHEP * ans)
            if done.all():
                break
        return ans * xp.exp(ax) / a


def _igamc_cf(a, x):
    """Q(a, x) by Legendre's continued fraction (modified Lentz), for x >= a + 1."""
    tiny = 1e-300
    with xp.errstate(all="ignore"):
        ax = a * xp.log(x) - x - _f64(_LGAMMA(a))
        b = x + 1.0 - a
        c = xp.full_like(a, 1.0 / tiny)
        d = 1.0 / b
        h = d.copy()
        done = xp.zeros(a.shape, bool)
        for i in range(1, 5000):
            an = -i * (i - a)
            b = b + 2.0
            d = an * d + b
            d = xp.where(xp.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < tiny, tiny, c)
            d = 1.0 / d
            delta = d * c
            h = xp.where(done, h, h * delta)
            done = done | (xp.abs(delta - 1.0) < _MACHEP)
            if done.all():
                break
        return xp.exp(ax) * h


def igamma_array(a, x, upper=False):
    """The regularized lower (P) or upper (Q) incomplete gamma function, with torch's edges."""
    a, x = xp.broadcast_arrays(_f64(a), _f64(x))
    a, x = a.copy(), x.copy()
    out = xp.full(a.shape, _NAN)
    ok = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
    use_cf = ok & (x >= a + 1.0)
    use_series = ok & ~use_cf
    if use_series.any():
        p = _igam_series(a[use_series], x[use_series])
        out[use_series] = 1.0 - p if upper else p
    if use_cf.any():
        q = _igamc_cf(a[use_cf], x[use_cf])
        out[use_cf] = q if upper else 1.0 - q
    lo, hi = (1.0, 0.0) if upper else (0.0, 1.0)
    out = xp.where((x == 0) & (a > 0), lo, out)  # P(a, 0) = 0
    out = xp.where((a == 0) & (x > 0), hi, out)  # the a -> 0 limit
    out = xp.where(xp.isinf(x) & (x > 0) & xp.isfinite(a) & (a >= 0), hi, out)
    out = xp.where(xp.isinf(a) & (a > 0) & xp.isfinite(x) & (x >= 0), lo, out)
    return out


class IGamma(Node):
    """Values of P(a, x) or Q(a, x); the gradient flows to x only (torch has none for a)."""

    saves = (0, 1)

    def forward(self, a, x):
        dt = a.dtype
        work = (a.astype(xp.float32), x.astype(xp.float32)) if dt.kind == "V" else (a, x)
        return igamma_array(*work, upper=self.upper).astype(dt)

    def backward(self, g):
        if self._next[0] is not None:  # ``a`` requires grad: torch refuses, as here
            name = "igammac" if self.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        a, x = self.saved_tensors
        dens = ((a - 1.0) * x.log() - x - lgamma(a)).exp()  # x^(a-1) e^-x / Gamma(a)
        return None, sum_to(g * (-dens if self.upper else dens), x.shape)


def igamma(input, other):  # noqa: A002 - torch's keyword names
    """The regularized lower incomplete gamma P(input, other) (torch.special.gammainc)."""
    a, x = binary_args(input, other)
    return IGamma.apply(as_float(a), as_float(x), upper=False, _name="IgammaBackward0")


def igammac(input, other):  # noqa: A002
    """The regularized upper incomplete gamma Q(input, other) (torch.special.gammaincc)."""
    a, x = binary_args(input, other)
    return IGamma.apply(as_float(a), as_float(x), upper=True, _name="IgammacBackward0")

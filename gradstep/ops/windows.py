"""Window functions: ``hann_window``, ``hamming_window``, ``blackman_window``,
``bartlett_window`` and ``kaiser_window`` (torch's signatures and defaults).

Each is computed the way torch's CPU code computes it, op by op in the requested dtype
(scalars rounded to it, and a half or bfloat16 op done in float32 and rounded after every
op, as torch's ``opmath``): ``arange`` times the step, then the formula. So half, bfloat16
and Bartlett windows equal torch's bit for bit, and so does ``kaiser_window`` in float64
(its I0 is the Cephes Chebyshev series torch's ``calc_i0`` uses, with the fused
multiply-adds torch's compiled kernel does, and the C library's ``exp``). The exception is
the cosine in float32 and float64: torch's vectorised ``cos`` (SLEEF, within 1 ulp) and
NumPy's round a few percent (float32) or a few in ten thousand (float64) of the values one
ulp apart, which ``alpha - beta * cos`` can turn into a few ulps of a small result (within
2 ulps of 1.0 absolute); float32 Kaiser windows differ from torch's at a few rounding ties.

A ``periodic`` window of length N is the symmetric window of length N + 1 without its
last point (torch's definition, for spectral analysis).
"""

from __future__ import annotations

import math
import operator

from .. import backend as B
from .._device import check_device
from ..backend import xp
from ._bessel_coeffs import MODIFIED_BESSEL_I0_A, MODIFIED_BESSEL_I0_B
from ._cephes import _two_product

# Cephes' Chebyshev coefficients of exp(-x) I0(x) on [0, 8] and of exp(-x) sqrt(x) I0(x)
# on (8, inf): torch's calc_i0 uses these (NumPy's np.i0 uses the same table)
_I0_A, _I0_B = MODIFIED_BESSEL_I0_A, MODIFIED_BESSEL_I0_B


class _Arith:
    """Arithmetic rounded like torch's CPU kernels for ``dtype``: in the dtype itself for
    float32/float64, in float32 rounded to the dtype after each op for half and bfloat16."""

    def __init__(self, np_dtype):
        self.out = np_dtype
        self.ct = xp.float64 if np_dtype == xp.float64 else xp.float32

    def r(self, x):
        """``x`` rounded to the output dtype, held in the compute dtype."""
        x = xp.asarray(x)
        if self.out == self.ct:
            return x.astype(self.ct, copy=False)
        return x.astype(self.out).astype(self.ct)

    def s(self, value):
        """A Python scalar as torch's window code passes it: rounded to the tensor's dtype."""
        return self.r(self.ct(value))[()]

    def cos(self, x):
        return self.r(xp.cos(x.astype(xp.float64)).astype(self.ct))

    def arange(self, n):
        return self.r(xp.arange(n, dtype=xp.float64))


def _window_length(name, window_length):
    if isinstance(window_length, bool) or isinstance(window_length, float):
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    try:
        n = operator.index(window_length)
    except TypeError:
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}") from None
    if n < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={n}")
    return n


def _check(name, window_length, periodic, dtype, layout, device):
    """torch's window_function_checks; returns (length, NumPy dtype)."""
    n = _window_length(name, window_length)
    if not isinstance(periodic, bool):
        raise TypeError(f"{name}(): argument 'periodic' (position 2) must be bool, not "
                        f"{type(periodic).__name__}")
    if layout is not None and "strided" not in str(layout):
        raise RuntimeError(f"{name} is not implemented for sparse types, got layout {layout}")
    check_device(device)
    dt = B.get_default_dtype() if dtype is None else B.as_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt.name}")
    return n, dt.np


def _finish(arr, np_dtype, requires_grad):
    from .._tensor import Tensor

    t = Tensor._make(xp.ascontiguousarray(arr.astype(np_dtype)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _build(name, window_length, periodic, dtype, layout, device, requires_grad, formula):
    """The shared shape of every window: trivial lengths, the periodic extension, the dtype."""
    n, np_dtype = _check(name, window_length, periodic, dtype, layout, device)
    if n <= 1:
        return _finish(xp.ones(n), np_dtype, requires_grad)
    m = n + 1 if periodic else n
    w = formula(_Arith(np_dtype), m)
    return _finish(w[:n], np_dtype, requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, pin_memory=False, requires_grad=False):
    """``alpha - beta * cos(2 pi n / (N - 1))``."""

    def formula(A, m):
        w = A.r(A.arange(m) * A.s(2.0 * xp.pi / (m - 1)))
        return A.r(A.r(A.cos(w) * A.s(-beta)) + A.s(alpha))

    return _build("hamming_window", window_length, periodic, dtype, layout, device,
                  requires_grad, formula)


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                pin_memory=False, requires_grad=False):
    """``0.5 - 0.5 * cos(2 pi n / (N - 1))`` (torch's Hamming window with alpha = beta = 0.5)."""
    _check("hann_window", window_length, periodic, dtype, layout, device)
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""

    def formula(A, m):
        w = A.r(A.arange(m) * A.s(xp.pi / (m - 1)))
        high = A.r(A.cos(A.r(w * A.s(4))) * A.s(0.08))
        low = A.r(A.cos(A.r(w * A.s(2))) * A.s(0.5))
        return A.r(A.r(high - low) + A.s(0.42))

    return _build("blackman_window", window_length, periodic, dtype, layout, device,
                  requires_grad, formula)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """The triangle ``2n / (N - 1)`` up to the middle, ``2 - 2n / (N - 1)`` after it."""

    def formula(A, m):
        w = A.r(A.arange(m) * A.s(2.0 / (m - 1)))
        half = ((m - 1) >> 1) + 1
        w[half:] = A.r(A.s(2) - w[half:])
        return w

    return _build("bartlett_window", window_length, periodic, dtype, layout, device,
                  requires_grad, formula)


def _fms(a, b, c, ct):
    """``a * b - c`` rounded once, as the fused multiply-add torch's CPU kernels compile to.
    In float32 the product is exact in float64: one rounding there, one to float32 (a double
    rounding that differs from a true FMA only at exact ties). In float64, the exact product
    (``_two_product``) and an error-free subtraction, rounded at the end."""
    a = xp.asarray(a)
    if ct == xp.float32:
        return (a.astype(xp.float64) * b - c).astype(ct)
    p, e = _two_product(a.astype(xp.float64), xp.asarray(b, xp.float64))
    s = p - c
    v = s - p
    return s + (e + ((p - (s - v)) + (-c - v)))


def _exp(x, ct):
    """The C library's exp in ``ct``, as torch's scalar kernel calls it (``std::exp``): for
    float32 the float64 value rounded, for float64 ``math.exp`` itself, element by element."""
    if ct == xp.float32:
        return xp.exp(x.astype(xp.float64)).astype(ct)
    return xp.asarray(xp.frompyfunc(math.exp, 1, 1)(x), dtype=xp.float64)


def _chbevl(x, coeffs, ct):
    """Clenshaw's recurrence for a Chebyshev series, in ``ct`` (Cephes' chbevl)."""
    b0 = xp.full_like(x, ct(coeffs[0]))
    b1 = xp.zeros_like(x)
    b2 = b1
    for c in coeffs[1:]:
        b2 = b1
        b1 = b0
        b0 = (_fms(x, b1, b2, ct) + ct(c)).astype(ct)
    return ct(0.5) * (b0 - b2)


def _i0(x, ct):
    """torch's calc_i0 in ``ct``: Chebyshev series on [0, 8] and beyond, times exp(x)."""
    x = xp.abs(x).astype(ct)
    small = x <= 8
    xs = xp.where(small, x, ct(8))
    xl = xp.where(small, ct(9), x)
    exp = _exp(x, ct)
    a = exp * _chbevl((xs / ct(2) - ct(2)).astype(ct), _I0_A, ct)
    b = (exp * _chbevl((ct(32) / xl - ct(2)).astype(ct), _I0_B, ct)).astype(ct) / xp.sqrt(xl)
    return xp.where(small, a, b).astype(ct)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, pin_memory=False, requires_grad=False):
    """``I0(beta * sqrt(1 - ((n - a) / a)^2)) / I0(beta)`` with ``a = (N - 1) / 2``."""

    def formula(A, m):
        ct = A.ct
        n = A.arange(m)
        alpha = ct((m - 1) / 2.0)
        b = ct(beta)
        ratio = ((n - alpha) / alpha).astype(ct)
        arg = (b * xp.sqrt(xp.abs(-_fms(ratio, ratio, ct(1), ct)))).astype(ct)
        with xp.errstate(over="ignore", invalid="ignore"):
            return (_i0(arg, ct) / _i0(xp.asarray(b), ct)).astype(ct)

    return _build("kaiser_window", window_length, periodic, dtype, layout, device,
                  requires_grad, formula)


FUNCTIONS = {f.__name__: f for f in (hann_window, hamming_window, blackman_window,
                                      bartlett_window, kaiser_window)}

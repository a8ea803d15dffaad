"""Scalar C arithmetic, array-wise: what torch's CPU kernels for the Cephes-style special
functions (``ATen/native/Math.h``) compute, element by element, in float32 or float64.

* Each ``+ - * /`` is rounded to the compute dtype ``ct``, as C does with ``T`` operands
  (NumPy's float32 and float64 arithmetic is IEEE, as the C compiler's).
* ``a * b + c`` patterns that the compiler contracts into fused multiply-adds (torch's
  CPU kernels are built with contraction on) are rounded once (``fma``).
* ``exp``, ``log``, ``sin``, ``cos``, ``acos`` are the C library's (``std::exp`` and so
  on), element by element: Python's ``math`` functions for float64, the float functions
  (``sinf``, ...) through ctypes for float32. NumPy's own kernels (SIMD on some CPUs)
  differ from them in the last bit for a few percent of inputs.
"""

from __future__ import annotations

import math

from ..backend import xp

_F64 = xp.float64
_INF = float("inf")
_NAN = float("nan")


def _guard(fn, at_zero=_NAN):
    """``fn`` on one float, with C's results where Python raises (domain and range errors)."""

    def call(v):
        try:
            return fn(v)
        except ValueError:  # log(0), log(-1), cos(inf), acos(2)
            return at_zero if v == 0 else _NAN
        except OverflowError:  # exp of a large argument
            return _INF

    return call


_LIBM = {
    "exp": xp.frompyfunc(_guard(math.exp), 1, 1),
    "log": xp.frompyfunc(_guard(math.log, -_INF), 1, 1),
    "sin": xp.frompyfunc(_guard(math.sin), 1, 1),
    "cos": xp.frompyfunc(_guard(math.cos), 1, 1),
    "acos": xp.frompyfunc(_guard(math.acos), 1, 1),
}


def _float_libm():
    """The C library's float functions (``sinf``, ...), which torch's float32 kernels call:
    glibc's are not always the correctly rounded value that rounding the double result gives.
    None where no C math library can be loaded (then the double result, rounded)."""
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        table = {}
        for name in _LIBM:
            fn = getattr(lib, name + "f")
            fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
            table[name] = xp.frompyfunc(fn, 1, 1)
        return table
    except (OSError, AttributeError):
        return None


_LIBM_FLOAT = []  # loaded on first use: [table or None]


def libm(name, x, ct):
    """The C library's ``name`` of each element of ``x``, in ``ct`` (float32 calls the float
    function, as C++'s ``std::sin(float)`` does)."""
    if ct == xp.float32:
        if not _LIBM_FLOAT:
            _LIBM_FLOAT.append(_float_libm())
        table = _LIBM_FLOAT[0]
        if table is not None:
            x = xp.asarray(x, dtype=ct)
            return x.copy() if x.size == 0 else xp.asarray(table[name](x), dtype=ct)
    x = xp.asarray(x, dtype=_F64)
    if x.size == 0:
        return x.astype(ct)
    return xp.asarray(_LIBM[name](x), dtype=_F64).astype(ct)


def sqrt(x, ct):
    """IEEE square root (correctly rounded in NumPy as in C)."""
    with xp.errstate(invalid="ignore"):
        return xp.sqrt(xp.asarray(x, dtype=ct))


def _two_product(a, b):
    """``a * b = p + e`` exactly, in float64 (Dekker's splitting)."""
    p = a * b
    t = 134217729.0 * a  # 2**27 + 1
    ah = t - (t - a)
    t = 134217729.0 * b
    bh = t - (t - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def fma(a, b, c, ct):
    """``a * b + c`` rounded once (a fused multiply-add), in ``ct``.

    float32: the product is exact in float64, so one rounding of the sum to float64 and one
    to float32 (a double rounding, off from a true FMA only at exact ties). float64: the
    exact product as ``p + e`` and an error-free sum, rounded at the end."""
    a, b, c = (xp.asarray(v, dtype=_F64) for v in (a, b, c))
    with xp.errstate(all="ignore"):
        if ct == xp.float32:
            return (a * b + c).astype(ct)
        p, e = _two_product(a, b)
        s = p + c
        v = s - p
        err = (p - (s - v)) + (c - v)  # p + c = s + err exactly
        out = s + (err + e)
        plain = ~xp.isfinite(out) | ~xp.isfinite(p) | (xp.abs(p) > 1e290)
        if plain.any():  # huge or non-finite: the splitting overflows; plain C arithmetic
            out = xp.where(plain, a * b + c, out)
        return out


def horner(coeffs, z, ct, fused=True):
    """``((0 * z + c0) * z + c1) * z + ...`` as Math.h writes its polynomial loops (the
    leading ``0 * z`` keeps an infinite ``z``'s NaN), each step one FMA when ``fused``."""
    acc = xp.zeros_like(z)
    for c in coeffs:
        acc = fma(acc, z, ct(c), ct) if fused else (acc * z + ct(c)).astype(ct)
    return acc


def clenshaw(coeffs, w, ct):
    """Math.h's Chebyshev-series loop: ``a = w * q - p + c`` (``w * q - p`` fused), then
    ``0.5 * (a - p)``."""
    p = xp.zeros_like(w)
    q = xp.zeros_like(w)
    a = xp.full_like(w, ct(coeffs[0]))
    for c in coeffs[1:]:
        p, q = q, a
        a = (fma(w, q, -p, ct) + ct(c)).astype(ct)
    return ct(0.5) * (a - p)


def on(mask, fn, x, out):
    """``out[mask] = fn(x[mask])`` when any element takes this branch."""
    if mask.any():
        out[mask] = fn(x[mask])
    return out

"""The orthogonal polynomials of ``torch.special``, computed as torch's CPU kernels do.

torch (``Math.h``) evaluates each one element by element in the input's precision, by the
three-term recurrence from ``P_0`` and ``P_1``, with a few shortcuts that decide the value
at some points: the end points (``x = +-1``, or ``x = 0, 1`` for the shifted Chebyshev
polynomials) in closed form, and for Chebyshev polynomials of high degree inside (-1, 1)
the trigonometric form (``T_n(x) = cos(n acos x)``, ...). Here the same branches run on
masks of the array, and the recurrence runs on all the elements that use it at once (the
loop stops, per element, at its degree or once the running value is NaN, as torch's).

``n`` is truncated to an integer (C's float-to-int64 conversion: NaN, infinities and
values out of range give the most negative integer, so 0 here); a negative degree gives 0.
The Hermite polynomials are NaN past degree 128 (float32) or 512 (float64), as in torch.
"""

from __future__ import annotations

from ..backend import xp
from ._cephes import fma, libm

_INT64_MIN = -(2 ** 63)


def degrees(n):
    """``static_cast<int64_t>(n)`` of a float array as x86 computes it (truncation; NaN,
    infinities and out-of-range values give INT64_MIN)."""
    n = xp.asarray(n)
    if n.dtype.kind in "iub":
        return n.astype(xp.int64)
    ok = xp.isfinite(n) & (n > -9.3e18) & (n < 9.3e18)
    with xp.errstate(invalid="ignore"):
        out = xp.where(ok, n, 0).astype(xp.int64)
    big = xp.abs(xp.where(ok, n, 0)) >= 2.0 ** 63
    return xp.where(ok & ~big, out, _INT64_MIN)


def _recur(start, n, k0, step, stop_at_nan=True):
    """Run ``r = step(k, p, q); p, q = q, r`` for ``k = k0, k0 + 1, ...`` while ``k <= n``
    (and ``q`` is not NaN), per element; returns the last ``q`` (C's ``r``)."""
    p, q = start
    if q.size == 0:
        return q
    k = k0
    top = int(n.max())
    while k <= top:
        active = k <= n
        if stop_at_nan:
            active &= ~xp.isnan(q)
        if not active.any():
            break
        r = step(k, p, q)
        if active.all():
            p, q = q, r
        else:
            p, q = xp.where(active, q, p), xp.where(active, r, q)
        k += 1
    return q


def _fill(out, mask, value):
    if mask.any():
        out[mask] = value[mask] if isinstance(value, xp.ndarray) else value


def _odd_sign(n, ct):
    """``1`` for even n, ``-1`` for odd."""
    return xp.where(n % 2 == 0, ct(1), ct(-1))


def _chebyshev(kind, t, n, ct, cut, ends):
    """The four Chebyshev kinds in the variable ``t``, away from the end points: the
    trigonometric form for ``n > cut`` inside (-1, 1), else the recurrence
    ``P_{k+1} = 2t P_k - P_{k-1}`` (one FMA a step). ``ends`` (the end points, given in
    closed form by the caller) are left out: the recurrence never stops there."""
    two_t = (t + t).astype(ct)
    nf = n.astype(ct)
    out = xp.empty_like(t)
    done = ends.copy()
    with xp.errstate(all="ignore"):
        trig = (n > cut) & (xp.abs(t) < 1)
        if trig.any():
            theta = libm("acos", t[trig], ct)
            m = nf[trig]
            out[trig] = _trig_form(kind, theta, m, n[trig], t[trig], ct)
            done |= trig
        first = {"t": t, "u": two_t, "v": (two_t - ct(1)).astype(ct),
                 "w": (two_t + ct(1)).astype(ct)}[kind]
        _fill(out, ~done & (n == 0), ct(1))
        _fill(out, ~done & (n == 1), first)
        rest = ~done & (n >= 2)
        if rest.any():
            tt = two_t[rest]
            out[rest] = _recur((xp.ones_like(tt), first[rest]), n[rest], 2,
                               lambda k, p, q: fma(tt, q, -p, ct))
    return out


def _trig_form(kind, theta, m, n, t, ct):
    """T: cos(n theta); U: sin((n+1) theta) / sin(theta); V: cos((n+1/2) theta) /
    cos(theta/2); W: sin((n+1/2) theta) / sin(theta/2), with torch's fallbacks where the
    denominator vanishes."""
    half = (theta / ct(2)).astype(ct)
    if kind == "t":
        return libm("cos", (m * theta).astype(ct), ct)
    if kind == "u":
        s = libm("sin", theta, ct)
        m1 = (n + 1).astype(ct)  # C's int64 ``n + 1``, then converted
        a = (m1 * theta).astype(ct)
        return xp.where(s != 0, libm("sin", a, ct) / s, m1 * libm("cos", a, ct) / t).astype(ct)
    a = ((m + ct(0.5)) * theta).astype(ct)
    odd = xp.where(n % 2 == 0, ct(1), ct(-1))
    if kind == "v":
        val = libm("cos", a, ct) / libm("cos", half, ct)
        return xp.where(libm("sin", half, ct) != 1, val, odd * (n + n + 1).astype(ct)).astype(ct)
    val = libm("sin", a, ct) / libm("sin", half, ct)
    edge = xp.where(t > 0, (n + n + 1).astype(ct), odd)
    return xp.where(libm("cos", half, ct) != 1, val, edge).astype(ct)


def _ends(kind, pos, neg, n, ct):
    """The closed-form values at the end points: ``pos`` where the variable is 1, ``neg``
    where it is -1 (masks), for ``n >= 0``."""
    odd = _odd_sign(n, ct)
    n1 = (n + 1).astype(ct)  # C's int64 ``n + 1`` and ``n + n + 1``, then converted
    two_n1 = (n + n + 1).astype(ct)
    at_pos = {"t": ct(1), "u": n1, "v": ct(1), "w": two_n1}[kind]
    at_neg = {"t": odd, "u": odd * n1, "v": odd * two_n1, "w": odd}[kind]
    out = xp.zeros(n.shape, ct)
    out = xp.where(pos, at_pos, out)
    return xp.where(neg, at_neg, out).astype(ct)


def _chebyshev_family(kind, shifted):
    """One of the eight Chebyshev functions: in ``x`` with end points -1 and 1, or shifted,
    in ``t = 2x - 1`` with end points tested on ``x`` (0 and 1)."""
    cut = (4 if kind == "w" else 6) if shifted else (6 if kind == "t" else 8)

    def fn(x, n, ct):
        t = (x + x - ct(1)).astype(ct) if shifted else x
        pos, neg = (x == 1), (x == 0) if shifted else (x == -1)
        ends = pos | neg
        out = _chebyshev(kind, t, n, ct, cut, ends)
        out = xp.where(ends & (n >= 0), _ends(kind, pos, neg, n, ct), out)
        return xp.where(n < 0, ct(0), out).astype(ct)

    return fn


chebyshev_polynomial_t = _chebyshev_family("t", False)
chebyshev_polynomial_u = _chebyshev_family("u", False)
chebyshev_polynomial_v = _chebyshev_family("v", False)
chebyshev_polynomial_w = _chebyshev_family("w", False)
shifted_chebyshev_polynomial_t = _chebyshev_family("t", True)
shifted_chebyshev_polynomial_u = _chebyshev_family("u", True)
shifted_chebyshev_polynomial_v = _chebyshev_family("v", True)
shifted_chebyshev_polynomial_w = _chebyshev_family("w", True)


def _low_orders(out, n, first, ct):
    _fill(out, n == 0, ct(1))
    _fill(out, n == 1, first)


def hermite_polynomial_h(x, n, ct):
    """Physicists' Hermite: ``H_{k+1} = 2x H_k - 2k H_{k-1}``."""
    out = xp.zeros_like(x)
    two_x = (x + x).astype(ct)
    _low_orders(out, n, two_x, ct)
    limit = 128 if ct == xp.float32 else 512
    _fill(out, n > limit, ct(float("nan")))
    rest = (n >= 2) & (n <= limit)
    if rest.any():
        tx = two_x[rest]
        # k = 2, 4, ... below 2n: the degree-k step is number k // 2
        out[rest] = _recur((xp.ones_like(tx), tx), n[rest], 2,
                           lambda j, p, q: fma(tx, q, -(ct(2 * (j - 1)) * p), ct),
                           stop_at_nan=False)
    return out


def hermite_polynomial_he(x, n, ct):
    """Probabilists' Hermite: ``He_{k+1} = x He_k - k He_{k-1}``."""
    out = xp.zeros_like(x)
    _low_orders(out, n, x, ct)
    limit = 128 if ct == xp.float32 else 512
    _fill(out, n > limit, ct(float("nan")))
    rest = (n >= 2) & (n <= limit)
    if rest.any():
        xr = x[rest]
        out[rest] = _recur((xp.ones_like(xr), xr), n[rest], 2,
                           lambda j, p, q: fma(xr, q, -(ct(j - 1) * p), ct),
                           stop_at_nan=False)
    return out


def laguerre_polynomial_l(x, n, ct):
    """Laguerre: ``(k + 1) L_{k+1} = (2k + 1 - x) L_k - k L_{k-1}``; 1 at x = 0."""
    out = xp.zeros_like(x)
    one_minus = (ct(1) - x).astype(ct)
    _low_orders(out, n, one_minus, ct)
    rest = (n >= 2) & (x != 0)
    if rest.any():
        om = one_minus[rest]

        def step(j, p, q):
            k = j - 1
            coef = (ct(k + k) + om).astype(ct)
            return (fma(coef, q, -(ct(k) * p), ct) / ct(k + 1)).astype(ct)

        out[rest] = _recur((xp.ones_like(om), om), n[rest], 2, step)
    out = xp.where((x == 0) & (n >= 0), ct(1), out)
    return xp.where(n < 0, ct(0), out).astype(ct)


def legendre_polynomial_p(x, n, ct):
    """Legendre: ``(k + 1) P_{k+1} = (2k + 1) x P_k - k P_{k-1}``; +-1 at x = +-1."""
    out = xp.zeros_like(x)
    _low_orders(out, n, x, ct)
    rest = (n >= 2) & (xp.abs(x) != 1)
    if rest.any():
        xr = x[rest]

        def step(j, p, q):
            k = j - 1
            a = (ct(k + k + 1) * xr).astype(ct)
            return (fma(a, q, -(ct(k) * p), ct) / ct(k + 1)).astype(ct)

        out[rest] = _recur((xp.ones_like(xr), xr), n[rest], 2, step)
    ends = (xp.abs(x) == 1) & (n >= 0)
    out = xp.where(ends, xp.where((x > 0) | (n % 2 == 0), ct(1), ct(-1)), out)
    return xp.where(n < 0, ct(0), out).astype(ct)


FUNCTIONS = {name: fn for name, fn in (
    ("chebyshev_polynomial_t", chebyshev_polynomial_t),
    ("chebyshev_polynomial_u", chebyshev_polynomial_u),
    ("chebyshev_polynomial_v", chebyshev_polynomial_v),
    ("chebyshev_polynomial_w", chebyshev_polynomial_w),
    ("shifted_chebyshev_polynomial_t", shifted_chebyshev_polynomial_t),
    ("shifted_chebyshev_polynomial_u", shifted_chebyshev_polynomial_u),
    ("shifted_chebyshev_polynomial_v", shifted_chebyshev_polynomial_v),
    ("shifted_chebyshev_polynomial_w", shifted_chebyshev_polynomial_w),
    ("hermite_polynomial_h", hermite_polynomial_h),
    ("hermite_polynomial_he", hermite_polynomial_he),
    ("laguerre_polynomial_l", laguerre_polynomial_l),
    ("legendre_polynomial_p", legendre_polynomial_p),
)}

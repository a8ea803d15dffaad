"""Bessel and Airy functions of ``torch.special``, computed as torch's CPU kernels do.

torch evaluates them with Cephes' rational and Chebyshev approximations (``Math.h``) in
the input's precision: float32 inputs in float32 arithmetic with float32-rounded
coefficients, float64 in float64. Each function here follows the same branches, the same
coefficient tables (``_bessel_coeffs``) and the same operation order, with ``_cephes``
giving C's rounding (fused multiply-adds where the compiler contracts, the C library's
transcendentals), so the values are torch's to within an ulp or two.

Every function takes a float32 or float64 array and returns one of the same dtype; none
has a gradient in torch (the results do not require grad).
"""

from __future__ import annotations

from ..backend import xp
from . import _bessel_coeffs as C
from ._cephes import clenshaw, fma, horner, libm, on, sqrt

_INF = float("inf")
_NAN = float("nan")
_PIO4 = 0.785398163397448309615660845819875721
_3PIO4 = 2.356194490192344928846982537459627163
_SQ2OPI = 0.797884560802865355879892119868763737  # sqrt(2 / pi)
_TWOOPI = 0.636619772367581343075535053490057448  # 2 / pi
_SQPII = 5.64189583547756286948e-01  # 1 / sqrt(pi)


def _empty(x):
    return xp.empty_like(x)


# ---------------------------------------------------------------- J0, J1, Y0, Y1
def _asymptotic(x, ct, tables, phase, w, second_sign):
    """The large-argument form ``(P cos(x - phase) -+ (5/x) Q sin(x - phase)) sqrt(2/(pi x))``
    (J) or with sin/cos swapped (Y: ``second_sign`` +1), P = PP/PQ and Q = QP/QQ in ``w``."""
    pp, pq, qp, qq = (horner(t, w, ct) for t in tables)
    shifted = (x - ct(phase)).astype(ct)
    c, s = libm("cos", shifted, ct), libm("sin", shifted, ct)
    first, second = (s, c) if second_sign > 0 else (c, s)
    term = (ct(5) / x * (qp / qq)).astype(ct)
    lead = (pp / pq).astype(ct)
    if second_sign > 0:
        val = fma(lead, first, term * second, ct)
    else:
        val = fma(lead, first, -(term * second), ct)
    return (val * ct(_SQ2OPI) / sqrt(x, ct)).astype(ct)


def _w25(x, ct):
    return (ct(25) / (x * x)).astype(ct)


def _w5(x, ct):
    r = (ct(5) / x).astype(ct)
    return (r * r).astype(ct)


_J0_TABLES = (C.BESSEL_J0_PP, C.BESSEL_J0_PQ, C.BESSEL_J0_QP, C.BESSEL_J0_QQ)
_J1_TABLES = (C.BESSEL_J1_PP, C.BESSEL_J1_PQ, C.BESSEL_J1_QP, C.BESSEL_J1_QQ)


def _j0_small(x, ct):
    z = (x * x).astype(ct)
    # ``x * x`` is computed once (so not fused into the differences), then left to right
    a = (z - ct(5.78318596294678452118e+00)).astype(ct)
    b = (z - ct(3.04712623436620863991e+01)).astype(ct)
    rp, rq = horner(C.BESSEL_J0_RP, z, ct), horner(C.BESSEL_J0_RQ, z, ct)
    return (a * b * rp / rq).astype(ct)


def bessel_j0(x, ct):
    x = xp.abs(x)
    out = _empty(x)
    small = x <= 5
    tiny = x < ct(0.00001)
    on(tiny, lambda v: (ct(1) - v * v / ct(4)).astype(ct), x, out)
    on(small & ~tiny, lambda v: _j0_small(v, ct), x, out)
    on(~small, lambda v: _asymptotic(v, ct, _J0_TABLES, _PIO4, _w25(v, ct), -1), x, out)
    return out


def _j1_pos(x, ct):
    out = _empty(x)
    small = x <= 5

    def near(v):
        z = (v * v).astype(ct)
        ratio = (horner(C.BESSEL_J1_RP, z, ct) / horner(C.BESSEL_J1_RQ, z, ct)).astype(ct)
        a = (z - ct(1.46819706421238932572e+01)).astype(ct)
        b = (z - ct(4.92184563216946036703e+01)).astype(ct)
        return (ratio * v * a * b).astype(ct)

    on(small, near, x, out)
    on(~small, lambda v: _asymptotic(v, ct, _J1_TABLES, _3PIO4, _w5(v, ct), -1), x, out)
    return out


def bessel_j1(x, ct):
    neg = x < 0
    out = _j1_pos(xp.where(neg, -x, x), ct)
    return xp.where(neg, -out, out).astype(ct)


def bessel_y0(x, ct):
    out = _empty(x)
    small = x <= 5

    def near(v):
        z = (v * v).astype(ct)
        ratio = (horner(C.BESSEL_Y0_YP, z, ct) / horner(C.BESSEL_Y0_YQ, z, ct)).astype(ct)
        return fma((ct(_TWOOPI) * libm("log", v, ct)).astype(ct), bessel_j0(v, ct), ratio, ct)

    on(small & (x > 0), near, x, out)
    out[small & (x < 0)] = _NAN
    out[x == 0] = -_INF
    on(~small, lambda v: _asymptotic(v, ct, _J0_TABLES, _PIO4, _w25(v, ct), 1), x, out)
    return out


def bessel_y1(x, ct):
    out = _empty(x)
    small = x <= 5

    def near(v):
        z = (v * v).astype(ct)
        ratio = (horner(C.BESSEL_Y1_YP, z, ct) / horner(C.BESSEL_Y1_YQ, z, ct)).astype(ct)
        inner = fma(_j1_pos(v, ct), libm("log", v, ct), -(ct(1) / v), ct)
        return fma(v, ratio, ct(_TWOOPI) * inner, ct)

    on(small & (x > 0), near, x, out)
    out[small & (x < 0)] = _NAN
    out[x == 0] = -_INF
    on(~small, lambda v: _asymptotic(v, ct, _J1_TABLES, _3PIO4, _w5(v, ct), 1), x, out)
    return out


# ---------------------------------------------------------------- I0, I1, K0, K1
def _i_series(x, ct, order):
    """``exp(|x|) * chebyshev`` (I0) or ``chebyshev * |x| * exp(|x|)`` (I1) on |x| <= 8, and
    ``exp(|x|) * chebyshev / sqrt(|x|)`` beyond; I1 odd."""
    a_tab, b_tab = ((C.MODIFIED_BESSEL_I0_A, C.MODIFIED_BESSEL_I0_B) if order == 0 else
                    (C.MODIFIED_BESSEL_I1_A, C.MODIFIED_BESSEL_I1_B))
    ax = xp.abs(x)
    out = _empty(x)
    small = ax <= 8

    def near(v):
        w = (v / ct(2) - ct(2)).astype(ct)
        s = clenshaw(a_tab, w, ct)
        e = libm("exp", v, ct)
        return (e * s).astype(ct) if order == 0 else (s * v * e).astype(ct)

    def far(v):
        w = (ct(32) / v - ct(2)).astype(ct)
        return (libm("exp", v, ct) * clenshaw(b_tab, w, ct) / sqrt(v, ct)).astype(ct)

    on(small, near, ax, out)
    on(~small, far, ax, out)
    if order == 1:
        out = xp.where(x < 0, -out, out).astype(ct)
    return out


def modified_bessel_i0(x, ct):
    return _i_series(x, ct, 0)


def bessel_i(x, ct, order, scaled):
    """``torch.i1``, ``special.i0e`` and ``special.i1e`` (torch's ``calc_i1``/``calc_i0e``/
    ``calc_i1e``; ``torch.i0`` is ``modified_bessel_i0``, bit for bit): the same Chebyshev
    series as I0/I1, their products in another order, and in float32 the I1 tables' last
    17 and 7 terms (Cephes' single-precision tables)."""
    if order == 0 and not scaled:
        return modified_bessel_i0(x, ct)
    a_tab, b_tab = ((C.MODIFIED_BESSEL_I0_A, C.MODIFIED_BESSEL_I0_B) if order == 0 else
                    (C.MODIFIED_BESSEL_I1_A, C.MODIFIED_BESSEL_I1_B))
    if order == 1 and ct is xp.float32:
        a_tab, b_tab = a_tab[-17:], b_tab[-7:]
    ax = xp.abs(x)
    out = _empty(x)

    def near(v):
        s = clenshaw(a_tab, (v / ct(2) - ct(2)).astype(ct), ct)
        if order == 0:
            return s.astype(ct)
        if scaled:
            return (s * v).astype(ct)
        return ((libm("exp", v, ct) * v).astype(ct) * s).astype(ct)

    def far(v):
        s = clenshaw(b_tab, (ct(32) / v - ct(2)).astype(ct), ct)
        if not scaled:
            s = (libm("exp", v, ct) * s).astype(ct)
        return (s / sqrt(v, ct)).astype(ct)

    small = ax <= 8
    on(small, near, ax, out)
    on(~small, far, ax, out)
    if order == 1:
        out = xp.where(x < 0, -out, out).astype(ct)
    return out


def modified_bessel_i1(x, ct):
    return _i_series(x, ct, 1)


def _k(x, ct, order, scaled):
    """K0/K1 (and exp(x) K): Chebyshev series in ``x^2 - 2`` on (0, 2] plus the I log term,
    and in ``8/x - 2`` beyond; inf at 0, NaN below."""
    a_tab, b_tab = ((C.MODIFIED_BESSEL_K0_A, C.MODIFIED_BESSEL_K0_B) if order == 0 else
                    (C.MODIFIED_BESSEL_K1_A, C.MODIFIED_BESSEL_K1_B))
    out = _empty(x)
    small = x <= 2

    def near(v):
        s = clenshaw(a_tab, fma(v, v, -ct(2), ct), ct)
        if order == 0:
            # Math.h writes ``std::log(0.5 * x)`` with a double 0.5 in K0 (not in scaled K0):
            # for float32 the log term and the difference are done in double
            wide = ct if scaled else xp.float64
            lg = libm("log", (wide(0.5) * v.astype(wide)).astype(wide), wide)
            res = fma(-lg, _i_series(v, ct, 0).astype(wide), s.astype(wide), wide).astype(ct)
        else:
            lg = libm("log", (ct(0.5) * v).astype(ct), ct)
            res = fma(lg, _i_series(v, ct, 1), (s / v).astype(ct), ct)
        return (res * libm("exp", v, ct)).astype(ct) if scaled else res

    def far(v):
        s = clenshaw(b_tab, (ct(8) / v - ct(2)).astype(ct), ct)
        if scaled:
            return (s / sqrt(v, ct)).astype(ct)
        return (libm("exp", -v, ct) * s / sqrt(v, ct)).astype(ct)

    on(small & (x > 0), near, x, out)
    on(~small, far, x, out)
    out[x < 0] = _NAN
    out[x == 0] = _INF
    return out


def modified_bessel_k0(x, ct):
    return _k(x, ct, 0, False)


def modified_bessel_k1(x, ct):
    return _k(x, ct, 1, False)


def scaled_modified_bessel_k0(x, ct):
    return _k(x, ct, 0, True)


def scaled_modified_bessel_k1(x, ct):
    return _k(x, ct, 1, True)


# ---------------------------------------------------------------- spherical J0, Airy Ai
_SPH_J0_DENOMS = (-39916800.0, 362880.0, -5040.0, 120.0, -6.0)  # 1/6227020800 innermost


def spherical_bessel_j0(x, ct):
    """``sin(x) / x``, a Taylor polynomial in x^2 below 0.5, 0 at +-inf."""
    out = _empty(x)

    def near(v):
        z = (v * v).astype(ct)
        acc = xp.full_like(v, ct(1.0) / ct(6227020800.0))
        for d in _SPH_J0_DENOMS:  # each ``c + x*x*(...)`` one FMA; c = T(+-1) / T(d)
            acc = fma(z, acc, ct(xp.sign(d)) / ct(abs(d)), ct)
        return fma(z, acc, ct(1), ct)

    on(xp.abs(x) < 0.5, near, x, out)
    on(~(xp.abs(x) < 0.5), lambda v: (libm("sin", v, ct) / v).astype(ct), x, out)
    out[xp.isinf(x)] = 0
    return out


def _airy_neg(x, ct):
    """Ai for x < -2.09: the oscillating asymptotic form with rational corrections."""
    root = sqrt(-x, ct)
    zeta_neg = (ct(-2.0) * x * root / ct(3.0)).astype(ct)
    z = (ct(1.0) / zeta_neg).astype(ct)
    zz = (z * z).astype(ct)
    afn, afd = horner(C.AIRY_AI_AFN, zz, ct), horner(C.AIRY_AI_AFD, zz, ct)
    agn, agd = horner(C.AIRY_AI_AGN, zz, ct), horner(C.AIRY_AI_AGD, zz, ct)
    t = (zeta_neg + ct(0.25) * ct(3.14159265358979323846)).astype(ct)
    amp = (ct(_SQPII) / sqrt(root, ct)).astype(ct)
    f = (zz * afn / afd).astype(ct)
    g = (z * agn / agd).astype(ct)
    val = fma(libm("sin", t, ct), (ct(1.0) + f).astype(ct), -(libm("cos", t, ct) * g), ct)
    return (amp * val).astype(ct)


def _airy_pos(x, ct):
    """Ai for x >= 2.09: ``exp(-zeta)`` times a rational function of 1/zeta."""
    zeta = (ct(2.0) * x * sqrt(x, ct) / ct(3.0)).astype(ct)
    inv = (ct(1.0) / zeta).astype(ct)
    ratio = (horner(C.AIRY_AI_AN, inv, ct) / horner(C.AIRY_AI_AD, inv, ct)).astype(ct)
    denom = (ct(2.0) * sqrt(sqrt(x, ct), ct) * libm("exp", zeta, ct)).astype(ct)
    return (ct(_SQPII) * ratio / denom).astype(ct)


def _airy_series(x, ct):
    """Ai by its Maclaurin series ``c1 f(x) - c2 g(x)``, summed until the terms fall
    below machine epsilon relative to ``f``."""
    eps = ct(xp.finfo(ct).eps)
    f = xp.ones_like(x)
    g = x.copy()
    k = xp.ones_like(x)
    m = xp.ones_like(x)
    n = x.copy()
    z = (x * x * x).astype(ct)
    active = xp.ones(x.shape, bool)
    one = ct(1.0)
    for _ in range(200):
        if not active.any():
            break
        a = active
        m = xp.where(a, m * z, m)
        k = xp.where(a, k + one, k)
        m = xp.where(a, m / k, m)
        n = xp.where(a, n * z, n)
        k = xp.where(a, k + one, k)
        n = xp.where(a, n / k, n)
        m = xp.where(a, m / k, m)
        f = xp.where(a, f + m, f)
        k = xp.where(a, k + one, k)
        n = xp.where(a, n / k, n)
        g = xp.where(a, g + n, g)
        with xp.errstate(all="ignore"):
            active = a & (xp.abs(m / f) > eps)
    return fma(ct(0.355028053887817239260), f, -(ct(0.258819403792806798405) * g), ct)


def airy_ai(x, ct):
    out = _empty(x)
    neg = x < ct(-2.09)
    pos = x >= ct(2.09)
    # Math.h also sums the series on [2.09, 8.32] but returns the asymptotic form there
    series = ~neg & ~pos
    on(neg, lambda v: _airy_neg(v, ct), x, out)
    on(pos, lambda v: _airy_pos(v, ct), x, out)
    on(series, lambda v: _airy_series(v, ct), x, out)
    out[x > ct(103.892)] = 0
    out[xp.isinf(x)] = _NAN
    return out


FUNCTIONS = {f.__name__: f for f in (
    bessel_j0, bessel_j1, bessel_y0, bessel_y1, modified_bessel_i0, modified_bessel_i1,
    modified_bessel_k0, modified_bessel_k1, scaled_modified_bessel_k0,
    scaled_modified_bessel_k1, spherical_bessel_j0, airy_ai)}

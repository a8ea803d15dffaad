"""The points of torch's floating ``arange`` and ``linspace``, bit for bit.

torch computes them in double (float32 too), in vectorized kernels whose rounding shows in
the last bit: its float64 ``linspace`` fuses each ``start + step * i`` into one rounding
(an FMA), and its ``arange`` builds each vector of 4 doubles (8 floats) from a fused base
``start + step * i0``, rounded to the output type, plus fused lane offsets ``step * k``;
elements past the last pair of vectors of each thread's share are fused ``start + step * i``
one by one. NumPy has no FMA, so the fused operations are emulated exactly.
"""

from __future__ import annotations

from fractions import Fraction

from .backend import xp

_GRAIN = 32768  # torch's parallel_for grain: ranges below it run on one thread


def arange_values(start, step, n, to_float32):
    """torch's ``arange(start, start + n * step, step)`` for float32/float64, as float64."""
    from ._runtime import get_num_threads

    if _exact(start, step, n, 24 if to_float32 else 53):  # arange(T, dtype=float): the common call
        return start + step * xp.arange(n, dtype=xp.float64)
    out = xp.empty(n, xp.float64)
    threads = max(1, min(get_num_threads(), -(-n // _GRAIN)))
    share = -(-n // threads) if n else 0
    lanes = 8 if to_float32 else 4
    with xp.errstate(all="ignore"):
        for lo in range(0, n, share or 1):
            hi = min(n, lo + share)
            vectorized = lo + (hi - lo) // (2 * lanes) * (2 * lanes)
            i = xp.arange(lo, vectorized, dtype=xp.float64)
            lane = (i - lo) % lanes
            base = fused_multiply_add(step, i - lane, start)
            if to_float32:
                base = base.astype(xp.float32).astype(xp.float64)
            out[lo:vectorized] = fused_multiply_add(step, lane, base)
            out[vectorized:hi] = fused_multiply_add(step, xp.arange(vectorized, hi, dtype=xp.float64),
                                                    start)
    return out


def _exact(start, step, n, bits):
    """Whether every point and partial sum is a multiple of the finer of ``start``'s and
    ``step``'s binary units, below ``2**bits`` of them: then no operation rounds, in any order."""
    if not (abs(start) < 2.0 ** 60 and abs(step) < 2.0 ** 60):
        return False
    unit = max(Fraction(start).denominator, Fraction(step).denominator)
    return (abs(start) + abs(step) * (n + 16)) * unit < 2 ** bits


def fused_multiply_add(a, counts, c):
    """``a * counts + c`` (``counts``: whole numbers as float64; ``c``: a number or an array
    like ``counts``) rounded once, as an FMA instruction computes it.

    Error-free transformations give the product and the sum exactly as pairs of doubles;
    adding the pair's parts rounds correctly unless the result sits within the rounding of
    the small part of a halfway point between two doubles: those few (about one in a
    thousand) are recomputed exactly with fractions.
    """
    if not (abs(a) < 1e290 and xp.all(xp.abs(c) < 1e290)):  # the splitting would overflow
        return c + a * counts
    a_high, a_low = _split_halves(a)
    n_high, n_low = _split_halves(counts)
    product = a * counts
    product_error = ((a_high * n_high - product) + a_high * n_low + a_low * n_high) + a_low * n_low
    total = product + c
    back = total - product
    sum_error = (product - (total - back)) + (c - back)  # total + sum_error == product + c
    small = sum_error + product_error
    out = total + small
    near_tie = xp.abs(xp.abs((total - out) + small) - xp.spacing(xp.abs(out)) / 2) \
        <= 2 * xp.spacing(xp.abs(small)) + xp.spacing(xp.abs(out)) * 2.0 ** -40
    addend = xp.broadcast_to(c, out.shape)
    for j in xp.flatnonzero(near_tie):
        out[j] = float(Fraction(a) * int(counts[j]) + Fraction(float(addend[j])))
    return out


def _split_halves(x):
    """Veltkamp's split: ``x == high + low`` exactly, each with at most 26 significant bits."""
    scaled = x * (2.0 ** 27 + 1)
    high = scaled - (scaled - x)
    return high, x - high

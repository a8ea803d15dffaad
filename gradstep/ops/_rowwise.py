"""Row-wise kernels on raw arrays: softmax, log-softmax and normalization, forward and backward.

Each works on blocks of rows (first-axis slices) whose reduction axes lie inside the
block, so a block's passes run while it is still in cache, and large inputs share the
blocks among gradstep's threads (``gradstep._parallel``). Every block does the same
operations in the same order as one whole-array call, so the numbers are bit-identical
to the NumPy expressions they replace (written beside each kernel).

``splittable(shape, axes)`` says whether the first axis is free to split; the callers
keep their whole-array code for the other cases (a reduction over dim 0, a 0-d input).
"""

from __future__ import annotations

from .. import _parallel
from ..backend import xp


def splittable(shape, axes) -> bool:
    """Whether a reduction over ``axes`` (ints, any sign) leaves the first axis of ``shape`` free."""
    nd = len(shape)
    return nd >= 2 and all(ax % nd != 0 for ax in axes)


def softmax(a, axis, safe=False):
    """``e = exp(a - max(a)); e /= sum(e)`` along ``axis``.

    ``safe``: a row of all ``-inf`` gives zeros (its max taken as 0, its sum as 1).
    """
    out = xp.empty(a.shape, a.dtype)

    def rows(lo, hi):
        x, o = a[lo:hi], out[lo:hi]
        m = xp.max(x, axis=axis, keepdims=True)
        if safe:
            m = xp.where(xp.isneginf(m), 0, m)
        xp.subtract(x, m, out=o)
        xp.exp(o, out=o)
        s = xp.sum(o, axis=axis, keepdims=True)
        o /= xp.where(s == 0, 1, s) if safe else s

    _parallel.over_rows(rows, a.shape[0], a.size)
    return out


def log_softmax(a, axis):
    """``s = a - max(a); s -= log(sum(exp(s)))`` along ``axis``."""
    out = xp.empty(a.shape, a.dtype)

    def rows(lo, hi):
        x, o = a[lo:hi], out[lo:hi]
        xp.subtract(x, xp.max(x, axis=axis, keepdims=True), out=o)
        o -= xp.log(xp.sum(xp.exp(o), axis=axis, keepdims=True))

    _parallel.over_rows(rows, a.shape[0], a.size)
    return out


def softmax_backward(g, y, axis):
    """``y * (g - sum(g * y))`` along ``axis``."""
    out = xp.empty(y.shape, xp.result_type(g, y))

    def rows(lo, hi):
        gb, yb, o = g[lo:hi], y[lo:hi], out[lo:hi]
        xp.multiply(gb, yb, out=o)
        s = xp.sum(o, axis=axis, keepdims=True)
        xp.subtract(gb, s, out=o)
        o *= yb

    _parallel.over_rows(rows, y.shape[0], y.size)
    return out


def log_softmax_backward(g, y, axis):
    """``g - exp(y) * sum(g)`` along ``axis``."""
    out = xp.empty(y.shape, xp.result_type(g, y))

    def rows(lo, hi):
        gb, o = g[lo:hi], out[lo:hi]
        xp.exp(y[lo:hi], out=o)
        o *= xp.sum(gb, axis=axis, keepdims=True)
        xp.subtract(gb, o, out=o)

    _parallel.over_rows(rows, y.shape[0], y.size)
    return out


def normalize(x, axes, eps):
    """``mean``, ``xc = x - mean``, ``var = mean(xc * xc)``, ``rstd = 1 / sqrt(var + eps)``
    over ``axes``; returns ``(xc, mean, var, rstd)`` with the statistics' dims kept."""
    kept = tuple(1 if (i in axes or i - x.ndim in axes) else s for i, s in enumerate(x.shape))
    xc = xp.empty(x.shape, x.dtype)
    mean, var, rstd = (xp.empty(kept, x.dtype) for _ in range(3))

    def rows(lo, hi):
        xb, cb = x[lo:hi], xc[lo:hi]
        mean[lo:hi] = m = xb.mean(axis=axes, keepdims=True)
        xp.subtract(xb, m, out=cb)
        var[lo:hi] = v = (cb * cb).mean(axis=axes, keepdims=True)
        rstd[lo:hi] = 1.0 / xp.sqrt(v + eps)

    _parallel.over_rows(rows, x.shape[0], x.size)
    return xc, mean, var, rstd


def normalize_backward(g, xhat, rstd, axes):
    """``(g - mean(g) - xhat * mean(g * xhat)) * rstd`` over ``axes``."""
    out = xp.empty(xhat.shape, xp.result_type(g, xhat))
    whole_rstd = rstd.shape[0] != xhat.shape[0]  # a statistic shared by every row

    def rows(lo, hi):
        gb, hb, o = g[lo:hi], xhat[lo:hi], out[lo:hi]
        proj = (gb * hb).mean(axis=axes, keepdims=True)
        xp.subtract(gb, gb.mean(axis=axes, keepdims=True), out=o)
        o -= hb * proj
        o *= rstd if whole_rstd else rstd[lo:hi]

    _parallel.over_rows(rows, xhat.shape[0], xhat.size)
    return out

"""Row-wise kernels on raw arrays: softmax, log-softmax and normalization, forward and backward.

Each works on blocks of rows (first-axis slices) whose reduction axes lie inside the
block, so a block's passes run while it is still in cache, and large inputs share the
blocks among gradstep's threads (``gradstep._parallel``). Every block does the same
operations in the same order as one whole-array call, so the numbers are bit-identical
whether split or not. They equal the NumPy expressions they replace (written beside each
kernel) up to the order of the row sums: sums over trailing axes of rows up to ``ROW_SUM_MAX``
long come from einsum, 3-4x faster than NumPy's reductions over short rows
(``trailing_sums``), and round differently.

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
        softmax_block(a[lo:hi], out[lo:hi], axis, safe)

    _parallel.over_rows(rows, a.shape[0], a.size)
    return out


def softmax_block(x, o, axis, safe=False):
    """``softmax``'s passes over one block of rows: ``x`` in, ``o`` out (``o`` may be ``x``)."""
    m = xp.max(x, axis=axis, keepdims=True)
    if safe:
        m = xp.where(xp.isneginf(m), 0, m)
    xp.subtract(x, m, out=o)
    xp.exp(o, out=o)
    s = _row_sums(o, (axis,))
    o /= xp.where(s == 0, 1, s) if safe else s


def log_softmax(a, axis):
    """``s = a - max(a); s -= log(sum(exp(s)))`` along ``axis``."""
    out = xp.empty(a.shape, a.dtype)

    def rows(lo, hi):
        x, o = a[lo:hi], out[lo:hi]
        xp.subtract(x, xp.max(x, axis=axis, keepdims=True), out=o)
        o -= xp.log(_row_sums(xp.exp(o), (axis,)))

    _parallel.over_rows(rows, a.shape[0], a.size)
    return out


def softmax_backward(g, y, axis):
    """``y * (g - sum(g * y))`` along ``axis``."""
    out = xp.empty(y.shape, xp.result_type(g, y))

    def rows(lo, hi):
        gb, yb, o = g[lo:hi], y[lo:hi], out[lo:hi]
        xp.subtract(gb, _row_dots(gb, yb, (axis,)), out=o)
        o *= yb

    _parallel.over_rows(rows, y.shape[0], y.size)
    return out


def log_softmax_backward(g, y, axis):
    """``g - exp(y) * sum(g)`` along ``axis``."""
    out = xp.empty(y.shape, xp.result_type(g, y))

    def rows(lo, hi):
        gb, o = g[lo:hi], out[lo:hi]
        xp.exp(y[lo:hi], out=o)
        o *= _row_sums(gb, (axis,))
        xp.subtract(gb, o, out=o)

    _parallel.over_rows(rows, y.shape[0], y.size)
    return out


ROW_SUM_MAX = 4096  # longer rows: NumPy's pairwise sum is the more accurate, and as fast


def _trailing_rows(a, axes):
    """``a`` as a C-contiguous 2-D (rows, reduced) float32/float64 view when ``axes`` are its
    trailing axes and the rows are at most ``ROW_SUM_MAX`` long, else None."""
    nd = a.ndim
    k = len(axes)
    if (a.dtype not in _EINSUM_FLOATS or not a.flags.c_contiguous or k == 0
            or sorted(ax % nd for ax in axes) != list(range(nd - k, nd))):
        return None
    d = _prod(a.shape[nd - k:])
    return a.reshape(-1, d) if d <= ROW_SUM_MAX else None


def trailing_sums(a, axes, keepdim):
    """``a.sum(axes)`` over trailing axes of short rows by einsum; None where NumPy's sum should
    run (other axes, dtypes or layouts, long rows, empty arrays, the whole array).

    NumPy reduces short rows with one inner loop each; einsum is 3-4x faster. Its sum's order
    differs from NumPy's, by rounding only, and does not depend on where the row lies in a
    block (a BLAS matrix-vector product's does, so blocks on threads would change the bits).
    """
    if a.ndim < 2 or not a.size or len(axes) >= a.ndim:
        return None
    a2 = _trailing_rows(a, axes)
    if a2 is None:
        return None
    sums = xp.einsum("ij->i", a2)
    return sums.reshape(_kept(a.shape, axes) if keepdim else a.shape[:a.ndim - len(axes)])


def _row_sums(a, axes):
    """Sums of ``a`` over ``axes``, kept dims (``trailing_sums``, else NumPy's sum)."""
    sums = trailing_sums(a, axes, True)
    return xp.sum(a, axis=axes, keepdims=True) if sums is None else sums


def _row_dots(a, b, axes):
    """Sums of ``a * b`` over ``axes``, kept dims, without the product array where possible."""
    a2, b2 = _trailing_rows(a, axes), _trailing_rows(b, axes)
    if a2 is None or b2 is None or a.dtype != b.dtype:
        return xp.sum(a * b, axis=axes, keepdims=True)
    return xp.einsum("ij,ij->i", a2, b2).reshape(_kept(a.shape, axes))


def _row_means(a, axes):
    """Means of ``a`` over ``axes``, kept dims (``trailing_sums`` over the count, else NumPy's)."""
    sums = trailing_sums(a, axes, True)
    return a.mean(axis=axes, keepdims=True) if sums is None else sums / _prod(
        [a.shape[ax] for ax in axes])


def _row_dot_means(a, b, axes):
    """Means of ``a * b`` over ``axes``, kept dims."""
    d = _prod([a.shape[ax] for ax in axes])
    return _row_dots(a, b, axes) / d


def _kept(shape, axes):
    nd = len(shape)
    return tuple(1 if (i in axes or i - nd in axes) else s for i, s in enumerate(shape))


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


_EINSUM_FLOATS = (xp.dtype(xp.float32), xp.dtype(xp.float64))


def normalize(x, axes, eps):
    """``mean``, ``xc = x - mean``, ``var = mean(xc * xc)``, ``rstd = 1 / sqrt(var + eps)``
    over ``axes``; returns ``(xc, mean, var, rstd)`` with the statistics' dims kept.

    The means over trailing axes come from einsum (``_row_means``, ``_row_dot_means``): the same
    values up to the rounding of a sum in another order.
    """
    kept = _kept(x.shape, axes)
    xc = xp.empty(x.shape, x.dtype)
    mean, var, rstd = (xp.empty(kept, x.dtype) for _ in range(3))

    def rows(lo, hi):
        mean[lo:hi], var[lo:hi], rstd[lo:hi] = _centre_block(x[lo:hi], xc[lo:hi], axes, eps)

    _parallel.over_rows(rows, x.shape[0], x.size)
    return xc, mean, var, rstd


def _centre_block(xb, cb, axes, eps):
    """``normalize`` on one block: writes ``cb = xb - mean``, returns ``(mean, var, rstd)``."""
    m = _row_means(xb, axes)
    xp.subtract(xb, m, out=cb)
    v = _row_dot_means(cb, cb, axes)
    return m, v, 1.0 / xp.sqrt(v + eps)


def normalize_affine(x, axes, eps, weight, bias):
    """``xhat = (x - mean) * rstd`` and ``y = xhat * weight + bias`` (either may be None) over
    ``axes``, each block's passes in turn (``normalize``'s statistics, then the affine part);
    returns ``(xhat, y, rstd)``, ``y`` being ``xhat`` itself when there is no affine part.
    ``weight`` and ``bias`` must be the same for every first-axis row (size 1 there, if any)."""
    xhat = xp.empty(x.shape, x.dtype)
    rstd = xp.empty(_kept(x.shape, axes), x.dtype)
    y = xhat if weight is None and bias is None else xp.empty(x.shape, x.dtype)

    def rows(lo, hi):
        hb, yb = xhat[lo:hi], y[lo:hi]
        _, _, r = _centre_block(x[lo:hi], hb, axes, eps)
        rstd[lo:hi] = r
        hb *= r
        if weight is not None:
            xp.multiply(hb, weight, out=yb)
        if bias is not None:
            xp.add(hb if weight is None else yb, bias, out=yb)

    _parallel.over_rows(rows, x.shape[0], x.size)
    return xhat, y, rstd


def normalize_backward(g, xhat, rstd, axes):
    """``(g - mean(g) - xhat * mean(g * xhat)) * rstd`` over ``axes`` (means as in ``normalize``)."""
    out = xp.empty(xhat.shape, xp.result_type(g, xhat))
    whole_rstd = rstd.shape[0] != xhat.shape[0]  # a statistic shared by every row

    def rows(lo, hi):
        gb, hb, o = g[lo:hi], xhat[lo:hi], out[lo:hi]
        proj = _row_dot_means(gb, hb, axes)
        xp.subtract(gb, _row_means(gb, axes), out=o)
        o -= hb * proj
        o *= rstd if whole_rstd else rstd[lo:hi]

    _parallel.over_rows(rows, xhat.shape[0], xhat.size)
    return out

"""Counting and ordering: unique, bincount, histc, histogram, searchsorted, bucketize, cummax,
cummin, logcumsumexp, diff, kthvalue, median, nanmedian, mode, quantile, nanquantile, msort,
aminmax, isin, argwhere, take, put.

Order statistics pick elements by a stable sort (NaN last, as torch), so tied values report
the index torch reports; their gradient flows to the picked element (``_Sorted``), except
median()/nanmedian() of all elements, whose gradient the tied elements share (``_EvenlyShared``).
"""

from __future__ import annotations

from .. import _vmap_batched as _vmap
from .. import return_types as rt
from .._argparse import bool_error, int_arg
from ..autograd.function import Node
from ..backend import xp
from ._util import dtype_title, normalize_dim, to_tensor
from .sorting import _Sorted


def _make(arr):
    from .._tensor import Tensor

    return Tensor._make(arr)


def _pick(a, idx, d, keepdim, name):
    """Values of ``a`` at indices ``idx`` (keepdim shape along ``d``), with their gradient."""
    vals = _Sorted.apply(a, idx=idx, dim=d, _name=name)
    ind = _make(idx)
    if not keepdim:
        vals, ind = vals.squeeze(d), ind.squeeze(d)
    return vals, ind


# ---------------------------------------------------------------------- unique, counts
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    data = input._data
    if isinstance(data, _vmap.BatchedArray):  # inside vmap: a dynamic shape
        _vmap.refuse_dynamic("_unique2" if dim is None else "unique_dim", data)
    if dim is None:
        # equal_nan=False: torch keeps every NaN as its own value ([1, nan, nan], counts 1 each)
        vals, inv, cnt = xp.unique(data.reshape(-1), return_inverse=True, return_counts=True,
                                   equal_nan=False)
        inv = inv.reshape(data.shape)
    else:
        d = normalize_dim(dim, data.ndim)
        vals, inv, cnt = xp.unique(data, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = [_make(vals)]
    if return_inverse:
        out.append(_make(inv.astype(xp.int64)))
    if return_counts:
        out.append(_make(cnt.astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    data = input._data
    if isinstance(data, _vmap.BatchedArray):
        _vmap.refuse_dynamic("unique_consecutive", data)
    d = 0 if dim is None else normalize_dim(dim, data.ndim)
    x = data.reshape(-1) if dim is None else xp.moveaxis(data, d, 0)
    n = x.shape[0]
    if n:
        change = xp.ones(n, bool)
        change[1:] = (x[1:] != x[:-1]).reshape(n - 1, -1).any(1)
        starts = xp.flatnonzero(change)
    else:
        starts = xp.zeros(0, xp.int64)
    vals = x[starts]
    if dim is not None:
        vals = xp.moveaxis(vals, 0, d)
    out = [_make(vals)]
    if return_inverse:
        inv = (xp.cumsum(change) - 1) if n else xp.zeros(0, xp.int64)
        out.append(_make(inv.astype(xp.int64).reshape(data.shape if dim is None else (n,))))
    if return_counts:
        out.append(_make(xp.diff(xp.append(starts, n)).astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input, weights=None, minlength=0):  # noqa: A002
    if input.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if input.dtype.is_floating_point or input.dtype.name == "bool":
        raise RuntimeError(f"\"bincount_cpu\" not implemented for '{dtype_title(input.dtype)}'")
    data = input._data
    if data.size and data.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _make(xp.bincount(data, minlength=minlength).astype(xp.int64))
    w = weights._data
    if w.shape != data.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dt = xp.float32 if w.dtype == xp.float32 else xp.float64
    return _make(xp.bincount(data, w.astype(xp.float64), minlength).astype(out_dt))


def histc(input, bins=100, min=0, max=0):  # noqa: A001, A002
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{dtype_title(input.dtype)}'")
    data = input._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    keep = data[(data >= lo) & (data <= hi)].astype(xp.float64)
    idx = ((keep - lo) * bins / (hi - lo)).astype(xp.int64)
    idx[idx == bins] = bins - 1
    return _make(xp.bincount(idx, minlength=bins).astype(input._data.dtype))


def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    data = input._data.reshape(-1)
    b = bins._data if hasattr(bins, "_data") else bins
    w = None if weight is None else weight._data.reshape(-1)
    hist, edges = xp.histogram(data, b, range=range, weights=w, density=density)
    dt = input._data.dtype
    hist, edges = hist.astype(dt), edges.astype(dt)
    inputs = [t for t in (input, bins, weight) if hasattr(t, "_data")]
    if any(t.requires_grad for t in inputs):
        # torch records its NotImplemented node: both outputs require grad, backward raises
        from .sampling import _NOT_IMPLEMENTED, _result

        return rt.histogram(*(_result(a, inputs, _NOT_IMPLEMENTED, no_derivative="histogram")
                              for a in (hist, edges)))
    return rt.histogram(_make(hist), _make(edges))


def _histogramdd_edges(data, bins, range, dims, dt):  # noqa: A002
    """Each dimension's bin edges: given tensors, or ``bins[d] + 1`` points from the range
    (given, or the data's min and max, widened by 0.5 each side when equal) by linspace in
    the input's dtype, as torch computes them."""
    from .._creation import linspace
    from ..backend import from_numpy_dtype

    if isinstance(bins, int):
        bins = [bins] * dims
    if len(bins) != dims:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost "
                           "dimension of the input.")
    if range is not None and len(range) != 2 * dims:
        raise RuntimeError("histogramdd: for a D-dimensional histogram, range should have 2*D "
                           "elements")
    edges = []
    for d, b in enumerate(bins):
        if hasattr(b, "_data"):
            edges.append(b._data.astype(dt))
            continue
        if range is not None:
            lo, hi = float(range[2 * d]), float(range[2 * d + 1])
        else:
            col = data[:, d]
            lo, hi = (float(col.min()), float(col.max())) if col.size else (0.0, 0.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges.append(linspace(lo, hi, int(b) + 1, dtype=from_numpy_dtype(dt))._data)
    return edges


def histogramdd(input, bins, range=None, weight=None, density=False):  # noqa: A002
    """The D-dimensional histogram of the points in ``input``'s last dimension (of size D):
    ``(hist, bin_edges)``, ``bin_edges`` a tuple of D tensors. ``bins`` is a count, one count
    per dimension, or one tensor of edges per dimension; ``range`` is ``[min0, max0, min1,
    ...]``; points outside the edges are not counted."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogramdd\" not implemented for "
                                  f"'{dtype_title(input.dtype)}'")
    if input.dim() < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    dt = input._data.dtype
    dims = input.shape[-1]
    data = input._data.reshape(-1, dims).astype(xp.float64)
    edges = _histogramdd_edges(data, bins, range, dims, dt)
    w = None if weight is None else weight._data.reshape(-1).astype(xp.float64)
    hist, _ = xp.histogramdd(data, [e.astype(xp.float64) for e in edges], weights=w,
                             density=density)
    return rt.histogramdd(_make(hist.astype(dt)), tuple(_make(e) for e in edges))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,  # noqa: A002
                 sorter=None):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    scalar = not hasattr(input, "_data")
    vals = xp.asarray(input) if scalar else input._data
    how = "right" if right else "left"
    if seq.ndim == 1:
        res = xp.searchsorted(seq, vals, side=how)
    else:
        if vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or "
                               "the first N-1 dimensions of boundaries tensor and input value "
                               "tensor must match")
        s2 = seq.reshape(-1, seq.shape[-1])
        v2 = vals.reshape(-1, vals.shape[-1])
        res = xp.stack([xp.searchsorted(s, v, side=how) for s, v in zip(s2, v2)])
        res = res.reshape(vals.shape)
    return _make(xp.asarray(res, xp.int32 if out_int32 else xp.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# --------------------------------------------------------------------- running extrema
def _cum_extreme(input, dim, is_max, name):  # noqa: A002
    d = normalize_dim(dim, input.ndim) if input.ndim else 0
    a = input._data if input.ndim else input._data.reshape(1)
    ufunc = xp.maximum if is_max else xp.minimum  # NaN propagates, as in torch
    acc = ufunc.accumulate(a, axis=d) if a.size else a.copy()
    shape = [1] * a.ndim
    shape[d] = -1
    pos = xp.arange(a.shape[d], dtype=xp.int64).reshape(shape)
    hit = (a == acc) | xp.isnan(a)
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d) if a.size else \
        xp.zeros(a.shape, xp.int64)
    src = input if input.ndim else input.reshape(1)
    vals = _Sorted.apply(src, idx=idx.astype(xp.int64), dim=d, _name=name)
    ind = _make(idx.astype(xp.int64))
    if not input.ndim:
        vals, ind = vals.reshape(()), ind.reshape(())
    return vals, ind


def cummax(input, dim):  # noqa: A002
    return rt.cummax(*_cum_extreme(input, dim, True, "CummaxBackward0"))


def cummin(input, dim):  # noqa: A002
    return rt.cummin(*_cum_extreme(input, dim, False, "CumminBackward0"))


class LogCumSumExp(Node):
    _name = "LogcumsumexpBackward0"
    saves = (0,)
    saves_output = True

    def forward(self, a):
        if a.size == 0:
            return a.copy()
        return xp.logaddexp.accumulate(a, axis=self.dim)

    def backward(self, g):
        # grad_i = sum_{j >= i} g_j exp(x_i - out_j), summed in log space for each sign of g
        (x,) = self.saved_tensors
        out = self.saved_output
        d = self.dim
        pos = (x + LogCumSumExp.apply((g.clamp(min=0).log() - out).flip([d]),
                                      dim=d).flip([d])).exp()
        neg = (x + LogCumSumExp.apply(((-g).clamp(min=0).log() - out).flip([d]),
                                      dim=d).flip([d])).exp()
        return pos - neg


def logcumsumexp(input, dim):  # noqa: A002
    from ._util import check_float_input

    check_float_input(input, "logcumsumexp_out_cpu")
    x = input
    d = normalize_dim(dim, x.ndim) if x.ndim else 0
    if x.ndim == 0:
        return LogCumSumExp.apply(x.reshape(1), dim=0).reshape(())
    return LogCumSumExp.apply(x, dim=d)


def diff(input, n=1, dim=-1, prepend=None, append=None):  # noqa: A002
    from .shape import cat

    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = normalize_dim(dim, input.ndim)
    x = input
    if prepend is not None or append is not None:
        parts = [p if p.ndim else p.expand(tuple(1 if i == d else s for i, s in
                                                   enumerate(x.shape)))
                 for p in (to_tensor(prepend) if prepend is not None else None, x,
                           to_tensor(append) if append is not None else None) if p is not None]
        x = cat(parts, d)
    for _ in range(n):
        m = x.shape[d]
        hi, lo = x.narrow(d, min(1, m), max(m - 1, 0)), x.narrow(d, 0, max(m - 1, 0))
        x = hi.ne(lo) if x.dtype.name == "bool" else hi - lo
    return x


# ---------------------------------------------------------------------- order statistics
def _sorted_idx(data, d):
    return xp.argsort(data, axis=d, kind="stable").astype(xp.int64)


def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    if type(k) is not int or type(dim) is not int:
        k, dim = int_arg(k, "kthvalue", "k", 1), int_arg(dim, "kthvalue", "dim", 2)
    if type(keepdim) is not bool:
        raise bool_error(keepdim, "kthvalue", "keepdim", 3)
    a = input if input.ndim else input.reshape(1)
    d = normalize_dim(dim, a.ndim)
    n = a.shape[d]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    order = _sorted_idx(a._data, d)
    idx = xp.take(order, [k - 1], axis=d)
    vals, ind = _pick(a, idx, d, keepdim or not input.ndim, "KthvalueBackward0")
    if not input.ndim:
        vals, ind = vals.reshape(()), ind.reshape(())
    return rt.kthvalue(vals, ind)


def _median_idx(data, d, ignore_nan):
    order = _sorted_idx(data, d)
    nans = xp.isnan(data).sum(axis=d, keepdims=True) if data.dtype.kind == "f" else \
        xp.zeros([1 if i == d else s for i, s in enumerate(data.shape)], xp.int64)
    valid = data.shape[d] - nans
    if ignore_nan:
        k = xp.maximum(valid - 1, 0) // 2
    else:
        k = xp.where(nans > 0, valid, (data.shape[d] - 1) // 2)
    return xp.take_along_axis(order, k.astype(xp.int64), axis=d)


def _median(input, dim, keepdim, ignore_nan, name):  # noqa: A002
    fn = "nanmedian" if ignore_nan else "median"
    if dim is not None and type(dim) is not int:
        dim = int_arg(dim, fn, "dim", 1)
    if type(keepdim) is not bool:
        raise bool_error(keepdim, fn, "keepdim", 2)
    if dim is None:
        if input.numel() == 0:
            return _make(xp.full((), xp.nan, input._data.dtype))
        idx = _median_idx(input._data.reshape(-1), 0, ignore_nan)
        return _EvenlyShared.apply(input, idx=int(idx[0]), _name=name)
    a = input if input.ndim else input.reshape(1)
    d = normalize_dim(dim, a.ndim)
    if a.shape[d] == 0:
        raise IndexError(f"{fn}(): Expected reduction dim {d} to have non-zero size.")
    idx = _median_idx(a._data, d, ignore_nan)
    vals, ind = _pick(a, idx, d, keepdim or not input.ndim, name)
    if not input.ndim:
        vals, ind = vals.reshape(()), ind.reshape(())
    return (rt.nanmedian if ignore_nan else rt.median)(vals, ind)


class _EvenlyShared(Node):
    """median()/nanmedian() of all elements: the gradient is shared evenly by every element
    equal to the result (every NaN for a NaN result), as torch's evenly_distribute_backward;
    the reductions along a dim give it to the returned index instead."""

    saves = (0,)
    saves_output = True

    def forward(self, a):
        return a.reshape(-1)[self.idx].copy()

    def backward(self, g):
        (a,) = self.saved_tensors
        out = self.saved_output
        mask = (a.isnan() if bool(out.isnan()) else a == out).to(g.dtype)
        return g * mask / mask.sum()


def median(input, dim=None, keepdim=False):  # noqa: A002
    return _median(input, dim, keepdim, False, "MedianBackward1" if dim is not None else
                   "MedianBackward0")


def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    return _median(input, dim, keepdim, True, "NanmedianBackward1" if dim is not None else
                   "NanmedianBackward0")


def mode(input, dim=-1, keepdim=False):  # noqa: A002
    if type(dim) is not int:
        dim = int_arg(dim, "mode", "dim", 1)
    if type(keepdim) is not bool:
        raise bool_error(keepdim, "mode", "keepdim", 2)
    a = input if input.ndim else input.reshape(1)
    d = normalize_dim(dim, a.ndim)
    moved = xp.moveaxis(a._data, d, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    picks = []
    for row in rows:
        vals, inv, cnt = xp.unique(row, return_inverse=True, return_counts=True)
        best = int(xp.argmax(cnt))  # the smallest of the most frequent values
        picks.append(int(xp.flatnonzero(inv.reshape(-1) == best)[-1]))
    idx = xp.asarray(picks, xp.int64).reshape(moved.shape[:-1] + (1,))
    idx = xp.moveaxis(idx, -1, d)
    vals, ind = _pick(a, idx, d, keepdim or not input.ndim, "ModeBackward0")
    if not input.ndim:
        vals, ind = vals.reshape(()), ind.reshape(())
    return rt.mode(vals, ind)


def msort(input):  # noqa: A002
    return input.sort(0).values


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):  # noqa: A002
    from .._tensor import Tensor
    from .shape import stack

    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest. Got {interpolation}")
    qs = q._data if isinstance(q, Tensor) else xp.asarray(q, input._data.dtype)
    if qs.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if ((qs < 0) | (qs > 1)).any():
        if isinstance(q, Tensor):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    x = input.reshape(-1) if dim is None else (input if input.ndim else input.reshape(1))
    d = 0 if dim is None else normalize_dim(dim, x.ndim)
    order = _sorted_idx(x._data, d)
    srt = _Sorted.apply(x, idx=order, dim=d, _name="SortBackward0")
    n = x.shape[d]
    nans = xp.isnan(x._data).sum(axis=d, keepdims=True)
    valid = (n - nans) if ignore_nan else xp.where(nans > 0, n, n)
    outs = []
    for qv in qs.reshape(-1):
        rank = qv * (xp.maximum(valid, 1) - 1).astype(xp.float64)
        if interpolation == "nearest":
            rank = xp.round(rank)
        lo = xp.floor(rank).astype(xp.int64)
        hi = xp.ceil(rank).astype(xp.int64)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        vlo, vhi = srt.gather(d, _make(lo)), srt.gather(d, _make(hi))
        frac = 0.5 if interpolation == "midpoint" else (rank - lo).astype(x._data.dtype)
        res = vlo + (vhi - vlo) * _make(xp.asarray(frac, x._data.dtype))
        bad = (valid == 0) if ignore_nan else (nans > 0)
        if bad.any():
            res = res.masked_fill(_make(bad), float("nan"))
        outs.append(res if keepdim else res.squeeze(d))
    if dim is None and keepdim:
        outs = [o.reshape((1,) * input.ndim) for o in outs]
    if not input.ndim and dim is not None and not keepdim:
        outs = [o.reshape(()) for o in outs]
    return outs[0] if qs.ndim == 0 else stack(outs, 0)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):  # noqa: A002
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):  # noqa: A002
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def aminmax(input, *, dim=None, keepdim=False):  # noqa: A002
    if dim is None:
        lo, hi = input.amin(), input.amax()
        if keepdim:
            lo, hi = lo.reshape((1,) * input.ndim), hi.reshape((1,) * input.ndim)
        return rt.aminmax(lo, hi)
    return rt.aminmax(input.amin(dim, keepdim), input.amax(dim, keepdim))


# ----------------------------------------------------------------- membership and flat
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    e = elements._data if hasattr(elements, "_data") else xp.asarray(elements)
    t = test_elements._data if hasattr(test_elements, "_data") else xp.asarray(test_elements)
    return _make(xp.isin(e, t, invert=invert))


def argwhere(input):  # noqa: A002
    from .index import nonzero_unchecked

    return nonzero_unchecked(input)  # torch's vmap runs argwhere entry by entry


def _flat_index(input, index, name):  # noqa: A002
    n = input.numel()
    idx = index._data.astype(xp.int64)
    bad = (idx >= n) | (idx < -n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {int(idx[bad].reshape(-1)[0])} "
                         f"on a tensor of {n} elements.")
    return xp.where(idx < 0, idx + n, idx)


def take(input, index):  # noqa: A002
    from ._index_guard import guard_index
    from .index import GetItem

    idx = _flat_index(input, index, "take")
    return guard_index(GetItem.apply(input.reshape(-1), key=(idx,), _name="TakeBackward0"), index)


def put_(input, index, source, accumulate=False):  # noqa: A002
    idx = _flat_index(input, index, "put_")
    flat = input.reshape(-1)
    src = source.reshape(-1)
    if accumulate:
        new = flat.scatter_add(0, _make(idx.reshape(-1)), src)
    else:
        new = flat.scatter(0, _make(idx.reshape(-1)), src)
    return input.copy_(new.reshape(input.shape))


def put(input, index, source, accumulate=False):  # noqa: A002
    return put_(input.clone(), index, source, accumulate)


FUNCTIONS = dict(
    unique=unique, unique_consecutive=unique_consecutive, bincount=bincount, histc=histc,
    histogram=histogram, histogramdd=histogramdd, searchsorted=searchsorted,
    bucketize=bucketize, cummax=cummax, cummin=cummin, logcumsumexp=logcumsumexp, diff=diff,
    kthvalue=kthvalue, median=median, nanmedian=nanmedian, mode=mode, msort=msort,
    quantile=quantile, nanquantile=nanquantile,
    aminmax=aminmax, isin=isin, argwhere=argwhere, take=take, put=put,
)
METHODS = ("unique", "unique_consecutive", "bincount", "histc", "histogram", "cummax", "cummin",
           "logcumsumexp", "diff", "kthvalue", "median", "nanmedian", "mode", "msort",
           "quantile", "nanquantile", "aminmax", "argwhere", "take", "put", "put_")


def _wrap_out():
    from ._out import wrap_namespace

    wrap_namespace(FUNCTIONS)


_wrap_out()


def _bind():
    from .._tensor import Tensor

    for name in METHODS:
        setattr(Tensor, name, FUNCTIONS.get(name) or put_)

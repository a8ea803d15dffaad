"""Indexed writes and reductions: index_add/copy/fill/put/reduce, scatter_reduce,
masked_scatter (out-of-place and in-place forms).

The sums and copies are compositions of scatter/scatter_add/setitem, which carry their own
gradients. amax/amin/prod/mean reductions compute the value on arrays and attach torch's
gradient in a node (``_ScatterExtreme``) that gives each input element its weight (amax/amin:
split evenly among the elements equal to the result; prod: the product of the other elements
of the group).
"""

from __future__ import annotations

from .._warn_once import warn_once
from ..autograd.function import Node, as_torch_node
from ..backend import xp
from ._index_guard import guard_index
from ._util import dtype_title, normalize_dim, to_tensor


def _make(arr):
    from .._tensor import Tensor

    return Tensor._make(arr)


def _index_along(index, dim, shape):
    """A 1-D index along ``dim`` expanded to ``shape`` (scatter's per-element index)."""
    view = [1] * len(shape)
    view[dim] = -1
    return _make(xp.broadcast_to(index._data.astype(xp.int64).reshape(view), shape).copy())


def _check_index_arg(input, dim, index, source, name):  # noqa: A002
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    if index.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    d = normalize_dim(dim, max(input.ndim, 1))
    if source is not None and source.ndim and index.numel() != source.shape[d]:
        raise RuntimeError(f"{name}(): Number of indices ({index.numel()}) should be equal to "
                           f"source.size(dim) ({source.shape[d]})")
    return d


def check_same_dtype(input, source, name):  # noqa: A002
    """torch's refusal to mix dtypes in ``index_add``/``index_put`` (scatter_ checks its own)."""
    if hasattr(source, "dtype") and source.dtype != input.dtype:
        if name == "index_add":
            raise RuntimeError(f"index_add_(): self ({dtype_title(input.dtype)}) and source "
                               f"({dtype_title(source.dtype)}) must have the same scalar type")
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{dtype_title(input.dtype)} for the destination and "
                           f"{dtype_title(source.dtype)} for the source.")


def check_index_add(input, d, index, source):  # noqa: A002
    """torch's argument checks of ``index_add``, in its order (index rank and type, dtypes,
    index count, shapes, index range)."""
    if index.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                         f"{index.ndim} with type: {dtype_title(index.dtype)} and size: "
                         f"{list(index.shape)}")
    if index.dtype.name not in ("int32", "int64"):
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{dtype_title(index.dtype)}")
    check_same_dtype(input, source, "index_add")
    if d and d >= source.ndim:
        raise RuntimeError(f"index_add_(): Indexing dim {d} is out of bounds of the source tensor "
                           f"with dim {source.ndim}")
    count = source.shape[d] if source.ndim else 1
    if index.numel() != count:
        raise RuntimeError(f"index_add_(): Number of indices ({index.numel()}) should be equal "
                           f"to source.size(dim): ({count}), for dim: {d}")
    shape, src = list(input.shape), list(source.shape)
    outside = (lambda s: s[:d] + s[d + 1:]) if source.ndim and input.ndim else (lambda s: s)
    if len(src) != len(shape) or outside(src) != outside(shape):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {shape} source.shape = {src}")
    idx, n = index._data, shape[d] if shape else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):  # no negative indices here, in torch
        raise IndexError("index out of range in self")


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    check_index_add(input, normalize_dim(dim, max(input.ndim, 1)), index, source)
    d = _check_index_arg(input, dim, index, source, "index_add")
    src = source if alpha == 1 else source * alpha
    out = input.scatter_add(d, _index_along(index.reshape(-1), d, tuple(src.shape)), src)
    return guard_index(as_torch_node(out, "IndexAddBackward0"), index)


def index_copy(input, dim, index, source):  # noqa: A002
    d = _check_index_arg(input, dim, index, source, "index_copy")
    out = input.scatter(d, _index_along(index.reshape(-1), d, tuple(source.shape)), source)
    return guard_index(out, index)


def index_fill(input, dim, index, value):  # noqa: A002
    d = _check_index_arg(input, dim, index, None, "index_fill")
    mask = xp.zeros(input.shape, bool)
    key = [slice(None)] * input.ndim
    key[d] = index._data.reshape(-1)
    if input.ndim:
        mask[tuple(key)] = True
    else:
        mask[...] = index.numel() > 0
    return guard_index(input.masked_fill(_make(mask), value), index)


def _key(indices):
    from .._tensor import Tensor

    return tuple(slice(None) if t is None else (t._data if isinstance(t, Tensor) else t)
                 for t in indices)


def index_put(input, indices, values, accumulate=False):  # noqa: A002
    from .index import IndexPutZeros

    key = _key(indices)
    check_same_dtype(input, values, "index_put")
    values = to_tensor(values, input.dtype)
    if accumulate:
        shape = input._data[key].shape
        add = IndexPutZeros.apply(values.to(input.dtype).expand(shape), key=key,
                                  shape=tuple(input.shape), advanced=True)
        return as_torch_node(input + add, "IndexPutBackward0")
    out = input.clone()
    out[tuple(indices)] = values
    return out


def masked_scatter(input, mask, source):  # noqa: A002
    if mask.dtype.name != "bool":
        raise RuntimeError(f"masked_scatter_only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype.name}")
    shape = tuple(xp.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    m = xp.broadcast_to(mask._data, shape)
    k = int(m.sum())
    if k > source.numel():
        raise RuntimeError("masked_scatter: expected source to have at least as many elements "
                           "as the ones selected by the mask")
    out = input.expand(shape).clone()
    out[_make(m.copy())] = source.reshape(-1)[:k]
    return out


_REDUCES = ("sum", "prod", "mean", "amax", "amin")
# torch's forward also takes "max"/"min" for amax/amin, but its backward refuses them
_FORWARD_ONLY_ALIASES = {"max": "amax", "min": "amin"}


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    if reduce not in _REDUCES and reduce not in _FORWARD_ONLY_ALIASES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d = normalize_dim(dim, max(input.ndim, 1))
    src = src[tuple(slice(0, n) for n in index.shape)] if tuple(src.shape) != tuple(
        index.shape) else src
    idx_t = index
    if reduce == "sum":
        base = input if include_self else input.scatter(d, idx_t, 0.0 * src)
        return base.scatter_add(d, idx_t, src)
    if reduce == "mean":
        return _scatter_mean(input, d, idx_t, src, include_self)
    return _scatter_extreme(input, d, idx_t, src, _FORWARD_ONLY_ALIASES.get(reduce, reduce),
                            include_self, refused=reduce if reduce in _FORWARD_ONLY_ALIASES else None)


def _touched(input, d, idx):
    """Boolean mask of the input elements some index writes to."""
    from .index import _along_axis_index

    hit = xp.zeros(input.shape, bool)
    hit[_along_axis_index(idx._data, d)] = True
    return hit


def _scatter_mean(input, d, idx, src, include_self):
    from .index import _along_axis_index

    hit = _touched(input, d, idx)
    count = xp.zeros(input.shape, input._data.dtype if input.dtype.is_floating_point
                     else xp.int64)
    xp.add.at(count, _along_axis_index(idx._data, d), 1)
    if include_self:
        count = count + 1
        base = input
    else:
        base = input.masked_fill(_make(hit), 0)
    total = base.scatter_add(d, idx, src)
    count = xp.where(count == 0, 1, count)
    if input.dtype.is_floating_point:
        return total / _make(count.astype(input._data.dtype))
    return total.div(_make(count), rounding_mode="floor")


def _scatter_extreme(input, d, idx, src, reduce, include_self, refused=None):
    """amax/amin/prod: the value on arrays, torch's gradient attached by a zero-valued term;
    ``refused``: the alias ("max"/"min") whose backward raises, as torch's does."""
    from .index import _along_axis_index

    a, s = input._data, src._data
    pos = _along_axis_index(idx._data, d)
    hit = _touched(input, d, idx)
    ufunc = {"amax": xp.maximum, "amin": xp.minimum, "prod": xp.multiply}[reduce]
    out = a.copy()
    if not include_self:
        ident = {"amax": -xp.inf, "amin": xp.inf, "prod": 1}[reduce]
        if a.dtype.kind in "iub" and reduce != "prod":
            info = xp.iinfo(a.dtype)
            ident = info.min if reduce == "amax" else info.max
        out[hit] = ident
    ufunc.at(out, pos, s)
    res = _make(out)
    if not (input.requires_grad or src.requires_grad) or not input.dtype.is_floating_point:
        return res
    if reduce == "prod":
        w_self, w_src = _prod_weights(a, s, pos, hit, include_self, out)
    else:
        # torch's rule: the gradient is split among all elements equal to the result, the
        # starting value counted even when include_self=False, which then gets none of it
        eq_self = a == out
        eq_src = s == out[pos]
        count = eq_self.astype(a.dtype)
        xp.add.at(count, pos, eq_src.astype(a.dtype))
        share = eq_self & (include_self | ~hit)
        w_self = xp.where(hit, share / xp.where(count == 0, 1, count), 1.0).astype(a.dtype)
        w_src = (eq_src / xp.where(count == 0, 1, count)[pos]).astype(a.dtype)
    return _ScatterExtreme.apply(input, src, out=out, w_self=w_self, w_src=w_src, idx=idx, d=d,
                                 refused=refused)


class _ScatterExtreme(Node):
    """amax/amin/prod scatter_reduce: the value computed on arrays, the gradient each element's
    weight (``w_self``, ``w_src``). A node, not a zero-valued term ``x - x.detach()``, which is
    NaN where ``x`` is infinite (a ``-inf``-filled start for amax is common)."""

    _name = "ScatterReduceBackward0"
    holds_saved = True  # the index and the weights, as torch saves its tensors

    def forward(self, a, s):
        return self.__dict__.pop("out")

    def backward(self, g):
        if self.refused:
            raise RuntimeError("Expected 'reduce' to be one of 'sum', 'prod', 'mean', 'amax', "
                               f"'amin' but got {self.refused}.")
        return g * _make(self.w_self), g.gather(self.d, self.idx) * _make(self.w_src)


def _prod_weights(a, s, pos, hit, include_self, out):
    """d(product of a group)/d(element): the product of the group's other elements."""
    nz_prod = xp.where(hit & include_self, xp.where(a == 0, 1, a), 1).astype(a.dtype)
    zeros = ((a == 0) & hit & include_self).astype(xp.int64)
    xp.multiply.at(nz_prod, pos, xp.where(s == 0, 1, s))
    xp.add.at(zeros, pos, (s == 0).astype(xp.int64))

    def weight(x, p_nz, z):
        safe = xp.where(x == 0, 1, x)
        return xp.where(x == 0, (z == 1) * p_nz, (z == 0) * p_nz / safe).astype(a.dtype)

    w_self = xp.where(hit, weight(a, nz_prod, zeros) if include_self else 0, 1.0)
    w_src = weight(s, nz_prod[pos], zeros[pos])
    return w_self.astype(a.dtype), w_src


def index_reduce(input, dim, index, source, reduce, *, include_self=True):  # noqa: A002
    warn_once("index_reduce-beta", "index_reduce() is in beta and the API may change at any time.")
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    d = _check_index_arg(input, dim, index, source, "index_reduce")
    idx = _index_along(index.reshape(-1), d, tuple(source.shape))
    return as_torch_node(scatter_reduce(input, d, idx, source, reduce, include_self=include_self),
                         "IndexReduceBackward0")


def broadcast_tensors(*tensors):
    from .shape import broadcast_to

    ts = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) \
        else list(tensors)
    shape = broadcast_shapes(*(tuple(t.shape) for t in ts))
    return tuple(broadcast_to(t, shape) for t in ts)


def broadcast_shapes(*shapes):
    from .._tensor import Size
    from ._util import check_broadcast

    out = ()
    for s in shapes:
        s = (s,) if isinstance(s, int) else tuple(s)
        check_broadcast(out, s)
        out = tuple(xp.broadcast_shapes(out, s))
    return Size(out)


def _inplace(fn):
    def method(self, *args, **kwargs):
        return self.copy_(fn(self, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    return method


FUNCTIONS = dict(index_add=index_add, index_copy=index_copy, index_fill=index_fill,
                 index_put=index_put, index_reduce=index_reduce, scatter_reduce=scatter_reduce,
                 masked_scatter=masked_scatter, broadcast_tensors=broadcast_tensors,
                 broadcast_shapes=broadcast_shapes,
                 index_put_=lambda input, indices, values, accumulate=False: input.copy_(  # noqa: A006
                     index_put(input, indices, values, accumulate)))


def _bind():
    from .._tensor import Tensor

    for name in ("index_add", "index_copy", "index_fill", "index_put", "index_reduce",
                 "scatter_reduce", "masked_scatter"):
        setattr(Tensor, name, FUNCTIONS[name])
        if not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", _inplace(FUNCTIONS[name]))

"""``torch.embedding_bag``: ATen's form of ``F.embedding_bag``, returning its 4-tuple
``(output, offset2bag, bag_size, max_indices)``.

The output (and its gradient) is ``F.embedding_bag``'s. The other three are what torch's CPU
kernel returns, bookkeeping its backward reads; programs that call this form sometimes keep
them, so they follow torch's values, including its shortcuts:

* ``offset2bag``: the bag of each index, empty on the "fast path" of ``sum`` (float32, half
  or bfloat16 weight and no ``padding_idx``), where torch skips it;
* ``bag_size``: the non-padding indices in each bag for ``mean``/``max``, zeros for ``sum``
  (one per bag when a gradient is recorded, else shaped like ``offsets``: torch's
  forward-only kernel then keeps the ``include_last_offset`` entry);
* ``max_indices``: for ``max`` the weight row that gave each output element (the first on a
  tie, 0 in an empty bag), for ``mean`` a copy of ``bag_size``, for ``sum`` zeros.

Their dtype is that of ``indices`` and ``offsets`` promoted together (int32 or int64).
"""

from __future__ import annotations

from ._tensor import Tensor
from .autograd.grad_mode import is_grad_enabled
from .backend import xp
from .nn import functional as F
from .nn._functional.sparse import check_bag_indices, check_first_offset
from .ops._util import dtype_title

_MODES = ("sum", "mean", "max")
_FAST_SUM_DTYPES = ("float32", "float16", "bfloat16")


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """``torch.embedding_bag(weight, indices, offsets, ...)`` -> (output, offset2bag,
    bag_size, max_indices)."""
    num = weight.shape[0]
    _check(indices, offsets, mode, per_sample_weights, num)
    pad = _padding(padding_idx, num)
    out = F.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq,
                          mode=_MODES[mode], per_sample_weights=per_sample_weights,
                          include_last_offset=include_last_offset, padding_idx=pad)
    idx = indices._data.astype(xp.int64)
    offs = offsets._data.astype(xp.int64)
    int_dtype = xp.result_type(indices._data.dtype, offsets._data.dtype)
    starts = offs[:-1] if include_last_offset else offs
    bag = xp.searchsorted(starts, xp.arange(idx.size), side="right") - 1
    keep = xp.ones(idx.shape, bool) if pad is None else idx != pad
    counts = xp.bincount(bag[keep], minlength=starts.size)[:starts.size]
    fast_sum = mode == 0 and weight.dtype.name in _FAST_SUM_DTYPES and pad is None
    offset2bag = xp.zeros(0, xp.int64) if fast_sum else bag
    if mode == 0:  # shaped like offsets by the forward-only kernel, per bag by the other
        tracked = is_grad_enabled() and (weight.requires_grad or (
            per_sample_weights is not None and per_sample_weights.requires_grad))
        bag_size = max_indices = xp.zeros(starts.size if tracked else offs.size, xp.int64)
    elif mode == 1:
        bag_size = max_indices = counts
    else:
        bag_size, max_indices = counts, _argmax_rows(weight._data, idx, bag, keep, starts.size)
    return (out,) + tuple(Tensor._make(a.astype(int_dtype)) for a in
                          (offset2bag, bag_size, max_indices.copy()))


def _check(indices, offsets, mode, per_sample_weights, num):
    """ATen's argument checks, with its messages."""
    if not isinstance(mode, int) or isinstance(mode, bool):
        raise TypeError(f"embedding_bag(): argument 'mode' (position 5) must be int, not "
                        f"{type(mode).__name__}")
    if mode not in (0, 1, 2):
        raise RuntimeError("`mode` must be sum, mean, or max.")
    for name, t in (("indices", indices), ("offsets", offsets)):
        if t._data.dtype.kind not in "iu":
            raise RuntimeError(
                f"Expected tensor for argument #1 '{name}' to have one of the following scalar "
                f"types: Long, Int; but got torch.{dtype_title(t.dtype)}Tensor instead (while "
                "checking arguments for embedding_bag)")
    if per_sample_weights is not None and mode != 0:
        raise RuntimeError("embedding_bag: per_sample_weights only supported with mode='sum'")
    if offsets.ndim != 1:
        raise RuntimeError(f"offsets has to be a 1D Tensor, but got Tensor of dimension "
                           f"{offsets.ndim}")
    check_first_offset(offsets._data)
    check_bag_indices(indices._data, num)


def _padding(padding_idx, num):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise RuntimeError(f"padding_idx must be within the number of embeddings, {-num} "
                           f"through {num - 1}, but got {padding_idx}")
    return padding_idx % num


def _argmax_rows(w, idx, bag, keep, n_bags):
    """For each bag and column, the weight row holding the (first) largest value; 0 for a bag
    with no non-padding index."""
    out = xp.zeros((n_bags, w.shape[1]), xp.int64)
    for b in range(n_bags):
        rows = idx[(bag == b) & keep]
        if rows.size:
            out[b] = rows[xp.argmax(w[rows], axis=0)]
    return out

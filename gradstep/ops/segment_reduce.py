"""``torch.segment_reduce``: sum/mean/max/min/prod over consecutive segments of one axis.

What torch 2.13's CPU kernel does, learnt from its behaviour:

- the segments are given by ``lengths`` (shape ``data.shape[:axis] + (S,)``) or by ``offsets``
  (``... + (S + 1,)``; it wins when both are given); ``axis`` must be the last dim of either.
- each segment starts from ``initial`` (cast to the data dtype) or the reduction's identity
  (max: -inf, min: +inf, sum/mean: 0, prod: 1) and folds the elements in order, in the data
  dtype: a float32 sum rounds at every step, so we fold one element position at a time
  (vectorised over the segments) rather than use NumPy's pairwise sums.
- mean divides by the length (an empty segment gives ``initial``, or NaN without one).
- the gradient (``SegmentReduceBackward0``): sum gives each element the segment's gradient,
  mean that over the length; max/min give it to each element equal to the result (a NaN result
  to the NaN elements), split among ties only where the gradient is positive (torch's kernel
  divides only positive values); prod gives ``g * result / x``, and for a zero or NaN element
  ``g`` times the product of ``initial`` and the segment's other elements.
"""

from __future__ import annotations

from numbers import Number

from .._argparse import type_name
from ..autograd.function import Node
from ..backend import xp
from ._util import dtype_title, normalize_dim

_KINDS = {"sum": "sum", "mean": "mean", "max": "max", "amax": "max", "min": "min",
          "amin": "min", "prod": "prod"}
_IDENTITY = {"sum": 0.0, "mean": 0.0, "max": -float("inf"), "min": float("inf"), "prod": 1.0}
_FOLD = {"sum": xp.add, "mean": xp.add, "max": xp.maximum, "min": xp.minimum,
         "prod": xp.multiply}
_FLOATS = ("float16", "bfloat16", "float32", "float64")
_VAGUE = "  (Could this error message be improved?  If so, please report an enhancement " \
         "request to PyTorch.)"


def _check_types(data, reduce, tensors, axis, unsafe, initial):
    from .._tensor import Tensor

    if not isinstance(data, Tensor):
        raise TypeError(f"segment_reduce(): argument 'data' (position 1) must be Tensor, "
                        f"not {type_name(data)}")
    if not isinstance(reduce, str):
        raise TypeError(f"segment_reduce(): argument 'reduce' (position 2) must be str, "
                        f"not {type_name(reduce)}")
    for name, t in tensors.items():
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"segment_reduce(): argument '{name}' must be Tensor, "
                            f"not {type_name(t)}")
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"segment_reduce(): argument 'axis' must be int, not {type_name(axis)}")
    if not isinstance(unsafe, bool):
        raise TypeError(f"segment_reduce(): argument 'unsafe' must be bool, "
                        f"not {type_name(unsafe)}")
    if initial is not None and not isinstance(initial, (Number, Tensor)):
        raise TypeError(f"segment_reduce(): argument 'initial' must be Number, "
                        f"not {type_name(initial)}")


def _check_lengths(lengths, size):
    """torch's checks of ``lengths`` when not ``unsafe``: none negative, each row summing to
    the axis size."""
    arr = lengths._data
    if arr.size == 0:
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    if arr.min() < 0:
        raise RuntimeError("lengths contains negative value!")
    if (arr.sum(-1) != size).any():
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")


def _initial_value(initial, dtype):
    if initial is None:
        return None
    value = initial.item() if hasattr(initial, "item") else initial
    if isinstance(value, complex):
        if value.imag:
            raise RuntimeError(f"value cannot be converted to type {dtype_title(dtype).lower()} "
                               f"without overflow")
        value = value.real
    return float(value)


def _bounds(seg, name, outer, size):
    """``(starts, ends)`` of each segment, shape (outer, S), from lengths or offsets."""
    arr = seg._data.astype(xp.int64)
    arr = arr.reshape(-1, arr.shape[-1]) if arr.ndim else arr.reshape(1, 1)
    if arr.shape[0] < outer:
        raise RuntimeError(f"segment_reduce(): {name} has fewer rows ({arr.shape[0]}) than "
                           f"data has before the axis ({outer})")
    arr = arr[:outer]
    if name == "offsets":
        starts, ends = arr[:, :-1], arr[:, 1:]
    else:
        ends = xp.cumsum(arr, axis=1)
        starts = ends - arr
    if (ends < starts).any():
        raise RuntimeError("Expected segment_length >= 0 to be true, but got false." + _VAGUE)
    if starts.size and (starts.min() < 0 or ends.max() > size):
        raise RuntimeError(f"segment_reduce(): {name} point outside the {size} elements of the "
                           f"axis")
    return starts, ends


def _fold(x, starts, ends, kind, init):
    """The reduction of each segment of ``x`` (outer, N, inner), folded in element order."""
    outer, inner = x.shape[0], x.shape[2]
    start = _IDENTITY[kind] if init is None else init
    acc = xp.full((outer, starts.shape[1], inner), start, dtype=x.dtype)
    lengths = ends - starts
    rows = xp.arange(outer)[:, None]
    fold = _FOLD[kind]
    for k in range(int(lengths.max()) if lengths.size else 0):
        live = k < lengths
        pos = xp.where(live, starts + k, 0)
        vals = x[rows, pos] if x.shape[1] else xp.zeros_like(acc)
        acc = xp.where(live[..., None], fold(acc, vals), acc)
    if kind == "mean":
        n = lengths[..., None]
        divided = acc / xp.maximum(n, 1).astype(x.dtype)
        acc = xp.where((n > 0) & ~xp.isnan(acc), divided, acc)
        if init is None:
            acc = xp.where(n == 0, xp.asarray(xp.nan, dtype=x.dtype), acc)
    return acc.astype(x.dtype, copy=False)


def _exclusive_prod(x, rows, starts, lengths, k, init):
    """For the element at position ``k`` of each segment: ``initial`` times the segment's
    other elements, multiplied in order (torch's rule for a zero or NaN element)."""
    excl = xp.full((starts.shape[0], starts.shape[1], x.shape[2]),
                   1.0 if init is None else init, dtype=x.dtype)
    for j in range(int(lengths.max())):
        if j == k:
            continue
        live = j < lengths
        vals = x[rows, xp.where(live, starts + j, 0)]
        excl = xp.where(live[..., None], excl * vals, excl)
    return excl


def _element_grad(kind, g, out, x_k, n, count, excl):
    """The gradient of the elements at one position of each segment."""
    if kind == "sum":
        return g
    if kind == "mean":
        return g / xp.maximum(n, 1).astype(g.dtype)
    if kind == "prod":
        gi = g * out / xp.where(x_k == 0, 1, x_k)
        return gi if excl is None else xp.where((x_k == 0) | xp.isnan(x_k), g * excl, gi)
    hit = (out == x_k) | (xp.isnan(out) & xp.isnan(x_k))
    gi = xp.where(hit, g, 0).astype(g.dtype)
    split = (count >= 2) & (gi > 0)
    return xp.where(split, gi / xp.maximum(count, 1).astype(g.dtype), gi)


class _SegmentReduce(Node):
    """The values computed on arrays; the backward folds the gradient back per position."""

    _name = "SegmentReduceBackward0"
    holds_saved = True  # the data, the bounds and the result, as torch saves them

    def forward(self, a):
        return self.out_full

    def backward(self, g):
        from .._tensor import Tensor

        x, starts, ends, kind, init = self.x, self.starts, self.ends, self.kind, self.init
        out = self.out
        g = g._data.reshape(out.shape).astype(x.dtype, copy=False)
        gi = xp.zeros_like(x)
        lengths = ends - starts
        rows = xp.broadcast_to(xp.arange(x.shape[0])[:, None], starts.shape)
        n = lengths[..., None]
        count = None
        if kind in ("max", "min"):
            count = xp.zeros(out.shape, xp.int64)
            for k in range(int(lengths.max()) if lengths.size else 0):
                live = (k < lengths)[..., None]
                x_k = x[rows, xp.where(k < lengths, starts + k, 0)]
                hit = (out == x_k) | (xp.isnan(out) & xp.isnan(x_k))
                count += live & hit
        for k in range(int(lengths.max()) if lengths.size else 0):
            live = k < lengths
            pos = xp.where(live, starts + k, 0)
            x_k = x[rows, pos]
            excl = None
            if kind == "prod" and ((x_k == 0) | xp.isnan(x_k))[live].any():
                excl = _exclusive_prod(x, rows, starts, lengths, k, init)
            vals = _element_grad(kind, g, out, x_k, n, count, excl)
            gi[rows[live], pos[live]] = vals[live]
        return Tensor._make(gi.reshape(self.data_shape))


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0,
                   unsafe=False, initial=None):
    """torch.segment_reduce (CPU): see the module docstring."""
    _check_types(data, reduce, {"lengths": lengths, "indices": indices, "offsets": offsets},
                 axis, unsafe, initial)
    axis = normalize_dim(axis, data.ndim)
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    kind = _KINDS.get(reduce)
    if kind is None:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                           f"got {reduce}")
    name, seg = ("offsets", offsets) if offsets is not None else ("lengths", lengths)
    if data.ndim < seg.ndim:
        raise RuntimeError(f"Expected data.dim() >= {name}_value.dim() to be true, but got "
                           f"false." + _VAGUE)
    if axis != seg.ndim - 1:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of {name} "
                           f"but got {axis}.")
    size = data.shape[axis] if data.ndim else 1
    if name == "lengths" and not unsafe:
        _check_lengths(lengths, size)
    if data.dtype.name not in _FLOATS:
        raise NotImplementedError(f'"_segment_reduce_cpu" not implemented for '
                                  f"'{dtype_title(data.dtype)}'")
    if seg.dtype.name not in ("int32", "int64"):
        raise NotImplementedError(f'"_segment_reduce_{name}_cpu_kernel1" not implemented for '
                                  f"'{dtype_title(seg.dtype)}'")
    return _compute(data, kind, seg, name, axis, size, _initial_value(initial, data.dtype))


def _compute(data, kind, seg, name, axis, size, init):
    shape = tuple(data.shape)
    outer = 1
    for s in shape[:axis]:
        outer *= s
    x = data._data.reshape(outer, size, -1) if data.numel() else \
        xp.zeros((outer, size, _inner(shape, axis)), data._data.dtype)
    starts, ends = _bounds(seg, name, outer, size)
    out = _fold(x, starts, ends, kind, init)
    out_shape = shape[:axis] + (starts.shape[1],) + shape[axis + 1:]
    return _SegmentReduce.apply(data, out_full=out.reshape(out_shape), out=out, x=x,
                                starts=starts, ends=ends, kind=kind, init=init,
                                data_shape=shape)


def _inner(shape, axis):
    n = 1
    for s in shape[axis + 1:]:
        n *= s
    return n


FUNCTIONS = dict(segment_reduce=segment_reduce)

"""Indexing: ``__getitem__``/``__setitem__``, gather/scatter, masks (sort and topk: ``sorting.py``)."""

from __future__ import annotations

import warnings

from .. import _vmap_batched as _vmap
from .._argparse import int_arg, tensor_error
from ..autograd.function import Node
from ..backend import xp
from ._index_args import scatter_call
from ._index_guard import check_guard, guard_index, index_tensors
from ._util import normalize_dim, sum_to


def convert_key(key):
    """A torch index (ints, slices, None, Ellipsis, Tensors, lists) as a NumPy index.

    Returns the key and whether it uses advanced (array) indexing. torch applies
    ints and None before the array indices (so they never move the result's
    dims), where NumPy would treat an int as one more array index; such keys
    become a ``TwoStepKey``: a basic index, then an advanced one.
    """
    from .._tensor import Tensor

    if not isinstance(key, tuple):
        key = tuple(key) if _sequence_as_tuple(key) else (key,)
    out = []
    advanced = False
    for k in key:
        if isinstance(k, (range, xp.ndarray)):  # torch turns both into index tensors
            k = Tensor._make(xp.asarray(k, dtype=xp.int64 if isinstance(k, range) else None))
        if isinstance(k, Tensor):
            d = k._data
            if d.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if d.ndim == 0 and d.dtype.kind in "iu":
                out.append(int(d))  # a 0-d integer tensor selects, like an int
                continue
            if d.dtype.kind == "b" or d.dtype == xp.uint8:
                if isinstance(d, _vmap.BatchedArray):  # a batched mask inside vmap
                    _vmap.check_mask(d)
            if d.dtype == xp.uint8:  # torch's legacy byte masks
                import warnings

                warnings.warn("indexing with dtype gradstep.uint8 is now deprecated, please use a "
                              "dtype gradstep.bool instead.", UserWarning, stacklevel=3)
                d = d.astype(xp.bool_)
            out.append(d)
            advanced = True
        elif isinstance(k, (list, tuple)):  # a tuple inside the index is a sequence index
            arr = xp.asarray([x.item() if isinstance(x, Tensor) else x for x in k])
            out.append(arr if arr.size and arr.dtype.kind in "iub" else arr.astype(xp.int64))
            advanced = True
        elif isinstance(k, bool):
            out.append(k)
            advanced = True
        elif isinstance(k, slice):
            if any(isinstance(v, Tensor) for v in (k.start, k.stop, k.step)):
                k = slice(*(int(v) if isinstance(v, Tensor) else v for v in (k.start, k.stop, k.step)))
            if k.step is not None and k.step < 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
        elif k is None or k is Ellipsis:
            out.append(k)
        elif hasattr(k, "__index__"):
            out.append(int(k))
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got " + type(k).__name__ + ")"
            )
    if advanced and any(k is None or (isinstance(k, int) and not isinstance(k, bool)) for k in out):
        return _two_step(out), True
    return tuple(out), advanced


def _sequence_as_tuple(key):
    """torch's (and old NumPy's) rule: a short non-tuple sequence holding a sequence, slice,
    tensor, None or Ellipsis is a tuple of indices (``x[[0, [1]]]`` is ``x[0, [1]]``)."""
    from .._tensor import Tensor

    if not isinstance(key, (list, range)) or len(key) >= 32:
        return False
    for k in key:
        if isinstance(k, (Tensor, list, tuple, range, slice, xp.ndarray)) or k is None or (
                k is Ellipsis):
            warnings.warn(
                "Using a non-tuple sequence for multidimensional indexing is deprecated and will "
                "be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 "
                "this will be interpreted as tensor index, x[torch.tensor(seq)], which will result "
                "either in an error or a different result", UserWarning, stacklevel=4)
            return True
    return False


class TwoStepKey:
    """``arr[basic][adv]``: torch's order for ints/None mixed with array indices."""

    __slots__ = ("basic", "adv")

    def __init__(self, basic, adv):
        self.basic, self.adv = basic, adv


def _two_step(parts):
    basic, adv = [], []
    for k in parts:
        if k is None:
            basic.append(None)
            adv.append(slice(None))  # skip over the new dim
        elif k is Ellipsis:
            basic.append(Ellipsis)
            adv.append(Ellipsis)
        elif isinstance(k, bool):
            adv.append(k)
        elif isinstance(k, int):
            basic.append(k)
        elif isinstance(k, slice):
            basic.append(k)
            adv.append(slice(None))
        else:  # an index array; a bool mask spans one dim per mask dim
            basic.extend([slice(None)] * (k.ndim if k.dtype == xp.bool_ else 1))
            adv.append(k)
    if Ellipsis not in basic:
        basic.append(Ellipsis)  # keeps an all-int basic index a 0-d view
    return TwoStepKey(tuple(basic), tuple(adv))


def take(arr, key):
    """``arr[key]`` for a converted key."""
    if isinstance(key, TwoStepKey):
        return arr[key.basic][key.adv]
    return arr[key]


def put(arr, key, value):
    """``arr[key] = value`` for a converted key."""
    try:
        if isinstance(key, TwoStepKey):
            arr[key.basic][key.adv] = value
        else:
            arr[key] = value
    except ValueError:
        vshape = list(xp.shape(value))
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {vshape} cannot be broadcast to indexing "
            f"result of shape {list(take(arr, key).shape)}"
        ) from None


def _add_at(arr, key, value):
    if isinstance(key, TwoStepKey):
        xp.add.at(arr[key.basic], key.adv, value)
    else:
        xp.add.at(arr, key, value)


class GetItem(Node):
    """Advanced (array) indexing: a copy; the gradient scatter-adds, so repeats accumulate."""

    _name = "IndexBackward0"
    advanced = True
    holds_saved = True  # the index arrays, as torch saves them

    def forward(self, a):
        self.in_shape = a.shape
        return take(a, self.key)

    def backward(self, g):
        check_guard(self)
        return IndexPutZeros.apply(g, key=self.key, shape=self.in_shape, advanced=self.advanced)


class Slice(GetItem):
    """Basic indexing (ints, slices, None, Ellipsis): a view sharing memory and version."""

    is_view = True
    advanced = False
    holds_saved = False  # ints and slices only

    def forward(self, a):
        self.in_shape = a.shape
        key = self.key
        if Ellipsis not in key:
            key = key + (Ellipsis,)  # NumPy then returns a 0-d view, not a scalar copy
        return a[key]


def slice_view(a, key, name):
    """``a[key]`` for a basic ``key``, recorded under torch's node ``name``."""
    return Slice.apply(a, key=key, _name=name)


def _basic_name(key, shape):
    """torch's grad_fn name for basic indexing: the last op that changes the tensor."""
    name, dim = "AliasBackward0", 0
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    for k in key:
        if k is None:
            name = "UnsqueezeBackward0"
        elif k is Ellipsis:
            dim += len(shape) - n_real
        elif isinstance(k, slice):
            n = shape[dim]
            if k.indices(n) != (0, n, 1):
                name = "SliceBackward0"
            dim += 1
        else:
            name = "SelectBackward0"
            dim += 1
    return name


class IndexPutZeros(Node):
    """Gradient of indexing: ``g`` placed (summed, for repeats) into zeros of ``shape``."""

    def forward(self, g):
        z = xp.zeros(self.shape, g.dtype)
        if self.advanced:
            _add_at(z, self.key, g)
        else:
            z[self.key] = g
        return z

    def backward(self, gg):
        return (GetItem if self.advanced else Slice).apply(gg, key=self.key)


class SetItem(Node):
    """``a[key] = v`` recorded out of place: the gradient skips the overwritten part."""

    _name = "torch::autograd::CopySlices"  # IndexPutBackward0 for an all-advanced key
    # torch's CopySlices drops its function on release and its index_put saves the indices:
    # either way a second backward raises
    holds_saved = True

    def forward(self, a, v):
        self.v_shape = v.shape
        out = a.copy()
        put(out, self.key, v)
        return out

    def backward(self, g):
        check_guard(self)
        ga = IndexFill.apply(g, key=self.key)
        sel = (GetItem if self.advanced else Slice).apply(g, key=self.key)
        return ga, sum_to(sel, self.v_shape)


class IndexFill(Node):
    def forward(self, g):
        out = g.copy()
        put(out, self.key, 0)
        return out

    def backward(self, gg):
        return IndexFill.apply(gg, key=self.key)


# ---------------------------------------------------------------- in-place changes through views
def view_key(base_arr, view_arr):
    """The advanced index into ``base_arr`` that picks the elements of ``view_arr``.

    Both arrays share memory; element positions come from their data pointers and
    strides, so any view (slices, transposes, reshapes) is covered.
    """
    item = base_arr.itemsize
    origin = base_arr.__array_interface__["data"][0]

    def positions(arr):
        pos = xp.full(arr.shape, (arr.__array_interface__["data"][0] - origin) // item, xp.int64)
        for k, (n, st) in enumerate(zip(arr.shape, arr.strides)):
            shape = [1] * arr.ndim
            shape[k] = n
            pos = pos + (xp.arange(n, dtype=xp.int64) * (st // item)).reshape(shape)
        return pos

    pv = positions(view_arr)
    if base_arr.flags.c_contiguous:
        flat = pv
    else:
        pb = positions(base_arr).reshape(-1)
        order = xp.argsort(pb, kind="stable")
        flat = order[xp.searchsorted(pb[order], pv)]
    return xp.unravel_index(flat, base_arr.shape)


def view_of_base(v):
    """Point view ``v``'s grad_fn at its base's current history."""
    base = v._base
    v._view_vc = v._vc[0]
    if not base._rg:
        return
    nv = GetItem.apply(base, key=view_key(base._data, v._data))
    v.grad_fn, v._out_nr, v._rg = nv.grad_fn, 0, True


def rebase_view(v, new):
    """After ``v`` (a view) was changed in place to ``new``, record the change on its base.

    The base becomes ``CopySlices(old_base, new)`` and ``v`` a view of that, so gradients
    through either the base or the view see the in-place op (torch's view+inplace rule).
    """
    from .._tensor import Tensor

    base = v._base
    key = view_key(base._data, v._data)
    old = Tensor._make(base._data, base._rg, base.grad_fn)
    old._out_nr = base._out_nr
    nb = SetItem.apply(old, new, key=key, advanced=True)
    base.grad_fn, base._out_nr, base._rg = nb.grad_fn, 0, True
    nv = GetItem.apply(base, key=key)
    v.grad_fn, v._out_nr, v._rg = nv.grad_fn, 0, True
    v._view_vc = v._vc[0]


def _check_empty_masks(shape, key):
    """Bool masks must match the dims they index; NumPy skips that check for an empty array."""
    from .._tensor import Tensor

    key = key if isinstance(key, tuple) else (key,)
    used = sum(k.ndim if isinstance(k, Tensor) else 0 if k is None or k is Ellipsis else 1
               for k in key)
    pos, view = 0, []  # pos: the dim of the source; view: the indexed tensor's shape so far
    for k in key:
        if k is None:
            view.append(1)
            continue
        if k is Ellipsis:
            n = len(shape) - used
            view += list(shape[pos:pos + n])
            pos += n
            continue
        n = k.ndim if isinstance(k, Tensor) else 1
        if isinstance(k, Tensor) and k.dtype.name == "bool" and \
                tuple(k.shape) != tuple(shape[pos:pos + n]):
            full = view + list(shape[pos:])
            raise IndexError(
                f"The shape of the mask {list(k.shape)} at index 0 does not match the shape of "
                f"the indexed tensor {full} at index {len(view)}")
        view += list(shape[pos:pos + n])
        pos += n


def getitem(a, key):
    if a._data.size == 0:
        _check_empty_masks(a.shape, key)
    try:
        k, advanced = convert_key(key)
        if advanced:
            return guard_index(GetItem.apply(a, key=k), *index_tensors(key))
        out = Slice.apply(a, key=k)
    except IndexError as e:
        raise_zero_dim_index(a, key)
        raise in_torch_words(e) from None
    if out.grad_fn is not None:
        out.grad_fn._name = _basic_name(k, a.shape)
    return out


def check_view_setitem(a, key, value):
    """torch's error for ``a[key] = value`` on a view it refuses to change in place (see
    ``autograd._view_meta``): torch writes through ``a[key]``, a view named after the key."""
    from ..autograd import _view_meta

    k, advanced = convert_key(key)
    name = None if advanced else _basic_name(k, a.shape)
    if name == "AliasBackward0" or not (a._rg or a._base._rg):  # no view, or one without a graph
        name = None
    _view_meta.check(a, (value,), name and _view_meta.short_name(name))


def in_torch_words(error):
    """NumPy's out-of-bounds IndexError in torch's words ("... for dimension 0 with size 3")."""
    if " for axis " not in str(error):
        return error
    return IndexError(str(error).replace(" for axis ", " for dimension "))


def raise_zero_dim_index(a, key):
    """torch's messages for indexing a 0-d tensor (``loss.data[0]``, torch < 0.4's way to read
    a loss) in place of NumPy's; returns when ``a`` has dimensions."""
    from .._tensor import Tensor

    if a.ndim:
        return
    if isinstance(key, slice):
        raise IndexError("slice() cannot be applied to a 0-dim tensor.") from None
    if isinstance(key, (Tensor, tuple, list)) or not hasattr(key, "__index__"):
        raise IndexError("too many indices for tensor of dimension 0") from None
    if key.__index__() != 0:
        raise IndexError(f"index {key.__index__()} is out of bounds for dimension 0 with size 0"
                         ) from None
    raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                     "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number") from None


def setitem(a, key, value):
    """In-place assignment with autograd (the result replaces ``a``'s graph history)."""
    from .._tensor import Tensor
    from ._util import cast, to_tensor

    k, advanced = convert_key(key)
    v = value if isinstance(value, Tensor) else to_tensor(value, dtype=a.dtype)
    v = cast(v, a.dtype)
    if v.ndim > 0:
        target = take(a._data, k).shape
        try:
            xp.broadcast_shapes(v.shape, target)
        except ValueError:
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                f"indexing result of shape {list(target)}"
            ) from None
    if advanced and isinstance(k, tuple) and all(isinstance(e, (xp.ndarray, bool)) for e in k):
        a._inplace_apply(SetItem, (v,), key=k, advanced=True, _name="IndexPutBackward0")
    else:
        a._inplace_apply(SetItem, (v,), key=k, advanced=advanced)
    if advanced and isinstance(a.grad_fn, SetItem):
        guard_index(a, *index_tensors(key))


class IndexSelect(Node):
    holds_saved = True  # the index, as torch saves it

    def forward(self, a):
        self.in_shape = a.shape
        if self.dim is None:  # a 0-d input
            return a.copy()
        return xp.take(a, self.idx, axis=self.dim)

    def backward(self, g):
        check_guard(self)
        if self.dim is None:
            return g
        return IndexAddZeros.apply(g, idx=self.idx, dim=self.dim, shape=self.in_shape)


class IndexAddZeros(Node):
    holds_saved = True

    def forward(self, g):
        z = xp.zeros(self.shape, g.dtype)
        zv = xp.moveaxis(z, self.dim, 0)
        xp.add.at(zv, self.idx, xp.moveaxis(g, self.dim, 0))
        return z

    def backward(self, gg):
        return IndexSelect.apply(gg, idx=self.idx, dim=self.dim)


def index_select(a, dim, index):
    if type(dim) is not int:
        dim = int_arg(dim, "index_select", "dim", 1)
    d = normalize_dim(dim, a.ndim)
    try:
        idx = index._data
    except AttributeError:
        raise tensor_error(index, "index_select", "index", 2) from None
    if idx.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    n = a.shape[d] if a.ndim else 1
    if idx.size and a.ndim > 1 and n == 0:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    if a.ndim == 0 and idx.size != 1:
        raise RuntimeError(
            f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
    if idx.size and (idx.max() >= n or idx.min() < 0):
        if a.ndim > 1 and (d == 1 or a.numel() == 0):  # torch's other kernel's error
            bad = idx.max() if idx.max() >= n else idx.min()
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
        raise IndexError("index out of range in self")
    if a.ndim == 0:  # one index into a scalar: the scalar
        return guard_index(IndexSelect.apply(a, idx=idx.reshape(()), dim=None), index)
    return guard_index(IndexSelect.apply(a, idx=idx.reshape(-1), dim=d), index)


class Gather(Node):
    """``a`` picked at ``idx`` along ``dim``; ``idx`` may be smaller than ``a`` elsewhere."""

    holds_saved = True  # the index, as torch saves it

    def forward(self, a):
        self.in_shape = a.shape
        part = tuple(slice(0, n) if k != self.dim else slice(None)
                     for k, n in enumerate(self.idx.shape))
        return xp.take_along_axis(a[part], self.idx, axis=self.dim)

    def backward(self, g):
        check_guard(self)
        return ScatterAddZeros.apply(g, idx=self.idx, dim=self.dim, shape=self.in_shape)


class ScatterAddZeros(Node):
    holds_saved = True

    def forward(self, g):
        z = xp.zeros(self.shape, g.dtype)
        _scatter_add_into(z, self.dim, self.idx, g)
        return z

    def backward(self, gg):
        return Gather.apply(gg, idx=self.idx, dim=self.dim)


def _along_axis_index(idx, dim):
    """Full fancy-index tuple equivalent to take_along_axis(·, idx, dim)."""
    grids = xp.meshgrid(*[xp.arange(s) for s in idx.shape], indexing="ij", sparse=True)
    grids = list(grids)
    grids[dim] = idx
    return tuple(grids)


def _scatter_add_into(z, dim, idx, src):
    src = src[tuple(slice(0, s) for s in idx.shape)]
    xp.add.at(z, _along_axis_index(idx, dim), src)


def scatter_into_zeros(g, idx, dim, shape):
    """Place ``g`` at indices ``idx`` along ``dim`` into zeros of ``shape`` (max/min backward)."""
    return ScatterAddZeros.apply(g, idx=idx, dim=dim, shape=shape)


_INDEX_DTYPES = ("int64", "int32")


def _check_index(a, dim, index, name):
    try:
        idx = index._data
    except AttributeError:
        raise tensor_error(index, name, "index", 2) from None
    if index.dtype.name not in _INDEX_DTYPES:  # torch's message says scatter() for scatter_add too
        raise RuntimeError(f"{name.replace('_add', '')}(): Expected dtype int32/int64 for index")
    if index.ndim != a.ndim and not (index.ndim <= 1 and a.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if idx.size:
        n = a.shape[dim] if a.ndim else 1
        lo, hi = int(idx.min()), int(idx.max())
        if hi >= n or lo < 0:  # torch takes no negative indices here
            bad = hi if hi >= n else lo
            raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {n}")
    return idx


def gather(a, dim, index, *, sparse_grad=False):
    if type(dim) is not int:
        dim = int_arg(dim, "gather", "dim", 1)
    d = normalize_dim(dim, a.ndim)
    idx = _check_index(a, d, index, "gather")
    for k in range(a.ndim):
        if k != d and idx.shape[k] > a.shape[k]:
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {list(idx.shape)} to be no "
                f"larger than self {list(a.shape)} apart from dimension {d}"
            )
    return guard_index(Gather.apply(a, idx=idx, dim=d), index)


def take_along_dim(a, indices, dim=None):
    if dim is None:
        return gather(a.flatten(), 0, indices.flatten())
    from .._tensor import Tensor

    d = normalize_dim(dim, a.ndim)
    idx = indices._data
    if a.ndim and idx.size and idx.min() < 0:  # wrapped, as in torch
        idx = xp.where(idx < 0, idx + a.shape[d], idx)
    shape = list(broadcast_shapes(
        tuple(s if k != d else 1 for k, s in enumerate(a.shape)),
        tuple(s if k != d else 1 for k, s in enumerate(indices.shape))))
    ashape = list(shape)
    ashape[d] = a.shape[d]
    ishape = list(shape)
    ishape[d] = indices.shape[d]
    # torch gathers with a new (broadcast) index: a later in-place change to ``indices``
    # changes neither the gradient nor raises
    idx = Tensor._make(xp.broadcast_to(idx, tuple(ishape)).copy())
    return gather(a.expand(tuple(ashape)), d, idx)


class Scatter(Node):
    """scatter (overwrite) / scatter_add of ``src`` into a copy of ``a``."""

    holds_saved = True  # the index, as torch saves it

    def forward(self, a, src):
        out = a.copy()
        full = _along_axis_index(self.idx, self.dim)
        s = src[tuple(slice(0, n) for n in self.idx.shape)] if src.ndim else src
        if self.add:
            xp.add.at(out, full, s)
        else:
            out[full] = s
        self.src_shape = src.shape
        return out

    def backward(self, g):
        if not self.add or self._next[1] is not None:  # scatter_add's self grad: no index
            check_guard(self)
        ga = g if self.add else IndexFill.apply(g, key=_along_axis_index(self.idx, self.dim))
        if self.src_shape == ():
            return ga, None
        gs = Gather.apply(g, idx=self.idx, dim=self.dim)
        if gs.shape != self.src_shape:
            gs = IndexPutZeros.apply(gs, key=tuple(slice(0, n) for n in gs.shape),
                                     shape=self.src_shape, advanced=False)
        return ga, gs


def _check_scatter_args(a, d, idx, src):
    from .._tensor import Tensor

    if isinstance(src, Tensor) and src.dtype is not a.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if idx.ndim != a.ndim and not (idx.ndim <= 1 and a.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if isinstance(src, Tensor) and src.ndim != idx.ndim and not (src.ndim <= 1 and idx.ndim <= 1):
        if 0 < src.ndim < idx.ndim:  # torch reads src's size at the index's last dim first
            normalize_dim(idx.ndim - 1, src.ndim)
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    for k in range(idx.ndim):
        too_big = (k != d and k < a.ndim and idx.shape[k] > a.shape[k]) or (
            isinstance(src, Tensor) and src.ndim and idx.shape[k] > src.shape[k])
        if too_big:
            sshape = list(src.shape) if isinstance(src, Tensor) else []
            raise RuntimeError(
                f"Expected index {list(idx.shape)} to be no larger than self {list(a.shape)} "
                f"apart from dimension {d} and to be no larger size than src {sshape}"
            )


def scatter(a, dim, index, src=None, value=None, reduce=None):
    from .._tensor import Tensor
    from ._util import cast

    if src is None:
        src = value
    if type(dim) is not int or type(index) is not Tensor or \
            (type(src) is not Tensor and type(src) is not float and type(src) is not int):
        dim = scatter_call(dim, index, src)
    d = normalize_dim(dim, a.ndim)
    if not isinstance(src, Tensor) and index._data.size == 0:  # nothing written: not converted
        src = 0
    _check_scatter_args(a, d, index._data, src)
    if reduce is not None:
        return _scatter_reduce(a, d, index, src, reduce)
    idx = _check_index(a, d, index, "scatter")
    name = "ScatterBackward0" if isinstance(src, Tensor) and src.ndim else "ScatterBackward1"
    if not isinstance(src, Tensor):  # a Python value converts as masked_fill's (ints wrap)
        src = Tensor._make(xp.asarray(_fill_value(src, a._data.dtype)))
    src = cast(src, a.dtype)
    return guard_index(Scatter.apply(a, src, idx=idx, dim=d, add=False, _name=name), index)


def _scatter_reduce(a, d, index, src, reduce):
    """``scatter(..., reduce='add'|'multiply')``: forward only, as in torch."""
    from .._tensor import Tensor
    from ..autograd.grad_mode import is_grad_enabled

    ufunc = {"add": xp.add, "multiply": xp.multiply}.get(reduce)
    if ufunc is None:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce!r}")
    if isinstance(src, Tensor):  # torch's TORCH_WARN_ONCE (a Python value is not deprecated)
        from .._warn_once import warn_once

        warn_once("scatter-reduce-src", "The reduce argument of torch.scatter with Tensor src is "
                  "deprecated and will be removed in a future PyTorch release. Use "
                  "torch.scatter_reduce instead for more reduction options.")
    if is_grad_enabled() and (a.requires_grad or getattr(src, "requires_grad", False)):
        raise RuntimeError("derivative for scatter with reduce is not implemented; "
                           "use scatter_add for a differentiable sum")
    idx = _check_index(a, d, index, "scatter")
    out = a._data.copy()
    s = src._data if isinstance(src, Tensor) else xp.asarray(src, a._data.dtype)
    if s.ndim:
        s = s[tuple(slice(0, n) for n in idx.shape)]
    ufunc.at(out, _along_axis_index(idx, d), s)
    return Tensor._make(out)


def scatter_add(a, dim, index, src):
    if type(dim) is not int:
        dim = int_arg(dim, "scatter_add", "dim", 1)
    d = normalize_dim(dim, a.ndim)
    idx = _check_index(a, d, index, "scatter_add")
    _check_scatter_args(a, d, idx, src)
    return guard_index(Scatter.apply(a, src, idx=idx, dim=d, add=True, _name="ScatterAddBackward0"),
                       index)


def broadcast_shapes(a, b):
    """The broadcast of shapes ``a`` and ``b``, or torch's RuntimeError naming the sizes."""
    from ._util import check_broadcast  # torch's check: the trailing mismatch is named

    a, b = tuple(a), tuple(b)
    check_broadcast(a, b)
    return tuple(int(n) for n in xp.broadcast_shapes(a, b))


def _fill_value(v, dt):
    """``v`` in dtype ``dt`` as torch converts it: ints wrap, out-of-range floats are refused."""
    if dt.kind in "iu" and not isinstance(v, bool):
        if isinstance(v, int):
            return xp.asarray(v).astype(dt)[()]
        info = xp.iinfo(dt)
        if not info.min <= v <= info.max:
            raise RuntimeError(f"value cannot be converted to type {dt.name}_t without overflow")
    return dt.type(v)


def one_hot(t, num_classes=-1):
    from .._tensor import Tensor

    d = t._data
    if d.dtype != xp.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if not d.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(d.max()) + 1
    if d.size and (d.min() < 0 or d.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if d.min() >= 0
                           else "Class values must be non-negative.")
    out = (d[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._make(out)


def nonzero(a, as_tuple=False):
    if isinstance(a._data, _vmap.BatchedArray):  # inside vmap: a dynamic shape
        _vmap.refuse_dynamic("nonzero_numpy" if as_tuple else "nonzero", a._data)
    return nonzero_unchecked(a, as_tuple)


def nonzero_unchecked(a, as_tuple=False):
    """``nonzero`` without vmap's refusal (``argwhere``, which torch's vmap runs per entry)."""
    from .._tensor import Tensor

    data = a._data
    if as_tuple:  # a 0-d input counts as 1-d here, as in torch
        return tuple(Tensor._make(x.astype(xp.int64)) for x in xp.nonzero(xp.atleast_1d(data)))
    if data.ndim == 0:
        return Tensor._make(xp.zeros((int(bool(data)), 0), xp.int64))
    return Tensor._make(xp.stack(xp.nonzero(data), axis=1).astype(xp.int64))

"""Sparse COO tensors (``torch.sparse_coo_tensor``, ``layout=torch.sparse_coo``).

``SparseCooTensor`` is a ``Tensor`` subclass, so ``isinstance(adj, torch.Tensor)`` holds as in
torch, but it has no dense array: its ``_data`` raises torch's "not supported on the SparseCPU
backend" ``NotImplementedError``, so a dense op handed a sparse tensor fails loudly instead of
computing on something else. It holds

* ``_struct``: a :class:`_Structure` - the int64 indices ``(sparse_dim, nnz)``, the shape and
  the plans built from the indices on first use (the row order of a product, the coalesced
  pattern). Tensors with the same indices share it (``S * 2``, ``S.double()``, ``S.detach()``),
  so a graph program builds its adjacency's plans once;
* ``_vals``: a dense gradstep Tensor ``(nnz, *dense sizes)`` that carries autograd.

Autograd flows through the values: every sparse op is a dense op or a Node on ``_vals``. A
sparse leaf (``requires_grad=True``) is a graph leaf of its own: its ``_vals`` hang off a
``LeafValues`` node, which turns their gradient (one per stored entry; the duplicates of a
position all get the position's) into a sparse gradient on the coalesced pattern and hands
it to the leaf's own ``AccumulateGrad``. So ``S.grad``, hooks on ``S`` and
``autograd.grad(out, S)`` see a sparse tensor (``autograd.grad`` gives it flagged coalesced,
``.grad`` unflagged, as torch's accumulator does when it takes the tensor over).
``torch.mm``/``matmul``/``@`` with a sparse leaf give it a dense gradient over every position
instead, as torch does (see ``_sparse_ops._spmm``). The engine's rules for sparse gradients
(``.grad`` accumulation, dense + sparse) are in ``_sparse_grad.py``.

Indices are checked at construction (negative, or past the given size), with torch's
``check_invariants=True`` messages: torch skips the check by default and reads out of bounds.
The products, sums and coalescing live in ``_sparse_ops.py``; ``torch.sparse`` in ``sparse/``.
"""

from __future__ import annotations

from . import backend as B
from ._device import check_device
from ._layout import sparse_coo, strided
from ._tensor import Size, Tensor
from ._tensor_device import parse_to
from .autograd.function import Node
from .autograd.grad_mode import _GradState
from .backend import xp

UNSUPPORTED = (
    "Could not run this operation with arguments from the 'SparseCPU' backend. gradstep's "
    "sparse COO tensors support coalesce, to_dense, t/transpose, sum, mul/div by a scalar, "
    "neg, add of sparse tensors and sparse-dense matrix products; call .to_dense() first.")
_NO_NUMPY = "can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first."
_FLOAT_ONLY = "Only Tensors of floating point and complex dtype can require gradients"


class _Structure:
    """The indices of sparse tensors and what is derived from them (built on first use)."""

    __slots__ = ("idx", "shape", "coalesced", "_rows", "_unique", "_t")

    def __init__(self, idx, shape, coalesced):
        self.idx = idx  # int64 (sparse_dim, nnz)
        self.shape = tuple(shape)
        self.coalesced = coalesced
        self._rows = self._unique = self._t = None

    @property
    def sparse_dim(self):
        return self.idx.shape[0]

    @property
    def nnz(self):
        return self.idx.shape[1]

    def row_plan(self):
        """For a matrix: (order or None, segment starts, rows of the segments, columns in
        row order). ``order`` sorts the entries by row (None when they already are)."""
        if self._rows is None:
            rows, cols = self.idx[0], self.idx[1]
            order = None
            if rows.size > 1 and not (rows[1:] >= rows[:-1]).all():
                order = xp.argsort(rows, kind="stable")
                rows, cols = rows[order], cols[order]
            starts = _segment_starts(rows[None])
            self._rows = (order, starts, rows[starts], cols)
        return self._rows

    def unique_plan(self):
        """(order, segment starts, unique indices, segment of each entry): the coalesced
        pattern. ``order`` sorts the entries lexicographically (stable, as torch's)."""
        if self._unique is None:
            idx = self.idx
            order = xp.lexsort(idx[::-1]) if idx.shape[0] else xp.arange(idx.shape[1])
            ordered = idx[:, order]
            starts = _segment_starts(ordered)
            seg_sorted = xp.cumsum(xp.isin(xp.arange(ordered.shape[1]), starts)) - 1
            seg = xp.empty_like(seg_sorted)
            seg[order] = seg_sorted
            self._unique = (order, starts, ordered[:, starts], seg)
        return self._unique

    def transposed(self, d0, d1):
        """The structure with sparse dims ``d0`` and ``d1`` swapped (plans of a 2-D matrix's
        transpose are the ones computed here for its columns, and come back to it)."""
        if (d0, d1) == (0, 1) and self._t is not None:
            return self._t
        perm = list(range(self.sparse_dim))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        shape = list(self.shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        t = _Structure(self.idx[perm], shape, False)
        if (d0, d1) == (0, 1):
            self._t, t._t = t, self
        return t


def _segment_starts(ordered):
    """Where runs of equal columns of ``ordered`` (sparse_dim, n) start."""
    n = ordered.shape[1]
    if n == 0:
        return xp.zeros(0, xp.int64)
    new = xp.ones(n, bool)
    if ordered.shape[0]:
        new[1:] = (ordered[:, 1:] != ordered[:, :-1]).any(axis=0)
    else:
        new[1:] = False
    return xp.flatnonzero(new)


class Rename(Node):
    """The identity on the values, recorded under torch's name for the sparse op
    (``TBackward0``, ``ValuesBackward0``, ...), so ``grad_fn`` reads as in torch."""

    def forward(self, vals):
        return vals

    def backward(self, g):
        return g


def renamed(vals, name):
    """``vals`` behind a ``Rename`` node when it carries history, else a detached alias."""
    if vals._rg and _GradState.enabled:
        return Rename.apply(vals, _name=name)
    return vals.detach()


class LeafValues(Node):
    """The values of a sparse leaf that requires grad (see the module doc): their gradient
    becomes the leaf's sparse gradient, sent to the leaf's ``AccumulateGrad``. It stands
    where torch's graph has that ``AccumulateGrad`` (its name, its ``variable``)."""

    _name = "torch::autograd::AccumulateGrad"

    def __init__(self, leaf):
        self.variable = leaf

    @property
    def _next(self):
        from .autograd.function import _edge

        return (_edge(self.variable),)

    @property
    def _metas(self):
        leaf = self.variable
        return ((tuple(leaf._struct.shape), leaf._vals._data.dtype),)

    def backward(self, g):
        st = self.variable._struct
        if st.coalesced:
            return make(st, g)
        order, starts, unique, _ = st.unique_plan()
        first = g.index_select(0, Tensor._make(order[starts]))  # every copy got the same
        return make(_Structure(unique, st.shape, True), first)


def _make_leaf(s):
    """Make ``s`` a leaf that requires grad (its values hang off a ``LeafValues``)."""
    s._vals = Tensor._make(s._vals._data, True, LeafValues(s))
    return s


def replace_contents(s, struct, vals):
    """Give ``s`` new indices and values in place (``zero_``, ``add_``, ``mul_``): a leaf
    that requires grad stays one."""
    leaf = type(s._vals.grad_fn) is LeafValues
    s._struct, s._vals = struct, vals
    if leaf:
        _make_leaf(s)
    s._vc[0] += 1
    return s


def make(struct, vals):
    """A ``SparseCooTensor`` over ``struct`` with values ``vals`` (a dense Tensor)."""
    t = object.__new__(SparseCooTensor)
    t._struct = struct
    t._vals = vals
    t._vc = [0]
    t._out_nr = 0
    t._acc = t._hooks = t._post_hooks = t._base = t._grad = None
    t._retains_grad = False
    return t


def _ops():
    from . import _sparse_ops

    return _sparse_ops


class SparseCooTensor(Tensor):
    """A sparse tensor in coordinate format (torch's ``layout=torch.sparse_coo``)."""

    __slots__ = ("_struct", "_vals")

    # ------------------------------------------------------------ no dense array
    @property
    def _data(self):
        raise NotImplementedError(UNSUPPORTED)

    def numpy(self, *, force=False):
        raise TypeError(_NO_NUMPY)

    def __array__(self, *args, **kwargs):
        raise TypeError(_NO_NUMPY)

    # ------------------------------------------------------------ attributes
    is_sparse = property(lambda self: True)
    layout = property(lambda self: sparse_coo)

    @property
    def shape(self):
        return Size(self._struct.shape)

    def size(self, dim=None):
        shape = self._struct.shape
        if dim is None:
            return Size(shape)
        from .ops._util import normalize_dim

        return shape[normalize_dim(dim, len(shape))]

    @property
    def dtype(self):
        return self._vals.dtype

    @property
    def ndim(self):
        return len(self._struct.shape)

    def dim(self):
        return len(self._struct.shape)

    ndimension = dim

    def numel(self):
        return Size(self._struct.shape).numel()

    nelement = numel

    def __len__(self):
        if not self._struct.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._struct.shape[0]

    def is_floating_point(self):
        return self._vals.is_floating_point()

    def is_complex(self):
        return self._vals.is_complex()

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to "
                               "Scalar")
        return self.to_dense().item()

    def element_size(self):
        return self._vals.element_size()

    def sparse_dim(self):
        return self._struct.sparse_dim

    def dense_dim(self):
        return self._vals.ndim - 1

    def _nnz(self):
        return self._struct.nnz

    def is_coalesced(self):
        return self._struct.coalesced

    def _coalesced_(self, coalesced):
        self._struct = _Structure(self._struct.idx, self._struct.shape, bool(coalesced))
        return self

    # ------------------------------------------------------------ autograd (through _vals)
    @property
    def _rg(self):
        return self._vals._rg

    @_rg.setter
    def _rg(self, value):
        self._vals._rg = value

    @property
    def grad_fn(self):
        fn = self._vals.grad_fn
        return None if type(fn) is LeafValues else fn

    @grad_fn.setter
    def grad_fn(self, value):
        self._vals.grad_fn = value

    @property
    def requires_grad(self):
        return self._vals._rg

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not self._vals.is_floating_point():
            raise RuntimeError(_FLOAT_ONLY)
        if self.grad_fn is not None:
            return Tensor.requires_grad_(self, requires_grad)  # torch's non-leaf rules
        if requires_grad and not self._vals._rg:
            _make_leaf(self)
        elif not requires_grad and self._vals._rg:
            self._vals = self._vals.detach()
        return self

    @property
    def grad(self):
        """The leaf's gradient: sparse, or dense after ``torch.mm``/``@`` (see module doc)."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError("assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if tuple(value.shape) != self._struct.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if not value.is_sparse or value.dtype is not self.dtype:  # torch: dense is refused
                raise RuntimeError("attempting to assign a gradient to a tensor that has data of "
                                   "a different type")
        self._grad = value

    @property
    def data(self):
        return make(self._struct, self._vals.detach())

    @data.setter
    def data(self, value):
        if not isinstance(value, SparseCooTensor):
            raise RuntimeError("gradstep sets the .data of a sparse tensor to sparse tensors only")
        self._struct, self._vals = value._struct, value._vals.detach()

    def detach(self):
        return make(self._struct, self._vals.detach())

    def detach_(self):
        self._vals.detach_()
        return self

    def clone(self, *, memory_format=None):
        st = self._struct
        return make(_Structure(st.idx.copy(), st.shape, st.coalesced), self._vals.clone())

    # ------------------------------------------------------------ indices and values
    def _indices(self):
        return Tensor._make(self._struct.idx)

    def _values(self):
        return self._vals.detach()

    def indices(self):
        if not self._struct.coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return Tensor._make(self._struct.idx)

    def values(self):
        if not self._struct.coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return renamed(self._vals, "ValuesBackward0")

    # ------------------------------------------------------------ conversion
    def to(self, *args, **kwargs):
        dtype, copy, _ = parse_to(args, kwargs)
        if dtype is None or B.as_dtype(dtype) is self.dtype:
            return self.clone() if copy else self
        return make(self._struct, self._vals.to(dtype))

    def cpu(self, memory_format=None):
        return self

    def to_dense(self, dtype=None, *, masked_grad=None):
        out = _ops().to_dense(self)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        if layout not in (None, sparse_coo):
            raise NotImplementedError(f"gradstep has no {layout} tensors")
        return self

    def coalesce(self):
        return _ops().coalesce(self)

    # ------------------------------------------------------------ in place (optimizers, .grad)
    def zero_(self):
        return _ops().zero_(self)

    def mul_(self, other):
        if isinstance(other, Tensor) and other.ndim:
            raise NotImplementedError("gradstep's sparse mul_ takes a scalar; use "
                                      "S = S * other")
        _ops().check_inplace(self)
        # new values: a ``.data`` alias keeps its own, as torch's
        return replace_contents(self, self._struct, self._vals.detach() * other)

    def add_(self, other, *, alpha=1):
        return _ops().inplace_add_(self, other, alpha)

    __iadd__ = add_

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return _ops().norm(self, p, dim, keepdim, dtype)

    # ------------------------------------------------------------ zero-preserving, coalesced
    def _on_coalesced_values(self, fn):
        """``fn`` of the coalesced values (torch coalesces before these ops)."""
        c = _ops().coalesce(self)
        return make(c._struct, fn(c._vals))

    def pow(self, exponent):
        if isinstance(exponent, Tensor) or exponent <= 0:
            raise NotImplementedError("gradstep's sparse pow takes a positive scalar exponent")
        return self._on_coalesced_values(lambda v: v.pow(exponent))

    __pow__ = pow

    def abs(self):
        return self._on_coalesced_values(lambda v: v.abs())

    def sqrt(self):
        return self._on_coalesced_values(lambda v: v.sqrt())

    def new(self, *args, **kwargs):
        """The legacy ``grad.new(indices, values, size)`` (old optimizers' ``make_sparse``),
        or an empty sparse tensor of the given sizes."""
        if len(args) in (2, 3) and isinstance(args[0], Tensor):
            return sparse_coo_tensor(*args, **kwargs)
        sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        return empty_sparse(sizes or (0,), self.dtype)

    # ------------------------------------------------------------ shape
    def t(self):
        st = self._struct
        if st.sparse_dim > 2 or self.dense_dim():
            raise RuntimeError(
                f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                f"{st.sparse_dim} sparse and {self.dense_dim()} dense dimensions")
        if st.sparse_dim < 2:
            return self
        return make(st.transposed(0, 1), renamed(self._vals, "TBackward0"))

    def transpose(self, dim0, dim1):
        return _ops().transpose(self, dim0, dim1)

    swapaxes = swapdims = transpose

    # ------------------------------------------------------------ arithmetic and products
    def mul(self, other):
        return _ops().mul(self, other)

    __mul__ = __rmul__ = multiply = mul

    def div(self, other, *, rounding_mode=None):
        return _ops().div(self, other, rounding_mode)

    __truediv__ = divide = true_divide = div

    def neg(self):
        return make(self._struct, -self._vals)

    __neg__ = negative = neg

    def add(self, other, *, alpha=1):
        return _ops().add(self, other, alpha)

    __add__ = add

    def sub(self, other, *, alpha=1):
        return _ops().add(self, other, -alpha)

    __sub__ = subtract = sub

    def __radd__(self, other):  # dense + sparse: a dense tensor, as torch's
        return other + self.to_dense()

    def __rsub__(self, other):
        return other - self.to_dense()

    def sum(self, dim=None, keepdim=False, dtype=None):
        if keepdim:
            raise RuntimeError("keepdim=True is not supported for sparse tensors")
        return _ops().sparse_sum(self, dim, dtype=dtype)

    def mm(self, mat2):
        return _ops().mm(self, mat2)

    def matmul(self, other):
        return _ops().matmul(self, other)

    __matmul__ = matmul

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    # ------------------------------------------------------------ copies and printing
    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        new = self.clone().detach()
        if self.requires_grad:
            _make_leaf(new)
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        st = self._struct
        return (_rebuild, (st.idx, self._vals._data, st.shape, st.coalesced, self._vals._rg))

    def __repr__(self):
        from ._sparse_ops import sparse_repr

        return sparse_repr(self)


def from_validated_parts(idx, vals, shape, coalesced):
    """A sparse tensor over int64 ``idx`` (sparse_dim, nnz) and the dense Tensor ``vals``, whose
    invariants the caller has checked (the checkpoint loaders: ``_checkpoint_sparse.py``).
    Nothing is copied or checked again; ``vals`` becomes the tensor's values as it is."""
    return make(_Structure(idx, shape, coalesced), vals)


def _rebuild(idx, vals, shape, coalesced, rg):
    out = make(_Structure(idx, shape, coalesced), Tensor._make(vals))
    return _make_leaf(out) if rg else out


# ---------------------------------------------------------------- construction
def _index_array(indices):
    if isinstance(indices, SparseCooTensor):
        raise TypeError("indices must be a dense tensor")
    arr = indices._data if isinstance(indices, Tensor) else xp.asarray(indices)
    if arr.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(arr.shape)}")
    return arr if arr.dtype == xp.int64 else arr.astype(xp.int64)


def _values_tensor(values, dtype):
    from ._creation import tensor

    if isinstance(values, SparseCooTensor):
        raise TypeError("values must be a dense tensor")
    if not isinstance(values, Tensor):
        return tensor(values, dtype=dtype)
    if dtype is not None and B.as_dtype(dtype) is not values.dtype:
        return values.to(dtype)
    return values


def _check_indices(idx, size):
    """torch's invariant checks (negative index; index past the size): see the module doc."""
    if not idx.size:
        return
    low = idx.min(axis=1)
    for d, v in enumerate(low.tolist()):
        if v < 0:
            raise RuntimeError(f"found negative index {v} for dim {d}")
    if size is None:
        return
    high = idx.max(axis=1)
    for d, (m, s) in enumerate(zip(high.tolist(), size)):
        if m >= s:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {s} "
                               f"but found index {m}")


def _full_size(idx, vals, size):
    """The tensor's shape: ``size`` checked against indices and values, or inferred."""
    sd, nnz = idx.shape
    if size is None:
        sparse = (idx.max(axis=1) + 1).tolist() if nnz else [0] * sd
        return tuple(sparse) + tuple(vals.shape[1:])
    size = tuple(int(s) for s in size)
    if len(size) != sd + vals.ndim - 1:
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
                           f"{len(size)}, sparse_dim = {sd}, dense_dim = {vals.ndim - 1}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: "
                           f"{list(size)}")
    if tuple(vals.shape[1:]) != size[sd:]:
        raise RuntimeError(f"values has incorrect size, expected {[nnz, *size[sd:]]}, got "
                           f"{list(vals.shape)}")
    return size


def _is_size(x):
    return isinstance(x, (tuple, list)) and all(
        isinstance(s, int) and not isinstance(s, bool) for s in x)


def empty_sparse(size, dtype=None):
    """An all-zero sparse tensor of ``size`` (sparse_dim = len(size), nnz = 0)."""
    dt = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    idx = xp.zeros((len(size), 0), xp.int64)
    return make(_Structure(idx, size, True), Tensor._make(xp.zeros((0,), dt.np)))


def sparse_coo_tensor(indices, values=None, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None,
                      is_coalesced=None):
    """torch.sparse_coo_tensor: ``(indices, values[, size])`` or ``(size)`` for an empty one."""
    check_device(device)
    if values is None:
        if not _is_size(indices):
            raise TypeError("sparse_coo_tensor() missing required argument 'values'")
        out = empty_sparse(tuple(indices), dtype)
        return out.requires_grad_(requires_grad) if requires_grad else out
    idx = _index_array(indices)
    vals = _values_tensor(values, dtype)
    if vals.ndim == 0:
        raise RuntimeError("values must have at least one dimension (nnz)")
    if idx.shape[1] != vals.shape[0]:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{idx.shape[1]}, nnz from values: {vals.shape[0]}")
    shape = _full_size(idx, vals, size)
    _check_indices(idx, size)
    coalesced = idx.shape[1] <= 1 if is_coalesced is None else bool(is_coalesced)
    if requires_grad and not vals.is_floating_point():
        raise RuntimeError(_FLOAT_ONLY)
    v = renamed(vals, "SparseCooTensorWithDimsAndTensorsBackward0")
    out = make(_Structure(idx, shape, coalesced), v)
    return _make_leaf(out) if requires_grad and v.grad_fn is None else out


def dense_to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """``Tensor.to_sparse()``: the non-zero entries (slabs, for a hybrid ``sparse_dim``) of a
    dense tensor, coalesced; differentiable to the dense tensor (``ToSparseBackward0``)."""
    if layout not in (None, sparse_coo):
        raise NotImplementedError(f"gradstep has no {layout} tensors; use layout=torch.sparse_coo")
    arr = self._data
    sd = arr.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 <= sd <= arr.ndim:
        raise RuntimeError(f"sparse_dim must be in [0, {arr.ndim}], got {sd}")
    mask = arr != 0
    if sd < arr.ndim:
        mask = mask.any(axis=tuple(range(sd, arr.ndim)))
    if sd == 0:
        idx = xp.zeros((0, 1), xp.int64)
        vals = self.reshape((1,) + tuple(arr.shape))
    else:
        idx = xp.stack(xp.nonzero(mask)).astype(xp.int64, copy=False)
        vals = self[tuple(Tensor._make(r) for r in idx)]
    name = "ToSparseBackward1" if sparse_dim is None else "ToSparseBackward0"  # torch's names
    return make(_Structure(idx, arr.shape, True), renamed(vals, name))


def _dense_to_dense(self, dtype=None, *, masked_grad=None):
    return self if dtype is None else self.to(dtype)


def _dense_coalesce(self):
    raise RuntimeError("coalesce expected sparse coordinate tensor layout but got Strided")


def _dense_is_coalesced(self):
    raise RuntimeError("is_coalesced expected sparse coordinate tensor layout but got Strided")


def _dense_indices(self):
    raise RuntimeError("indices expected sparse coordinate tensor layout but got Strided")


def _dense_values(self):
    raise RuntimeError("values expected sparse tensor layout but got Strided")


def bind():
    """Methods dense tensors have for sparse code: ``layout``, ``to_sparse``, ``to_dense``,
    and torch's errors for ``indices()``/``values()`` of a dense tensor."""
    Tensor.indices, Tensor.values = _dense_indices, _dense_values
    Tensor.layout = property(lambda self: strided)
    Tensor.to_sparse = Tensor.to_sparse_coo = dense_to_sparse
    Tensor.to_dense = _dense_to_dense
    Tensor.coalesce = _dense_coalesce
    Tensor.is_coalesced = _dense_is_coalesced
    Tensor.sparse_dim = lambda self: 0
    Tensor.dense_dim = lambda self: self.ndim
    Tensor.sparse_mask = lambda self, mask: _ops().sparse_mask(self, mask)

"""Sparse COO tensors and layouts in checkpoints: checked before they are built, written as torch writes them.

torch pickles a sparse COO tensor as ``_rebuild_sparse_tensor(layout, (indices, values, size,
is_coalesced))`` and a layout as ``torch.serialization._get_layout("torch.sparse_coo")``. torch's
loader builds the tensor unchecked and validates it afterwards only where
``torch.sparse.check_sparse_tensor_invariants`` is enabled (off by default: a bad index is then
read out of bounds later). gradstep always checks, before it builds anything, what torch's
``_validate_sparse_coo_tensor_args`` and constructor check, with their messages:

* indices: a dense int64 tensor of shape (sparse_dim, nnz) (torch.save writes int64; torch's
  Python constructor would convert other dtypes, a loader refuses them), every index in
  ``[0, size[d])``;
* values: a dense tensor of shape (nnz, *size[sparse_dim:]) - a sparse one (sparse in sparse)
  is refused;
* size: non-negative ints whose product fits in int64 (torch's numel rule);
* ``is_coalesced=True`` only for indices that are sorted and unique, as torch checks.

Nothing is densified or copied: a (2**31, 2**31) tensor with one entry costs one entry. The
checks take time and scratch memory linear in the indices, which the loader charges to the
pickle's memory bound (:func:`rebuild_sparse`), so stride-0 views of a few stored bytes cannot
make them huge. :mod:`gradstep._gs_format` uses :func:`checked_sparse` for its own sparse entries.
"""

from __future__ import annotations

import numpy as np

from . import _layout
from ._brief import brief
from ._pickle_globals import check_ints, describe
from ._sparse_coo import SparseCooTensor, from_validated_parts
from ._tensor import Size, Tensor
from .serialization import CheckpointError

_I64 = 2**63 - 1
_TORCH_NAMES = {f"torch.{name}": lay for name, lay in _layout.LAYOUTS.items()}  # str(layout) in torch


# ---------------------------------------------------------------- checks
def _check_shapes(idx, vals_shape, size):
    """The constructor's checks: index dtype and shape, nnz, len(size), sizes, numel, dense sizes."""
    if idx.dtype != np.int64:
        raise CheckpointError(f"sparse tensor indices must be an int64 tensor (torch.save writes int64), "
                              f"got {idx.dtype}")
    if idx.ndim != 2:
        raise CheckpointError(f"indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    sparse_dim, nnz = idx.shape
    if not vals_shape:
        raise CheckpointError("sparse tensor values must have at least one dimension (nnz)")
    if vals_shape[0] != nnz:
        raise CheckpointError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, "
                              f"nnz from values: {vals_shape[0]}")
    if len(size) != sparse_dim + len(vals_shape) - 1:
        raise CheckpointError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                              f"sparse_dim = {sparse_dim}, dense_dim = {len(vals_shape) - 1}")
    if any(s < 0 for s in size):
        raise CheckpointError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    numel = 1
    for s in size:
        numel *= s
        if numel > _I64:
            raise CheckpointError(f"sparse tensor of size {list(size)}: numel: integer multiplication overflow")
    if tuple(vals_shape[1:]) != tuple(size[sparse_dim:]):
        raise CheckpointError(f"values has incorrect size, expected {[nnz, *size[sparse_dim:]]}, "
                              f"got {list(vals_shape)}")


def _check_bounds(idx, size):
    """Every index in ``[0, size[d])`` (torch's messages, first failing dim)."""
    sparse_dim, nnz = idx.shape
    if not (sparse_dim and nnz):
        return
    low, high = idx.min(axis=1).tolist(), idx.max(axis=1).tolist()
    for d in range(sparse_dim):
        if low[d] < 0:
            raise CheckpointError(f"found negative index {low[d]} for dim {d}")
        if high[d] >= size[d]:
            raise CheckpointError(f"size is inconsistent with indices: for dim {d}, size is {size[d]} "
                                  f"but found index {high[d]}")


def _is_sorted_unique(idx):
    """Whether the columns of ``idx`` are strictly increasing lexicographically (coalesced order).

    Compared column to column, not through torch's flattened index, which overflows int64 for
    large sizes; the differences of indices in ``[0, size)`` cannot overflow.
    """
    sparse_dim, nnz = idx.shape
    if nnz <= 1:
        return True
    diff = idx[:, 1:] - idx[:, :-1]
    changed = diff != 0
    first = changed.argmax(axis=0)  # the first dim where neighbours differ (0 where none does)
    return bool((changed.any(axis=0) & (diff[first, np.arange(nnz - 1)] > 0)).all())


def checked_sparse(idx, values, size, coalesced):
    """A sparse tensor from parts a file gave: int64 array ``idx``, dense Tensor ``values``, ints
    ``size``, and ``coalesced`` (True, False or None: coalesced when nnz <= 1, as in torch)."""
    size = check_ints(size, "sparse tensor size", -(2**63), _I64)
    _check_shapes(idx, tuple(values.shape), size)
    _check_bounds(idx, size)
    if coalesced and not _is_sorted_unique(idx):
        raise CheckpointError("cannot set is_coalesced to true if indices correspond to uncoalesced COO tensor")
    if coalesced is None:
        coalesced = idx.shape[1] <= 1
    # a fresh alias of the values' data (no copy); a leaf that requires grad is made by requires_grad_
    sparse = from_validated_parts(idx, Tensor._make(values._data), size, coalesced)
    return sparse.requires_grad_(True) if values.requires_grad else sparse


def _dense(x, what):
    if isinstance(x, SparseCooTensor):
        raise CheckpointError(f"expected {what} to be a dense tensor, but got {what} of layout Sparse "
                              "(a sparse tensor nested in a sparse tensor)")
    if not isinstance(x, Tensor):
        raise CheckpointError(f"sparse tensor {what} must be a tensor, got {describe(x)}")
    return x


# ---------------------------------------------------------------- torch's globals
def get_layout(u, args):
    """``torch.serialization._get_layout(name)``: the layout named ``str(torch.<layout>)``."""
    if len(args) != 1 or type(args[0]) is not str:
        raise CheckpointError("torch.serialization._get_layout takes one string")
    layout = _TORCH_NAMES.get(args[0])
    if layout is None:
        raise CheckpointError(f"unknown layout {brief(args[0])}; torch's are {', '.join(_TORCH_NAMES)}")
    return layout


def rebuild_sparse(u, args):
    """``torch._utils._rebuild_sparse_tensor(layout, data)`` for the sparse COO layout.

    The indices and values are charged to the unpickler's memory bound by their logical size:
    checking them reads every element, and a stride-0 view of one stored element could
    otherwise claim 2**40 indices.
    """
    if len(args) != 2 or not isinstance(args[0], _layout.layout) or type(args[1]) is not tuple:
        raise CheckpointError("torch._utils._rebuild_sparse_tensor takes a layout and a tuple")
    layout, data = args
    if layout is not _layout.sparse_coo:
        raise CheckpointError(f"this checkpoint holds a tensor of layout torch.{layout._name}, which gradstep "
                              "does not support (it has sparse COO tensors); convert it in torch before saving "
                              "(t.to_sparse_coo() or t.to_dense())")
    if len(data) not in (3, 4):
        raise CheckpointError(f"a sparse COO tensor is (indices, values, size[, is_coalesced]), got {len(data)} items")
    indices, values = _dense(data[0], "indices"), _dense(data[1], "values")
    coalesced = data[3] if len(data) == 4 else None
    if coalesced is not None and type(coalesced) is not bool:
        raise CheckpointError(f"sparse tensor is_coalesced must be a bool or None, got {describe(coalesced)}")
    u.charge(3 * indices.numel() * indices.element_size() + values.numel() * values.element_size())
    return checked_sparse(indices._data, values, data[2], coalesced)


# ---------------------------------------------------------------- writing (torch's zip format)
def write_layout(w, layout):
    """A layout as torch pickles it: ``_get_layout("torch.<name>")``."""
    w.global_("torch.serialization", "_get_layout")
    w.obj(f"torch.{layout._name}")
    w.w(b"\x85R")  # TUPLE1, REDUCE


def write_sparse(w, t):
    """A sparse COO tensor as torch writes it (its values without requires_grad, as torch's)."""
    if id(t) in w.memo:  # saved before: the same object on load
        w.w(b"j" + w.memo[id(t)].to_bytes(4, "little"))
        return
    st = t._struct
    w.keep.append(t)
    w.global_("torch._utils", "_rebuild_sparse_tensor")
    write_layout(w, _layout.sparse_coo)
    w.w(b"(")
    w.obj(Tensor._make(st.idx))
    w.obj(t._vals.detach())
    w.obj(Size(st.shape))
    w.obj(bool(st.coalesced))
    w.w(b"t\x86R")  # TUPLE (data), TUPLE2 (layout, data), REDUCE
    w._put(id(t))

"""Sparse gradients in the backward engine: torch's rules, called only where a gradient or a
``.grad`` is a sparse COO tensor (``embedding(sparse=True)``, sparse leaves).

The engine (``autograd/engine.py``) reads ``g._data`` of every gradient it routes; a sparse
tensor has none and raises ``NotImplementedError`` there (see ``_sparse_coo``), and the engine
hands that case to these functions inside ``except`` clauses. A dense pass never gets here:
a ``try`` costs nothing until something raises (Python 3.11+; on 3.10, one opcode).

The rules, torch's (``InputBuffer::accumulate`` and ``AccumulateGrad::accumulateGrad``):

* a sparse gradient stays sparse only on its way into a leaf's ``AccumulateGrad``; another
  node (the weight of an embedding was computed, ``w * 2``) gets its dense form (torch sends
  it sparse; the dense form holds the same numbers, and gradstep's nodes take dense ones);
* two gradients of one tensor add up: sparse + sparse stays sparse (``_sparse_ops.add``),
  anything with a dense one is dense;
* into ``.grad``: a first sparse gradient is stored (its values copied when someone else
  holds them); sparse into sparse adds in place (the same ``.grad`` object, as torch's
  ``+=``); sparse into a dense ``.grad`` adds in place; dense into a sparse ``.grad`` makes
  a new dense ``.grad``; under ``create_graph`` every sum is a new tensor with history.
"""

from __future__ import annotations

from . import _sparse_ops
from ._sparse_coo import SparseCooTensor, _Structure, make
from ._tensor import Tensor
from .autograd.function import AccumulateGrad


def route(g, nxt, shape, dtype):
    """A sparse gradient ``g`` on its way to node ``nxt`` whose input has ``shape``/``dtype``."""
    if tuple(g.shape) != tuple(shape):
        raise RuntimeError(f"Function returned an invalid gradient - got {list(g.shape)} but "
                           f"expected shape compatible with {list(shape)}")
    if g._vals._data.dtype != dtype:
        from .backend import from_numpy_dtype

        g = g.to(from_numpy_dtype(dtype))
    return g if type(nxt) is AccumulateGrad else g.to_dense()


def add(a, b):
    """Two gradients of one tensor, at least one sparse: torch's ``InputBuffer`` sum."""
    if isinstance(a, SparseCooTensor) and not isinstance(b, SparseCooTensor):
        return b + a  # dense + sparse: dense (torch never adds dense into sparse)
    return a + b


def accumulate(cur, g, handed_out, create_graph):
    """The new ``.grad`` after ``g`` arrives at a leaf whose ``.grad`` is ``cur`` (either sparse)."""
    if cur is None:
        return _own(g, handed_out, create_graph)
    if create_graph or cur._rg:
        return add(cur, g)
    if isinstance(cur, SparseCooTensor):
        if not isinstance(g, SparseCooTensor):
            return g + cur  # torch: a sparse .grad plus a dense gradient is a new dense one
        return _sparse_ops.inplace_add_(cur, g.detach())
    return _sparse_ops.add_dense_sparse_(cur, g)


def _own(g, handed_out, create_graph):
    """``g`` as a first ``.grad``: values nobody else holds. torch takes the gradient over
    when nothing else refers to it, rebuilding it unflagged (coalesced only with nnz <= 1):
    ``S.grad`` after ``torch.sparse.mm`` reads uncoalesced where ``autograd.grad`` gives the
    same tensor flagged coalesced. (torch clones, flag kept, where the gradient is referred
    to elsewhere: after ``torch.sparse.sum``, ``coalesce`` or ``S + S`` its ``.grad`` stays
    flagged; gradstep's is not.)"""
    if not isinstance(g, SparseCooTensor):  # a dense gradient for a sparse leaf (torch.mm)
        from .autograd.engine import _owned

        return _owned(g, handed_out, create_graph, "torch::autograd::CopyBackwards")
    st = g._struct
    if st.coalesced and st.nnz > 1:
        st = _Structure(st.idx, st.shape, False)
    if create_graph:
        return make(st, g._vals.clone())
    v = g._vals._data
    if v.base is not None or id(v) in handed_out or not v.flags.writeable:
        v = v.copy()
    handed_out.add(id(v))
    return make(st, Tensor._make(v))

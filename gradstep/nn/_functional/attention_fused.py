"""``scaled_dot_product_attention`` as one graph node, on raw arrays.

The Tensor-op composition in ``attention.py`` (matmul, scale, mask, safe softmax,
matmul) records five nodes, makes a fresh scores-sized array at each and runs each
backward through the Tensor layer. ``Attention`` does the same operations in the same
order on arrays: the scale, the additive mask and the softmax run in place over blocks
of rows of the scores while a block is still in cache (``gradstep.ops._rowwise``), and the
backward is four products and one softmax backward. The numbers are the composition's:
the same products of the same operands, the same roundings (bit for bit with OpenBLAS; a
BLAS may pick another kernel for another output layout, so the tests allow a product's
rounding).

It is used where the composition would give the same graph semantics: float32/float64
inputs with equal batch dims, and no gradient wanted for a float mask. Dropout draws its
mask as the composition's ``dropout`` does, so a seeded run gives the same numbers.
Under ``create_graph=True`` its backward is built from Tensor ops, so gradients of any
order are available. Like torch's CPU kernel, its ``grad_fn`` is
``ScaledDotProductFlashAttentionForCpuBackward0``.
"""

from __future__ import annotations

from ... import _parallel
from ...autograd.function import Node
from ...autograd.grad_mode import _GradState
from ...backend import xp
from ...ops import _rowwise
from ...ops._util import matmul_arrays, tensor_cls
from .dropout import _mask as _dropout_mask

_FLOATS = ("float32", "float64")


def usable(query, key, value, attn_mask, bias):
    """Whether ``Attention`` computes what the Tensor-op composition would, graph included.

    ``bias`` is the additive mask as a raw array: a float ``attn_mask``'s data, or the one
    made from a bool mask or ``is_causal`` (None if none).
    """
    if query.dtype.name not in _FLOATS or query.ndim < 2:
        return False
    if not (query._data.size and key._data.size):
        return False  # empty scores: the composition handles them (zeros where S is 0)
    if not (query.shape[:-2] == key.shape[:-2] == value.shape[:-2]):
        return False  # batch dims that broadcast: the composition's matmul handles them
    if attn_mask is not None and attn_mask.requires_grad:
        return False  # a float mask's gradient comes from the composition
    scores = tuple(query.shape[:-1]) + (key.shape[-2],)
    if bias is None:
        return True
    try:  # a mask that widens the scores, or does not fit them: the composition's result or error
        return bias.ndim <= len(scores) and xp.broadcast_shapes(bias.shape, scores) == scores
    except ValueError:
        return False


def torch_name(query, dropout_p):
    """The grad_fn torch's CPU ``scaled_dot_product_attention`` gives: its flash kernel's for
    4-D inputs without dropout, else the last node of its math path (a view of a matmul)."""
    if query.ndim == 4 and dropout_p == 0:
        return "ScaledDotProductFlashAttentionForCpuBackward0"
    return "MmBackward0" if query.ndim == 2 else "UnsafeViewBackward0"


def _first_axis_slicer(bias, scores_shape):
    """``bias`` for rows ``[lo, hi)`` of the scores' first axis (whole when it broadcasts)."""
    if bias is None:
        return lambda lo, hi: None
    if bias.ndim == len(scores_shape) and bias.shape[0] == scores_shape[0]:
        return lambda lo, hi: bias[lo:hi]
    return lambda lo, hi: bias


def _scores_to_weights(s, scale, bias):
    """``softmax(s * scale + bias)`` over the last axis, in place, all ``-inf`` rows to zeros."""
    bias_rows = _first_axis_slicer(bias, s.shape)

    def rows(lo, hi):
        block = s[lo:hi]
        block *= scale
        b = bias_rows(lo, hi)
        if b is not None:
            block += b
        _rowwise.softmax_block(block, block, -1, safe=True)

    _parallel.over_rows(rows, s.shape[0], s.size)
    return s


def _t(a):
    return xp.swapaxes(a, -1, -2)


def _like(q, width):
    """An output laid out in memory like ``q`` (``empty_like``'s order 'K'), last dim ``width``.

    Attention's callers split heads out of a ``(..., L, heads * E)`` projection, so ``q`` is
    a permuted view; an output (and gradients) in the same layout merge the heads back without
    a copy (4 of them a layer in the transformer benchmark, 0.3-0.45 ms each). torch's CPU
    kernel gives its output q's strides too (tested).
    """
    return xp.empty_like(q) if q.shape[-1] == width else None


class Attention(Node):
    """``dropout(softmax(q @ k^T * scale + bias)) @ v``; ``bias`` is a raw additive mask or
    None; ``dropout_p`` the dropout probability (0: none)."""

    _name = "ScaledDotProductFlashAttentionForCpuBackward0"
    saves = (0, 1, 2)

    def forward(self, q, k, v):
        s = matmul_arrays(q, xp.swapaxes(k, -1, -2))
        self.weights = p = _scores_to_weights(s, self.scale, self.bias)
        self.mask = None
        if self.dropout_p:  # the same draw, at the same point, as the composition's dropout
            self.mask = _dropout_mask(p.shape, self.dropout_p, p.dtype)
            p = p * self.mask
        self.dropped = p
        return matmul_arrays(p, v, _like(q, v.shape[-1]))

    def backward(self, g):
        q, k, v = self.saved_tensors
        if _GradState.enabled:  # create_graph: every factor differentiable in q, k, v
            return self._graph_backward(q, k, v, g)
        p, gd, (q, k, v) = self.weights, g._data, (q._data, k._data, v._data)
        need = [e is not None for e in self._next]
        gv = matmul_arrays(_t(self.dropped), gd, xp.empty_like(v)) if need[2] else None
        gq = gk = None
        if need[0] or need[1]:
            gp = matmul_arrays(gd, _t(v))
            if self.mask is not None:
                gp *= self.mask
            gs = _rowwise.softmax_backward(gp, p, -1)
            gs *= self.scale
            if need[0]:
                gq = matmul_arrays(gs, k, xp.empty_like(q))
            if need[1]:
                gk = matmul_arrays(_t(gs), q, xp.empty_like(k))
        T = tensor_cls()
        return tuple(None if a is None else T._make(a) for a in (gq, gk, gv))

    def _graph_backward(self, q, k, v, g):
        from .attention import _SafeSoftmax

        T = tensor_cls()
        s = (q @ k.mT) * self.scale
        if self.bias is not None:
            s = s + T._make(self.bias)
        p = _SafeSoftmax.apply(s, dim=-1)
        gp = g @ v.mT
        dropped = p
        if self.mask is not None:
            mask = T._make(self.mask)
            dropped, gp = p * mask, gp * mask
        gs = p * (gp - (gp * p).sum(dim=-1, keepdim=True)) * self.scale
        return gs @ k, (q.mT @ gs).mT, dropped.mT @ g

    def release(self):
        super().release()
        self.weights = self.dropped = self.mask = None

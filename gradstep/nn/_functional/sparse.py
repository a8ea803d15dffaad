"""``embedding``, ``embedding_bag`` and ``one_hot`` of ``nn.functional``."""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Node
from ...autograd.grad_mode import no_grad
from ...backend import xp
from ...ops._util import dim_index_error, dtype_title
from ...ops.index import one_hot

__all__ = ["embedding", "embedding_bag", "one_hot"]


class Embedding(Node):
    """out = weight[idx]; rows of the gradient for repeated indices accumulate (a dense
    gradient), or stay one entry per index (``sparse``: a sparse COO gradient, torch's)."""

    holds_saved = True  # the indices, as torch saves them
    sparse = False  # embedding(sparse=True) also sets ``pad`` and ``by_freq``

    def forward(self, w):
        self.num = w.shape[0]
        return xp.take(w, self.idx, axis=0)

    def backward(self, g):
        if self.sparse:
            return _sparse_weight_grad(g, self.idx, self.num, self.pad, self.by_freq)
        return EmbeddingGrad.apply(g, idx=self.idx, num=self.num, scale=self.scale)


def _sparse_weight_grad(g, idx, num, pad, by_freq):
    """torch's ``embedding_sparse_backward``: one entry per looked-up index, in input order
    (uncoalesced), the ``padding_idx`` ones left out; the values are ``g``'s rows."""
    if by_freq:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                           "gradients")
    from ..._sparse_coo import _Structure, make

    d = g.shape[-1]
    rows = g.reshape(-1, d)
    flat = idx.reshape(-1)
    if pad is not None:
        keep = xp.flatnonzero(flat != pad)
        if keep.size != flat.size:
            flat, rows = flat[keep], rows.index_select(0, Tensor._make(keep))
    indices = flat[None].astype(xp.int64)
    return make(_Structure(indices, (num, d), flat.size <= 1), rows)


class EmbeddingGrad(Node):
    """Scatter-add the rows of ``g`` into a (num, D) zero gradient; its own adjoint is a gather."""

    holds_saved = True

    def forward(self, g):
        d = g.shape[-1]
        rows = g.reshape(-1, d)
        if self.scale is not None:
            rows = rows * self.scale.reshape(-1, 1)
        out = xp.zeros((self.num, d), g.dtype)
        idx = self.idx.reshape(-1)
        if idx.size:
            # segment sums over the stably sorted indices (faster than add.at; rows that
            # share an index are still added in order of appearance)
            order = xp.argsort(idx, kind="stable")
            uniq, starts = xp.unique(idx[order], return_index=True)
            out[uniq] = xp.add.reduceat(rows[order], starts, axis=0)
        return out

    def backward(self, gg):
        out = Embedding.apply(gg, idx=self.idx, scale=None)
        if self.scale is not None:
            out = out * Tensor._make(self.scale.astype(gg._data.dtype)[..., None])
        return out


def _check_indices(input, num, op="embedding"):  # noqa: A002
    if not isinstance(input, Tensor):
        if op == "embedding":  # torch's F.embedding calls embedding(weight, input, ...)
            from ..._argparse import tensor_error

            raise tensor_error(input, op, "indices", 2)
        raise TypeError(f"{op}(): argument 'indices' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got torch.{dtype_title(input.dtype)}Tensor instead (while checking "
            f"arguments for {op})"
        )
    idx = input._data
    if op == "embedding_bag":
        check_bag_indices(idx, num)
    elif idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise IndexError(
            f"index out of range in self: index {bad} is not in [0, {num}) for an embedding "
            f"with {num} rows"
        )
    return idx


def check_bag_indices(idx, num):
    """The bag kernel's range check: a RuntimeError naming the first bad position."""
    flat = idx.reshape(-1)
    bad = xp.nonzero((flat < 0) | (flat >= num))[0]
    if bad.size:
        raise RuntimeError(f"Index {int(bad[0])} of input takes value {int(flat[bad[0]])} which "
                           f"is not in the valid range [0, {num})")


def check_first_offset(offsets):
    """Bags start at position 0 (an int array of offsets)."""
    if offsets.size and offsets[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(offsets[0])}")


def _padding_index(padding_idx, num):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num


def _renorm_(weight, idx, max_norm, norm_type):
    """Rescale (in place, untracked) the referenced rows whose norm exceeds ``max_norm``."""
    rows = xp.unique(idx)
    w = weight._data
    norms = xp.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        with no_grad():
            w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
            weight._vc[0] += 1


def _grad_scale(idx, padding, by_freq, dtype):
    """Per-index gradient factor: 0 at padding_idx, 1/count with ``scale_grad_by_freq``."""
    if padding is None and not by_freq:
        return None
    scale = xp.ones(idx.shape, dtype)
    if by_freq:
        counts = xp.bincount(idx.reshape(-1))
        scale = scale / counts[idx]
    if padding is not None:
        scale = xp.where(idx == padding, 0, scale).astype(dtype)
    return scale


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer ``input``; ``padding_idx`` rows get no gradient."""
    if weight.ndim == 0 and padding_idx is not None:  # torch reads weight.size(0) first
        raise dim_index_error(0, 0)
    num = weight.shape[0] if weight.ndim else 0
    pad = _padding_index(padding_idx, num)
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    idx = _check_indices(input, num)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    if sparse:
        return Embedding.apply(weight, idx=idx, scale=None, sparse=True, pad=pad,
                               by_freq=scale_grad_by_freq)
    scale = _grad_scale(idx, pad, scale_grad_by_freq, weight._data.dtype)
    return Embedding.apply(weight, idx=idx, scale=scale)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,  # noqa: A002
                  scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sum, mean or max of embedding rows over bags (2-D input, or 1-D input with offsets)."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences.")
        n, length = input.shape
        starts = xp.arange(0, n * length, length)
        flat = input.reshape(-1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        starts = offsets._data.astype(xp.int64)
        check_first_offset(starts)
        if starts.size and starts[-1] > input.shape[0]:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length "
                               f"{input.shape[0]} but got offsets[-1] of {int(starts[-1])}")
        if include_last_offset:
            starts = starts[:-1]
        flat, psw = input, per_sample_weights
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    num = weight.shape[0]
    idx = _check_indices(flat, num, "embedding_bag")
    pad = _padding_index(padding_idx, num)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    bag = xp.zeros(idx.shape, xp.int64)
    bag_ids = xp.searchsorted(starts, xp.arange(idx.size), side="right") - 1
    bag[:] = bag_ids
    keep = xp.ones(idx.shape, bool) if pad is None else idx != pad
    # sparse: the padding entries leave the gradient, as torch's (they are out of every bag)
    rows = embedding(flat, weight, padding_idx=pad if sparse else None,
                     scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    return _reduce_bags(rows, bag, keep, len(starts), mode)


def _reduce_bags(rows, bag, keep, n_bags, mode):
    sel = xp.nonzero(keep)[0]
    members = Tensor._make(sel)
    kept_rows = rows.index_select(0, members) if sel.size != keep.size else rows
    kept_bag = bag[sel]
    if mode == "max":
        empty = rows[:0].sum(0)  # an empty bag's zeros, in the graph as torch's output is
        out = []
        for b in range(n_bags):
            m = kept_bag == b
            out.append(kept_rows[Tensor._make(xp.nonzero(m)[0])].amax(0) if m.any() else empty)
        from ...ops.shape import stack

        return stack(out) if out else empty.unsqueeze(0)[:0]
    onehot = Tensor._make((kept_bag[None, :] == xp.arange(n_bags)[:, None]).astype(rows._data.dtype))
    out = onehot @ kept_rows
    if mode == "mean":
        counts = xp.maximum(onehot._data.sum(1, keepdims=True), 1)
        out = out / Tensor._make(counts)
    return out

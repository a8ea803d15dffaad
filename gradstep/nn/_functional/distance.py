"""``normalize``, ``cosine_similarity``, ``pairwise_distance`` and ``pdist`` of ``nn.functional``."""

from __future__ import annotations

import math

from ...autograd.function import Node
from ...backend import xp

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """input / max(||input||_p along dim, eps)."""
    norm = input.norm(p, dim, keepdim=True).clamp_min(eps)
    return input / norm.expand_as(input)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """<x1 / max(||x1||, eps), x2 / max(||x2||, eps)> along ``dim`` of the broadcast inputs.

    As in torch, the inputs are broadcast first (a 0-d ``x2`` is a vector of equal entries)
    and each norm is clamped in value only, so the gradient flows through the unclamped norm.
    """
    from ...backend import result_type
    from ...ops.index_reduce import broadcast_tensors
    from ...ops.unary import _dtype_title

    common = result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                           + _dtype_title(common))
    x1, x2 = (x if x.is_floating_point() else x.to(common) for x in (x1, x2))
    x1, x2 = broadcast_tensors(x1, x2)
    return ((x1 / _value_clamped_norm(x1, dim, eps)) * (x2 / _value_clamped_norm(x2, dim, eps))
            ).sum(dim)


def _value_clamped_norm(x, dim, eps):
    """||x|| along ``dim`` (kept), raised to ``eps`` in value but not in gradient (torch clamps
    it in place under no_grad)."""
    n = x.norm(2, dim, keepdim=True)
    return n + (eps - n.detach()).clamp_min(0.0)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim (of the broadcast shape), as torch computes it."""
    return (x1 - x2 + eps).norm(p, max(x1.ndim, x2.ndim) - 1, keepdim=keepdim)


def pdist(input, p=2):  # noqa: A002
    """p-norm distances between all pairs of rows i < j of an ``(N, M)`` input (row-major)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    from ..._tensor import Tensor

    i, j = xp.triu_indices(input.shape[0], 1)
    d = input.index_select(0, Tensor._make(i.astype(xp.int64))) - \
        input.index_select(0, Tensor._make(j.astype(xp.int64)))
    out = _MaxAbs.apply(d) if p == math.inf else d.norm(p, 1)
    if p == 0 and d.requires_grad:  # torch: a count of nonzeros whose gradient is zero
        from ...ops.unary import where

        out = out + (where(d.detach().isfinite(), d, 0.0) * 0.0).sum(1)
    return out


class _MaxAbs(Node):
    """max |d| along the last dim: the p = inf distance. As in torch's pdist/cdist kernels, its
    gradient goes in full to every entry that attains the max (amax would split it among ties).
    """

    _name = "PdistBackward0"

    def forward(self, d):
        self.d = d
        self.dist = xp.abs(d).max(axis=-1, initial=0)
        return self.dist

    def backward(self, g):
        from ..._tensor import Tensor

        # torch's mask 1 - min(1, ceil(||d| - dist|)): 1 at the max, NaN there when it is inf
        top = 1 - xp.minimum(1, xp.ceil(xp.abs(xp.abs(self.d) - self.dist[..., None])))
        coef = (xp.sign(self.d) * top).astype(self.d.dtype)
        return g.unsqueeze(-1) * Tensor._make(coef)

"""``normalize``, ``cosine_similarity``, ``pairwise_distance`` and ``pdist`` of ``nn.functional``."""

from __future__ import annotations

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """input / max(||input||_p along dim, eps)."""
    norm = input.norm(p, dim, keepdim=True).clamp_min(eps)
    return input / norm.expand_as(input)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along ``dim`` (broadcasting)."""
    n1 = (x1 * x1).sum(dim).sqrt().clamp(min=eps)
    n2 = (x2 * x2).sum(dim).sqrt().clamp(min=eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim."""
    d = x1 - x2 + eps
    dim = max(x1.ndim, x2.ndim) - 1
    if p == 2.0:
        return (d * d).sum(dim, keepdim=keepdim).sqrt()
    return (d.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p) if p else \
        (d != 0).sum(dim, keepdim=keepdim).to(d.dtype)




def pdist(input, p=2):  # noqa: A002
    """p-norm distances between all pairs of rows i < j of an ``(N, M)`` input (row-major)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    from ..._tensor import Tensor
    from ...backend import xp

    i, j = xp.triu_indices(input.shape[0], 1)
    d = input.index_select(0, Tensor._make(i.astype(xp.int64))) - \
        input.index_select(0, Tensor._make(j.astype(xp.int64)))
    out = d.norm(p, 1)
    if p == 0 and d.requires_grad:  # torch: a count of nonzeros whose gradient is zero
        from ...ops.unary import where

        out = out + (where(d.detach().isfinite(), d, 0.0) * 0.0).sum(1)
    return out

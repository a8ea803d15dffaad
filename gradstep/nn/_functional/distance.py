"""``normalize``, ``cosine_similarity`` and ``pairwise_distance`` of ``nn.functional``."""

from __future__ import annotations

__all__ = ["normalize", "cosine_similarity", "pairwise_distance"]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """input / max(||input||_p along dim, eps)."""
    norm = input.norm(p, dim, keepdim=True).clamp(min=eps)
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



"""``torch._utils``: the helpers of it that published training code imports.

Older distributed and mixed-precision optimizers (apex-style) flatten a list of tensors into
one buffer and back with ``_flatten_dense_tensors`` / ``_unflatten_dense_tensors``.
"""

from __future__ import annotations


def _flatten_dense_tensors(tensors):
    """All of ``tensors`` flattened and concatenated into one new 1-D tensor."""
    from .ops.shape import cat

    return cat([t.reshape(-1) for t in tensors])


def _unflatten_dense_tensors(flat, tensors):
    """Views of ``flat`` shaped like each of ``tensors`` in turn (the inverse of the above)."""
    out, offset = [], 0
    for t in tensors:
        n = t.numel()
        out.append(flat.narrow(0, offset, n).view(t.shape))
        offset += n
    return tuple(out)

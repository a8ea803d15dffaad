"""More margin losses: ``multilabel_margin_loss`` and ``triplet_margin_with_distance_loss``.

Both are composed of Tensor ops (hinges over gathered scores or distances), so
autograd gives torch's (sub)gradients.
"""

from __future__ import annotations

from ..._tensor import Tensor
from ...backend import xp
from ...ops import elementwise as E
from .distance import pairwise_distance
from .loss import _check_reduction, _reduce, legacy_reduction
from .loss_checks import check_multilabel_margin


def _label_masks(target, c):
    """(labels clipped to [0, c), whether label slot j counts, whether class i is a label)."""
    t = target._data
    if t.dtype != xp.int64:  # an empty batch, which torch does not check
        t = t.astype(xp.int64)
    if t.size and (t.min() < -1 or t.max() >= c):
        raise RuntimeError("argument #2 'target' is out of range")
    stop = xp.cumsum(t < 0, axis=-1) > 0  # labels end at the first -1
    valid = ~stop
    labels = xp.where(valid, t, 0)
    is_label = xp.zeros(t.shape, bool)
    rows = xp.arange(t.shape[0])[:, None].repeat(t.shape[1], 1)
    is_label[rows[valid], labels[valid]] = True
    return labels, valid, is_label


def multilabel_margin_loss(input, target, size_average=None, reduce=None,  # noqa: A002
                           reduction="mean"):
    """sum over labels j and non-labels i of max(0, 1 - (x[y_j] - x[i])), divided by C."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    check_multilabel_margin(input, target)
    x = input.reshape(1, -1) if input.ndim < 2 else input
    c = x.shape[1]
    labels, valid, is_label = _label_masks(target.reshape(x.shape), c)
    scores = x.gather(1, Tensor._make(labels.astype(xp.int64)))  # (N, C): x[y_j]
    z = 1 - scores.unsqueeze(2) + x.unsqueeze(1)
    pairs = Tensor._make(valid[:, :, None] & ~is_label[:, None, :])
    # torch's kernel: only label/non-label pairs with z > 0 count (no gradient at 0; a pair
    # that does not count adds nothing, even where an inf made z NaN)
    loss = E.where(pairs & (z > 0), z, 0.0).sum((1, 2)) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) for any distance ``d`` (pairwise L2 by default)."""
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, "
                         f"got {margin} instead")
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
            f"{dims[2]}D inputs")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = E.minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0.0), reduction)


__all__ = ["multilabel_margin_loss", "triplet_margin_with_distance_loss"]

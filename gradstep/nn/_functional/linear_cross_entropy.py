"""``linear_cross_entropy`` (torch 2.13): cross-entropy of ``linear(input, linear_weight)``.

torch computes it either as that composition (``options=None``) or, given
``LinearCrossEntropyOptions``, over chunks of the batch so the ``(N, C)`` logits never exist
at once. gradstep always runs the composition: the options are validated and accepted, and
the values are the same up to the rounding of the reductions. The checks and their texts
are torch's.
"""

from __future__ import annotations

import math
import warnings

from .linear import linear
from .loss import cross_entropy


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,  # noqa: A002
                         reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``; a weight of
    shape ``(C, d_1, ..., d_K, in_features)`` gives a K-dimensional loss."""
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError("expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), got "
            f"{input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    logits_shape = (*batches, classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if options is not None:
        _warn_if_unchunkable(options, out_features, reduction, label_smoothing, target,
                             linear_bias)
    if out_features:
        flat = math.prod(out_features) * classes
        linear_weight = linear_weight.reshape(flat, in_features)
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(flat)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)


def _warn_if_unchunkable(options, out_features, reduction, label_smoothing, target, bias):
    from ...backend import int64

    if (out_features or reduction not in {"mean", "sum", "none"} or label_smoothing != 0.0
            or target.dtype != int64):
        warnings.warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
            "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, "
            f"out_features == (). Got reduction={reduction!r}, label_smoothing={label_smoothing}"
            f", target.dtype={target.dtype}, out_features={tuple(out_features)}, tracing=False"
            f", linear_bias.shape={tuple(bias.shape) if bias is not None else None}.",
            stacklevel=3)

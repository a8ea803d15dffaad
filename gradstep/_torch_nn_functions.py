"""``torch.*`` spellings of ``nn.functional`` ops, with ATen's signatures.

torch exports many layers' functions at top level too, but with the ATen schema's
argument order and types rather than ``nn.functional``'s: ``torch.batch_norm(input,
weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)``,
``torch.embedding(weight, indices, ...)``, losses taking ``reduction`` as an int
(0 none, 1 mean, 2 sum), pooling without ``return_indices``. This table maps them
onto ``nn.functional`` (merged into ``gradstep`` by ``gradstep/__init__.py``).
"""

from __future__ import annotations

from ._torch_embedding_bag import embedding_bag
from .autograd.grad_mode import no_grad as _no_grad
from .nn import functional as F

_REDUCTION = {0: "none", 1: "mean", 2: "sum"}


def _reduction(value):
    if isinstance(value, str):
        return value
    if value not in _REDUCTION:
        raise ValueError(f"{value} is not a valid value for reduction")
    return _REDUCTION[value]


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,  # noqa: A002
               cudnn_enabled):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,  # noqa: A002
                  momentum, eps, cudnn_enabled):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5,  # noqa: A002
               cudnn_enable=True):
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):  # noqa: A002
    return F.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    return F.rms_norm(input, normalized_shape, weight, eps)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    return F.embedding(indices, weight, pad, scale_grad_by_freq=scale_grad_by_freq)


def _pool(fn):
    def pool(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
        return fn(input, kernel_size, stride if stride != () else None, padding, dilation,
                  ceil_mode)

    pool.__name__ = pool.__qualname__ = fn.__name__
    return pool


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1,  # noqa: A002
                            ceil_mode=False):
    return F.max_pool1d(input, kernel_size, stride if stride != () else None, padding, dilation,
                        ceil_mode, return_indices=True)


def adaptive_max_pool1d(input, output_size):  # noqa: A002
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None,  # noqa: A002
                                     reduction=1):
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(
        reduction), pos_weight=pos_weight)


def kl_div(input, target, reduction=1, *, log_target=False):  # noqa: A002
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):  # noqa: A002
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):  # noqa: A002
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        reduction=1):
    from .nn._functional.loss import triplet_margin_loss_unchecked

    return triplet_margin_loss_unchecked(anchor, positive, negative, margin, p, eps, swap,
                                         _reduction(reduction))


def _feature_mask(input, p, train, fn):  # noqa: A002
    """One ``fn`` draw per ``(N, C)`` of an input of rank >= 2, broadcast over the rest."""
    from ._creation import ones

    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return fn(ones((*input.shape[:2], *(1,) * (input.ndim - 2)), dtype=input.dtype), p, train)


def feature_dropout(input, p, train):  # noqa: A002
    return input * _feature_mask(input, p, train, F.dropout) if train and p else input


def feature_dropout_(input, p, train):  # noqa: A002
    return input.mul_(_feature_mask(input, p, train, F.dropout)) if train and p else input


def feature_alpha_dropout(input, p, train):  # noqa: A002
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p, train):  # noqa: A002
    out = F.feature_alpha_dropout(input, p, train)
    if out is input:
        return input
    with _no_grad():
        return input.copy_(out)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1,
             zero_infinity=False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      _reduction(reduction), zero_infinity)


FUNCTIONS = {
    "batch_norm": batch_norm, "instance_norm": instance_norm, "layer_norm": layer_norm,
    "group_norm": group_norm, "rms_norm": rms_norm, "embedding": embedding,
    "embedding_bag": embedding_bag,
    "max_pool1d": _pool(F.max_pool1d), "max_pool2d": _pool(F.max_pool2d),
    "max_pool3d": _pool(F.max_pool3d), "max_pool1d_with_indices": max_pool1d_with_indices,
    "avg_pool1d": F.avg_pool1d, "adaptive_avg_pool1d": F.adaptive_avg_pool1d,
    "adaptive_max_pool1d": adaptive_max_pool1d,
    "conv1d": F.conv1d, "conv2d": F.conv2d, "conv3d": F.conv3d,
    "conv_transpose1d": F.conv_transpose1d, "conv_transpose2d": F.conv_transpose2d,
    "conv_transpose3d": F.conv_transpose3d, "bilinear": F.bilinear, "conv_tbc": F.conv_tbc,
    "pixel_shuffle": F.pixel_shuffle, "pixel_unshuffle": F.pixel_unshuffle,
    "channel_shuffle": F.channel_shuffle, "native_channel_shuffle": F.native_channel_shuffle,
    "cosine_similarity": F.cosine_similarity, "pairwise_distance": F.pairwise_distance,
    "pdist": F.pdist, "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "kl_div": kl_div, "cosine_embedding_loss": cosine_embedding_loss,
    "margin_ranking_loss": margin_ranking_loss, "hinge_embedding_loss": hinge_embedding_loss,
    "poisson_nll_loss": poisson_nll_loss, "triplet_margin_loss": triplet_margin_loss,
    "ctc_loss": ctc_loss, "feature_dropout": feature_dropout,
    "feature_dropout_": feature_dropout_, "feature_alpha_dropout": feature_alpha_dropout,
    "feature_alpha_dropout_": feature_alpha_dropout_,
}

"""``gradstep.nn.functional``: the stateless forms of the layers and losses (torch.nn.functional).

This file only re-exports; each family lives in ``gradstep/nn/_functional/``.
"""

# ruff: noqa: F401, I001  (a re-export file; sections are appended to by several families)

from ._functional.activation import (
    celu,
    celu_,
    elu,
    elu_,
    gelu,
    glu,
    gumbel_softmax,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    relu_,
    rrelu,
    rrelu_,
    selu,
    selu_,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
    threshold_,
)
from ._functional.distance import cosine_similarity, normalize, pairwise_distance
from ._functional.dropout import alpha_dropout, dropout, dropout1d, dropout2d, dropout3d
from ._functional.linear import bilinear, linear
from ._functional.loss import (
    binary_cross_entropy,
    cosine_embedding_loss,
    cross_entropy,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from ._functional.padding import pad
from ._functional.sparse import embedding, embedding_bag, one_hot

# ---- convolution / pooling / normalization helper: add your import lines below ----
from ._functional.conv import conv1d, conv2d, fold, unfold
from ._functional.conv_transpose import conv_transpose1d, conv_transpose2d
from ._functional.loss_logits import binary_cross_entropy_with_logits
from ._functional.normalization import batch_norm, group_norm, layer_norm, rms_norm
from ._functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

# ---- attention / transformer / RNN helper: add your import lines below ----
from ._functional.attention import multi_head_attention_forward, scaled_dot_product_attention

# ---- resampling / vision / extra layers (issue 17, nn family) ----
from ._functional.normalization import instance_norm, local_response_norm
from ._functional.pixelshuffle import (
    channel_shuffle,
    native_channel_shuffle,
    pixel_shuffle,
    pixel_unshuffle,
)
from ._functional.upsampling import interpolate, upsample, upsample_bilinear, upsample_nearest
from ._functional.conv3d import conv3d, conv_tbc, conv_transpose3d
from ._functional.pooling import (
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d_with_indices,
    max_pool1d_with_indices,
    max_pool2d_with_indices,
)
from ._functional.pooling3d import (
    adaptive_avg_pool3d,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool3d,
    max_pool3d,
    max_pool3d_with_indices,
)
from ._functional.vision import affine_grid, grid_sample
from ._functional.unpooling import max_unpool1d, max_unpool2d, max_unpool3d
from ._functional.distance import pdist
from ._functional.dropout import feature_alpha_dropout
from ._functional.lppool import lp_pool1d, lp_pool2d, lp_pool3d
from ._functional.margin_loss import multilabel_margin_loss, triplet_margin_with_distance_loss
from ._functional.ctc import ctc_loss
from ._functional.fractional import (
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)


def _in_projection_packed(q, k, v, w, b=None):
    """torch's helper: ``q``, ``k``, ``v`` through the packed ``(3E, E)`` projection ``w``."""
    ws, bs = w.chunk(3), (None, None, None) if b is None else b.chunk(3)
    return [linear(x, wi, bi) for x, wi, bi in zip((q, k, v), ws, bs)]


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """torch's helper: ``q``, ``k``, ``v`` through their three projections."""
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)
from ._functional.linear_cross_entropy import linear_cross_entropy  # noqa: E402
from . import _reduction as _Reduction  # noqa: E402  (torch 1.x custom losses call it)
from . import grad  # noqa: E402  (F.grad.conv2d_input..., as torch's functional has it)

# torch's wording of conv argument errors for the call as given ("got (Tensor, Tensor,
# stride=float)"): the op itself cannot tell keyword arguments from positional ones
from .._signatures import reworded as _reworded  # noqa: E402

conv1d, conv2d = _reworded(conv1d), _reworded(conv2d)

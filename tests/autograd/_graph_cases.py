"""Expressions and small models run in both libraries by the graph tests (freed graphs, grad_fn
names): ``CASES[name](lib)`` returns a scalar (or a tensor with a ``grad_fn``) built from fresh
leaves, so each call is a new graph."""

from __future__ import annotations

import numpy as np


def F(lib):
    return lib.nn.functional


def leaf(lib, shape, seed=0, low=-1.0, high=1.0, grad=True):
    arr = np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")
    return lib.tensor(arr, requires_grad=grad)


def const(lib, shape, seed=1, low=-1.0, high=1.0):
    return leaf(lib, shape, seed, low, high, grad=False)


def labels(lib, n, c, seed=2):
    return lib.tensor(np.random.default_rng(seed).integers(0, c, size=n))


def _setitem(L):
    x = leaf(L, (3,)) * 1.0
    x[1] = leaf(L, (), 1)
    return x.sum()


def _setitem_advanced(L):
    x = leaf(L, (3,)) + 0.0
    x[L.tensor([0, 2])] = leaf(L, (2,), 1)
    return x.sum()


def _inplace_mul(L):
    x = leaf(L, (3,)) + 0
    x.mul_(3)
    return x.sum()


def _lstm_cell(L):
    L.manual_seed(0)
    h, c = L.nn.LSTMCell(3, 2)(const(L, (1, 3)))
    return h.sum() + c.sum()


def _gru(L):
    L.manual_seed(0)
    out, _ = L.nn.GRU(3, 2, batch_first=True)(const(L, (1, 2, 3)))
    return out.sum()


def _lstm(L):
    L.manual_seed(0)
    out, _ = L.nn.LSTM(3, 2)(const(L, (2, 1, 3)))
    return out.sum()


def _copy(L):
    t = L.zeros(3)
    t.copy_(leaf(L, (3,)))
    return t.sum()


CASES = {
    # arithmetic, with tensors and Python scalars
    "add": lambda L: (leaf(L, (3,)) + leaf(L, (3,), 1)).sum(),
    "add_scalar": lambda L: (leaf(L, (3,)) + 2).sum(),
    "add_alpha": lambda L: L.add(leaf(L, (3,)), leaf(L, (3,), 1), alpha=2).sum(),
    "sub": lambda L: (leaf(L, (3,)) - leaf(L, (3,), 1)).sum(),
    "sub_scalar": lambda L: (leaf(L, (3,)) - 2).sum(),
    "rsub_scalar": lambda L: (2 - leaf(L, (3,))).sum(),
    "mul": lambda L: (leaf(L, (3,)) * leaf(L, (3,), 1)).sum(),
    "mul_scalar": lambda L: (leaf(L, (3,)) * 2).sum(),
    "rmul_scalar": lambda L: (2 * leaf(L, (3,))).sum(),
    "mul_constant": lambda L: (leaf(L, (3,)) * const(L, (3,))).sum(),
    "div": lambda L: (leaf(L, (3,)) / leaf(L, (3,), 1, 1, 2)).sum(),
    "div_scalar": lambda L: (leaf(L, (3,)) / 2).sum(),
    "rdiv_scalar": lambda L: (2 / leaf(L, (3,), 0, 1, 2)).sum(),
    "div_trunc": lambda L: L.div(leaf(L, (3,)), 0.3, rounding_mode="trunc").sum(),
    "div_floor": lambda L: L.div(leaf(L, (3,)), leaf(L, (3,), 1), rounding_mode="floor").sum(),
    "neg": lambda L: (-leaf(L, (3,))).sum(),
    "pow_scalar": lambda L: (leaf(L, (3,)) ** 2).sum(),
    "pow_tensor": lambda L: (leaf(L, (3,), 0, 1, 2) ** leaf(L, (3,), 1)).sum(),
    "rpow": lambda L: (2 ** leaf(L, (3,))).sum(),
    "fmod_scalar": lambda L: L.fmod(leaf(L, (3,)), 0.3).sum(),
    "fmod_constant": lambda L: L.fmod(leaf(L, (3,)), const(L, (3,), 1, 0.5, 1)).sum(),
    "remainder_scalar": lambda L: (leaf(L, (3,)) % 0.3).sum(),
    "remainder_constant": lambda L: (leaf(L, (3,)) % const(L, (3,), 1, 0.5, 1)).sum(),
    "mean_times_scalar": lambda L: leaf(L, (3,)).mean() * 2,
    "addcmul": lambda L: L.addcmul(leaf(L, (3,)), leaf(L, (3,), 1), leaf(L, (3,), 2)).sum(),
    "lerp": lambda L: L.lerp(leaf(L, (3,)), leaf(L, (3,), 1), 0.3).sum(),
    "atan2": lambda L: L.atan2(leaf(L, (3,)), leaf(L, (3,), 1)).sum(),
    "maximum": lambda L: L.maximum(leaf(L, (3,)), leaf(L, (3,), 1)).sum(),
    # unary math
    "exp": lambda L: leaf(L, (3,)).exp().sum(),
    "log": lambda L: leaf(L, (3,), 0, 1, 2).log().sum(),
    "sqrt": lambda L: leaf(L, (3,), 0, 1, 2).sqrt().sum(),
    "sin": lambda L: leaf(L, (3,)).sin().sum(),
    "tanh": lambda L: leaf(L, (3,)).tanh().sum(),
    "sigmoid": lambda L: leaf(L, (3,)).sigmoid().sum(),
    "abs": lambda L: leaf(L, (3,)).abs().sum(),
    "floor": lambda L: leaf(L, (3,)).floor().sum(),
    "reciprocal": lambda L: leaf(L, (3,), 0, 1, 2).reciprocal().sum(),
    "angle": lambda L: leaf(L, (3,)).angle().sum(),
    "frexp": lambda L: leaf(L, (3,)).frexp()[0].sum(),
    "clamp": lambda L: leaf(L, (3,)).clamp(-0.5, 0.5).sum(),
    "clamp_min": lambda L: leaf(L, (3,)).clamp_min(0.0).sum(),
    "clamp_max_tensor": lambda L: leaf(L, (3,)).clamp_max(const(L, (3,))).sum(),
    # reductions
    "sum": lambda L: leaf(L, (3,)).sum(),
    "sum_dim": lambda L: leaf(L, (2, 3)).sum(1).sum(),
    "mean": lambda L: leaf(L, (3,)).mean(),
    "mean_dim": lambda L: leaf(L, (2, 3)).mean(0).sum(),
    "max": lambda L: leaf(L, (3,)).max(),
    "max_dim": lambda L: leaf(L, (2, 3)).max(1).values.sum(),
    "min_dim": lambda L: leaf(L, (2, 3)).min(1).values.sum(),
    "amax": lambda L: leaf(L, (2, 3)).amax(1).sum(),
    "norm": lambda L: leaf(L, (3,)).norm(),
    "var": lambda L: leaf(L, (3,)).var(),
    "std_dim": lambda L: leaf(L, (2, 3)).std(1).sum(),
    "prod": lambda L: leaf(L, (3,)).prod(),
    "logsumexp": lambda L: leaf(L, (2, 3)).logsumexp(1).sum(),
    "cumsum": lambda L: leaf(L, (3,)).cumsum(0).sum(),
    "median": lambda L: leaf(L, (5,)).median(),
    "sort": lambda L: leaf(L, (4,)).sort().values.sum(),
    "topk": lambda L: leaf(L, (4,)).topk(2).values.sum(),
    "trace": lambda L: leaf(L, (3, 3)).trace(),
    # views, indexing, joining
    "view": lambda L: leaf(L, (2, 3)).view(6).sum(),
    "transpose": lambda L: leaf(L, (2, 3)).t().sum(),
    "permute": lambda L: leaf(L, (2, 3, 4)).permute(2, 0, 1).sum(),
    "expand": lambda L: leaf(L, (1, 3)).expand(2, 3).sum(),
    "index_int": lambda L: leaf(L, (2, 3))[1].sum(),
    "index_slice": lambda L: leaf(L, (4, 3))[1:3].sum(),
    "index_tensor": lambda L: leaf(L, (4, 3))[L.tensor([0, 2])].sum(),
    "index_mask": lambda L: leaf(L, (4,))[L.tensor([True, False, True, True])].sum(),
    "cat": lambda L: L.cat([leaf(L, (2,)), leaf(L, (3,), 1)]).sum(),
    "stack": lambda L: L.stack([leaf(L, (2,)), leaf(L, (2,), 1)]).sum(),
    "split": lambda L: leaf(L, (4,)).split(2)[0].sum(),
    "flip": lambda L: leaf(L, (3,)).flip(0).sum(),
    "roll": lambda L: leaf(L, (3,)).roll(1).sum(),
    "repeat": lambda L: leaf(L, (3,)).repeat(2).sum(),
    "diagonal": lambda L: leaf(L, (3, 3)).diagonal().sum(),
    "gather": lambda L: leaf(L, (2, 3)).gather(1, L.tensor([[0, 2], [1, 1]])).sum(),
    "scatter": lambda L: leaf(L, (2, 3)).scatter(
        1, L.tensor([[0], [1]]), leaf(L, (2, 1), 1)).sum(),
    "scatter_add": lambda L: leaf(L, (2, 3)).scatter_add(
        1, L.tensor([[0], [1]]), leaf(L, (2, 1), 1)).sum(),
    "index_select": lambda L: leaf(L, (4, 3)).index_select(0, L.tensor([0, 2])).sum(),
    "index_add": lambda L: leaf(L, (3,)).index_add(0, L.tensor([0, 2]), leaf(L, (2,), 1)).sum(),
    "masked_fill": lambda L: leaf(L, (3,)).masked_fill(const(L, (3,)) > 0, 0.0).sum(),
    "masked_select": lambda L: leaf(L, (4,)).masked_select(const(L, (4,)) > 0).sum(),
    "take": lambda L: leaf(L, (2, 3)).take(L.tensor([0, 4])).sum(),
    "where": lambda L: L.where(const(L, (3,)) > 0, leaf(L, (3,)), leaf(L, (3,), 1)).sum(),
    "where_scalar": lambda L: L.where(const(L, (3,)) > 0, leaf(L, (3,)), 0.0).sum(),
    "setitem": _setitem,
    "setitem_advanced": _setitem_advanced,
    "inplace_mul": _inplace_mul,
    "copy_": _copy,
    "clone": lambda L: leaf(L, (3,)).clone().sum(),
    "to_double": lambda L: leaf(L, (3,)).double().sum(),
    # products
    "matmul": lambda L: (leaf(L, (2, 3)) @ leaf(L, (3, 4), 1)).sum(),
    "matmul_constant": lambda L: (leaf(L, (2, 3)) @ const(L, (3, 4))).sum(),
    "bmm": lambda L: leaf(L, (2, 2, 3)).bmm(leaf(L, (2, 3, 4), 1)).sum(),
    "addmm": lambda L: L.addmm(leaf(L, (2, 4)), leaf(L, (2, 3), 1), leaf(L, (3, 4), 2)).sum(),
    "outer": lambda L: L.outer(leaf(L, (3,)), leaf(L, (2,), 1)).sum(),
    "linear": lambda L: F(L).linear(leaf(L, (2, 3)), leaf(L, (4, 3), 1), leaf(L, (4,), 2)).sum(),
    "linear_no_bias": lambda L: F(L).linear(leaf(L, (2, 3)), leaf(L, (4, 3), 1)).sum(),
    "linear_input_only": lambda L: F(L).linear(leaf(L, (2, 3)), const(L, (4, 3))).sum(),
    # convolution, pooling, resampling
    "conv2d": lambda L: F(L).conv2d(
        leaf(L, (1, 2, 5, 5)), leaf(L, (3, 2, 3, 3), 1), leaf(L, (3,), 2)).sum(),
    "conv1d_no_bias": lambda L: F(L).conv1d(leaf(L, (1, 2, 5)), leaf(L, (3, 2, 3), 1)).sum(),
    "conv_transpose2d": lambda L: F(L).conv_transpose2d(
        leaf(L, (1, 2, 3, 3)), leaf(L, (2, 3, 3, 3), 1)).sum(),
    "conv3d": lambda L: F(L).conv3d(leaf(L, (1, 1, 3, 3, 3)), leaf(L, (1, 1, 2, 2, 2), 1)).sum(),
    "max_pool1d": lambda L: F(L).max_pool1d(leaf(L, (1, 1, 4)), 2).sum(),
    "max_pool2d": lambda L: F(L).max_pool2d(leaf(L, (1, 1, 4, 4)), 2).sum(),
    "max_pool3d": lambda L: F(L).max_pool3d(leaf(L, (1, 1, 2, 2, 2)), 2).sum(),
    "avg_pool2d": lambda L: F(L).avg_pool2d(leaf(L, (1, 1, 4, 4)), 2).sum(),
    "avg_pool3d": lambda L: F(L).avg_pool3d(leaf(L, (1, 1, 2, 2, 2)), 2).sum(),
    "adaptive_avg_pool2d": lambda L: F(L).adaptive_avg_pool2d(leaf(L, (1, 1, 4, 4)), 1).sum(),
    "adaptive_max_pool2d": lambda L: F(L).adaptive_max_pool2d(leaf(L, (1, 1, 4, 4)), 2).sum(),
    "interpolate_nearest": lambda L: F(L).interpolate(leaf(L, (1, 1, 2, 2)), scale_factor=2).sum(),
    "interpolate_bilinear": lambda L: F(L).interpolate(
        leaf(L, (1, 1, 2, 2)), scale_factor=2, mode="bilinear").sum(),
    "unfold": lambda L: F(L).unfold(leaf(L, (1, 1, 4, 4)), 2).sum(),
    "fold": lambda L: F(L).fold(leaf(L, (1, 4, 4)), (3, 3), 2).sum(),
    "pixel_shuffle": lambda L: F(L).pixel_shuffle(leaf(L, (1, 4, 2, 2)), 2).sum(),
    "pad": lambda L: F(L).pad(leaf(L, (2, 3)), (1, 1)).sum(),
    # activations
    "relu": lambda L: F(L).relu(leaf(L, (3,))).sum(),
    "gelu": lambda L: F(L).gelu(leaf(L, (3,))).sum(),
    "silu": lambda L: F(L).silu(leaf(L, (3,))).sum(),
    "leaky_relu": lambda L: F(L).leaky_relu(leaf(L, (3,))).sum(),
    "elu": lambda L: F(L).elu(leaf(L, (3,))).sum(),
    "selu": lambda L: F(L).selu(leaf(L, (3,))).sum(),
    "softplus": lambda L: F(L).softplus(leaf(L, (3,))).sum(),
    "hardtanh": lambda L: F(L).hardtanh(leaf(L, (3,))).sum(),
    "relu6": lambda L: F(L).relu6(leaf(L, (3,))).sum(),
    "logsigmoid": lambda L: F(L).logsigmoid(leaf(L, (3,))).sum(),
    "glu": lambda L: F(L).glu(leaf(L, (2, 4))).sum(),
    "prelu": lambda L: F(L).prelu(leaf(L, (2, 3)), leaf(L, (1,), 1)).sum(),
    "softmax": lambda L: F(L).softmax(leaf(L, (2, 3)), 1).sum(),
    "log_softmax": lambda L: F(L).log_softmax(leaf(L, (2, 3)), 1).sum(),
    # losses
    "cross_entropy": lambda L: F(L).cross_entropy(leaf(L, (4, 3)), labels(L, 4, 3)),
    "cross_entropy_none": lambda L: F(L).cross_entropy(
        leaf(L, (4, 3)), labels(L, 4, 3), reduction="none").sum(),
    "cross_entropy_smoothing": lambda L: F(L).cross_entropy(
        leaf(L, (4, 3)), labels(L, 4, 3), label_smoothing=0.1),
    "cross_entropy_probs": lambda L: F(L).cross_entropy(leaf(L, (4, 3)), const(L, (4, 3), 1, 0, 1)),
    "nll_loss": lambda L: F(L).nll_loss(leaf(L, (4, 3)), labels(L, 4, 3)),
    "nll_loss_sum": lambda L: F(L).nll_loss(leaf(L, (4, 3)), labels(L, 4, 3), reduction="sum"),
    "mse_loss": lambda L: F(L).mse_loss(leaf(L, (4,)), const(L, (4,))),
    "mse_loss_both": lambda L: F(L).mse_loss(leaf(L, (4,)), leaf(L, (4,), 1), reduction="sum"),
    "mse_loss_none": lambda L: F(L).mse_loss(leaf(L, (4,)), const(L, (4,)), reduction="none").sum(),
    "l1_loss": lambda L: F(L).l1_loss(leaf(L, (4,)), const(L, (4,))),
    "smooth_l1_loss": lambda L: F(L).smooth_l1_loss(leaf(L, (4,)), const(L, (4,))),
    "huber_loss": lambda L: F(L).huber_loss(leaf(L, (4,)), const(L, (4,))),
    "bce": lambda L: F(L).binary_cross_entropy(leaf(L, (4,), 0, 0.1, 0.9), const(L, (4,), 1, 0, 1)),
    "bce_with_logits": lambda L: F(L).binary_cross_entropy_with_logits(
        leaf(L, (4,)), const(L, (4,), 1, 0, 1)),
    "kl_div": lambda L: F(L).kl_div(leaf(L, (4,)), const(L, (4,), 1, 0.1, 1),
                                    reduction="batchmean"),
    "soft_margin_loss": lambda L: F(L).soft_margin_loss(leaf(L, (4,)), const(L, (4,)).sign()),
    "margin_ranking_loss": lambda L: F(L).margin_ranking_loss(
        leaf(L, (4,)), leaf(L, (4,), 1), const(L, (4,)).sign()),
    "multi_margin_loss": lambda L: F(L).multi_margin_loss(leaf(L, (4, 3)), labels(L, 4, 3)),
    # normalization, dropout, embedding, attention
    "layer_norm": lambda L: F(L).layer_norm(
        leaf(L, (2, 3)), (3,), leaf(L, (3,), 1), leaf(L, (3,), 2)).sum(),
    "layer_norm_no_affine": lambda L: F(L).layer_norm(leaf(L, (2, 3)), (3,)).sum(),
    "layer_norm_weight_only": lambda L: F(L).layer_norm(
        leaf(L, (2, 3)), (3,), leaf(L, (3,), 1)).sum(),
    "batch_norm": lambda L: F(L).batch_norm(leaf(L, (4, 3)), None, None, leaf(L, (3,), 1),
                                            leaf(L, (3,), 2), training=True).sum(),
    "batch_norm_no_affine": lambda L: F(L).batch_norm(
        leaf(L, (4, 3)), None, None, training=True).sum(),
    "group_norm": lambda L: F(L).group_norm(
        leaf(L, (2, 4, 3)), 2, leaf(L, (4,), 1), leaf(L, (4,), 2)).sum(),
    "instance_norm": lambda L: F(L).instance_norm(leaf(L, (2, 3, 4))).sum(),
    "rms_norm": lambda L: F(L).rms_norm(leaf(L, (2, 3)), (3,)).sum(),
    "dropout": lambda L: F(L).dropout(leaf(L, (8,)), 0.5).sum(),
    "dropout_eval": lambda L: F(L).dropout(leaf(L, (8,)), 0.5, training=False).sum(),
    "embedding": lambda L: F(L).embedding(L.tensor([0, 2, 1]), leaf(L, (4, 3))).sum(),
    "normalize": lambda L: F(L).normalize(leaf(L, (2, 3))).sum(),
    "cosine_similarity": lambda L: F(L).cosine_similarity(leaf(L, (2, 3)), leaf(L, (2, 3), 1)).sum(),
    "sdpa_4d": lambda L: F(L).scaled_dot_product_attention(
        leaf(L, (1, 2, 3, 4)), leaf(L, (1, 2, 3, 4), 1), leaf(L, (1, 2, 3, 4), 2)).sum(),
    "sdpa_3d": lambda L: F(L).scaled_dot_product_attention(
        leaf(L, (1, 2, 3)), leaf(L, (1, 2, 3), 1), leaf(L, (1, 2, 3), 2)).sum(),
    # recurrent
    "lstm_cell": _lstm_cell,
    "lstm": _lstm,
    "gru": _gru,
}

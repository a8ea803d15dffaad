"""Loss functions of ``nn.functional``.

Cross-entropy is one fused node (stable log-softmax forward, softmax - target
backward on raw arrays). The elementwise losses are written in Tensor ops, so
their double backward works.
"""

from __future__ import annotations

import warnings

from ..._tensor import Tensor
from ..._warn_once import user_stacklevel
from ...amp._policy import autocast_op
from ...autograd.function import Node, as_torch_node
from ...autograd.grad_mode import _GradState, no_grad
from ...backend import xp
from ...ops import elementwise as E
from . import loss_checks as _checks

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "kl_div",
    "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "poisson_nll_loss", "gaussian_nll_loss", "triplet_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------- reduction helpers
def legacy_reduction(size_average, reduce, reduction):
    """torch's mapping of the deprecated ``size_average``/``reduce`` flags to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                  + _legacy_string(size_average, reduce) + "' instead.", UserWarning, stacklevel=user_stacklevel())
    return _legacy_string(size_average, reduce)


def _legacy_string(size_average, reduce):
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _check_reduction(reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target):  # noqa: A002
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=user_stacklevel(),
        )


def _weighted(loss, weight, reduction, input, mean_by_weight=True):  # noqa: A002
    """torch's elementwise-weighted reductions (mse/l1 divide by sum(weight), huber by numel)."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    _check_reduction(reduction)
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / weight.sum() if mean_by_weight else loss.mean()


# ---------------------------------------------------------------- class-index losses
def _as_rows(a, class_dim=1):
    """(N, C, d1, ...) -> (N*d1*..., C) with the class axis last (a view when there are no d's)."""
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    return xp.moveaxis(a, class_dim, -1).reshape(-1, a.shape[class_dim])


def _from_rows(rows, shape):
    """Inverse of ``_as_rows`` for an array of the input's ``shape``."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return xp.ascontiguousarray(xp.moveaxis(rows.reshape(moved), -1, 1))


def _rows_t(x):
    """Tensor-op twin of ``_as_rows`` (differentiable): (N, C, d...) -> (N*d..., C)."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    if x.ndim == 2:
        return x
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def _from_rows_t(rows, shape):
    """Tensor-op twin of ``_from_rows``."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return rows.reshape(moved).movedim(-1, 1)


def _row_coef_t(g, reduction, n, denom):
    """The upstream gradient per row, as a differentiable (n,) tensor."""
    if reduction == "none":
        return g.reshape(-1)
    g = g.reshape(1).expand(n)
    return g / denom if reduction == "mean" else g


def _row_denominators(valid, denom, dtype):
    """The mean's denominator per row, 1 on ignored rows: when every row is ignored the total
    weight is 0, and torch's gradient is 0 there (a batch of padding must not give NaN)."""
    return xp.where(valid, xp.asarray(denom, dtype), xp.asarray(1, dtype)).astype(dtype)


def _out_shape(input, target):  # noqa: A002
    """reduction='none' output: the target's shape, or () for one sample (whose target may be
    0-d or of size 1)."""
    return () if input.ndim == 1 else tuple(target.shape)


def _target_rows(target, ignore_index, c):
    """Flat targets, the not-ignored mask, and targets with ignored entries set to 0."""
    t = target._data.reshape(-1).astype(xp.int64)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    return t, valid, xp.where(valid, t, 0)


def _plain_targets(target, ignore_index, c):
    """The flat int64 targets when every one is a class in range and none can be ignored
    (the common case, which the node runs with unit weights and fewer passes), else None."""
    t = target._data.reshape(-1)
    if t.dtype != xp.int64:
        t = t.astype(xp.int64)
    if t.size == 0 or 0 <= ignore_index < c or t.min() < 0 or t.max() >= c:
        return None
    return t


def _class_weights(weight, c, dtype):
    return xp.ones(c, dtype) if weight is None else weight._data.astype(dtype, copy=False)


class CrossEntropy(Node):
    """Fused cross-entropy with class-index targets.

    Forward: log-softmax with the row max subtracted (finite for logits of 1e4),
    the picked log-probability weighted by class, plus optional label smoothing.
    Backward: ``coef * (softmax - onehot)`` (and the smoothing term) computed
    directly on arrays. Under ``create_graph`` the same formula runs in Tensor ops from the
    saved logits, so double backward works.
    """

    _name = "NllLossBackward0"
    saves = (0,)

    def forward(self, x):
        rows = _as_rows(x)
        n, c = rows.shape
        e = rows - rows.max(axis=1, keepdims=True)  # shifted logits: the largest is 0
        picked = e[xp.arange(n), self.tt]
        w = None if self.w is None else self.w.astype(x.dtype, copy=False)
        dot_w = (e @ w) if self.eps else None  # sum_c w_c * shifted_c, for label smoothing
        xp.exp(e, out=e)  # e = exp(shifted): the unnormalised softmax, kept for backward
        s = e.sum(axis=1)
        log_s = xp.log(s)
        self.e, self.s, self.x_shape = e, s, x.shape
        if self.valid is None:  # plain targets: unit weights, nothing ignored
            self.wy = None
            return self._finish(log_s - picked, None)
        wy = w[self.tt] * self.valid
        loss = (log_s - picked) * wy  # -log_softmax at the target, weighted
        if self.eps:
            smooth = log_s * w.sum() - dot_w  # -sum_c w_c log_softmax_c
            loss = (1.0 - self.eps) * loss + (self.eps / c) * smooth
        loss = xp.where(self.valid, loss, 0)  # ignored rows: 0, even with inf or NaN logits
        self.wy = wy
        return self._finish(loss, wy)

    def _finish(self, loss, wy):
        if self.reduction == "none":
            return loss.reshape(self.target_shape)
        total = loss.sum()
        if self.reduction == "sum":
            return xp.asarray(total)
        self.denom = wy.sum() if wy is not None else total.dtype.type(loss.shape[0])
        if self.denom == 0:  # all ignored or weighted 0: nan, like torch's 0 / 0 (smoothing too)
            return xp.asarray(xp.nan, total.dtype)
        return xp.asarray(total / self.denom)

    def backward(self, g):
        if _GradState.enabled:
            return self._graph_backward(g, self.saved_tensors[0])
        e, s, wy = self.e, self.s, self.wy
        n, c = e.shape
        dt = e.dtype
        gd = g._data
        if self.reduction == "none":
            coef = gd.reshape(-1).astype(dt, copy=False)
        else:
            coef = xp.full(n, gd / self.denom if self.reduction == "mean" else gd, dt)
        if wy is None:  # plain targets: coef * (softmax - onehot)
            grad = e * (coef / s)[:, None]
            grad[xp.arange(n), self.tt] -= coef
            return Tensor._make(_from_rows(grad, self.x_shape))
        with xp.errstate(invalid="ignore"):  # a total weight of 0 (mean over none): coef is
            # inf; as in torch, ignored rows get 0, valid rows of weight 0 get NaN (inf * 0)
            a = xp.where(self.valid, coef * wy * (1.0 - self.eps), 0)  # weight of softmax - onehot
            k = xp.where(self.valid != 0, (self.eps / c) * coef, 0) if self.eps else None
        w = self.w.astype(dt, copy=False)
        row_scale = a if k is None else a + k * w.sum()
        grad = e * (row_scale / s)[:, None]  # softmax times each row's total weight
        if k is not None:
            grad -= k[:, None] * w
        grad[xp.arange(n), self.tt] -= a
        return Tensor._make(_from_rows(grad, self.x_shape))

    def _graph_backward(self, g, x):
        rows = _rows_t(x)
        n, c = rows.shape
        dt = x._data.dtype
        valid = xp.ones(n, bool) if self.valid is None else self.valid
        wy = xp.ones(n, dt) if self.wy is None else self.wy
        denom = _row_denominators(valid, getattr(self, "denom", 1.0), dt)
        coef = _row_coef_t(g, self.reduction, n, Tensor._make(denom))
        a = coef * Tensor._make((wy * (1.0 - self.eps)).astype(dt))
        onehot = xp.zeros((n, c), dt)
        onehot[xp.arange(n), self.tt] = 1
        grad = rows.softmax(1) * a.unsqueeze(1) - Tensor._make(onehot) * a.unsqueeze(1)
        if self.eps:
            w = self.w.astype(dt, copy=False)
            k = coef * Tensor._make(((self.eps / c) * valid).astype(dt))
            grad = grad + (rows.softmax(1) * float(w.sum()) - Tensor._make(w)) * k.unsqueeze(1)
        return _from_rows_t(grad, self.x_shape)


class SoftCrossEntropy(Node):
    """Fused cross-entropy with class-probability targets (inputs: logits, target).

    Gradient w.r.t. the logits is ``p * sum(a) - a`` with ``a = smoothed target * weight``;
    w.r.t. the target it is ``-log_softmax * weight * (1 - label_smoothing)``. Under
    ``create_graph`` they run in Tensor ops, so double backward works.
    """

    _name = "SumBackward1"
    saves = (0, 1)

    def forward(self, x, t):
        rows = _as_rows(x)
        trow = _as_rows(t)
        m = rows.max(axis=1, keepdims=True)
        shifted = rows - m
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        c = rows.shape[1]
        w = self.w.astype(x.dtype, copy=False)
        a = (trow * (1.0 - self.eps) + self.eps / c) * w
        loss = -(logp * a).sum(axis=1)
        self.logp, self.a, self.x_shape = logp, a, x.shape
        if self.reduction == "none":
            return loss.reshape(self.out_shape)
        if self.reduction == "sum":
            return xp.asarray(loss.sum())
        return xp.asarray(loss.sum() / rows.shape[0]) if rows.shape[0] else xp.asarray(
            xp.nan, x.dtype)

    def backward(self, g):
        if _GradState.enabled:
            return self._graph_backward(g, *self.saved_tensors)
        logp, a = self.logp, self.a
        n = logp.shape[0]
        gd = g._data
        coef = gd.reshape(-1) if self.reduction == "none" else gd / n if \
            self.reduction == "mean" else gd
        coef = xp.broadcast_to(xp.asarray(coef, logp.dtype), (n,))[:, None]
        gx = gt = None
        if self._next[0] is not None:
            gx = coef * (xp.exp(logp) * a.sum(axis=1, keepdims=True) - a)
            gx = Tensor._make(_from_rows(gx, self.x_shape).astype(logp.dtype, copy=False))
        if self._next[1] is not None:
            w = self.w.astype(logp.dtype, copy=False)
            gt = -coef * logp * w * (1.0 - self.eps)
            gt = Tensor._make(_from_rows(gt, self.x_shape).astype(logp.dtype, copy=False))
        return gx, gt

    def _graph_backward(self, g, x, t):
        rows, trow = _rows_t(x), _rows_t(t)
        n, c = rows.shape
        w = Tensor._make(self.w.astype(x._data.dtype, copy=False))
        coef = _row_coef_t(g, self.reduction, n, float(n)).unsqueeze(1)
        a = (trow * (1.0 - self.eps) + self.eps / c) * w
        logp = rows.log_softmax(1)
        gx = _from_rows_t(coef * (logp.exp() * a.sum(1, keepdim=True) - a), self.x_shape)
        gt = _from_rows_t(-coef * logp * w * (1.0 - self.eps), self.x_shape)
        return gx, gt


@autocast_op("cross_entropy")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, d1, ...) and class indices or probabilities."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not input.is_floating_point():  # torch's log_softmax over the class dim has no kernel
        _checks.check_log_softmax_input(input)
    if target.shape == input.shape:  # torch: class probabilities
        _checks.check_probability_target(input, target)
        if ignore_index >= 0:  # torch: -100 and other negative values pass unnoticed
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    if input.ndim == 0:  # torch's log_softmax over dim 1 of a 0-d tensor
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    c = _checks.check_class_target(input, target, weight)
    plain = None
    if weight is None and not label_smoothing and input._data.dtype in (xp.float32, xp.float64):
        plain = _plain_targets(target, ignore_index, c)
    if plain is not None:
        return CrossEntropy.apply(input, w=None, tt=plain, valid=None, eps=0.0,
                                  reduction=reduction, target_shape=_out_shape(input, target),
                                  _name="NllLossBackward0")
    t, valid, tt = _target_rows(target, ignore_index, c)
    w = _class_weights(weight, c, input._data.dtype)
    name = "AddBackward0" if label_smoothing else "NllLossBackward0"  # torch's last node
    return CrossEntropy.apply(input, w=w, tt=tt, valid=valid, eps=float(label_smoothing),
                              reduction=reduction, target_shape=_out_shape(input, target), _name=name)


def _soft_cross_entropy(input, target, weight, reduction, eps):  # noqa: A002
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    out_shape = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    w = _class_weights(weight, c, input._data.dtype)
    name = "DivBackward1" if reduction == "mean" else "NegBackward0"  # torch's last node
    return SoftCrossEntropy.apply(input, target, w=w, eps=float(eps), reduction=reduction,
                                  out_shape=out_shape, _name=name)


class NllLoss(Node):
    """Negative log-likelihood of picked entries; backward is a constant-coefficient scatter."""

    _name = "NllLossBackward0"
    holds_saved = True  # the target, as torch saves it

    def forward(self, x):
        rows = _as_rows(x)
        wy = self.w.astype(x.dtype, copy=False)[self.tt] * self.valid
        # an ignored row is 0, as in torch, even where its input is inf or NaN
        loss = xp.where(self.valid, -rows[xp.arange(rows.shape[0]), self.tt] * wy, 0)
        self.wy, self.x_shape = wy, x.shape
        if self.reduction == "none":
            return loss.reshape(self.target_shape)
        if self.reduction == "sum":
            return xp.asarray(loss.sum())
        self.denom = wy.sum()
        with xp.errstate(invalid="ignore", divide="ignore"):
            return xp.asarray(loss.sum() / self.denom)

    def backward(self, g):
        n, c = self.wy.shape[0], self.x_shape[1] if len(self.x_shape) > 1 else self.x_shape[0]
        picked = -self.wy
        if self.reduction == "mean":  # ignored rows keep 0 even when every row is ignored
            with xp.errstate(invalid="ignore", divide="ignore"):
                picked = picked / _row_denominators(self.valid, self.denom, picked.dtype)
        coef = xp.zeros((n, c), self.wy.dtype)
        coef[xp.arange(n), self.tt] = picked
        coef = Tensor._make(_from_rows(coef, self.x_shape))
        if self.reduction == "none" and len(self.x_shape) > 1:
            g = g.unsqueeze(1)
        return g * coef


@autocast_op("nll_loss")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
             reduce=None, reduction="mean"):
    """-input[n, target[n]] * weight[target[n]], reduced; ``ignore_index`` entries count as 0."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    c = _checks.check_class_target(input, target, weight)
    _checks.check_nll_input_dtype(input)
    _, valid, tt = _target_rows(target, ignore_index, c)
    w = _class_weights(weight, c, input._data.dtype)
    return NllLoss.apply(input, w=w, tt=tt, valid=valid, reduction=reduction,
                         target_shape=_out_shape(input, target))


# ---------------------------------------------------------------- regression losses
class MseLoss(Node):
    """``mse_loss`` without a weight as torch's one node (``MseLossBackward0``, whose inputs
    are the input and the target, as tutorials print). The forward runs the composition's
    Tensor ops without a graph (the same values); the backward is torch's
    ``norm * (input - target) * grad`` in Tensor ops, so double backward works."""

    _name = "MseLossBackward0"
    saves = (0, 1)

    def forward(self, x, t):
        with no_grad():
            diff = Tensor._make(x) - Tensor._make(t)
            return _reduce(diff * diff, self.reduction)._data

    def backward(self, g):
        x, t = self.saved_tensors
        diff = x - t
        norm = 2.0 / diff.numel() if self.reduction == "mean" and diff.numel() else 2.0
        if diff._data.dtype.char in "eE":  # torch's kernel holds norm in float16/bfloat16
            norm = float(xp.asarray(norm, dtype=diff._data.dtype))
        gx = diff * norm * g
        return gx, (-gx if self._next[1] is not None else None)


@autocast_op("mse_loss")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
             weight=None):
    _warn_size(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    _checks.check_float_kernel(input, target, "mse_cpu")
    if weight is None:
        _check_reduction(reduction)
        input, target = _same_dtype(input, target)
        return MseLoss.apply(input, target, reduction=reduction)
    diff = input - target
    loss = diff * diff
    return _weighted(loss, weight, reduction, input)


def _same_dtype(input, target):  # noqa: A002
    """The operands in their promoted dtype (what ``input - target`` computes in)."""
    if input.dtype is target.dtype:
        return input, target
    from ...ops._util import binary_args

    return binary_args(input, target)


@autocast_op("l1_loss")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
            weight=None):
    _warn_size(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = (input - target).abs()
    return _reduce(loss, reduction) if weight is None else _weighted(loss, weight, reduction,
                                                                     input)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
                   beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (L1 when beta == 0)."""
    _warn_size(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _checks.check_float_kernel(input, target, "smooth_l1_cpu")
    d = input - target
    z = d.abs()
    if beta == 0.0:
        return _reduce(z, reduction)
    quad = ~(z >= beta)  # NaN too, as torch's kernel: its gradient is NaN, not sign(NaN) = 0
    dq = E.where(quad, d, 0.0)  # an inf d must not reach d * d (its 0 gradient times inf)
    loss = E.where(quad, dq * dq * (0.5 / beta), z - 0.5 * beta)
    return as_torch_node(_reduce(loss, reduction), "SmoothL1LossBackward0")


@autocast_op("huber_loss")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    _warn_size(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _checks.check_result_fits_input(input, target)
    _checks.check_float_kernel(input, target, "huber_cpu")
    d = input - target
    z = d.abs()
    quad = ~(z >= delta)  # as in smooth_l1_loss: NaN takes the quadratic branch
    dq = E.where(quad, d, 0.0)
    loss = E.where(quad, dq * dq * 0.5, (z - 0.5 * delta) * delta)
    loss = _checks.in_input_dtype(loss, input)  # torch's output is allocated like the input
    if weight is None:
        return as_torch_node(_reduce(loss, reduction), "HuberLossBackward0")
    return _weighted(loss, weight, reduction, input, mean_by_weight=False)


# ---------------------------------------------------------------- binary losses
class BinaryCrossEntropy(Node):
    """-(t log x + (1 - t) log(1 - x)) with torch's clamp of the logs at -100.

    The input gradient is (x - t) / max(x (1 - x), 1e-12) like torch's kernel, on arrays;
    under create_graph the same formula runs in Tensor ops, so double backward works.
    """

    _name = "BinaryCrossEntropyBackward0"
    saves = (0, 1)

    def forward(self, x, t):
        with xp.errstate(divide="ignore"):  # log(0) = -inf, then clamped like torch
            logx = xp.maximum(xp.log(x), -100.0)
            log1mx = xp.maximum(xp.log1p(-x), -100.0)
        return -(t * logx + (1 - t) * log1mx)

    def backward(self, g):
        x, t = self.saved_tensors
        if _GradState.enabled:  # create_graph: the same formulas in Tensor ops
            return self._graph_backward(g, x, t)
        xa, ta, ga = x._data, t._data, g._data
        gx = gt = None
        if self._next[0] is not None:
            eps = float(xp.float32(1e-12))  # torch's kernel constant is a float32 1e-12
            gx = Tensor._make((ga * (xa - ta) / xp.maximum((1 - xa) * xa, eps)).astype(xa.dtype))
        if self._next[1] is not None:  # torch's -logit(x), without the forward's clamp
            with xp.errstate(divide="ignore", invalid="ignore"):
                gt = Tensor._make((ga * (xp.log1p(-xa) - xp.log(xa))).astype(xa.dtype))
        return gx, gt

    def _graph_backward(self, g, x, t):
        eps = float(xp.float32(1e-12))
        gx = g * (x - t) / ((1 - x) * x).clamp(min=eps)
        gt = g * ((-x).log1p() - x.log())
        return gx, gt


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if target.dtype != input.dtype:  # torch casts nothing here, e.g. LongTensor labels
        from ...ops._util import dtype_title

        raise RuntimeError(f"Found dtype {dtype_title(target.dtype)} but expected "
                           f"{dtype_title(input.dtype)}")
    x = input._data
    if x.size and ((x < 0) | (x > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target.to(input.dtype))
    if weight is not None:
        loss = loss * weight
    return as_torch_node(_reduce(loss, reduction), "BinaryCrossEntropyBackward0")


# ---------------------------------------------------------------- distribution losses
@autocast_op("kl_div")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
           log_target=False):
    """Pointwise KL(target || exp(input)); ``batchmean`` divides the sum by the batch size."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, _REDUCTIONS + ("batchmean",))
    if not (input.dtype.is_floating_point and target.dtype.is_floating_point):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", UserWarning, stacklevel=user_stacklevel(),
        )
    if log_target:
        loss = target.exp() * (target - input)
    else:
        nonzero = target != 0  # torch's xlogy: 0 at a zero target, NaN at a negative one
        safe = E.where(nonzero, target, 1.0)
        loss = target * safe.log() - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None,  # noqa: A002
                     eps=1e-8, reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        import math

        # torch's: computed everywhere, then masked where target <= 1, so the target's gradient
        # there is 0 * (the term's derivative): NaN at target 0, as torch's
        t = target
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + E.where(t > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):  # noqa: A002
    import math

    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var.clone()
    from ...autograd.grad_mode import no_grad

    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- embedding / margin losses
@autocast_op("cosine_embedding_loss")
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None,  # noqa: A002
                          reduce=None, reduction="mean"):
    """1 - cos(x1, x2) for target 1, max(0, cos - margin) for target -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _checks.check_cosine_embedding_target(input1, input2, target)
    if input1.ndim not in (1, 2) or input1.shape != input2.shape:
        raise RuntimeError(
            f"cosine_embedding_loss: inputs must be 1-D or 2-D and of the same shape, got "
            f"{list(input1.shape)} and {list(input2.shape)}"
        )
    dim = input1.ndim - 1
    eps = float(xp.float32(1e-12))  # torch's constant is a float 1e-12 (9.99999996e-13)
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    zero = cos * 0
    pos = E.where(target == 1, 1 - cos, zero)
    neg = E.where(target == -1, E.clamp_min(cos - margin, 0.0), zero)
    return _reduce(pos + neg, reduction)


@autocast_op("margin_ranking_loss")
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None,  # noqa: A002
                        reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _reduce(E.clamp_min(-target * (input1 - input2) + margin, 0.0), reduction)


@autocast_op("hinge_embedding_loss")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    """x where the target is 1, max(0, margin - x) where it is -1; as in torch, a target that
    is neither gets both terms."""
    pos = E.where(target != -1, input, 0.0)
    neg = E.where(target != 1, E.clamp_min(margin - input, 0.0), 0.0)
    return _reduce(pos + neg, reduction)


@autocast_op("soft_margin_loss")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not input.dtype.is_floating_point:  # torch: neg(input).mul_(target).exp_() in place
        _checks.check_result_fits_input(-input, target, "Float")
    _checks.check_broadcasts_to_input(input, target)
    loss = _reduce(E.softplus(-target * input, 1.0, 1e30), reduction)
    loss = _checks.in_input_dtype(loss, input)
    return as_torch_node(loss, "SoftMarginLossBackward0")


@autocast_op("multilabel_soft_margin_loss")
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None,  # noqa: A002
                                reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    from .activation import logsigmoid

    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(dim=input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if margin <= 0:  # nn.functional's check; torch.triplet_margin_loss takes any margin
        raise ValueError(f"margin must be greater than 0, got {margin}")
    return triplet_margin_loss_unchecked(anchor, positive, negative, margin, p, eps, swap,
                                         reduction)


@autocast_op("triplet_margin_loss")
def triplet_margin_loss_unchecked(anchor, positive, negative, margin, p, eps, swap, reduction):
    """torch.triplet_margin_loss: max(d(a, p) - d(a, n) + margin, 0), any margin."""
    dim = anchor.ndim - 1

    def dist(a, b):
        return ((a - b + eps).abs() ** p).sum(dim) ** (1.0 / p)

    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = E.minimum(d_neg, dist(positive, negative))
    return _reduce(E.clamp_min(d_pos - d_neg + margin, 0.0), reduction)


@autocast_op("multi_margin_loss")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,  # noqa: A002
                      reduce=None, reduction="mean"):
    """Multi-class hinge: sum over j != y of max(0, margin - x_y + x_j)^p (times w_y), / C."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _checks.check_multi_margin(input, target, weight)
    x = input if input.ndim == 2 else input.reshape(1, -1)
    c = x.shape[1]
    t = target.reshape(-1) if target.dtype.name == "int64" else target.reshape(-1).long()
    xy = x.gather(1, t.unsqueeze(1))
    z = x - xy + margin
    hinge = E.where(z > 0, z, 0.0)  # torch's kernel: only z > 0 counts (no gradient at 0, NaN: 0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.index_select(0, t).unsqueeze(1)
    not_target = Tensor._make(xp.arange(c)[None, :] != t._data[:, None])
    loss = (hinge * not_target).sum(1) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return as_torch_node(_reduce(loss, reduction), "MultiMarginLossBackward0")

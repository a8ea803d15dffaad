"""Connectionist temporal classification loss (``ctc_loss``).

The forward (alpha) recursion over the blank-extended label sequence runs in log
space as Tensor ops over time steps, vectorised over the batch and the label
positions; autograd differentiates it. Impossible paths use a large finite
negative log-probability instead of -inf so that no ``-inf - -inf`` NaN enters the
gradient; losses of impossible alignments are then reported as ``inf``.

torch's backward is the derivative with respect to the logits of a log_softmax
(``softmax - posterior``) rather than of ``log_probs`` themselves; we add the same
``exp(log_probs)`` term so that gradients equal torch's either way.
"""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Node
from ...backend import xp
from ...ops.shape import cat, stack
from ...ops.unary import where
from .loss import _check_reduction

_NEG = -1e30  # "log 0" that stays finite in float32 and float64


def _lengths(v, name):
    if isinstance(v, Tensor) and (v.dtype.is_floating_point or v.dtype.is_complex
                                  or v.dtype.name == "bool"):
        raise RuntimeError(f"{name} must be integral")
    arr = v._data if isinstance(v, Tensor) else xp.asarray(v)
    if arr.ndim > 1:
        raise RuntimeError(f"{name} must be a 1-D tensor or a list of ints")
    return [int(a) for a in arr.reshape(-1)]


_WHERE = " (while checking arguments for ctc_loss_allocate_outputs)"


def _check_args(lp, targets, in_len, tg_len, blank):
    """torch's argument checks, in its order (ctc_loss_allocate_outputs)."""
    if lp.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional tensor "
                           f"for argument #1 'log_probs'{_WHERE}")
    t_shape = tuple(targets.shape) if isinstance(targets, Tensor) else xp.shape(targets)
    if len(t_shape) not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {len(t_shape)}-dimensional "
                           f"tensor for argument #2 'targets'{_WHERE}")
    t_len, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    if len(in_len) != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tg_len) != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    for v in tg_len:
        if v < 0:
            raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value "
                               f"{v}{_WHERE}")
    rows = sum(tg_len) if len(t_shape) == 1 else n
    if t_shape[0] != rows:
        raise RuntimeError(f"Expected tensor to have size {rows} at dimension 0, but got size "
                           f"{t_shape[0]} for argument #2 'targets'{_WHERE}")
    if len(t_shape) == 2 and t_shape[1] < max(tg_len, default=0):
        raise RuntimeError(f"Expected tensor to have size at least {max(tg_len)} at dimension 1, "
                           f"but got size {t_shape[1]} for argument #2 'targets'{_WHERE}")
    for v in in_len:
        if not 0 <= v <= t_len:
            bound = "at least 0" if v < 0 else f"at most {t_len}"
            raise RuntimeError(f"Expected input_lengths to have value {bound}, but got value "
                               f"{v}{_WHERE}")


def _targets_rows(targets, target_lengths):
    t = targets._data if isinstance(targets, Tensor) else xp.asarray(targets)
    if t.ndim == 2:
        return [t[b, :n] for b, n in enumerate(target_lengths)]
    starts = xp.cumsum([0] + list(target_lengths))
    return [t[s:s + n] for s, n in zip(starts[:-1], target_lengths)]


def _extended(rows, blank, s_max):
    """Blank-extended labels ``(N, S')`` and where the skip transition (s-2 -> s) is allowed."""
    n = len(rows)
    ext = xp.full((n, s_max), blank, xp.int64)
    skip = xp.zeros((n, s_max), bool)
    for b, row in enumerate(rows):
        ext[b, 1:2 * len(row):2] = row
        lab = ext[b]
        skip[b, 2:] = (lab[2:] != blank) & (lab[2:] != lab[:-2])
    return ext, skip


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",  # noqa: C901
             zero_infinity=False):
    """Negative log-likelihood of ``targets`` under CTC alignments of ``log_probs (T, N, C)``."""
    _check_reduction(reduction)
    in_len = _lengths(input_lengths, "input_lengths")
    tg_len = _lengths(target_lengths, "target_lengths")
    unbatched = log_probs.ndim != 3
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if unbatched and isinstance(targets, Tensor) and targets.ndim == 1:
        targets = targets.unsqueeze(0)
    _check_args(lp, targets, in_len, tg_len, blank)
    n = lp.shape[1]
    rows = _targets_rows(targets, tg_len)
    s_max = 2 * max(tg_len + [0]) + 1
    ext, skip = _extended(rows, blank, s_max)
    ext_t = Tensor._make(ext)
    dt = lp.dtype.np
    neg = Tensor._make(xp.full((n, s_max), _NEG, dt))
    init = xp.full((n, s_max), False)
    init[:, 0] = True
    if s_max > 1:
        init[:, 1] = [tl > 0 for tl in tg_len]
    alpha = where(Tensor._make(init), lp[0].gather(1, ext_t), neg)
    pad1 = Tensor._make(xp.full((n, 1), _NEG, dt))
    pad2 = Tensor._make(xp.full((n, 2), _NEG, dt))
    skip_t = Tensor._make(skip)
    lengths = xp.asarray(in_len)
    for t in range(1, max(in_len + [1])):
        prev1 = cat([pad1, alpha[:, :-1]], 1)
        prev2 = where(skip_t, cat([pad2, alpha[:, :-2]], 1) if s_max > 2 else neg, neg)
        step = stack([alpha, prev1, prev2]).logsumexp(0) + lp[t].gather(1, ext_t)
        step = step.clamp(min=_NEG)
        active = Tensor._make(xp.broadcast_to((t < lengths)[:, None], (n, s_max)))
        alpha = where(active, step, alpha)
    last = xp.asarray([2 * tl for tl in tg_len])
    idx = Tensor._make(xp.stack([last, xp.maximum(last - 1, 0)], 1).astype(xp.int64))
    ends = alpha.gather(1, idx)
    one_label = Tensor._make(xp.asarray([[True, tl > 0] for tl in tg_len]))
    nll = -where(one_label, ends, Tensor._make(xp.full((n, 2), _NEG, dt))).logsumexp(1)
    nll = nll + _softmax_term(lp, in_len)
    impossible = Tensor._make(nll._data >= -_NEG / 2)
    if zero_infinity:
        nll = where(impossible, Tensor._make(xp.zeros(n, dt)), nll)
    else:
        nll = where(impossible, Tensor._make(xp.full(n, xp.inf, dt)), nll)
        if impossible._data.any():
            mask = _valid_steps(lp, in_len) & impossible._data[None, :, None]
            nll = nll + _InfiniteLossGrad.apply(lp, mask=mask, shape=tuple(lp.shape))
    if reduction == "none":
        return nll.squeeze(0) if unbatched else nll
    if reduction == "sum":
        return nll.sum()
    denom = Tensor._make(xp.maximum(xp.asarray(tg_len), 1).astype(dt))
    return (nll / denom).mean()


def _valid_steps(lp, in_len):
    """(T, N, 1) mask of each sample's time steps within its input length."""
    return (xp.arange(lp.shape[0])[:, None] < xp.asarray(in_len)[None, :])[:, :, None]


class _InfiniteLossGrad(Node):
    """Zero per sample; its gradient is NaN at ``mask`` (the valid steps of samples with no
    alignment), as torch's backward of an infinite loss when ``zero_infinity`` is False."""

    def forward(self, lp):
        return xp.zeros(lp.shape[1], lp.dtype)

    def backward(self, g):
        nan = xp.where(self.mask, xp.nan, 0.0).astype(g._data.dtype)
        return Tensor._make(xp.broadcast_to(nan * g._data[None, :, None], self.shape))


def _softmax_term(lp, in_len):
    """Zero per sample, with gradient ``exp(log_probs)`` at its valid time steps (torch's)."""
    valid = _valid_steps(lp, in_len).astype(lp.dtype.np)
    weight = Tensor._make(xp.exp(lp._data) * valid)
    return ((lp - lp.detach()) * weight).sum((0, 2))


__all__ = ["ctc_loss"]

"""Adafactor (Shazeer & Stern, 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
Cost"), as torch.optim.Adafactor implements it.

Algorithm box (step t; for a matrix the second moment is kept as a row and a column factor)::

    g       <- grad (negated if maximize)
    beta2_t <- 1 - t^beta2_decay
    rho_t   <- min(lr, 1 / sqrt(t))
    alpha_t <- max(eps2, RMS(theta)) * rho_t
    theta   <- theta * (1 - lr * weight_decay)
    if dim(g) > 1:
        R <- lerp(R, mean(g^2, dim=-1), 1 - beta2_t)                    row_var
        C <- lerp(C, mean(g^2, dim=-2), 1 - beta2_t)                    col_var
        V <- R @ C / max(mean(R, dim=-2), eps1)
    else:
        V <- lerp(V, g^2, 1 - beta2_t)                                  variance
    U     <- g / sqrt(max(V, eps1^2))
    theta <- theta - alpha_t / max(1, RMS(U) / d) * U

As in torch: eps1=None means the machine epsilon of the parameters' dtype, lr only caps the
relative step size and scales the weight decay, and the weight decay is applied before the update.
"""

from __future__ import annotations

import math

from .._tensor import Tensor
from ..backend import xp
from .optimizer import (
    Optimizer,
    _as_scalar,
    _data_or_none,
    _step_tensor,
    _use_grad_for_differentiable,
    _zeros_like,
)


def _lerp_(start, end, weight):
    """In-place ``start.lerp_(end, weight)`` with torch's two-sided formula (exact at weight=1)."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def _rms(a):
    """Root mean square, as a Python float (torch: ``a.norm(2).item() / numel**0.5``)."""
    flat = a.reshape(-1)
    return math.sqrt(float(xp.dot(flat, flat))) / math.sqrt(a.size)


def adafactor_update(param, grad, row_var, col_var, variance, *, step, lr, beta2_decay, eps1,
                     eps2, d, weight_decay, maximize):
    """One Adafactor step on raw arrays (``step`` is the already incremented step count).

    For a parameter with two or more dimensions pass ``row_var`` and ``col_var`` (the variance
    factored over the last two dimensions) and ``variance=None``; for a vector the reverse.
    """
    if maximize:
        grad = -grad
    one_minus_beta2 = step**beta2_decay
    rho = min(lr, 1 / step**0.5)
    alpha = max(eps2, _rms(param)) * rho
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if grad.ndim > 1:
        squared = grad * grad
        _lerp_(row_var, squared.mean(axis=-1, keepdims=True), one_minus_beta2)
        _lerp_(col_var, squared.mean(axis=-2, keepdims=True), one_minus_beta2)
        update = row_var @ col_var  # the rank-1 (per leading index) variance estimate
        update /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        xp.maximum(update, eps1 * eps1, out=update)
    else:
        _lerp_(variance, grad * grad, one_minus_beta2)
        update = xp.maximum(variance, eps1 * eps1)
    xp.sqrt(update, out=update)
    xp.reciprocal(update, out=update)
    update *= grad
    update *= alpha / max(1.0, _rms(update) / d)  # clipped so that RMS(update) <= d
    param -= update


class Adafactor(Optimizer):
    """torch.optim.Adafactor: Adam-like steps with a factored (row x column) second moment for
    matrices, relative step sizes and update clipping.

    ``foreach`` only chooses torch's kernel: accepted, no effect.
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = _step_tensor()
        if p.ndim > 1:  # second moment factored over the last two dimensions
            row_shape, col_shape = list(p.shape), list(p.shape)
            row_shape[-1] = 1
            col_shape[-2] = 1
            state["row_var"] = Tensor._make(xp.zeros(row_shape, p._data.dtype))
            state["col_var"] = Tensor._make(xp.zeros(col_shape, p._data.dtype))
        else:
            state["variance"] = _zeros_like(p)
        return state

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One Adafactor step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr = _as_scalar(group["lr"])  # a tensor lr rounds in its dtype, as in torch
            eps1, eps2 = group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if eps1 is None:  # torch resolves it from the group's first parameter with a grad
                    eps1 = float(xp.finfo(p._data.dtype).eps)
                state = self.state[p] or self._init_state(p)
                state["step"]._data += 1
                adafactor_update(
                    p._data, p.grad._data, _data_or_none(state.get("row_var")),
                    _data_or_none(state.get("col_var")), _data_or_none(state.get("variance")),
                    step=float(state["step"]._data), lr=lr, beta2_decay=group["beta2_decay"],
                    eps1=eps1, eps2=eps2, d=group["d"], weight_decay=group["weight_decay"],
                    maximize=group["maximize"])
                p._vc[0] += 1
        return loss

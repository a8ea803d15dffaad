"""Rprop (Riedmiller & Braun, 1993, "A Direct Adaptive Method for Faster Backpropagation
Learning: The RPROP Algorithm").

Algorithm box (torch.optim.Rprop, the "Rprop-" variant)::

    g <- grad (negated if maximize)
    where g * g_prev > 0:  eta_i <- min(eta_i * eta_plus,  step_max)
    where g * g_prev < 0:  eta_i <- max(eta_i * eta_minus, step_min);  g <- 0
    theta <- theta - eta * sign(g)
    g_prev <- g                                                          prev
"""

from __future__ import annotations

from .._tensor import Tensor
from ..backend import xp
from . import _listwise
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _get_value,
    _step_tensor,
    _use_grad_for_differentiable,
    _zeros_like,
)

__all__ = ["Rprop", "rprop", "rprop_update"]


def rprop_update(param, grad, prev, step_size, *, etaminus, etaplus, step_size_min,
                 step_size_max, maximize):
    """One Rprop step on raw arrays; ``param``, ``prev`` and ``step_size`` change in place."""
    if maximize:
        grad = -grad
    agreement = xp.sign(grad * prev)
    factor = xp.ones_like(grad)
    factor[agreement > 0] = etaplus
    factor[agreement < 0] = etaminus
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    grad = xp.where(agreement < 0, 0, grad).astype(grad.dtype, copy=False)
    param -= xp.sign(grad) * step_size
    prev[...] = grad


class Rprop(Optimizer):
    """torch.optim.Rprop: per-weight step sizes that grow while the gradient keeps its sign and
    shrink when it flips; only the sign of the gradient is used.

    ``foreach`` and ``capturable`` only choose torch's kernels: accepted, no effect.
    ``differentiable=True`` is refused (the update runs on raw arrays, outside the graph).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _check_differentiable(differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["prev"] = _zeros_like(p)
        state["step_size"] = Tensor._make(xp.full_like(p._data, _get_value(group["lr"])))
        return state

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One Rprop step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] or self._init_state(p, group)
                state["step"]._data += 1
                rprop_update(p._data, p.grad._data, state["prev"]._data,
                             state["step_size"]._data, etaminus=etaminus, etaplus=etaplus,
                             step_size_min=step_size_min, step_size_max=step_size_max,
                             maximize=group["maximize"])
                p._vc[0] += 1
        return loss


def rprop(params, grads, prevs, step_sizes, state_steps, foreach=None, capturable=False,
          maximize=False, differentiable=False, has_complex=False, *, step_size_min,
          step_size_max, etaminus, etaplus):
    """torch.optim.rprop.rprop: one Rprop step on lists of tensors, in place, with ``Rprop``'s
    numbers."""
    _listwise.check_call(params, grads, prevs, step_sizes, differentiable=differentiable,
                         state_steps=state_steps)
    for p, grad, prev, step_size, step_t in zip(params, grads, prevs, step_sizes, state_steps):
        _listwise.advance(step_t)
        rprop_update(p._data, grad._data, prev._data, step_size._data, etaminus=etaminus,
                     etaplus=etaplus, step_size_min=step_size_min, step_size_max=step_size_max,
                     maximize=maximize)
        _listwise.bump(p, prev, step_size)

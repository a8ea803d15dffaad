"""Adadelta (Zeiler, 2012, "ADADELTA: An Adaptive Learning Rate Method").

Algorithm box (torch.optim.Adadelta)::

    g     <- grad (negated if maximize) + weight_decay * theta
    v     <- rho * v + (1 - rho) * g^2                               square_avg
    dx    <- sqrt(u + eps) / sqrt(v + eps) * g
    u     <- rho * u + (1 - rho) * dx^2                              acc_delta
    theta <- theta - lr * dx
"""

from __future__ import annotations

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

__all__ = ["Adadelta", "adadelta", "adadelta_update"]


def adadelta_update(param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay, maximize):
    """One Adadelta step on raw arrays; ``param`` and the state arrays change in place."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    std = xp.sqrt(square_avg + eps)
    delta = xp.sqrt(acc_delta + eps)
    delta /= std
    delta *= grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    param -= lr * delta


class Adadelta(Optimizer):
    """torch.optim.Adadelta: step sizes from the ratio of running RMS of updates and gradients.

    ``foreach`` and ``capturable`` only choose torch's kernels: accepted, no effect.
    ``differentiable=True`` is refused (the update runs on raw arrays, outside the graph).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_differentiable(differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["square_avg"] = _zeros_like(p)
        state["acc_delta"] = _zeros_like(p)
        return state

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One Adadelta step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr = _get_value(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] or self._init_state(p)
                state["step"]._data += 1
                adadelta_update(p._data, p.grad._data, state["square_avg"]._data,
                                state["acc_delta"]._data, lr=lr, rho=group["rho"],
                                eps=group["eps"], weight_decay=group["weight_decay"],
                                maximize=group["maximize"])
                p._vc[0] += 1
        return loss


def adadelta(params, grads, square_avgs, acc_deltas, state_steps, capturable=False, foreach=None,
             differentiable=False, has_complex=False, *, lr, rho, eps, weight_decay, maximize):
    """torch.optim.adadelta.adadelta: one Adadelta step on lists of tensors, in place, with
    ``Adadelta``'s numbers."""
    _listwise.check_call(params, grads, square_avgs, acc_deltas, differentiable=differentiable,
                         state_steps=state_steps)
    lr = _get_value(lr)
    for p, grad, square_avg, acc_delta, step_t in zip(params, grads, square_avgs, acc_deltas,
                                                      state_steps):
        _listwise.advance(step_t)
        adadelta_update(p._data, grad._data, square_avg._data, acc_delta._data, lr=lr, rho=rho,
                        eps=eps, weight_decay=weight_decay, maximize=maximize)
        _listwise.bump(p, square_avg, acc_delta)

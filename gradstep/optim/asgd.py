"""Averaged SGD (Polyak & Juditsky, 1992, "Acceleration of Stochastic Approximation by Averaging").

Algorithm box (torch.optim.ASGD)::

    g     <- grad (negated if maximize) + weight_decay * theta
    theta <- theta * (1 - lambd * eta) - eta * g
    ax    <- ax + mu * (theta - ax)          (a copy of theta while mu == 1)
    eta   <- lr / (1 + lambd * lr * t)^alpha
    mu    <- 1 / max(1, t - t0)

``eta`` and ``mu`` are kept, as in torch, as 0-d tensors of the scalar dtype (float32 unless the
default dtype is float64), so they are rounded to that dtype between steps.
"""

from __future__ import annotations

from ..backend import get_default_dtype, xp
from . import _listwise
from .optimizer import (
    Optimizer,
    _as_scalar,
    _check_differentiable,
    _check_lr,
    _get_value,
    _step_tensor,
    _use_grad_for_differentiable,
    _zeros_like,
)

__all__ = ["ASGD", "asgd", "asgd_update"]


def asgd_update(param, grad, ax, *, eta, mu, lambd, weight_decay, maximize):
    """Move ``param`` and its running average ``ax`` (raw arrays, in place) by one ASGD step.

    ``eta`` and ``mu`` are the current step size and averaging weight (Python floats).
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    param *= 1 - lambd * eta
    param -= eta * grad
    if mu != 1:
        ax += (param - ax) * mu
    else:
        ax[...] = param


def asgd_schedule(step, *, lr, lambd, alpha, t0):
    """The step size ``eta`` and averaging weight ``mu`` to use after ``step`` steps."""
    eta = lr / ((1 + lambd * lr * step) ** alpha)
    mu = 1 / max(1, step - t0)
    return eta, mu


class ASGD(Optimizer):
    """torch.optim.ASGD: SGD with a decaying step size and a running average ``ax`` of the
    iterates (averaging starts after ``t0`` steps; read the averaged weights from the state).

    ``foreach`` and ``capturable`` only choose torch's kernels: accepted, no effect.
    ``differentiable=True`` is refused (the update runs on raw arrays, outside the graph).
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_differentiable(differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor(0.0)
        state["eta"] = _step_tensor(_get_value(group["lr"]))
        state["mu"] = _step_tensor(1.0)
        state["ax"] = _zeros_like(p)
        return state

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One ASGD step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr = _as_scalar(group["lr"])  # a tensor lr rounds in its dtype, as in torch
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] or self._init_state(p, group)
                state["step"]._data += 1
                _asgd_step(p, p.grad, state["ax"], state["eta"], state["mu"],
                           float(state["step"]._data), lr=lr, lambd=group["lambd"],
                           alpha=group["alpha"], t0=group["t0"],
                           weight_decay=group["weight_decay"], maximize=group["maximize"])
                p._vc[0] += 1
        return loss


def _asgd_step(p, grad, ax, eta, mu, step, *, lr, lambd, alpha, t0, weight_decay, maximize):
    """One ASGD step of parameter ``p`` (``step`` already incremented): ``p`` and ``ax`` move
    with the current ``eta`` and ``mu`` (0-d tensors), which then take the next step's values."""
    asgd_update(p._data, grad._data, ax._data, eta=float(eta._data), mu=float(mu._data),
                lambd=lambd, weight_decay=weight_decay, maximize=maximize)
    eta_next, mu_next = asgd_schedule(step, lr=lr, lambd=lambd, alpha=alpha, t0=t0)
    # torch stores them via a tensor of the default dtype: float32-rounded even when loading a
    # state dict has cast eta and mu to float64
    eta._data[...] = xp.asarray(eta_next, dtype=get_default_dtype().np)
    mu._data[...] = xp.asarray(mu_next, dtype=get_default_dtype().np)


def asgd(params, grads, axs, mus, etas, state_steps, foreach=None, maximize=False,
         differentiable=False, capturable=False, has_complex=False, *, lambd, lr, t0, alpha,
         weight_decay):
    """torch.optim.asgd.asgd: one ASGD step on lists of tensors, in place, with ``ASGD``'s
    numbers (``state_steps``, ``etas`` and ``mus`` move on as the optimizer's state does)."""
    _listwise.check_call(params, grads, axs, differentiable=differentiable)
    lr = _as_scalar(lr)  # a tensor lr rounds in its dtype, as in torch
    for p, grad, ax, mu, eta, step_t in zip(params, grads, axs, mus, etas, state_steps):
        step = _listwise.advance(step_t)
        _asgd_step(p, grad, ax, eta, mu, step, lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                   weight_decay=weight_decay, maximize=maximize)
        _listwise.bump(p, ax, eta, mu)

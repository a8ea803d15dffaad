"""Adagrad (Duchi, Hazan & Singer, 2011, "Adaptive Subgradient Methods").

Algorithm box (torch.optim.Adagrad)::

    g     <- grad (negated if maximize) + weight_decay * theta
    lr_t  <- lr / (1 + (t - 1) * lr_decay)
    s     <- s + g^2                                   sum (starts at initial_accumulator_value)
    theta <- theta - lr_t * g / (sqrt(s) + eps)
"""

from __future__ import annotations

from .._tensor import Tensor
from ..backend import xp
from . import _listwise, _lowp_update, _sparse, _tensor_hyper
from .optimizer import (
    Optimizer,
    _as_scalar,
    _check_differentiable,
    _check_fused_foreach,
    _check_lr,
    _step_tensor,
    _use_grad_for_differentiable,
)

__all__ = ["Adagrad", "adagrad", "adagrad_update"]


def adagrad_update(param, grad, state_sum, *, step, lr, lr_decay, weight_decay, eps, maximize):
    """One Adagrad step on raw arrays (``step`` is the already incremented step count)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += grad * grad
    std = xp.sqrt(state_sum)
    std += eps
    param -= clr * grad / std


class Adagrad(Optimizer):
    """torch.optim.Adagrad: per-coordinate step sizes shrinking with the summed squared gradients.

    As in torch, the state (``step`` and ``sum``) is created in the constructor, and
    ``initial_accumulator_value`` is the constructor's value for every group.
    ``foreach`` and ``fused`` only choose torch's kernels: accepted, no effect.
    ``differentiable=True`` is refused (the update runs on raw arrays, outside the graph).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            _check_fused_foreach(fused, foreach)
        _check_differentiable(differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["sum"] = Tensor._make(
            xp.full_like(p._data, self.defaults["initial_accumulator_value"]))
        return state

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One Adagrad step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            if _tensor_hyper.has_tensor(group, "lr", "weight_decay", "lr_decay"):
                _tensor_hyper.adagrad(self, group, lambda p, group: self._init_state(p))
                continue
            lr = _as_scalar(group["lr"])  # a tensor lr rounds in its dtype, as in torch
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] or self._init_state(p)
                state["step"]._data += 1
                hyper = dict(step=float(state["step"]._data), lr=lr, lr_decay=group["lr_decay"],
                             weight_decay=group["weight_decay"], eps=group["eps"],
                             maximize=group["maximize"])
                try:
                    grad = p.grad._data
                except NotImplementedError:  # a sparse gradient: torch's sparse update
                    _sparse.adagrad(p, p.grad, state["sum"], **hyper)
                    continue
                update = _lowp_update.for_dtype(adagrad_update, _lowp_update.adagrad_update,
                                                p._data.dtype, group.get("foreach"))
                update(p._data, grad, state["sum"]._data, **hyper)
                p._vc[0] += 1
        return loss


def adagrad(params, grads, state_sums, state_steps, fused=None, grad_scale=None, found_inf=None,
            has_sparse_grad=False, foreach=None, differentiable=False, has_complex=False, *, lr,
            weight_decay, lr_decay, eps, maximize):
    """torch.optim.adagrad.adagrad: one Adagrad step on lists of tensors, in place, with
    ``Adagrad``'s numbers (each ``state_steps`` tensor is incremented first)."""
    _listwise.check_call(params, grads, state_sums, differentiable=differentiable,
                         state_steps=state_steps)
    _listwise.check_no_grad_scaling(grad_scale, found_inf, fused)
    lr = _as_scalar(lr)  # a tensor lr rounds in its dtype, as in torch
    for p, grad, state_sum, step_t in zip(params, grads, state_sums, state_steps):
        step = _listwise.advance(step_t)
        update = _lowp_update.for_dtype(adagrad_update, _lowp_update.adagrad_update,
                                        p._data.dtype, foreach and not fused)
        update(p._data, grad._data, state_sum._data, step=step, lr=lr, lr_decay=lr_decay,
               weight_decay=weight_decay, eps=eps, maximize=maximize)
        _listwise.bump(p, state_sum)

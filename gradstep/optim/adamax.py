"""Adamax (Kingma & Ba, 2015, section 7): Adam with the infinity norm.

Algorithm box (torch.optim.Adamax)::

    g <- grad (negated if maximize)
    if weight_decay != 0:  g <- g + weight_decay * theta
    m <- lerp(m, g, 1 - beta1)                        exp_avg
    u <- max(beta2 * u, |g| + eps)                    exp_inf
    theta <- theta - lr / (1 - beta1^t) * m / u
"""

from __future__ import annotations

from ..backend import xp
from . import _listwise
from ._flat import param_batches
from ._update import add_weight_decay, lerp_, signed_grad, temps
from .adam import _check_betas
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _get_value,
    _group_defaults,
    _scalar_state_as_tensors,
    _step_tensor,
    _use_grad_for_differentiable,
    _zeros_like,
)

__all__ = ["Adamax", "adamax", "adamax_update"]


def adamax_update(param, grad, exp_avg, exp_inf, *, step, lr, beta1, beta2, eps, weight_decay,
                  maximize, scratch=None):
    """One Adamax step (``step`` is t, already incremented) on raw arrays, in place."""
    g_buf, tmp = temps(param, scratch, 2)
    g = signed_grad(grad, maximize, out=g_buf)
    if weight_decay != 0:
        g = add_weight_decay(g, param, weight_decay, out=g_buf)
    lerp_(exp_avg, g, 1 - beta1, tmp)
    exp_inf *= beta2
    abs_g = xp.abs(g, out=tmp)
    abs_g += eps
    xp.maximum(exp_inf, abs_g, out=exp_inf)
    clr = lr / (1 - beta1**step)
    update = xp.divide(exp_avg, exp_inf, out=tmp)
    update *= -clr
    param += update


class Adamax(Optimizer):
    """Adamax (torch.optim.Adamax): every argument and default of torch's constructor.

    ``foreach``: ``None``/``True`` use the vectorised flat-buffer path, ``False``
    the per-parameter loop (identical numbers). ``capturable`` only concerns CUDA
    graphs and has no effect. ``differentiable=True`` is not supported (raises).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)
        _check_differentiable(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False, capturable=False)
        _scalar_state_as_tensors(self, ("step",))

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["exp_avg"] = _zeros_like(p)
        state["exp_inf"] = _zeros_like(p)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One Adamax step over every group; returns the closure's loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            hyper = dict(lr=_get_value(group["lr"]), beta1=beta1, beta2=beta2, eps=group["eps"],
                         weight_decay=group["weight_decay"], maximize=group["maximize"])
            for b in param_batches(self, group, ("exp_avg", "exp_inf"), self._init_state,
                                   scalar_keys=("step",)):
                b.state["step"] += 1
                b.run(adamax_update, b.state["exp_avg"], b.state["exp_inf"],
                      step=b.scalar("step"), **hyper)
        return loss


def adamax(params, grads, exp_avgs, exp_infs, state_steps, foreach=None, maximize=False,
           differentiable=False, capturable=False, has_complex=False, *, eps, beta1, beta2, lr,
           weight_decay):
    """torch.optim.adamax.adamax: one Adamax step on lists of tensors, in place, with
    ``Adamax``'s numbers (each ``state_steps`` tensor is incremented first)."""
    _listwise.check_call(params, grads, exp_avgs, exp_infs, differentiable=differentiable,
                         state_steps=state_steps)
    lr = _get_value(lr)
    for p, grad, exp_avg, exp_inf, step_t in zip(params, grads, exp_avgs, exp_infs, state_steps):
        step = _listwise.advance(step_t)
        adamax_update(p._data, grad._data, exp_avg._data, exp_inf._data, step=step, lr=lr,
                      beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                      maximize=maximize)
        _listwise.bump(p, exp_avg, exp_inf)

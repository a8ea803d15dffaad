"""RAdam (Liu et al., 2020): Adam with a rectified adaptive learning rate.

Algorithm box (torch.optim.RAdam)::

    g <- grad (negated if maximize)
    if weight_decay != 0:
        theta <- theta * (1 - lr * weight_decay)      if decoupled_weight_decay
        g     <- g + weight_decay * theta             otherwise
    m <- lerp(m, g, 1 - beta1);  v <- beta2 * v + (1 - beta2) * g^2
    m_hat <- m / (1 - beta1^t)
    rho_inf <- 2 / (1 - beta2) - 1;  rho_t <- rho_inf - 2 t beta2^t / (1 - beta2^t)
    if rho_t > 5:
        r <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        theta <- theta - lr * m_hat * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r
    else:
        theta <- theta - lr * m_hat
"""

from __future__ import annotations

from ..backend import xp
from . import _listwise
from ._flat import param_batches
from ._update import add_weight_decay, ema_sq_, lerp_, signed_grad, temps
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

__all__ = ["RAdam", "radam", "radam_update"]


def radam_update(param, grad, exp_avg, exp_avg_sq, *, step, lr, beta1, beta2, eps, weight_decay,
                 decoupled_weight_decay, maximize, scratch=None):
    """One RAdam step (``step`` is t, already incremented) on raw arrays, in place."""
    g_buf, tmp, update = temps(param, scratch, 3)
    g = signed_grad(grad, maximize, out=g_buf)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = add_weight_decay(g, param, weight_decay, out=g_buf)
    lerp_(exp_avg, g, 1 - beta1, tmp)
    ema_sq_(exp_avg_sq, g, beta2, tmp)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    xp.divide(exp_avg, bias_correction1, out=update)
    update *= lr
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive = xp.sqrt(exp_avg_sq, out=tmp)
        adaptive += eps
        xp.divide(bias_correction2**0.5, adaptive, out=adaptive)
        update *= adaptive
        update *= rect
    param -= update


class RAdam(Optimizer):
    """RAdam (torch.optim.RAdam): every argument and default of torch's constructor.

    ``foreach``: ``None``/``True`` use the vectorised flat-buffer path, ``False``
    the per-parameter loop (identical numbers). ``capturable`` only concerns CUDA
    graphs and has no effect. ``differentiable=True`` is not supported (raises).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)
        _check_differentiable(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False,
                        decoupled_weight_decay=False, capturable=False)
        _scalar_state_as_tensors(self, ("step",))

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One RAdam step over every group; returns the closure's loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            hyper = dict(lr=_get_value(group["lr"]), beta1=beta1, beta2=beta2, eps=group["eps"],
                         weight_decay=group["weight_decay"], maximize=group["maximize"],
                         decoupled_weight_decay=group["decoupled_weight_decay"])
            for b in param_batches(self, group, ("exp_avg", "exp_avg_sq"), self._init_state,
                                   scalar_keys=("step",)):
                b.state["step"] += 1
                b.run(radam_update, b.state["exp_avg"], b.state["exp_avg_sq"],
                      step=b.scalar("step"), **hyper)
        return loss


def radam(params, grads, exp_avgs, exp_avg_sqs, state_steps, decoupled_weight_decay=False,
          foreach=None, differentiable=False, capturable=False, has_complex=False, maximize=False,
          *, beta1, beta2, lr, weight_decay, eps):
    """torch.optim.radam.radam: one RAdam step on lists of tensors, in place, with ``RAdam``'s
    numbers (each ``state_steps`` tensor is incremented first)."""
    _listwise.check_call(params, grads, exp_avgs, exp_avg_sqs, differentiable=differentiable,
                         state_steps=state_steps)
    lr = _get_value(lr)
    for p, grad, exp_avg, exp_avg_sq, step_t in zip(params, grads, exp_avgs, exp_avg_sqs,
                                                    state_steps):
        step = _listwise.advance(step_t)
        radam_update(p._data, grad._data, exp_avg._data, exp_avg_sq._data, step=step, lr=lr,
                     beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                     decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        _listwise.bump(p, exp_avg, exp_avg_sq)

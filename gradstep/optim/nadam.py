"""NAdam (Dozat, 2016): Adam with Nesterov momentum and a momentum-decay schedule.

Algorithm box (torch.optim.NAdam)::

    g <- grad (negated if maximize)
    if weight_decay != 0:
        theta <- theta * (1 - lr * weight_decay)      if decoupled_weight_decay
        g     <- g + weight_decay * theta             otherwise
    mu_t     <- beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
    mu_{t+1} <- beta1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
    P <- P * mu_t                                      mu_product
    m <- lerp(m, g, 1 - beta1)                         exp_avg
    v <- beta2 * v + (1 - beta2) * g^2                 exp_avg_sq
    d <- sqrt(v / (1 - beta2^t)) + eps
    theta <- theta - lr (1 - mu_t) / (1 - P) * g / d
    theta <- theta - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d
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

__all__ = ["NAdam", "nadam", "nadam_update"]


def nadam_update(param, grad, exp_avg, exp_avg_sq, *, step, mu, mu_next, mu_product, lr, beta1,
                 beta2, eps, weight_decay, decoupled_weight_decay, maximize, scratch=None):
    """One NAdam step on raw arrays, in place; ``mu_product`` already includes ``mu``."""
    g_buf, tmp, denom = temps(param, scratch, 3)
    g = signed_grad(grad, maximize, out=g_buf)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = add_weight_decay(g, param, weight_decay, out=g_buf)
    lerp_(exp_avg, g, 1 - beta1, tmp)
    ema_sq_(exp_avg_sq, g, beta2, tmp)
    xp.divide(exp_avg_sq, 1 - beta2**step, out=denom)
    xp.sqrt(denom, out=denom)
    denom += eps
    grad_part = xp.divide(g, denom, out=tmp)
    grad_part *= -lr * (1.0 - mu) / (1.0 - mu_product)
    param += grad_part
    avg_part = xp.divide(exp_avg, denom, out=tmp)
    avg_part *= (-lr * mu_next) / (1.0 - mu_product * mu_next)
    param += avg_part


class NAdam(Optimizer):
    """NAdam (torch.optim.NAdam): every argument and default of torch's constructor.

    ``foreach``: ``None``/``True`` use the vectorised flat-buffer path, ``False``
    the per-parameter loop (identical numbers). ``capturable`` only concerns CUDA
    graphs and has no effect. ``differentiable=True`` is not supported (raises).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)
        _check_differentiable(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        _group_defaults(self, maximize=False, foreach=None, capturable=False, differentiable=False,
                        decoupled_weight_decay=False)
        _scalar_state_as_tensors(self, ("step", "mu_product"))

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["mu_product"] = _step_tensor(1.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One NAdam step over every group; returns the closure's loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            decay = group["momentum_decay"]
            hyper = dict(lr=_get_value(group["lr"]), beta1=beta1, beta2=beta2, eps=group["eps"],
                         weight_decay=group["weight_decay"], maximize=group["maximize"],
                         decoupled_weight_decay=group["decoupled_weight_decay"])
            for b in param_batches(self, group, ("exp_avg", "exp_avg_sq"), self._init_state,
                                   scalar_keys=("step", "mu_product")):
                b.state["step"] += 1
                t = b.scalar("step")
                mu, mu_next = _momentum_schedule(t, beta1, decay)
                b.state["mu_product"] *= mu
                b.run(nadam_update, b.state["exp_avg"], b.state["exp_avg_sq"],
                      step=t, mu=mu, mu_next=mu_next, mu_product=b.scalar("mu_product"), **hyper)
        return loss


def _momentum_schedule(t, beta1, momentum_decay):
    """``mu_t`` and ``mu_{t+1}`` of step ``t``."""
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    return mu, mu_next


def nadam(params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps,
          decoupled_weight_decay=False, foreach=None, capturable=False, differentiable=False,
          has_complex=False, maximize=False, *, beta1, beta2, lr, weight_decay, momentum_decay,
          eps):
    """torch.optim.nadam.nadam: one NAdam step on lists of tensors, in place, with ``NAdam``'s
    numbers (each ``state_steps`` tensor is incremented and each ``mu_products`` one updated)."""
    _listwise.check_call(params, grads, exp_avgs, exp_avg_sqs, differentiable=differentiable,
                         state_steps=state_steps)
    _listwise.check_call((), state_steps=mu_products, step_name="mu_products")
    lr = _get_value(lr)
    for i, p in enumerate(params):
        t = _listwise.advance(state_steps[i])
        mu, mu_next = _momentum_schedule(t, beta1, momentum_decay)
        mu_product = mu_products[i]
        mu_product._data *= mu
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        nadam_update(p._data, grads[i]._data, exp_avg._data, exp_avg_sq._data, step=t, mu=mu,
                     mu_next=mu_next, mu_product=float(mu_product._data), lr=lr, beta1=beta1,
                     beta2=beta2, eps=eps, weight_decay=weight_decay,
                     decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        _listwise.bump(p, exp_avg, exp_avg_sq, mu_product)

"""Adam (Kingma & Ba, 2015), with AMSGrad (Reddi et al., 2018) and decoupled weight decay.

Algorithm box (torch.optim.Adam)::

    g <- grad (negated if maximize)
    if weight_decay != 0:
        theta <- theta * (1 - lr * weight_decay)      if decoupled_weight_decay (AdamW)
        g     <- g + weight_decay * theta             otherwise
    m <- lerp(m, g, 1 - beta1)                         exp_avg
    v <- beta2 * v + (1 - beta2) * g^2                 exp_avg_sq
    if amsgrad:  v_max <- max(v_max, v);  v <- v_max   max_exp_avg_sq
    theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""

from __future__ import annotations

from .._blas import axpy
from .._tensor import Tensor
from ..backend import xp
from . import _listwise, _lowp_update, _tensor_hyper
from ._flat import param_batches
from ._update import add_weight_decay, ema_sq_, lerp_, signed_grad, temps
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_fused_foreach,
    _check_lr,
    _get_value,
    _group_defaults,
    _scalar_state_as_tensors,
    _step_tensor,
    _use_grad_for_differentiable,
    _zeros_like,
)

__all__ = ["Adam", "adam", "adam_update"]


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps,
                weight_decay, amsgrad, maximize, decoupled_weight_decay, scratch=None):
    """One Adam step (``step`` is t, already incremented) on raw arrays, in place."""
    g_buf, tmp = temps(param, scratch, 2)
    g = signed_grad(grad, maximize, out=g_buf)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = add_weight_decay(g, param, weight_decay, out=g_buf)
    lerp_(exp_avg, g, 1 - beta1, tmp)
    ema_sq_(exp_avg_sq, g, beta2, tmp)
    step_size = lr / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    v = exp_avg_sq
    if amsgrad:
        v = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    # torch: m / (sqrt(v) / bc2 + eps) * step_size, with bc2 = sqrt(1 - beta2^t). Multiplying
    # top and bottom by bc2 gives the same value without one pass over the array (a division by
    # a scalar, ~6% of the step); the rounding differs from torch's by an ulp or two of the update.
    denom = xp.sqrt(v, out=tmp)
    denom += eps * bias_correction2_sqrt
    axpy(-step_size * bias_correction2_sqrt, xp.divide(exp_avg, denom, out=tmp), param)


class Adam(Optimizer):
    """Adam (torch.optim.Adam): every argument and default of torch's constructor.

    ``foreach``: ``None``/``True`` use gradstep's vectorised path (one flat buffer
    per group, see ``gradstep.optim._flat``), ``False`` the per-parameter loop;
    both give identical numbers. ``fused=True`` also selects the vectorised path.
    ``capturable`` only concerns CUDA graphs: accepted and without effect (the
    numbers are the same). ``differentiable=True`` is not supported (raises).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (all(isinstance(b, float) for b in betas)
                or all(isinstance(b, Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, b in enumerate(betas):
            if isinstance(b, Tensor) and foreach and not capturable:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False "
                                 "and foreach=True")
            if isinstance(b, Tensor) and b.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            _check_fused_foreach(fused, foreach)
        _check_differentiable(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        _group_defaults(self, amsgrad=False, maximize=False, foreach=None, capturable=False,
                        differentiable=False, decoupled_weight_decay=False, fused=None)
        _scalar_state_as_tensors(self, ("step",))

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor(fused=bool(group["fused"]))
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(p)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One Adam step over every group; returns the closure's loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            if _tensor_hyper.has_tensor(group, "lr", "betas", "weight_decay"):
                _tensor_hyper.adam(self, group, self._init_state)
                continue
            keys = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
            beta1, beta2 = (_get_value(b) for b in group["betas"])
            hyper = dict(lr=_get_value(group["lr"]), beta1=beta1, beta2=beta2, eps=group["eps"],
                         weight_decay=_get_value(group["weight_decay"]), amsgrad=group["amsgrad"],
                         maximize=group["maximize"],
                         decoupled_weight_decay=group["decoupled_weight_decay"])
            for b in param_batches(self, group, keys, self._init_state, scalar_keys=("step",)):
                b.state["step"] += 1
                s = b.state
                update = _lowp_update.for_dtype(adam_update, _lowp_update.adam_update,
                                                b.param.dtype, group["foreach"])
                b.run(update, s["exp_avg"], s["exp_avg_sq"],
                      s.get("max_exp_avg_sq"), step=b.scalar("step"), **hyper)
        return loss


def adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, foreach=None,
         capturable=False, differentiable=False, fused=None, grad_scale=None, found_inf=None,
         has_complex=False, decoupled_weight_decay=False, *, amsgrad, beta1, beta2, lr,
         weight_decay, eps, maximize):
    """torch.optim.adam.adam: one Adam step on lists of tensors, in place, with ``Adam``'s
    numbers (each ``state_steps`` tensor is incremented first). ``max_exp_avg_sqs`` is read
    only with ``amsgrad``; ``capturable`` and ``has_complex`` have no effect (CPU, no complex
    dtypes); see ``gradstep.optim._listwise`` for grad mode."""
    _listwise.check_call(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                         differentiable=differentiable, state_steps=state_steps)
    _listwise.check_no_grad_scaling(grad_scale, found_inf, fused)
    hyper = dict(lr=_get_value(lr), beta1=_get_value(beta1), beta2=_get_value(beta2), eps=eps,
                 weight_decay=_get_value(weight_decay), amsgrad=amsgrad, maximize=maximize,
                 decoupled_weight_decay=decoupled_weight_decay)
    for i, p in enumerate(params):
        step = _listwise.advance(state_steps[i])
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        max_sq = max_exp_avg_sqs[i] if amsgrad else None
        update = _lowp_update.for_dtype(adam_update, _lowp_update.adam_update, p._data.dtype,
                                        foreach and not fused)
        update(p._data, grads[i]._data, exp_avg._data, exp_avg_sq._data, _listwise.data(max_sq),
               step=step, **hyper)
        _listwise.bump(p, exp_avg, exp_avg_sq, max_sq)


def _check_betas(betas):
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")

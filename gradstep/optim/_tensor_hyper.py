"""Optimizer steps for groups with Tensor hyperparameters (``lr=torch.tensor(0.01)``, Tensor betas...).

torch keeps such hyperparameters as 0-d tensors and its single-tensor update (the CPU default)
does tensor arithmetic with them: ``1 - beta1`` is a 0-d tensor of beta1's dtype, ``lerp_``
takes a tensor weight, ``lr / bias_correction1`` is a tensor whose value reaches
``addcdiv_``'s ``value`` rounded to the tensor's dtype. Converting them to Python floats, as
the raw-array updates do, changes the last bits. So each optimizer's ``step`` checks once per
group whether any hyperparameter is a Tensor (``has_tensor``) and then runs the function here,
which repeats torch's op sequence with gradstep Tensor ops (they round as torch's do). Groups of
plain numbers never come here: their path and its speed are untouched.

Every function takes ``(optimizer, group, init_state)``; ``init_state(p, group)`` fills the
state of a parameter on its first step. Steps run without autograd (the caller's ``step`` is
under ``_use_grad_for_differentiable``).
"""

from __future__ import annotations

from .._tensor import Tensor
from ..backend import xp
from ._fma import add_, addcmul_, div_scalar, lerp_
from .optimizer import _get_value, _to_scalar

__all__ = ["has_tensor", "adam", "sgd", "rmsprop", "adagrad"]


def has_tensor(group, *keys):
    """True when one of the group's hyperparameters ``keys`` (or a member of a tuple such as
    ``betas``) is a Tensor."""
    for key in keys:
        value = group.get(key)
        if isinstance(value, Tensor):
            return True
        if isinstance(value, tuple) and any(isinstance(v, Tensor) for v in value):
            return True
    return False


def params_with_state(optimizer, group, init_state):
    """``(param, grad, state)`` for each parameter of ``group`` that has a gradient, its state
    created on the first step."""
    for p in group["params"]:
        grad = p._grad
        if grad is None:
            continue
        if not optimizer.state.get(p):
            init_state(p, group)
        yield p, grad, optimizer.state[p]


def _signed(grad, maximize):
    return -grad if maximize else grad


def _in_dtype(value, dtype, cache):
    """A Tensor hyperparameter cast to a parameter's dtype (once per dtype), as torch's
    ``beta1_dict``; a number as it is."""
    if not isinstance(value, Tensor):
        return value
    if dtype not in cache:
        cache[dtype] = value.to(dtype=dtype)
    return cache[dtype]


def adam(optimizer, group, init_state):
    """torch's ``_single_tensor_adam`` (capturable=False), AdamW included."""
    lr = _to_scalar(group["lr"])
    beta1, beta2 = (_to_scalar(b) for b in group["betas"])
    weight_decay, eps = group["weight_decay"], group["eps"]
    beta1_by_dtype = {}
    for p, grad, state in params_with_state(optimizer, group, init_state):
        grad = _signed(grad, group["maximize"])
        step_t = state["step"]
        step_t += 1
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * weight_decay)
            else:
                grad = add_(grad.clone(), p, weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - _in_dtype(beta1, p.dtype, beta1_by_dtype))
        addcmul_(exp_avg_sq.mul_(beta2), grad, grad, 1 - beta2)
        step = _get_value(step_t)
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            max_sq = state["max_exp_avg_sq"]
            xp.maximum(max_sq._data, exp_avg_sq._data, out=max_sq._data)
            max_sq._vc[0] += 1
            exp_avg_sq = max_sq
        denom = div_scalar(exp_avg_sq.sqrt(), bias_correction2_sqrt).add_(eps)
        p.addcdiv_(exp_avg, denom, value=-step_size)


def sgd(optimizer, group, init_state):
    """torch's ``_single_tensor_sgd``: the momentum buffer starts as a copy of the first
    gradient."""
    lr, weight_decay, momentum = group["lr"], group["weight_decay"], group["momentum"]
    dampening = group["dampening"]
    for p in group["params"]:
        grad = p._grad
        if grad is None:
            continue
        grad = _signed(grad, group["maximize"])
        if weight_decay != 0:
            grad = add_(grad.clone(), p, weight_decay)
        if momentum != 0:
            state = optimizer.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.detach().clone()
            else:
                add_(buf.mul_(momentum), grad, 1 - dampening)
            grad = add_(grad.clone(), buf, momentum) if group["nesterov"] else buf
        add_(p, grad, -lr)


def rmsprop(optimizer, group, init_state):
    """torch's ``_single_tensor_rmsprop`` (capturable=False)."""
    lr = _to_scalar(group["lr"])
    alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
    weight_decay = group["weight_decay"]
    for p, grad, state in params_with_state(optimizer, group, init_state):
        grad = _signed(grad, group["maximize"])
        step_t = state["step"]
        step_t += 1
        if weight_decay != 0:
            grad = add_(grad.clone(), p, weight_decay)
        square_avg = state["square_avg"]
        addcmul_(square_avg.mul_(alpha), grad, grad, 1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - alpha)
            avg = addcmul_(square_avg.clone(), grad_avg, grad_avg, -1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf.mul_(momentum).addcdiv_(grad, avg)
            add_(p, buf, -lr)
        else:
            p.addcdiv_(grad, avg, value=-lr)


def adagrad(optimizer, group, init_state):
    """torch's ``_single_tensor_adagrad`` (dense gradients)."""
    lr = _to_scalar(group["lr"])
    weight_decay, lr_decay, eps = group["weight_decay"], group["lr_decay"], group["eps"]
    for p, grad, state in params_with_state(optimizer, group, init_state):
        step_t = state["step"]
        step_t += 1
        step = _get_value(step_t)
        grad = _signed(grad, group["maximize"])
        if weight_decay != 0:
            grad = add_(grad.clone(), p, weight_decay)
        clr = lr / (1 + (step - 1) * lr_decay)
        state_sum = state["sum"]
        addcmul_(state_sum, grad, grad, 1)
        std = state_sum.sqrt().add_(eps)
        p.addcdiv_(grad, std, value=-clr)


"""RMSprop (Hinton, Lecture 6e of "Neural Networks for Machine Learning"; centered variant from
Graves, 2013, "Generating Sequences With Recurrent Neural Networks").

Algorithm box (torch.optim.RMSprop)::

    g  <- grad (negated if maximize) + weight_decay * theta
    v  <- alpha * v + (1 - alpha) * g^2                       square_avg
    if centered:  m <- lerp(m, g, 1 - alpha);  v~ <- v - m^2   grad_avg
    else:         v~ <- v
    if momentum > 0:  b <- momentum * b + g / (sqrt(v~) + eps);  theta <- theta - lr * b
    else:             theta <- theta - lr * g / (sqrt(v~) + eps)
"""

from __future__ import annotations

from ..backend import xp
from . import _listwise, _lowp_update, _tensor_hyper
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_lr,
    _data_or_none,
    _get_value,
    _step_tensor,
    _use_grad_for_differentiable,
    _zeros_like,
)

__all__ = ["RMSprop", "rmsprop", "rmsprop_update"]


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize):
    """One RMSprop step on raw arrays; ``param`` and the state arrays change in place.

    ``grad_avg`` is only read when ``centered``; ``momentum_buffer`` only when ``momentum > 0``.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        grad_avg += (1 - alpha) * (grad - grad_avg)  # lerp towards grad
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += grad / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * grad / avg  # addcdiv order: (lr * g) / avg


class RMSprop(Optimizer):
    """torch.optim.RMSprop: divide the gradient by a running root-mean-square of its history.

    ``foreach`` and ``capturable`` only choose torch's kernels: accepted, no effect.
    ``differentiable=True`` is refused (the update runs on raw arrays, outside the graph).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        _check_differentiable(differentiable)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["square_avg"] = _zeros_like(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(p)
        return state

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One RMSprop step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            if _tensor_hyper.has_tensor(group, "lr", "alpha", "weight_decay", "momentum"):
                _tensor_hyper.rmsprop(self, group, self._init_state)
                continue
            lr = _get_value(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] or self._init_state(p, group)
                state["step"]._data += 1
                update = _lowp_update.for_dtype(rmsprop_update, _lowp_update.rmsprop_update,
                                                p._data.dtype, group.get("foreach"))
                update(
                    p._data, p.grad._data, state["square_avg"]._data,
                    _data_or_none(state.get("grad_avg")), _data_or_none(state.get("momentum_buffer")),
                    lr=lr, alpha=group["alpha"], eps=group["eps"],
                    weight_decay=group["weight_decay"], momentum=group["momentum"],
                    centered=group["centered"], maximize=group["maximize"])
                p._vc[0] += 1
        return loss


def rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps, foreach=None,
            maximize=False, differentiable=False, capturable=False, has_complex=False, *, lr,
            alpha, eps, weight_decay, momentum, centered):
    """torch.optim.rmsprop.rmsprop: one RMSprop step on lists of tensors, in place, with
    ``RMSprop``'s numbers. ``grad_avgs`` is read only when ``centered``,
    ``momentum_buffer_list`` only when ``momentum > 0``."""
    _listwise.check_call(params, grads, square_avgs, grad_avgs, momentum_buffer_list,
                         differentiable=differentiable, state_steps=state_steps)
    lr = _get_value(lr)
    for i, p in enumerate(params):
        _listwise.advance(state_steps[i])
        grad_avg = grad_avgs[i] if centered else None
        buf = momentum_buffer_list[i] if momentum > 0 else None
        update = _lowp_update.for_dtype(rmsprop_update, _lowp_update.rmsprop_update,
                                        p._data.dtype, foreach)
        update(p._data, grads[i]._data, square_avgs[i]._data, _listwise.data(grad_avg),
               _listwise.data(buf), lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
               momentum=momentum, centered=centered, maximize=maximize)
        _listwise.bump(p, square_avgs[i], grad_avg, buf)

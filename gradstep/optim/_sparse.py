"""Sparse gradients (``nn.Embedding(sparse=True)``) in the built-in optimizers, as torch has them.

* ``SGD`` and ``Adagrad`` update with them: a group with a sparse gradient runs torch's
  per-parameter loop (``sgd`` and ``adagrad`` below). The other parameters of that group keep
  gradstep's dense update, with its numbers.
* ``SparseAdam`` takes nothing else (``sparse_adam.py``).
* The other built-ins refuse them with torch's message (``refusal``).

Nothing here runs for dense gradients: the optimizers read ``grad._data``, which a sparse
tensor does not have (it raises ``NotImplementedError``), and come here from that ``except``.
"""

from __future__ import annotations

from .. import _class_names
from ..backend import xp
from . import _lowp_update
from .optimizer import _zeros_like

_ADAM = "Adam does not support sparse gradients, please consider SparseAdam instead"
_REFUSING = {"Adam": _ADAM, "AdamW": _ADAM, "Adamax": None, "NAdam": None, "RAdam": None,
             "RMSprop": None, "Adadelta": None, "ASGD": None, "Rprop": None, "Adafactor": None,
             "Muon": None}


def has_sparse_grad(params):
    return any(p._grad is not None and p._grad.is_sparse for p in params)


def refusal(optimizer):
    """torch's error when a built-in optimizer that refuses sparse gradients has one, else None
    (a subclass of a built-in gets its base's message, as in torch)."""
    for cls in type(optimizer).__mro__:
        if _class_names.home(cls).startswith("gradstep.optim.") and cls.__name__ in _REFUSING:
            break
    else:
        return None
    if not any(has_sparse_grad(group["params"]) for group in optimizer.param_groups):
        return None
    return RuntimeError(_REFUSING[cls.__name__] or
                        f"{cls.__name__} does not support sparse gradients")


def sgd(optimizer, group, *, lr, weight_decay, momentum, dampening, nesterov, maximize):
    """torch's ``_single_tensor_sgd`` over ``group``. A sparse gradient goes through torch's
    tensor ops: ``weight_decay`` fails (sparse + dense), the first momentum buffer is the
    (sparse) gradient's clone, later ones ``buf.mul_(momentum).add_(g)``."""
    from .sgd import sgd_update

    hyper = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=dampening,
                 nesterov=nesterov, maximize=maximize)
    for p in group["params"]:
        grad = p._grad
        if grad is None:
            continue
        state = optimizer.state[p]
        buf = state.get("momentum_buffer") if momentum != 0 else None
        if not grad.is_sparse:
            fresh = momentum != 0 and buf is None
            if fresh:
                buf = state["momentum_buffer"] = _zeros_like(p)
            update = _lowp_update.for_dtype(sgd_update, _lowp_update.sgd_update, p._data.dtype,
                                            False)
            update(p._data, grad._data, None if buf is None else buf._data, fresh=fresh, **hyper)
            p._vc[0] += 1
            continue
        d_p = -grad if maximize else grad
        if weight_decay != 0:
            d_p = d_p.add(p, alpha=weight_decay)  # torch's error: add(sparse, dense)
        if momentum != 0:
            if buf is None:
                buf = state["momentum_buffer"] = d_p.clone()
            else:
                buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
            d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
        p.add_(d_p, alpha=-lr)


def adagrad(param, grad, state_sum, *, step, lr, lr_decay, weight_decay, eps, maximize):
    """torch's sparse Adagrad step on the coalesced gradient's entries (unique positions, so
    each fancy-indexed update is exact)::

        sum_i += g_i^2;   theta_i -= lr / (1 + (step - 1) * lr_decay) * g_i / (sqrt(sum_i) + eps)
    """
    grad = -grad if maximize else grad
    if weight_decay != 0:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    clr = lr / (1 + (step - 1) * lr_decay)
    grad = grad.coalesce()
    at, values = tuple(grad._struct.idx), grad._vals._data
    total = state_sum._data
    total[at] += values ** 2
    std = xp.sqrt(total[at]) + eps
    param._data[at] += -clr * (values / std)
    state_sum._vc[0] += 1
    param._vc[0] += 1


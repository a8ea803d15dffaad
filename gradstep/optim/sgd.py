"""SGD: stochastic gradient descent with momentum (Polyak, Sutskever et al. 2013 for Nesterov).

Algorithm box (torch.optim.SGD)::

    g <- grad (negated if maximize)
    if weight_decay != 0:  g <- g + weight_decay * theta
    if momentum != 0:
        b <- g                                        on the first step (no dampening)
        b <- momentum * b + (1 - dampening) * g       afterwards
        g <- g + momentum * b   if nesterov   else   b
    theta <- theta - lr * g
"""

from __future__ import annotations

from .._blas import axpby, axpy
from .._tensor import Tensor
from ..backend import xp
from . import _listwise, _lowp_update, _sparse, _tensor_hyper
from ._flat import param_batches
from ._update import add_weight_decay, signed_grad, temps
from .optimizer import (
    Optimizer,
    _check_differentiable,
    _check_fused_foreach,
    _get_value,
    _group_defaults,
    _use_grad_for_differentiable,
    _zeros_like,
)

__all__ = ["SGD", "sgd", "sgd_update"]


def sgd_update(param, grad, momentum_buffer, *, fresh, lr, weight_decay, momentum, dampening,
               nesterov, maximize, scratch=None):
    """One SGD step on raw arrays; ``param`` and ``momentum_buffer`` change in place.

    ``momentum_buffer`` is only used when ``momentum != 0``; when ``fresh`` it is
    overwritten with the gradient (torch clones the gradient on the first step).
    ``scratch``: optional preallocated temporaries (see ``_update.temps``).
    """
    (d_p,) = temps(param, scratch, 1)
    g = signed_grad(grad, maximize, out=d_p)
    if weight_decay != 0:
        g = add_weight_decay(g, param, weight_decay, out=d_p)
    if momentum != 0:
        buf = momentum_buffer
        if fresh:
            buf[...] = g
        else:  # torch: buf.mul_(momentum).add_(g, alpha=1 - dampening)
            axpby(1 - dampening, g, momentum, buf)
        if nesterov:  # torch: g.add(buf, alpha=momentum), into a temporary (never into the grad)
            if g is not d_p:
                xp.copyto(d_p, g)
                g = d_p
            axpy(momentum, buf, g)
        else:
            g = buf
    axpy(-lr, g, param)  # torch: param.add_(g, alpha=-lr)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (torch.optim.SGD).

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate (float or one-element tensor), default 1e-3.
        momentum, dampening, weight_decay, nesterov, maximize: as in torch.
        foreach: ``None``/``True`` use gradstep's vectorised path (one flat buffer
            per group, see ``gradstep.optim._flat``); ``False`` updates parameter
            by parameter like torch's for-loop. Both give identical numbers.
        fused: accepted; ``True`` also selects the vectorised path.
        differentiable: must be False (we update raw arrays, not a graph).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:  # torch's SGD test: a NaN lr passes (the other optimizers refuse it)
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            _check_fused_foreach(fused, foreach)
        _check_differentiable(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        _group_defaults(self, nesterov=False, maximize=False, foreach=None, differentiable=False,
                        fused=False)

    def _init_state(self, p, group):
        if group["momentum"] != 0:
            self.state[p]["momentum_buffer"] = _zeros_like(p)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One SGD step over every group; returns the closure's loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            if _tensor_hyper.has_tensor(group, "lr", "weight_decay", "momentum", "dampening"):
                _tensor_hyper.sgd(self, group, self._init_state)
                continue
            keys = ("momentum_buffer",) if group["momentum"] != 0 else ()
            hyper = dict(lr=_get_value(group["lr"]), weight_decay=_get_value(group["weight_decay"]),
                         momentum=group["momentum"], dampening=group["dampening"],
                         nesterov=group["nesterov"], maximize=group["maximize"])
            try:
                for b in param_batches(self, group, keys, self._init_state):
                    update = _lowp_update.for_dtype(sgd_update, _lowp_update.sgd_update,
                                                    b.param.dtype, group["foreach"])
                    b.run(update, b.state.get("momentum_buffer"), fresh=b.fresh, **hyper)
            except NotImplementedError:  # a sparse gradient (no dense array): torch's loop
                if not _sparse.has_sparse_grad(group["params"]):
                    raise
                _sparse.sgd(self, group, **hyper)
        return loss


def sgd(params, d_p_list, momentum_buffer_list, has_sparse_grad=False, foreach=None, fused=None,
        grad_scale=None, found_inf=None, *, weight_decay, momentum, lr, dampening, nesterov,
        maximize):
    """torch.optim.sgd.sgd: one SGD step on lists of tensors, in place, with ``SGD``'s numbers.

    A ``None`` in ``momentum_buffer_list`` (a parameter's first step with momentum) is
    replaced by the new buffer, as torch does. ``has_sparse_grad`` has no effect, and a sparse
    gradient is refused here (``SGD`` takes them); see ``gradstep.optim._listwise`` for grad
    mode.
    """
    _listwise.check_no_grad_scaling(grad_scale, found_inf, fused)
    _listwise.check_call(params, d_p_list, momentum_buffer_list)
    hyper = dict(lr=_get_value(lr), weight_decay=_get_value(weight_decay), momentum=momentum,
                 dampening=dampening, nesterov=nesterov, maximize=maximize)
    for i, (p, grad) in enumerate(zip(params, d_p_list)):
        buf = momentum_buffer_list[i] if momentum != 0 else None
        fresh = momentum != 0 and buf is None
        if fresh:  # torch clones the gradient; sgd_update writes it in
            buf = momentum_buffer_list[i] = Tensor._make(xp.empty_like(grad._data))
        update = _lowp_update.for_dtype(sgd_update, _lowp_update.sgd_update, p._data.dtype,
                                        foreach and not fused)
        update(p._data, grad._data, _listwise.data(buf), fresh=fresh, **hyper)
        _listwise.bump(p, buf)

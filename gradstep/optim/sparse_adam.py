"""SparseAdam (torch.optim.SparseAdam): Adam's moments and the parameter updated only at the
rows a sparse gradient has (``nn.Embedding(sparse=True)``'s).

Algorithm (torch's ``_functional.sparse_adam``), on the coalesced gradient's entries ``i``::

    m_i <- m_i + (1 - beta1) * (g_i - m_i)
    v_i <- v_i + (1 - beta2) * (g_i^2 - v_i)
    theta_i <- theta_i - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m_i / (sqrt(v_i) + eps)

``t`` counts the steps of the parameter (a Python int, as torch's state). A dense gradient
raises torch's error, which points to ``Adam``.
"""

from __future__ import annotations

import math

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..backend import xp
from .optimizer import Optimizer, _get_value, _zeros_like

__all__ = ["SparseAdam", "sparse_adam"]

DENSE_GRADIENT_ERROR = "SparseAdam does not support dense gradients, please consider Adam instead"


class SparseAdam(Optimizer):
    """torch.optim.SparseAdam: every argument, default and validation of torch's constructor,
    its state (``step``, ``exp_avg``, ``exp_avg_sq``) and its update."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        _check_dense_real(self.param_groups)

    @no_grad()
    def step(self, closure=None):
        """Evaluate ``closure`` (with grad mode on), then update each group's parameters that
        have a gradient; a dense gradient raises torch's error before the group's update."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not p.grad.is_sparse:
                    raise RuntimeError(DENSE_GRADIENT_ERROR)
                state = self.state[p]
                if not state:
                    state.update(step=0, exp_avg=_zeros_like(p), exp_avg_sq=_zeros_like(p))
                state["step"] += 1
                params.append(p)
                grads.append(p.grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            beta1, beta2 = group["betas"]
            sparse_adam(params, grads, exp_avgs, exp_avg_sqs, steps, eps=group["eps"],
                        beta1=beta1, beta2=beta2, lr=_get_value(group["lr"]),
                        maximize=group.get("maximize", False))
        return loss


def sparse_adam(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, eps, beta1, beta2, lr,
                maximize):
    """torch.optim._functional.sparse_adam: the update above, in place, for each parameter
    (a dense gradient fails in ``coalesce`` with torch's error)."""
    for param, grad, exp_avg, exp_avg_sq, step in zip(params, grads, exp_avgs, exp_avg_sqs,
                                                      state_steps):
        grad = (-grad if maximize else grad).coalesce()  # the update is not linear
        if not grad._nnz():
            continue
        at = tuple(grad._struct.idx)  # unique positions: fancy-index updates are exact
        values = grad._vals._data
        m, v, theta = exp_avg._data, exp_avg_sq._data, param._data
        old_m, old_v = m[at], v[at]
        m_update = (values - old_m) * (1 - beta1)
        m[at] += m_update
        v_update = (values ** 2 - old_v) * (1 - beta2)
        v[at] += v_update
        numer = m_update + old_m
        denom = xp.sqrt(v_update + old_v) + eps
        step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        theta[at] += -step_size * (numer / denom)
        for t in (exp_avg, exp_avg_sq, param):
            t._vc[0] += 1


def _check_dense_real(param_groups):
    """torch's constructor checks: parameters must be dense (always, here) and real."""
    sparse, complex_ = [], []
    for index, group in enumerate(param_groups):
        for d_index, p in enumerate(group["params"]):
            if p.is_sparse:
                sparse.append([index, d_index])
            if p.is_complex():
                complex_.append([index, d_index])
    if sparse:
        raise ValueError(
            f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")
    if complex_:
        raise ValueError(
            f"Complex params at indices {complex_}: SparseAdam does not support complex parameters")

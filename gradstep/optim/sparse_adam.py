"""SparseAdam (torch.optim.SparseAdam): Adam's moments updated only where a sparse gradient
has entries.

gradstep has no sparse tensors, so no gradient can reach this optimizer's update: as in
torch, a step on a parameter with a (dense) gradient raises torch's error, which points to
``Adam``. Construction, validation, parameter groups and state dicts are torch's, so a
program that builds a ``SparseAdam`` and never steps it, or steps it without gradients,
runs unchanged.
"""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer

__all__ = ["SparseAdam"]

DENSE_GRADIENT_ERROR = "SparseAdam does not support dense gradients, please consider Adam instead"


class SparseAdam(Optimizer):
    """torch.optim.SparseAdam: every argument, default and validation of torch's constructor;
    ``step`` raises torch's error for the dense gradients that are all gradstep has."""

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
        """Evaluate ``closure`` (with grad mode on); then refuse the first parameter that has
        a gradient, as torch does for a dense one."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    raise RuntimeError(DENSE_GRADIENT_ERROR)
        return loss


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

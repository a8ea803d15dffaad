"""What the list-wise functional optimizers share (``torch.optim.adam.adam``, ``sgd.sgd``, ...,
gathered in ``gradstep.optim._functional``).

Each takes lists of parameters, gradients and state tensors, as torch's do, and runs the
optimizer class's own raw-array update on every parameter in turn: the same numbers as the
class (and as its per-parameter path, ``foreach=False``). The tensors change in place, step
counters included, and their version counters move as torch's in-place ops move them.

torch's functions are chains of in-place tensor ops, recorded by autograd when grad mode is
on; here the arrays change underneath autograd. So with grad mode on, a parameter that is a
leaf requiring grad gets torch's own error, and any other tensor requiring grad is refused
(torch would record a graph of the update: ``differentiable=True`` territory).
"""

from __future__ import annotations

from itertools import chain

from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from .optimizer import _check_differentiable


def check_call(params, *lists, differentiable=False, state_steps=None, step_name="state_steps"):
    """torch's checks of a functional optimizer call, and gradstep's own (see the module doc)."""
    if state_steps is not None and not all(isinstance(t, Tensor) for t in state_steps):
        raise RuntimeError(
            f"API has changed, `{step_name}` argument must contain a list of singleton tensors")
    _check_differentiable(differentiable)
    if not _GradState.enabled:
        return
    for p in params:
        p._check_inplace()  # a leaf that requires grad: torch's error
    for t in chain(params, *lists):
        if isinstance(t, Tensor) and t.requires_grad:
            raise NotImplementedError(
                "gradstep's functional optimizers update tensors in place without recording "
                "autograd; call them under torch.no_grad() (torch would record the update in "
                "the graph of a tensor that requires grad)")


def check_no_grad_scaling(grad_scale, found_inf, fused):
    """``grad_scale``/``found_inf`` are for torch's fused kernels (they unscale the gradients
    and skip a step with an inf); its other paths refuse them, and gradstep has no fused
    kernels (``fused=True`` runs the same update as the other paths)."""
    if grad_scale is None and found_inf is None:
        return
    if fused:
        raise NotImplementedError(
            "grad_scale and found_inf (the gradient unscaling of torch's fused optimizer "
            "kernels) are not supported: unscale the gradients before the step instead")
    raise AssertionError("Expected grad_scale and found_inf to be None")


def data(t):
    """The raw array of an optional tensor."""
    return None if t is None else t._data


def advance(step_t):
    """``step_t += 1`` on a step-counter tensor; the new count as a Python float."""
    step_t._data += 1
    step_t._vc[0] += 1
    return float(step_t._data)


def bump(*tensors):
    """Move the version counters of the tensors an update wrote (None entries skipped)."""
    for t in tensors:
        if t is not None:
            t._vc[0] += 1

"""``torch.func``: function transforms, built on gradstep's reverse-mode autograd.

``grad``, ``grad_and_value``, ``vjp`` and ``jacrev`` differentiate with ``autograd.grad`` and
``create_graph=True`` whenever an enclosing transform (or the caller) tracks the inputs, so they
nest (``grad(grad(f))``). ``vmap`` runs ``func`` once per batch entry and stacks the results:
the same numbers as torch's vectorized version, at a loop's cost (see ``_vmap``).
"""

from __future__ import annotations

from ..nn.utils.stateless import _functional_call as functional_call
from ._forward import (
    functionalize,
    hessian,
    jacfwd,
    jvp,
    linearize,
    replace_all_batch_norm_modules_,
    stack_module_state,
)
from ._transforms import grad, grad_and_value, jacrev, vjp
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jacrev", "vmap", "jvp",
           "jacfwd", "hessian", "linearize", "stack_module_state", "functionalize",
           "replace_all_batch_norm_modules_"]

"""``torch.autograd.Variable``: the pre-0.4 wrapper, now a constructor of plain tensors.

``Variable(t, requires_grad=...)`` returns a new tensor sharing ``t``'s data, detached from
its history (as torch's does); ``volatile=`` is accepted and ignored with torch's warning.
``isinstance(x, Variable)`` is true for every tensor, so ``Variable`` checks keep working.
"""

from __future__ import annotations

import warnings


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        from .._tensor import Tensor

        return isinstance(obj, Tensor)

    def __call__(cls, data=None, requires_grad=False, volatile=False):
        from .._creation import tensor
        from .._tensor import Tensor

        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                          "instead.", UserWarning, stacklevel=2)
        if data is None:
            return tensor([], requires_grad=requires_grad)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)


class Variable(metaclass=_VariableMeta):
    """Legacy autograd wrapper; ``Variable(t)`` returns a tensor (see the module docstring)."""

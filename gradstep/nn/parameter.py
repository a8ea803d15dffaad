"""``Parameter``: a Tensor that a Module registers as one of its learnable weights."""

from __future__ import annotations

from .._tensor import Tensor
from ..backend import get_default_dtype, is_float_array, xp


class Parameter(Tensor):
    """A Tensor that requires grad by default and is registered when assigned to a Module.

    ``Parameter(t)`` shares ``t``'s data and version counter (no copy), like torch.
    """

    def __new__(cls, data=None, requires_grad=True):
        return object.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr, vc = xp.empty((0,), get_default_dtype().np), [0]
        elif isinstance(data, Tensor):
            arr, vc = data._data, data._vc
        else:
            raise TypeError(
                f"Parameter data must be a Tensor, got {type(data).__name__}; "
                "wrap it with gradstep.tensor(...) first"
            )
        self._init(arr, False, None)
        self._vc = vc
        if requires_grad:
            if not is_float_array(arr):
                raise RuntimeError(
                    "Only Tensors of floating point and complex dtype can require gradients"
                )
            self._rg = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._rg))


def _rebuild_parameter(data, requires_grad):
    return Parameter(Tensor._make(data), requires_grad)



class Buffer(Tensor):
    """Marks a tensor as module state: assigned to a Module attribute, it becomes a buffer.

    ``Buffer(t)`` shares ``t``'s data (detached, keeping its requires_grad flag);
    ``persistent=False`` keeps it out of ``state_dict``.
    """

    def __new__(cls, data=None, *, persistent=True):
        return object.__new__(cls)

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = Tensor._make(xp.empty((0,), get_default_dtype().np))
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer data must be a Tensor, got {type(data).__name__}")
        self._init(data._data, data._rg, None)
        self._vc = data._vc
        self.persistent = persistent

    def __reduce_ex__(self, protocol):
        return (_rebuild_buffer, (self._data, self._rg, self.persistent))


def _rebuild_buffer(data, requires_grad, persistent):
    t = Tensor._make(data)
    t._rg = requires_grad
    return Buffer(t, persistent=persistent)

"""``Parameter``: a Tensor that a Module registers as one of its learnable weights."""

from __future__ import annotations

from .._tensor import Tensor
from .._tensor_misc import make_subclass
from ..backend import get_default_dtype, xp


class Parameter(Tensor):
    """A Tensor that requires grad by default and is registered when assigned to a Module.

    ``Parameter(t)`` shares ``t``'s data and version counter (no copy), like torch.
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = Tensor._make(xp.empty((0,), get_default_dtype().np))
        elif not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter data must be a Tensor, got {type(data).__name__}; "
                "wrap it with gradstep.tensor(...) first"
            )
        return make_subclass(cls, data, requires_grad)

    def __init__(self, *args, **kwargs):
        """Nothing: ``__new__`` built the parameter, as torch's does, so a subclass's own
        ``__new__`` arguments (``MyParam(data, tag=...)``) pass through here untouched."""

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        """torch's: ``type(self)(data.clone(), requires_grad)``, so the copy has no ``.grad``
        and no instance attributes (``copy.deepcopy(model)`` drops gradients)."""
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.detach().clone(), self.requires_grad)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        # pickling (and copy.copy) keeps instance attributes, as torch's
        # _rebuild_parameter_with_state does; the class comes back as Parameter
        state = dict(self.__dict__)
        return (_rebuild_parameter, (self._data, self._rg) + ((state,) if state else ()))


def _rebuild_parameter(data, requires_grad, state=None):
    p = Parameter(Tensor._make(data), requires_grad)
    if state:
        p.__dict__.update(state)
    return p



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


class _Uninitialized:
    """Shape-less placeholder of a lazy module's parameter or buffer until ``materialize``."""

    cls_to_become = Tensor

    def materialize(self, shape, device=None, dtype=None):
        """Give it storage of ``shape`` (uninitialised values) and become ``cls_to_become``."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        np_dtype = (dtype or self._lazy_dtype).np
        self._data = xp.empty(shape, np_dtype)
        self._vc[0] += 1
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This "
                           "error usually happens in `load_state_dict` when trying to load an "
                           "uninitialized parameter into an initialized one. Call `forward` to "
                           "initialize the parameters before accessing their attributes.")

    def __repr__(self):
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    """A ``Parameter`` whose shape is set on the lazy module's first forward."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        dtype = dtype or get_default_dtype()
        out = make_subclass(cls, Tensor._make(xp.empty((0,), dtype.np)), requires_grad)
        out._lazy_dtype = dtype
        return out

    def __deepcopy__(self, memo):
        """A new uninitialized parameter of the same dtype and requires_grad, as torch's."""
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, None, self.dtype)
        return memo[id(self)]


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is set on the lazy module's first forward."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        return object.__new__(cls)

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        self._lazy_dtype = dtype or get_default_dtype()
        self._init(xp.empty((0,), self._lazy_dtype.np), requires_grad, None)
        self.persistent = persistent


def is_lazy(param):
    """Whether ``param`` is an uninitialised parameter or buffer of a lazy module."""
    return isinstance(param, _Uninitialized)

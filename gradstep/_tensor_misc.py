"""Small ``Tensor`` methods and attributes, and the ``torch.*`` function forms of some:

* ``apply_``, ``map_``, ``map2_``: a Python callable run on every element (torch's CPU-only
  methods; refused on tensors that require grad, as torch refuses them);
* ``output_nr`` (which output of its ``grad_fn`` a tensor is), ``name`` (None: gradstep has
  no named tensors), ``volatile`` (False, removed in torch with a warning), ``grad_dtype``,
  ``is_distributed()`` (False), ``as_subclass``, ``Tensor._make_subclass``;
* ``torch.get_device``, ``torch.is_inference``, ``torch.is_distributed`` (the methods'
  function forms) and ``torch.norm_except_dim`` (weight normalisation's norm).
"""

from __future__ import annotations

import builtins
import warnings
from numbers import Real

from . import backend as B
from ._tensor import Tensor, _c_type_name
from .backend import xp


# ---------------------------------------------------------------- element-wise Python callables
def _check_no_grad(self, name):
    if self._rg:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                           f"var.detach().{name}() instead.")


def _scalar_for(value, dt):
    """The callable's result as a value of dtype ``dt``, with torch's checks: a real number,
    within the dtype's range (an unsigned type also takes negatives down to -max, wrapping)."""
    if not isinstance(value, (Real, xp.number, xp.bool_)):
        raise TypeError(f"must be real number, not {type(value).__name__}")
    if dt.name == "bool":
        return bool(value)
    if dt.is_floating_point:
        v = float(value)
        if abs(v) > float(xp.finfo(dt.np).max) and v == v and abs(v) != float("inf"):
            raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")
        return v
    v = int(value)
    info = xp.iinfo(dt.np)
    low = -int(info.max) if info.min == 0 else int(info.min)
    if not low <= v <= int(info.max):
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")
    return v % (int(info.max) + 1) if v < 0 and info.min == 0 else v


def _write_elements(self, values):
    dt = self.dtype
    out = xp.array([_scalar_for(v, dt) for v in values], dtype=dt.np)
    self._check_writable()
    self._data[...] = out.reshape(self._data.shape)
    self._vc[0] += 1
    return self


def apply_(self, callable):  # noqa: A002 - torch's argument name
    """Replace every element ``v`` by ``callable(v)`` (a Python number), in C order."""
    _check_no_grad(self, "apply_")
    if not builtins.callable(callable):
        raise TypeError(f"'{type(callable).__name__}' object is not callable")
    return _write_elements(self, [callable(v) for v in self._data.reshape(-1).tolist()])


def _same_type(self, other, name, what):
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): argument '{what}' (position 1) must be Tensor, not "
                        f"{type(other).__name__}")
    if other.dtype != self.dtype:
        label = "for 'other'" if name == "map_" else f"for argument '{what}'"
        raise TypeError(f"{name}: expected {self.type()} {label} (got {other.type()})")
    _check_no_grad(other, name)
    return xp.broadcast_to(other._data, self._data.shape).reshape(-1).tolist()


def _broadcast_error(self, other):
    return RuntimeError(
        f"The expanded size of the tensor ({list(self.shape)[-1] if self.ndim else 1}) must "
        f"match the existing size ({list(other.shape)[-1] if other.ndim else 1}). Target "
        f"sizes: {list(self.shape)}.  Tensor sizes: {list(other.shape)}")


def map_(self, tensor, callable):  # noqa: A002
    """``self[i] = callable(self[i], tensor[i])``, ``tensor`` broadcast to ``self``'s shape."""
    _check_no_grad(self, "map_")
    try:
        others = _same_type(self, tensor, "map_", "other")
    except ValueError:
        raise _broadcast_error(self, tensor) from None
    mine = self._data.reshape(-1).tolist()
    return _write_elements(self, [callable(a, b) for a, b in zip(mine, others)])


def map2_(self, x, y, callable):  # noqa: A002
    """``self[i] = callable(self[i], x[i], y[i])``, ``x`` and ``y`` broadcast to ``self``."""
    _check_no_grad(self, "map2_")
    try:
        xs = _same_type(self, x, "map2_", "x")
        ys = _same_type(self, y, "map2_", "y")
    except ValueError:
        raise _broadcast_error(self, x if x.shape != self.shape else y) from None
    mine = self._data.reshape(-1).tolist()
    return _write_elements(self, [callable(a, b, c) for a, b, c in zip(mine, xs, ys)])


# ---------------------------------------------------------------- attributes
def _output_nr(self):
    """Which output of its ``grad_fn`` this tensor is (0 for a leaf). gradstep records a
    built-in op with several outputs (``split``, ``unbind``, ``linalg.svd``) as one node per
    output, so those are each output 0; a custom ``autograd.Function``'s are 0, 1, ... as in
    torch."""
    return self._out_nr


def _volatile_get(self):
    warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning,
                  stacklevel=2)
    return False


def _volatile_set(self, value):
    warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                  "instead.", UserWarning, stacklevel=2)


def _grad_dtype_get(self):
    """The dtype ``.grad`` takes: the tensor's own (gradstep accumulates in it)."""
    if self.grad_fn is not None:
        raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
    return self.__dict__.get("_grad_dtype", self.dtype)


def _grad_dtype_set(self, value):
    if self.grad_fn is not None:
        raise RuntimeError("grad_dtype can only be set on leaf tensors.")
    if value is not None and B.as_dtype(value) != self.dtype:
        raise NotImplementedError(
            f"gradstep accumulates a tensor's gradient in its own dtype ({self.dtype.name}); "
            f"grad_dtype can only be None or {self.dtype.name}, not {B.as_dtype(value).name}")
    self.__dict__["_grad_dtype"] = None if value is None else self.dtype


def is_distributed(self):
    """False: no tensor is split across processes."""
    _check_tensor("is_distributed", self)
    return False


def as_subclass(self, cls):
    """``self`` as an instance of ``cls`` (a Tensor subclass): the same data, as an alias in
    the graph (``AliasBackward0``); ``cls.__init__`` is not called."""
    from .ops.index import slice_view

    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")
    out = slice_view(self, (Ellipsis,), "AliasBackward0")
    try:
        out.__class__ = cls
    except TypeError:  # a subclass with its own __slots__: build it and move the fields over
        new = object.__new__(cls)
        for slot in Tensor.__slots__:
            if slot not in ("__weakref__", "__dict__"):
                object.__setattr__(new, slot, getattr(out, slot))
        new.__dict__.update(out.__dict__)
        out = new
    return out


# ---------------------------------------------------------------- torch.* function forms
def _check_tensor(name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(t).__name__}")


def get_device(input):  # noqa: A002
    """-1: every tensor is on the CPU."""
    _check_tensor("get_device", input)
    return input.get_device()


def is_inference(input):  # noqa: A002
    """``input.is_inference()``: whether ``input`` was made under ``inference_mode``."""
    _check_tensor("is_inference", input)
    return input.is_inference()


def norm_except_dim(v, pow=2, dim=0):  # noqa: A002 - torch's argument name
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, shaped to broadcast against
    ``v`` (size 1 except along ``dim``); ``dim=-1`` is the norm of all of ``v``. As torch,
    any other dim is moved to the front and back."""
    if dim == -1:
        return v.norm(pow)
    last = v.dim() - 1
    if dim == 0 or dim == last:
        shape = [1] * v.dim()
        shape[dim] = v.shape[dim]
        rows = v.contiguous().view(v.shape[0], -1) if dim == 0 else \
            v.contiguous().view(-1, v.shape[last])
        return rows.norm(pow, 1 if dim == 0 else 0).view(shape)
    return norm_except_dim(v.transpose(0, dim), pow, 0).transpose(0, dim)


def make_subclass(cls, data, require_grad=False, dispatch_strides=False, dispatch_device=False,
                  dispatch_layout=False, _extra_dispatch_keys=None, storage_size=None):
    """``Tensor._make_subclass``: a ``cls`` instance over ``data``'s memory and version
    counter, detached from its graph, requiring grad if asked. How torch builds a
    ``Parameter``, and how published Parameter subclasses build theirs in ``__new__``;
    ``cls.__init__`` is not called. The dispatch flags are C++ dispatcher options."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")
    if not isinstance(data, Tensor):
        raise TypeError(f"_make_subclass(): argument 'data' (position 2) must be Tensor, not "
                        f"{type(data).__name__}")
    if require_grad is not True and require_grad is not False:
        raise TypeError("_make_subclass(): argument 'require_grad' (position 3) must be bool, "
                        f"not {_c_type_name(require_grad)}")
    out = object.__new__(cls)
    out._init(data._data, False, None)
    out._vc = data._vc
    if require_grad:
        if not B.is_differentiable_array(data._data):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        out._rg = True
    return out


FUNCTIONS = {"get_device": get_device, "is_inference": is_inference,
             "is_distributed": is_distributed, "norm_except_dim": norm_except_dim}
METHODS = {"apply_": apply_, "map_": map_, "map2_": map2_, "is_distributed": is_distributed,
           "as_subclass": as_subclass}
PROPERTIES = {
    "output_nr": property(_output_nr),
    "name": property(lambda self: None, doc="None: gradstep has no named tensors."),
    "volatile": property(_volatile_get, _volatile_set),
    "grad_dtype": property(_grad_dtype_get, _grad_dtype_set),
}


def bind():
    for name, fn in {**METHODS, **PROPERTIES}.items():
        setattr(Tensor, name, fn)
    Tensor._make_subclass = staticmethod(make_subclass)

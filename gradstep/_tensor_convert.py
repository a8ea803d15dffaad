"""Tensor's conversions to Python values and its copies: ``item``, ``tolist``, ``len`` and
iteration, ``bool``/``float``/``int``/``index``, ``hash``, pickling and ``deepcopy``.

:func:`bind` installs them on ``Tensor`` (``_tensor.py`` keeps the class's core). Inside vmap
the conversions refuse a batched value, as torch's do (``_vmap_batched``).
"""

from __future__ import annotations

from . import _vmap_batched as _vmap
from ._warn_once import warn_once
from .autograd.grad_mode import _GradState

_Tensor = _rebuild_tensor = None  # gradstep._tensor's Tensor and _rebuild_tensor, set by bind


def item(self):
    if isinstance(self._data, _vmap.BatchedArray):  # inside vmap: torch refuses a batched one
        _vmap.check_item(self._data)
    if self._data.size != 1:
        raise RuntimeError(
            f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
        )
    return self._data.reshape(()).item()


def tolist(self):
    if isinstance(self._data, _vmap.BatchedArray):
        _vmap.check_storage(self._data)
    return self._data.tolist()


def __len__(self):
    if self._data.ndim == 0:
        raise TypeError("len() of a 0-d tensor")
    return self._data.shape[0]


def __iter__(self):
    if self._data.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(self.unbind(0))


def __bool__(self):
    if isinstance(self._data, _vmap.BatchedArray):
        _vmap.check_bool(self._data)
    if self._data.size != 1:
        amount = "no values" if self._data.size == 0 else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
    return bool(self._data.reshape(()))


def _check_one_element(self):
    """float()/int() of a tensor: torch's ValueError (``.item()`` raises a RuntimeError)."""
    if self._data.size != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")


def __float__(self):
    self._check_one_element()
    if self._rg and _GradState.enabled:  # torch stays quiet under no_grad (e.g. LBFGS.step)
        warn_once("float-of-grad", "Converting a tensor with requires_grad=True to a scalar "
                  "may lead to unexpected behavior.\nConsider using tensor.detach() first.")
    return float(self.item())


def __int__(self):
    self._check_one_element()
    return int(self.item())


def __index__(self):
    if self._data.dtype.kind not in "iub" or self._data.size != 1:
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return int(self.item())


def __hash__(self):
    return id(self)


def __reduce_ex__(self, protocol):
    return (_rebuild_tensor, (self._data, self._rg))  # pickles name gradstep._tensor's function


def __deepcopy__(self, memo):
    if not self.is_leaf:
        raise RuntimeError(
            "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment."
        )
    new = type(self).__new__(type(self))
    _Tensor._init(new, self._data.copy(), self._rg, None)
    if type(self) is not _Tensor:
        new.__dict__.update({k: v for k, v in self.__dict__.items()})
    if self._grad is not None:
        new._grad = self._grad.__deepcopy__(memo)
    memo[id(self)] = new
    return new


_METHODS = (item, tolist, __len__, __iter__, __bool__, _check_one_element, __float__, __int__,
            __index__, __hash__, __reduce_ex__, __deepcopy__)


def bind(tensor_cls, rebuild_tensor):
    """Install these methods on ``Tensor``; ``rebuild_tensor``: what a pickled tensor calls."""
    global _Tensor, _rebuild_tensor
    _Tensor, _rebuild_tensor = tensor_cls, rebuild_tensor
    for fn in _METHODS:
        fn.__qualname__ = f"{tensor_cls.__name__}.{fn.__name__}"
        setattr(tensor_cls, fn.__name__, fn)

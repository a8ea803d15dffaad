"""How NumPy sees a ``Tensor``: ``t.numpy()``, ``__array__`` and ``__array_wrap__``, as torch's.

* ``np.asarray(t)`` / ``t.numpy()`` share ``t``'s memory; ``np.array(t)`` copies.  Both refuse
  a tensor that requires grad while grad mode is on (torch's message), so ``np.exp(param)``
  raises as in torch, and work under ``no_grad()``.
* A NumPy ufunc on a tensor gives a tensor (``np.exp(t)``, ``np.add(t, 1)``,
  ``np.maximum(t, 0)``, ``np.clip(t, 0, 1)``, ``np.argmax(t)``...), a 0-d one where NumPy
  would give a scalar, and **uint8** where NumPy gives bool: torch's ``__array_wrap__`` does
  exactly that.  Functions NumPy does not wrap (``np.concatenate``, ``np.where``,
  ``np.stack``, ``np.dot``...) still give ndarrays, as in torch.

The hooks run only when NumPy is handed a tensor: no op, autograd or optimizer path calls
them.  gradstep's own code must therefore hand NumPy ``t._data``, never ``t`` itself.

Left as in gradstep on purpose: ``np.array(t, copy=False)`` gives a view (torch raises
ValueError only because its ``__array__`` predates NumPy 2's ``copy`` argument), and bfloat16
tensors convert (ml_dtypes) where torch raises TypeError.
"""

from __future__ import annotations

from . import _vmap_batched as _vmap
from . import backend as B
from .autograd.grad_mode import _GradState
from .backend import xp

_UINT8 = xp.dtype("uint8")


def numpy(self, force=False):
    """The tensor's array, shared; refused for a tensor that requires grad (grad mode on)."""
    if self._rg and not force and _GradState.enabled:
        raise RuntimeError(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
        )
    if isinstance(self._data, _vmap.BatchedArray):  # inside vmap: torch's has no storage
        _vmap.check_storage(self._data)
    return self._data


def __array__(self, dtype=None, copy=None):
    """``np.asarray(t)`` (shared) and ``np.array(t)`` (``copy=True``: a copy), via ``numpy()``."""
    arr = numpy(self)
    if dtype is not None and arr.dtype != dtype:
        return arr.astype(dtype)
    return arr.copy() if copy else arr


def __array_wrap__(self, array, context=None, return_scalar=False):
    """A ufunc's result on a tensor comes back as a tensor (bool as uint8, 0-d kept), as torch."""
    if array.dtype == bool:
        array = array.astype(_UINT8)
    B.from_numpy_dtype(array.dtype)  # TypeError for dtypes a tensor cannot hold
    return self._make(array)


def bind(tensor_cls):
    """Install these methods on ``Tensor``."""
    tensor_cls.numpy = numpy
    tensor_cls.__array__ = __array__
    tensor_cls.__array_wrap__ = __array_wrap__

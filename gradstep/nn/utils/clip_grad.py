"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_`` and ``get_total_norm``."""

from __future__ import annotations

import math
import types
import warnings

from ..._errstate import silent
from ..._tensor import Tensor
from ...backend import xp
from ...ops._lowp import down, up

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _norm_of(arr, norm_type):
    """The norm of ``arr`` in its dtype; float16/bfloat16 accumulate in float32 and round once,
    as torch's ``_foreach_norm``/``vector_norm`` do (a bfloat16 running sum of 4000 squares
    stalls: the norm came out 30% low and the clipping factor with it)."""
    arr, low = up(arr)
    return down(_norm_in(arr, norm_type), low)


def _norm_in(arr, norm_type):
    a = xp.abs(arr.reshape(-1))
    if norm_type == math.inf:
        return a.max() if a.size else xp.zeros((), arr.dtype)
    if norm_type == -math.inf:
        return a.min() if a.size else xp.zeros((), arr.dtype)
    if norm_type == 0:
        return xp.asarray((a != 0).sum(), arr.dtype)
    if norm_type == 2:
        return xp.sqrt((a * a).sum())
    return (a**norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type`` norm of all ``tensors`` together (the norm of their per-tensor norms)."""
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        from ..._creation import tensor

        return tensor(0.0)
    norms = xp.stack([_norm_of(t._data, norm_type) for t in tensors])
    total = _norm_of(norms, norm_type)
    if error_if_nonfinite and not xp.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(xp.asarray(total))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else xp.asarray(total_norm)
    # computed in the norm's dtype (float32 for float32 grads), as torch does
    with silent():  # an infinite norm gives NaN gradients, silently, as in torch
        coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0)
        for g in grads:
            g._data *= coef.astype(g._data.dtype)
            g._vc[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale the gradients in place so their total norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor), like torch.
    """
    params = _as_list(parameters)
    if not params and isinstance(parameters, types.GeneratorType):
        # torch's hint for ``model.parameters()`` already used up (it returns a generator)
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient elementwise into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            g = p.grad
            xp.clip(g._data, -clip_value, clip_value, out=g._data)
            g._vc[0] += 1

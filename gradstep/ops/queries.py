"""Small tensor queries and constructors: is_nonzero, is_same_size, is_signed, scalar_tensor,
range (deprecated, end-inclusive), fill, renorm."""

from __future__ import annotations

import builtins
import math
import warnings

from ..backend import xp
from .arithmetic import _t


def is_nonzero(input):  # noqa: A002 - torch's keyword name
    a = _t(input)
    if a.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if a.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(a._data.reshape(()))


def is_same_size(input, other):  # noqa: A002
    return tuple(_t(input).shape) == tuple(_t(other).shape)


def is_signed(input):  # noqa: A002
    dt = _t(input)._data.dtype
    return dt.kind in "ifV"


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=None,
                  requires_grad=False):
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype`` is given."""
    from .._creation import tensor
    from ..backend import get_default_dtype

    return tensor(s, dtype=dtype or get_default_dtype(), requires_grad=requires_grad)


def range(start, end, step=1, *, dtype=None, layout=None, device=None,  # noqa: A001
          pin_memory=None, requires_grad=False, out=None):
    """``start, start + step, ..., end`` (end included); deprecated in torch, with its warning."""
    from .._creation import tensor
    from ..backend import get_default_dtype

    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    dt = dtype or get_default_dtype()
    vals = start + xp.arange(n, dtype=xp.float64) * step
    return tensor(vals.astype(dt.np), requires_grad=requires_grad)


def fill(input, value):  # noqa: A002
    """A new tensor of ``input``'s shape and dtype filled with ``value`` (torch.fill)."""
    a = _t(input)
    if not isinstance(value, (bool, int, float)):
        value = value.item()  # a 0-d tensor value, as torch accepts
    return a.new_full(tuple(a.shape), value)


def renorm(input, p, dim, maxnorm):  # noqa: A002
    """Each slice ``input.select(dim, i)`` whose p-norm exceeds ``maxnorm`` is rescaled to norm
    ``maxnorm`` (factor ``maxnorm / (norm + 1e-7)``, torch's); differentiable through the norm."""
    a = _t(input)
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = dim % a.ndim if a.ndim else 0
    others = tuple(i for i in builtins.range(a.ndim) if i != d)
    norm = a.norm(p, dim=others, keepdim=True) if others else a.abs()
    big = norm > maxnorm
    factor = (norm + 1e-7).reciprocal() * maxnorm
    one = a.new_ones(())
    return a * factor.where(big, one)

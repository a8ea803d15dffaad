"""The samplers that draw torch's numbers (``gradstep._mt19937``) as arrays, for
``rand``/``randn``/``randint``/``randperm``/``normal``, the in-place Tensor samplers
(``uniform_``, ``normal_``, ``bernoulli_``, ``random_``, ``exponential_``), dropout and
``nn.init``. Each returns an array of the requested shape and dtype whose elements were
drawn in the memory order of ``like`` (the tensor being filled), as torch's kernels walk it.
"""

from __future__ import annotations

import math

from . import _mt19937 as mt
from .backend import xp


def generator_of(generator=None):
    from .random import default_generator

    return default_generator if generator is None else generator


def _placed(values, like):
    """``values`` (flat, in draw order) laid out as ``like``'s elements in memory order."""
    out = xp.empty_like(like)
    mt.fill_in_memory_order(out, values)
    return out


def _real_dtype(dtype):
    return xp.dtype(dtype).type(0).real.dtype


def uniform_like(like, low=0.0, high=1.0, generator=None):
    """torch's ``uniform_(low, high)`` of an array shaped and laid out like ``like``."""
    dtype = like.dtype
    if dtype.kind == "c":  # torch fills the real view: real and imaginary parts in turn
        real = xp.empty(like.shape + (2,), _real_dtype(dtype))
        return uniform_like(real, low, high, generator).view(dtype)[..., 0]
    values = mt.uniform(generator_of(generator), like.size, dtype, low, high)
    return _placed(values, like)


def normal_like(like, mean=0.0, std=1.0, generator=None):
    """torch's ``normal_(mean, std)`` of an array like ``like`` (contiguous ones of 16 or more
    elements take the Box-Muller fill, the others the per-element draw)."""
    dtype = like.dtype
    if dtype.kind == "c":  # torch: the real view with std / sqrt(2)
        real = xp.empty(like.shape + (2,), _real_dtype(dtype))
        return normal_like(real, mean, std / math.sqrt(2.0), generator).view(dtype)[..., 0]
    dense = like.flags.c_contiguous
    values = mt.normal(generator_of(generator), like.shape, dtype, mean, std, dense)
    return _placed(values, like)


def bernoulli_like(like, p, generator=None):
    """torch's ``bernoulli_(p)`` (``p`` a number or an array broadcast to ``like``) as 0/1 of
    ``like``'s dtype."""
    p_arr = xp.broadcast_to(xp.asarray(p), like.shape)
    order = _memory_order(like)
    drawn = mt.bernoulli(generator_of(generator), p_arr.transpose(order).reshape(-1))
    out = xp.empty_like(like)
    out.transpose(order)[...] = drawn.reshape(tuple(like.shape[d] for d in order))
    return out


def _memory_order(arr):
    return sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d]))


def random_like(like, low=0, high=None, generator=None):
    """torch's ``random_()`` (no bounds) or ``random_(low, high)`` of ``like``'s dtype."""
    gen = generator_of(generator)
    if high is None and low == 0:
        values = mt.full_default(gen, like.size, like.dtype)
    else:
        if high is None:
            low, high = 0, low
        values = mt.from_to(gen, like.size, int(low), int(high) - int(low)).astype(like.dtype)
    return _placed(values, like)


def exponential_like(like, lambd=1.0, generator=None):
    values = mt.exponential(generator_of(generator), like.size, lambd).astype(like.dtype)
    return _placed(values, like)


def randint_array(low, high, shape, dtype, generator=None):
    values = mt.from_to(generator_of(generator), math.prod(shape), int(low), int(high) - int(low))
    return values.astype(dtype).reshape(shape)


def randperm_array(n, dtype, generator=None):
    return mt.randperm(generator_of(generator), int(n)).astype(dtype)

"""The samplers that draw torch's numbers (``gradstep._mt19937``) as arrays, for
``rand``/``randn``/``randint``/``randperm``/``normal``, the in-place Tensor samplers
(``uniform_``, ``normal_``, ``bernoulli_``, ``random_``, ``exponential_``), dropout, rrelu
and ``nn.init``. Each returns an array of the requested shape and dtype whose elements were
drawn in the memory order of ``like`` (the tensor being filled), as torch's kernels walk it;
``empty_as_torch`` gives the ``like`` that torch's ``empty_like`` would (``rand_like``,
dropout's noise), so a transposed input draws as under torch.
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


def empty_as_torch(arr, memory_format=None, dtype=None):
    """An empty array of ``arr``'s shape laid out as torch's ``empty_like(arr, memory_format)``,
    so a sampler filling it draws each element where torch's does (``rand_like``, dropout's
    noise): preserve_format keeps the order of ``arr``'s dims in memory (a transposed ``arr``
    gives a transposed array, a sliced one a dense array in the same order)."""
    dtype = arr.dtype if dtype is None else dtype
    if memory_format is None and arr.flags.c_contiguous:  # the common case, first
        return xp.empty(arr.shape, dtype)
    from ._memory_format import channels_last, channels_last_3d, contiguous_format, preserve_format

    memory_format = None if memory_format is preserve_format else memory_format
    if memory_format is contiguous_format or (memory_format is None and arr.flags.c_contiguous):
        return xp.empty(arr.shape, dtype)
    if memory_format is channels_last or memory_format is channels_last_3d:
        order = [0, *range(2, arr.ndim), 1]
    else:
        order = _torch_dim_order(arr.shape, arr.strides)
    block = xp.empty(tuple(arr.shape[d] for d in order), dtype)
    return block.transpose(xp.argsort(order))


def _torch_dim_order(shape, strides):
    """The dims from outermost to innermost as torch's ``infer_dense_strides`` (and
    TensorIterator) order them: by stride, a larger size first among equal strides, and a
    stride-0 (broadcast) dim staying where row-major order puts it."""
    perm = list(range(len(shape) - 1, -1, -1))  # innermost first

    def after(d0, d1):  # 1: d0 goes inside d1's place; -1: keep; 0: ambiguous
        s0, s1 = strides[d0], strides[d1]
        if s0 == 0 or s1 == 0:
            return 0
        if s0 != s1:
            return 1 if s0 > s1 else -1
        return 1 if shape[d0] > shape[d1] else 0

    for i in range(1, len(perm)):  # torch's stable insertion sort
        d1 = i
        for d0 in range(i - 1, -1, -1):
            cmp = after(perm[d0], perm[d1])
            if cmp > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif cmp < 0:
                break
    return perm[::-1]


def rrelu_noise(x, lower, upper, generator=None):
    """torch's training noise of ``rrelu`` for the array ``x``: for each element ``<= 0``, in
    row-major order, a float64 uniform in ``[lower, upper)`` (the bounds first rounded to the
    op's math type) cast to that type; 1 for the others."""
    math_type = xp.float64 if x.dtype == xp.float64 else xp.float32
    drawn = x <= 0
    noise = xp.ones(x.shape, math_type)
    lo, hi = float(math_type(lower)), float(math_type(upper))
    u = mt.uniform(generator_of(generator), int(drawn.sum()), xp.dtype(xp.float64))
    noise[drawn] = (u * (hi - lo) + lo).astype(math_type)  # two roundings: no FMA in that loop
    return noise


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

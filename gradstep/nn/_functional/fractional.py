"""Fractional max pooling (``fractional_max_pool2d/3d``, Graham 2014).

Each ``(sample, channel)`` plane draws one number per spatial dim in [0, 1) (or takes
it from ``_random_samples``); torch's ``generate_intervals`` turns it into window
starts, computed in the input's dtype as torch does. The windows are gathered from
the flattened plane and reduced with ``max(dim=-1)``, so the gradient goes to each
window's maximum; indices are flat positions in the input plane.
"""

from __future__ import annotations

import math

from ..._tensor import Tensor
from ..._torch_random import uniform_like
from ...backend import xp


def _intervals(sample, n_in, n_out, pool, dtype):
    """Window starts ``(..., n_out)`` for samples ``(...)``."""
    seq = xp.empty(sample.shape + (n_out,), xp.int64)
    if n_out > 1:
        alpha = dtype.type(n_in - pool) / dtype.type(n_out - 1)
        i = xp.arange(n_out - 1).astype(dtype)
        s = sample.astype(dtype)[..., None]
        seq[..., :-1] = ((i + s) * alpha).astype(xp.int64) - (s * alpha).astype(xp.int64)
    if n_out > 0:
        seq[..., -1] = n_in - pool
    return seq


def _tuple(v, n):
    return (v,) * n if isinstance(v, (int, float)) else tuple(v)


def _fractional(x, nd, kernel_size, output_size, output_ratio, return_indices, samples):
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(x.shape)}")
    spatial = tuple(x.shape[-nd:])
    kernel = _tuple(kernel_size, nd)
    if output_size is None:
        ratio = _tuple(output_ratio, nd)
        output_size = [int(n * r) for n, r in zip(spatial, ratio)]
    out = [int(o) for o in _tuple(output_size, nd)]
    for o, k, n in zip(out, kernel, spatial):
        if o + k - 1 > n:
            raise RuntimeError(f"{name}(): pool size {k} too large relative to input size "
                               f"{n} and output size {o}")
    x5 = x if x.ndim == nd + 2 else x.unsqueeze(0)
    nb, c = x5.shape[:2]
    if samples is None:
        # torch's F.fractional_max_pool*d: torch.rand(N, C, nd) in the input's dtype
        samples = Tensor._make(uniform_like(xp.empty((nb, c, nd), x.dtype.np)))
    u = samples._data
    if u.shape != (nb, c, nd):
        raise RuntimeError(f"{name}(): expected _random_samples of shape {[nb, c, nd]}, but "
                           f"got {list(u.shape)}")
    dtype = xp.dtype("float64") if x.dtype.name == "float64" else xp.dtype("float32")
    # torch's sample order: 2-D (width, height), 3-D (depth, height, width)
    which = (1, 0) if nd == 2 else (0, 1, 2)
    flat = None
    for d in range(nd):
        starts = _intervals(u[..., which[d]], spatial[d], out[d], kernel[d], dtype)
        pos = starts[..., :, None] + xp.arange(kernel[d])  # (N, C, o_d, k_d)
        shape = [nb, c] + [1] * (2 * nd)
        shape[2 + d], shape[2 + nd + d] = out[d], kernel[d]
        pos = pos.reshape(shape)
        flat = pos if flat is None else flat * spatial[d] + pos
    flat = xp.broadcast_to(flat, (nb, c) + tuple(out) + kernel).reshape(nb, c, -1)
    k = math.prod(kernel)
    vals = x5.flatten(2).gather(2, Tensor._make(flat.astype(xp.int64)))
    values, arg = vals.reshape(nb, c, *out, k).max(dim=-1)
    if x.ndim == nd + 1:
        values = values.squeeze(0)
    if not return_indices:
        return values
    idx = xp.take_along_axis(flat.reshape(nb, c, *out, k), arg._data[..., None], -1)[..., 0]
    idx = Tensor._make(idx.astype(xp.int64))
    return values, (idx.squeeze(0) if x.ndim == nd + 1 else idx)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices=False, _random_samples=None):
    """2-D fractional max pooling of ``(N, C, H, W)`` or ``(C, H, W)``."""
    return _fractional(input, 2, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices=False, _random_samples=None):
    """3-D fractional max pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _fractional(input, 3, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,  # noqa: A002
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,  # noqa: A002
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]

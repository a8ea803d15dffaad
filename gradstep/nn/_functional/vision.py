"""Spatial transformers: ``affine_grid`` and ``grid_sample`` (4-D and 5-D inputs).

``grid_sample`` is composed of Tensor ops: source coordinates are unnormalised
and folded by the padding mode (``border`` clamps, ``reflection`` reflects as
torch's ``reflect_coordinates``), then the 2**d corner values are gathered
(out-of-range corners masked to zero) and blended with (multi)linear weights, so
autograd gives the gradients with respect to both the input and the grid; the
nearest mode rounds half to even (``nearbyint``) and passes no gradient to the grid;
bicubic (4-D) blends 4x4 taps whose integer positions are folded by the padding mode, as
torch's kernel does, with cubic-convolution weights (A = -0.75) of the fractional parts.
"""

from __future__ import annotations

import itertools
import warnings

from ..._warn_once import user_stacklevel
from ...backend import xp
from ...ops._util import dtype_title
from ...ops.unary import where

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the old "
                  "behavior is desired. See the documentation of grid_sample for details.")


def _const(arr):
    from ..._tensor import Tensor

    return Tensor._make(arr)


def _base_coords(n, align_corners, dtype):
    """torch's base grid positions along one dim of ``n`` points in [-1, 1], rounded as torch
    rounds them (its ``linspace``, then ``* (n - 1)`` and ``/ n`` in ``dtype``): an identity
    ``theta`` must land exactly where torch's does, on or beside the pixel centres, where the
    bilinear grid gradient is one-sided and the side depends on the last bit."""
    from ..._creation import linspace

    if n <= 1:
        return xp.zeros(n, dtype.np)
    pos = linspace(-1, 1, n, dtype=dtype)._data
    if not align_corners:
        pos = (pos * dtype.np.type(n - 1)) / dtype.np.type(n)
    return pos


def affine_grid(theta, size, align_corners=None):
    """Sampling grid ``(N, H, W, 2)`` (or ``(N, D, H, W, 3)``) of the affine maps ``theta``."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=user_stacklevel())
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    k = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[-2:]) != (k, k + 1):
        kind = "2D affine matrices of shape Nx2x3" if k == 2 else \
            "3D affine matrices of shape Nx3x4"
        raise ValueError(f"Expected a batch of {kind} for size {size}. Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=user_stacklevel())
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    dt = theta.dtype.np
    axes = [_base_coords(s, align_corners, theta.dtype) for s in reversed(spatial)]  # x, y(, z)
    mesh = xp.meshgrid(*[axes[i] for i in reversed(range(k))], indexing="ij")  # (D,)H,W
    base = xp.stack([mesh[k - 1 - i] for i in range(k)] + [xp.ones_like(mesh[0])], axis=-1)
    base = _const(base.reshape(1, -1, k + 1).astype(dt))
    grid = base @ theta.transpose(1, 2)
    return grid.reshape(size[0], *spatial, k)


def _reflect(coord, twice_low, twice_high):
    if twice_low == twice_high:
        return coord * 0
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (coord - lo).abs()
    flips = (c.detach() / span).floor()
    extra = c - flips * span
    odd = _const((flips._data % 2) == 1)
    return where(odd, span - extra + lo, extra + lo)


def _clip(coord, size):
    """``coord`` clamped to ``[0, size - 1]`` with torch's gradient: zero outside and *on* the
    borders (its ``clip_coordinates_set_grad`` counts a border as out of bounds), where plain
    ``clamp`` would pass it. An identity grid puts whole rows exactly on the borders."""
    strictly_inside = _const((coord._data > 0) & (coord._data < size - 1))
    return where(strictly_inside, coord, coord.detach().clamp(0, size - 1))


def _source(coord, size, padding_mode, align_corners):
    coord = ((coord + 1) / 2) * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        coord = (_reflect(coord, 0, 2 * (size - 1)) if align_corners
                 else _reflect(coord, -1, 2 * size - 1))
        return _clip(coord, size)
    return coord


def _gather(flat, idx_list, sizes, shape_out):
    """Values of ``flat (N, C, prod(sizes))`` at integer corners (zero outside the input)."""
    inside = None
    lin = None
    for idx, n in zip(idx_list, sizes):
        ok = (idx >= 0) & (idx < n)
        inside = ok if inside is None else inside & ok
        clipped = xp.clip(idx, 0, n - 1)
        lin = clipped if lin is None else lin * n + clipped
    nb, c = flat.shape[:2]
    index = _const(xp.broadcast_to(lin.reshape(nb, 1, -1), (nb, c, lin[0].size)).astype(xp.int64))
    vals = flat.gather(2, index).reshape(nb, c, *shape_out)
    mask = _const(inside.reshape(nb, 1, *shape_out).astype(flat.dtype.np))
    return vals * mask


def _zero_grad_link(grid):
    """An exact zero that depends on ``grid`` with a zero gradient (torch's nearest mode gives
    the grid a zero gradient, not none); non-finite grid entries are kept out of it."""
    if not grid.requires_grad:
        return 0
    finite = _const(xp.isfinite(grid._data))
    zero = where(finite, grid - grid.detach(), 0.0)
    return (zero.sum(-1) * 0).unsqueeze(1)


def _check(input, grid, mode, padding_mode):  # noqa: A002
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    k = input.ndim - 2
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.shape[-1] != k:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {k} in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    if mode == "bicubic" and k != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype is not grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    if not input.dtype.is_floating_point:  # torch's CPU kernels: floating types only
        kernel = "grid_sampler_2d_cpu_kernel_impl" if k == 2 else "grid_sampler3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(input.dtype)}\'')


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):  # noqa: A002
    """Sample ``input`` at the normalised positions ``grid`` (x, y(, z) in [-1, 1])."""
    _check(input, grid, mode, padding_mode)
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=user_stacklevel())
        align_corners = False
    if mode == "bicubic":
        return _bicubic(input, grid, padding_mode, align_corners)
    k = input.ndim - 2
    sizes = list(input.shape[2:])  # (D,) H, W
    out_shape = tuple(grid.shape[1:-1])
    # coordinate i of the grid indexes the spatial dim k-1-i (x is the width)
    src = [_source(grid[..., k - 1 - j], sizes[j], padding_mode, align_corners)
           for j in range(k)]
    flat = input.reshape(input.shape[0], input.shape[1], -1)
    if mode == "nearest":
        idx = [xp.round(s._data).astype(xp.int64) for s in src]
        return _gather(flat, idx, sizes, out_shape) + _zero_grad_link(grid)
    lows = [s.detach().floor() for s in src]
    frac = [s - lo for s, lo in zip(src, lows)]
    out = None
    for corner in itertools.product((0, 1), repeat=k):
        idx = [lo._data.astype(xp.int64) + c for lo, c in zip(lows, corner)]
        weight = None
        for f, c in zip(frac, corner):
            w = f if c else 1 - f
            weight = w if weight is None else weight * w
        term = _gather(flat, idx, sizes, out_shape) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _fold_array(coord, size, padding_mode, align_corners):
    """torch's ``compute_coordinates`` on raw arrays (bicubic taps: no gradient flows here)."""
    if padding_mode == "border":
        return xp.clip(coord, 0, size - 1)
    if padding_mode == "reflection":
        lo2, hi2 = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if lo2 == hi2:
            return xp.zeros_like(coord)
        lo, span = lo2 / 2, (hi2 - lo2) / 2
        c = xp.abs(coord - lo)
        flips = xp.floor(c / span)
        extra = xp.fmod(c, span)
        coord = xp.where(flips % 2 == 0, extra + lo, span - extra + lo)
        return xp.clip(coord, 0, size - 1)
    return coord


def _cubic(t):
    a = -0.75

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _bicubic(input, grid, padding_mode, align_corners):  # noqa: A002
    """torch's bicubic grid sampling: 4x4 taps around the unnormalised position, each tap's
    integer position folded by the padding mode (zero outside), cubic-convolution weights."""
    h, w = input.shape[2:]
    out_shape = tuple(grid.shape[1:-1])

    def unnorm(coord, size):
        return ((coord + 1) / 2) * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2

    ix, iy = unnorm(grid[..., 0], w), unnorm(grid[..., 1], h)
    x0, y0 = ix.detach().floor(), iy.detach().floor()
    wx, wy = _cubic(ix - x0), _cubic(iy - y0)
    flat = input.reshape(input.shape[0], input.shape[1], -1)
    out = None
    for k in range(4):
        row = None
        ys = _fold_array(y0._data + (k - 1), h, padding_mode, align_corners)
        for j in range(4):
            xs = _fold_array(x0._data + (j - 1), w, padding_mode, align_corners)
            idx = [xp.trunc(ys).astype(xp.int64), xp.trunc(xs).astype(xp.int64)]
            term = _gather(flat, idx, [h, w], out_shape) * wx[j].unsqueeze(1)
            row = term if row is None else row + term
        row = row * wy[k].unsqueeze(1)
        out = row if out is None else out + row
    return out


__all__ = ["affine_grid", "grid_sample"]

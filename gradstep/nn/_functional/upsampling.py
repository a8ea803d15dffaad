"""Resampling: ``interpolate`` (and its deprecated ``upsample*`` spellings).

Every mode is separable, so an N-d resize is one 1-D resize per spatial dim:
``index_select`` of the source taps along that dim, times per-output weights,
summed. Autograd derives the gradient (``index_select``'s adjoint adds each
output's gradient back into its taps), which is what torch's backward kernels
compute. Source positions and weights follow torch's CPU kernels
(``ATen/native/UpSample.h``): nearest indices in float32, linear and cubic
positions in the input's dtype; ``area`` is adaptive average pooling.
"""

from __future__ import annotations

import math
import warnings

from ..._warn_once import user_stacklevel
from ...autograd.function import Node, as_torch_node
from ...backend import xp
from ...ops.index import IndexSelect

_INTERP = ("linear", "bilinear", "bicubic", "trilinear")
_MODE_DIM = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _const(arr):
    from ..._tensor import Tensor

    return Tensor._make(arr)


def _scale(n_in, n_out, align_corners, scale, dtype):
    """torch's ``area_pixel_compute_scale``: the source step per output index."""
    if align_corners:
        return dtype.type(n_in - 1) / dtype.type(n_out - 1) if n_out > 1 else dtype.type(0)
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n_in) / dtype.type(n_out)


def _source(n_in, n_out, align_corners, scale, dtype, cubic):
    """Real source positions of the outputs (torch's ``area_pixel_compute_source_index``)."""
    s = _scale(n_in, n_out, align_corners, scale, dtype)
    dst = xp.arange(n_out).astype(dtype)
    if align_corners:
        return s * dst
    src = s * (dst + dtype.type(0.5)) - dtype.type(0.5)
    return src if cubic else xp.maximum(src, dtype.type(0))


def _nearest_index(n_in, n_out, scale, exact):
    if not exact and n_out == n_in:
        return xp.arange(n_out)
    if not exact and n_out == 2 * n_in:
        return xp.arange(n_out) >> 1
    f32 = xp.dtype("float32")
    s = _scale(n_in, n_out, False, scale, f32)
    dst = xp.arange(n_out).astype(f32)
    pos = (dst + f32.type(0.5)) * s if exact else dst * s
    return xp.minimum(xp.floor(pos).astype(xp.int64), n_in - 1)


def _cubic_weights(t):
    a = t.dtype.type(-0.75)

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = t.dtype.type(1)
    return [far(t + one), near(t), near(one - t), far(one - t + one)]


def _taps(mode, n_in, n_out, align_corners, scale, dtype):
    """(index array, weight array or None) pairs whose weighted sum is the resize."""
    if mode in ("nearest", "nearest-exact"):
        return [(_nearest_index(n_in, n_out, scale, mode == "nearest-exact"), None)]
    cubic = mode == "bicubic"
    if n_in == n_out and not cubic:  # torch's linear kernels copy: the same tap, weights 1, 0
        same = xp.arange(n_in)
        return [(same, xp.ones(n_in, dtype)), (same, xp.zeros(n_in, dtype))]
    src = _source(n_in, n_out, align_corners, scale, dtype, cubic)
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), n_in - 1)
    lam = xp.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    if cubic:
        return [(xp.clip(i0 - 1 + j, 0, n_in - 1), w) for j, w in enumerate(_cubic_weights(lam))]
    i1 = i0 + (i0 < n_in - 1)
    return [(i0, (1 - lam).astype(dtype)), (i1, lam)]


class _TapWeights(Node):
    """``x * w`` for constant tap weights ``w`` (``x``'s shape): torch's resampling nodes
    save no tensor, so neither this nor the tap picks (``IndexSelect``) hold anything that a
    second backward must refuse."""

    def forward(self, x):
        return x * self.w

    def backward(self, g):
        return g * _const(self.w)


def _resize_dim(x, axis, taps):
    trailing = (1,) * (x.ndim - axis - 1)
    out = None
    for idx, w in taps:
        part = IndexSelect.apply(x, idx=idx.astype(xp.int64).reshape(-1), dim=axis,
                                 holds_saved=False)
        if w is not None:
            part = _TapWeights.apply(part, w=w.reshape((-1,) + trailing))
        out = part if out is None else out + part
    return out


def _node_name(mode, nd):
    """torch's grad_fn for ``interpolate`` in ``mode`` over ``nd`` spatial dims."""
    stem = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear",
            "bilinear": "Bilinear", "bicubic": "Bicubic", "trilinear": "Trilinear"}[mode]
    return f"Upsample{stem}{nd}DBackward0"


def _output_size(input, size, scale_factor, recompute_scale_factor, mode):  # noqa: A002
    """The output size and the scales handed to the kernel (None where recomputed)."""
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                    "size in (o1, o2, ...,oK) format.")
            if not all(isinstance(v, int) for v in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(v) for v in size]}")
            out = [int(v) for v in size]
        else:
            out = [int(size)] * dim
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return out, [None] * dim
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {spatial} and scale_factor of shape "
                f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                "and scale_factor in (s1, s2, ...,sK) format.")
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * dim
    out = [math.floor(n * s) for n, s in zip(spatial, scales)]
    if recompute_scale_factor or mode == "area":
        scales = [None] * dim
    return out, scales


def _check_mode(ndim, mode):
    if mode not in ("nearest", "nearest-exact", "area") + _INTERP or ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) for the "
            "modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    need = _MODE_DIM.get(mode)
    if need is not None and need != ndim - 2:
        mode_name = "linear" if need == 1 else mode
        raise NotImplementedError(f"Got {ndim}D input, but {mode_name} mode needs {need + 2}D "
                                  "input")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``(N, C, *spatial)`` input to ``size`` or by ``scale_factor``."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    out_size, scales = _output_size(input, size, scale_factor, recompute_scale_factor, mode)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if antialias:
        from ._antialias import antialias_interpolate

        return antialias_interpolate(input, out_size, scales, mode, align_corners)
    _check_mode(input.ndim, mode)
    if mode == "area":  # torch's adaptive pooling, whose checks allow an empty output
        from . import pooling

        pool = {3: pooling.adaptive_avg_pool1d, 4: pooling.adaptive_avg_pool2d}.get(input.ndim)
        if pool is None:
            from .pooling3d import adaptive_avg_pool3d as pool
        return pool(input, out_size)
    if any(o <= 0 for o in out_size) or any(s == 0 for s in input.shape[2:]):
        raise RuntimeError(
            f"Input and output sizes should be greater than 0, but got input "
            f"({', '.join(str(s) for s in input.shape[2:])}) and output "
            f"({', '.join(str(o) for o in out_size)})")
    if not input.dtype.is_floating_point and not (mode.startswith("nearest")
                                                  and input.dtype.name == "uint8"):
        raise NotImplementedError(f'"upsample_{mode}" not implemented for '
                                  f"'{input.dtype.name}' (floating point and, for nearest "
                                  "modes, uint8 inputs only)")
    dtype = xp.dtype("float64") if input.dtype.name == "float64" else xp.dtype("float32")
    x = input
    for d, (n_out, s) in enumerate(zip(out_size, scales)):
        axis = d + 2
        taps = _taps(mode, x.shape[axis], n_out, align_corners, s, dtype)
        x = _resize_dim(x, axis, [(i, None if w is None else w.astype(input.dtype.np))
                                  for i, w in taps])
    return as_torch_node(x, _node_name(mode, len(out_size)))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """Deprecated spelling of ``interpolate``."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional."
                  "interpolate` instead.", stacklevel=user_stacklevel())
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=user_stacklevel())
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=user_stacklevel())
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]

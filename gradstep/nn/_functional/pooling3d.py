"""3-D pooling: ``max_pool3d``, ``avg_pool3d``, ``adaptive_avg_pool3d``, ``adaptive_max_pool3d``.

The windows of the padded input are a strided view (``Tensor.unfold`` per dim,
dilation by slicing), reduced over the flattened window axis: ``max(dim=-1)``
routes each gradient to its window's argmax, the sum routes it to every element.
Autograd composes the adjoint of the view (overlapping windows add up). Window
geometry, divisors and index layout (flat ``(d*H + h)*W + w``) follow torch.
"""

from __future__ import annotations

import math

from ...autograd.function import as_torch_node
from ...backend import xp
from .pooling import (
    MaxPoolFlatGather,
    _adaptive_avg_windows,
    _avg_matrix,
    _out_size,
    _pair,
    _window_positions,
    start_index,
    unreached_windows,
)

_DIMS_MSG = "non-empty 4D or 5D (batch mode) tensor expected for input"


def _const(arr):
    from ..._tensor import Tensor

    return Tensor._make(arr)


def _lift(x):
    if x.ndim not in (4, 5) or any(s == 0 for s in x.shape[-4:]):
        raise RuntimeError(_DIMS_MSG)
    return (x, False) if x.ndim == 5 else (x.unsqueeze(0), True)


def _geometry(x5, op, kernel_size, stride, padding, dilation, ceil_mode, is_max):
    kernel = _pair(kernel_size, "kernel_size", op, 3)
    empty = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    stride = kernel if empty else _pair(stride, "stride", op, 3)
    padding, dilation = _pair(padding, "padding", op, 3), _pair(dilation, "dilation", op, 3)
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should be greater than zero" if any(s < 0 for s in stride)
                           else "stride should not be zero")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got {list(kernel)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    for k, p, d in zip(kernel, padding, dilation):
        eff = (k - 1) * d + 1 if is_max else k
        if p < 0 or p > eff // 2 or p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    sizes = tuple(x5.shape[2:])
    out = tuple(_out_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation))
    if any(o <= 0 for o in out):
        c = x5.shape[1]
        raise RuntimeError(f"Given input size: ({c}x{'x'.join(map(str, sizes))}). Calculated "
                           f"output size: ({c}x{'x'.join(map(str, out))}). Output size is too "
                           "small")
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
                  for o, s, d, k, n, p in zip(out, stride, dilation, kernel, sizes, padding))
    return kernel, stride, padding, dilation, out, extra


def _windows(x5, geom, value):
    """``(N, C, Do, Ho, Wo, kd*kh*kw)`` windows of the input padded with ``value``."""
    from .padding import pad

    kernel, stride, padding, dilation, out, extra = geom
    pads = []
    for p, e in reversed(list(zip(padding, extra))):
        pads += [p, e]
    x = pad(x5, pads, value=value) if any(pads) else x5
    for axis, (k, s, d, o) in enumerate(zip(kernel, stride, dilation, out)):
        span = d * (k - 1) + 1
        x = x.narrow(axis + 2, 0, (o - 1) * s + span).unfold(axis + 2, span, s)
    if any(d > 1 for d in dilation):
        x = x[..., ::dilation[0], ::dilation[1], ::dilation[2]]
    return x.reshape(*x.shape[:5], math.prod(kernel))


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """3-D max pooling; indices are flat ``(d * H + h) * W + w`` positions in each input volume."""
    x5, unbatched = _lift(input)
    geom = _geometry(x5, "max_pool3d", kernel_size, stride, padding, dilation, ceil_mode, True)
    values, arg = _windows(x5, geom, float("-inf")).max(dim=-1)
    unreached = unreached_windows(values._data)
    idx = None
    if return_indices or unreached is not None:
        idx = _flat_index(x5.shape[2:], arg._data, geom)
    if unreached is not None:
        kernel, stride, padding, dilation, out, _ = geom
        idx = xp.where(unreached, start_index(x5.shape[2:], out, stride, padding, dilation), idx)
        values = MaxPoolFlatGather.apply(x5, values=values._data, idx=idx, in_shape=x5.shape)
    if unbatched:
        values = values.squeeze(0)
    else:
        as_torch_node(values, "MaxPool3DWithIndicesBackward0")
    if not return_indices:
        return values
    return values, (_const(idx).squeeze(0) if unbatched else _const(idx))


def _flat_index(sizes, arg, geom):
    """Flat ``(d * H + h) * W + w`` input positions of each window's argmax ``arg``."""
    kernel, stride, padding, dilation, out, _ = geom
    k_idx = xp.unravel_index(arg, kernel)
    pos = []
    for axis in range(3):
        shape = [1, 1, 1, 1, 1]
        shape[axis + 2] = out[axis]
        start = (xp.arange(out[axis]) * stride[axis] - padding[axis]).reshape(shape)
        pos.append(start + k_idx[axis] * dilation[axis])
    _, h, w = sizes
    return ((pos[0] * h + pos[1]) * w + pos[2]).astype(xp.int64)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
                            ceil_mode=False, return_indices=False):
    """``max_pool3d`` returning ``(values, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_divisor(sizes, geom, count_include_pad):
    kernel, stride, padding, _, out, _ = geom
    per_dim = []
    for n, k, s, p, o in zip(sizes, kernel, stride, padding, out):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        per_dim.append(end - start if count_include_pad
                       else xp.minimum(end, n) - xp.maximum(start, 0))
    return (per_dim[0][:, None, None] * per_dim[1][None, :, None]
            * per_dim[2][None, None, :])


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """3-D average pooling; ``count_include_pad`` counts zero padding in the divisor."""
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x5, unbatched = _lift(input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f'"avg_pool3d" not implemented for \'{input.dtype.name}\'')
    geom = _geometry(x5, "avg_pool3d", kernel_size, stride, padding, 1, ceil_mode, False)
    sizes, kernel = x5.shape[2:], geom[0]
    if any(n < k for n, k in zip(sizes, kernel)):  # torch's check, padding or not
        raise RuntimeError("input image (T: {} H: {} W: {}) smaller than kernel size "
                           "(kT: {} kH: {} kW: {})".format(*sizes, *kernel))
    total = _windows(x5, geom, 0.0).sum(dim=-1)
    if divisor_override is not None:
        out = total / divisor_override
    else:
        div = _avg_divisor(x5.shape[2:], geom, count_include_pad)
        out = total / _const(div.astype(input.dtype.np))
    return out.squeeze(0) if unbatched else as_torch_node(out, "AvgPool3DBackward0", (0,))


def _adaptive_sizes(x, output_size, op, sep=""):
    if x.ndim not in (4, 5):
        raise RuntimeError(f"{op}(): Expected 4D or 5D tensor, but got{sep} {list(x.shape)}")
    sizes = (output_size,) * 3 if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(sizes) != 3:
        raise RuntimeError(f"{op}: internal error: output_size.size() must be 3")
    return tuple(x.shape[x.ndim - 3 + i] if s is None else int(s) for i, s in enumerate(sizes))


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    """Average over torch's adaptive windows, one small matrix product per spatial dim."""
    out = _adaptive_sizes(input, output_size, "adaptive_avg_pool3d")
    if not xp.isfinite(input._data).all():  # the matrices' zeros would spread it (0 * inf)
        return _adaptive_avg_windows(input, out)
    x = input
    for i, o in enumerate(out):
        axis = x.ndim - 3 + i
        m = _const(_avg_matrix(x.shape[axis], o, input.dtype.np).T.copy())
        x = (x.transpose(axis, -1) @ m).transpose(axis, -1)
    return x


def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    """Max over torch's adaptive windows; indices are flat ``(d * H + h) * W + w`` positions."""
    out = _adaptive_sizes(input, output_size, "adaptive_max_pool3d", ":")
    x5 = input if input.ndim == 5 else input.unsqueeze(0)
    d, h, w = x5.shape[2:]
    pos = [_window_positions(n, o) for n, o in zip((d, h, w), out)]  # (o, k) each
    win = x5._data[:, :, pos[0][:, :, None, None, None, None], pos[1][None, None, :, :, None, None],
                   pos[2][None, None, None, None, :, :]]  # N,C,Do,kd,Ho,kh,Wo,kw
    ks = tuple(p.shape[1] for p in pos)
    win = win.transpose(0, 1, 2, 4, 6, 3, 5, 7).reshape(x5.shape[:2] + out + (-1,))
    arg = xp.argmax(win, axis=-1)
    nan = xp.isnan(win)
    if nan.any():  # torch keeps the last NaN of a window
        last = win.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
        arg = xp.where(nan.any(axis=-1), last, arg)
    kd, kh, kw = xp.unravel_index(arg, ks)
    od, oh, ow = (xp.arange(o).reshape(s) for o, s in zip(out, ((-1, 1, 1), (1, -1, 1),
                                                                  (1, 1, -1))))
    flat = (pos[0][od, kd] * h + pos[1][oh, kh]) * w + pos[2][ow, kw]
    idx = _const(flat.astype(xp.int64))
    n, c = x5.shape[:2]
    vals = x5.flatten(2).gather(2, idx.reshape(n, c, -1)).reshape(n, c, *out)
    if input.ndim == 4:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """``adaptive_max_pool3d`` returning ``(values, indices)``."""
    return adaptive_max_pool3d(input, output_size, True)


__all__ = ["adaptive_avg_pool3d", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
           "avg_pool3d", "max_pool3d", "max_pool3d_with_indices"]

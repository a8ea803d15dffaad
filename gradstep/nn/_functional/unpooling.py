"""``max_unpool1d/2d/3d``: the partial inverse of max pooling.

Each input value is scattered to its recorded flat position in a zero output
plane (``Tensor.scatter``), so the gradient of the input is the output gradient
gathered at those positions, as torch's.
"""

from __future__ import annotations

import math

from ..._creation import zeros


def _tuple(value, n):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    return value * n if len(value) == 1 else value


def _output_size(x, kernel, stride, padding, output_size):
    n = len(kernel)
    default = [(x.shape[x.ndim - n + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
               for d in range(n)]
    if output_size is None:
        return default
    output_size = list(output_size)
    if len(output_size) == n + 2:
        output_size = output_size[2:]
    if len(output_size) != n:
        raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, "
                         f"but it has a length of '{len(output_size)}'")
    for d in range(n):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {lo} '
                             f"and {hi})")
    return output_size


def _unpool(x, indices, nd, kernel_size, stride, padding, output_size):
    kernel = _tuple(kernel_size, nd)
    stride = kernel if stride is None else _tuple(stride, nd)
    padding = _tuple(padding, nd)
    out = [int(s) for s in _output_size(x, kernel, stride, padding, output_size)]
    if indices.dtype.name != "int64":
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype}")
    if tuple(indices.shape) != tuple(x.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    batched = x.ndim == nd + 2
    if x.ndim != nd + 1 and not batched:
        raise RuntimeError(f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for input, but "
                           f"got: {list(x.shape)}")
    lead = tuple(x.shape[:x.ndim - nd])
    plane = math.prod(out)
    idx = indices.reshape(*lead, -1)
    if idx.numel():
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= plane:
            bad = hi if hi >= plane else lo
            raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                               f"{'x'.join(map(str, out))})")
    base = zeros(*lead, plane, dtype=x.dtype)
    return base.scatter(len(lead), idx, x.reshape(*lead, -1)).reshape(*lead, *out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """Place ``(N, C, L)`` values at the positions ``max_pool1d`` returned."""
    return _unpool(input, indices, 1, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """Place ``(N, C, H, W)`` values at the flat ``h * W + w`` positions ``max_pool2d`` returned."""
    return _unpool(input, indices, 2, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """Place ``(N, C, D, H, W)`` values at the flat positions ``max_pool3d`` returned."""
    return _unpool(input, indices, 3, kernel_size, stride, padding, output_size)


__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]

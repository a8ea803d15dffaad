"""3-D convolutions (``conv3d``, ``conv_transpose3d``) built on the 2-D kernels, and ``conv_tbc``.

A 3-D convolution is a sum over the kernel's depth taps of 2-D convolutions: for
tap ``i`` the input planes at depths ``i*dd + sd*j`` (all output depths ``j`` at once,
folded into the batch) meet the weight slice ``w[:, :, i]``. The transposed one
places each tap's ``conv_transpose2d`` output at depths ``i*dd + sd*j`` of the full
output. Both are composed of Tensor ops over the 2-D nodes, so autograd gives the
gradients (and higher orders).
"""

from __future__ import annotations

from ..._creation import zeros
from ...amp._policy import autocast_op
from ...autograd.function import as_torch_node
from ...ops.shape import cat
from . import conv_empty
from .conv import _check_input, _geometry, _ntuple, conv2d
from .conv_transpose import check_output_padding, conv_transpose2d


def _fold_depth(x):
    """``(N, C, D, H, W)`` -> ``(N*D, C, H, W)``."""
    n, c, d = x.shape[:3]
    return x.transpose(1, 2).reshape(n * d, c, *x.shape[3:])


def _unfold_depth(y, n):
    """``(N*D, C, H, W)`` -> ``(N, D, C, H, W)``."""
    return y.reshape(n, y.shape[0] // n, *y.shape[1:])


def _pad_depth(x, lo, hi):
    """Zero rows before/after dim 2 of ``(N, C, D, H, W)``."""
    from .padding import pad

    return x if not (lo or hi) else pad(x, (0, 0, 0, 0, lo, hi))


@autocast_op("conv3d")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """3-D convolution over ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    batched = _check_input(input, weight, bias, 3, "conv3d", groups, transposed=False)
    x = input if batched else input.unsqueeze(0)
    kernel = tuple(weight.shape[2:])
    stride, pads, dilation = _geometry(stride, padding, dilation, kernel, 3)
    x = _pad_depth(x, *pads[0])
    padded = [x.shape[2]] + [s + lo + hi for s, (lo, hi) in zip(x.shape[3:], pads[1:])]
    eff = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't be greater than "
            "actual input size")
    n, sd, dd = x.shape[0], stride[0], dilation[0]
    d_out = (padded[0] - eff[0]) // sd + 1
    hw_pad = "same" if padding == "same" else tuple(lo for lo, _ in pads[1:])
    out = None
    for i in range(kernel[0]):
        planes = x[:, :, i * dd:i * dd + sd * (d_out - 1) + 1:sd]
        y = conv2d(_fold_depth(planes), weight[:, :, i], None, stride[1:], hw_pad,
                   dilation[1:], groups)
        out = y if out is None else out + y
    out = _unfold_depth(out, n).transpose(1, 2)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return as_torch_node(out, "ConvolutionBackward0") if batched else out.squeeze(0)


def _spread_depth(y, stride, offset, length):
    """``(N, D, ...)`` placed at depths ``offset + stride*j`` of a zero ``(N, length, ...)``."""
    n, d = y.shape[:2]
    rest = tuple(y.shape[2:])
    if stride > 1 and d > 1:
        gap = zeros(n, d, stride - 1, *rest, dtype=y.dtype)
        y = cat([y.unsqueeze(2), gap], 2).reshape(n, d * stride, *rest)[:, :(d - 1) * stride + 1]
    tail = length - offset - y.shape[1]
    parts = [zeros(n, offset, *rest, dtype=y.dtype)] if offset else []
    parts.append(y)
    if tail:
        parts.append(zeros(n, tail, *rest, dtype=y.dtype))
    if len(parts) == 1:
        return y
    return cat(parts, 1)


@autocast_op("conv_transpose3d")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,  # noqa: A002
                     groups=1, dilation=1):
    """Transposed 3-D convolution (the gradient of ``conv3d`` with respect to its input)."""
    if isinstance(padding, str):
        raise TypeError("conv_transpose3d(): argument 'padding' must be tuple of ints, not str")
    batched = _check_input(input, weight, bias, 3, "conv_transpose3d", groups, transposed=True)
    x = input if batched else input.unsqueeze(0)
    kernel = tuple(weight.shape[2:])
    stride, pads, dilation = _geometry(stride, padding, dilation, kernel, 3)
    out_pad = _ntuple(output_padding, 3, "output_padding")
    check_output_padding(out_pad, stride, dilation)
    in_sizes = tuple(x.shape[2:])
    full = [(i - 1) * s + d * (k - 1) + 1 + op
            for i, s, d, k, op in zip(in_sizes, stride, dilation, kernel, out_pad)]
    out_sizes = [f - 2 * lo for f, (lo, _) in zip(full, pads)]
    if min(out_sizes) < 0 or (0 in out_sizes and not conv_empty.allows_empty(
            x, kernel[1:], groups, stride, out_pad)):
        raise RuntimeError(
            f"Given input size per channel: ({' x '.join(map(str, in_sizes))}). Calculated "
            f"output size per channel: ({' x '.join(map(str, out_sizes))}). Output size is too "
            "small")
    n = x.shape[0]
    folded = _fold_depth(x)
    out = None
    for i in range(kernel[0]):
        y = conv_transpose2d(folded, weight[:, :, i], None, stride[1:],
                             tuple(lo for lo, _ in pads[1:]), out_pad[1:], groups, dilation[1:])
        y = _spread_depth(_unfold_depth(y, n), stride[0], i * dilation[0], full[0])
        out = y if out is None else out + y
    lo = pads[0][0]
    out = out[:, lo:lo + out_sizes[0]].transpose(1, 2)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return as_torch_node(out, "ConvolutionBackward0") if batched else out.squeeze(0)


def conv_tbc(input, weight, bias, pad=0):  # noqa: A002
    """1-D convolution of time-batch-channel input ``(T, B, C_in)`` with a ``(K, C_in, C_out)``
    weight and zero padding ``pad`` on both ends of time (a conv1d on permuted views)."""
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if weight.shape[1] != input.shape[2]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    from .conv import conv1d

    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


__all__ = ["conv3d", "conv_tbc", "conv_transpose3d"]

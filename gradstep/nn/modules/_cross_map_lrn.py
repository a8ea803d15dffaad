"""The autograd Function behind ``nn.CrossMapLRN2d`` (torch: ``torch/nn/modules/_functions.py``).

``CrossMapLRN2d`` carries torch's own backward, which is not the derivative of its forward:
the forward's channel windows are torch's running sum (channel 0 stays in every later window),
while the backward sums ``grad * out / scale`` over a fixed window of ``size`` channels,
``[c - p, c + size - 1 - p]`` with ``p = int(size - (size - 1) / 2)``. A program using the layer
trains on those gradients, so gradstep hands back the same ones.
"""

from __future__ import annotations

from ...autograd.function import Function


def _window_matrix(rows):
    from ..._tensor import Tensor
    from ...backend import xp

    return Tensor._make(xp.asarray(rows))


def forward_windows(c, size):
    """The forward's ``(C, C)`` 0/1 window matrix (a running sum that adds channel
    ``c + pre_pad - 1`` and drops ``c - pre_pad`` only once ``c > pre_pad``)."""
    pre_pad = int((size - 1) / 2 + 1)
    rows = [[0.0] * c for _ in range(c)]
    rows[0][:min(pre_pad, c)] = [1.0] * min(pre_pad, c)
    for i in range(1, c):
        rows[i] = list(rows[i - 1])
        if i < c - pre_pad + 1:
            rows[i][i + pre_pad - 1] += 1
        if i > pre_pad:
            rows[i][i - pre_pad] -= 1
    return rows


def backward_windows(c, size):
    """torch's backward window: row ``c`` sums channels ``c - p .. c + size - 1 - p``."""
    p = int(size - (size - 1) / 2)
    return [[1.0 if c0 - p <= k <= c0 + size - 1 - p else 0.0 for k in range(c)]
            for c0 in range(c)]


def _channel_sum(rows, t):
    """``sum_k rows[c][k] * t[:, k]`` for each channel ``c`` of the 4-d ``t``."""
    m = _window_matrix(rows).to(t.dtype)
    return (m @ t.flatten(2)).reshape(t.shape)


class CrossMapLRN2d(Function):
    @staticmethod
    def forward(ctx, input, size, alpha=1e-4, beta=0.75, k=1):  # noqa: A002
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D "
                             "instead.")
        scale = _channel_sum(forward_windows(input.shape[1], size), input * input)
        scale = scale * (alpha / size) + k
        output = input * scale.pow(-beta)
        ctx.size, ctx.alpha, ctx.beta, ctx.scale = size, alpha, beta, scale
        ctx.save_for_backward(input, output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, output = ctx.saved_tensors  # noqa: A001
        ratio = grad_output * output / ctx.scale
        accum = _channel_sum(backward_windows(input.shape[1], ctx.size), ratio)
        cache_ratio_value = 2 * ctx.alpha * ctx.beta / ctx.size
        grad_input = ctx.scale.pow(-ctx.beta) * grad_output - cache_ratio_value * input * accum
        return grad_input, None, None, None, None

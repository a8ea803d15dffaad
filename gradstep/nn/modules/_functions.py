"""Cross-process batch normalization (``SyncBatchNorm``'s training step).

The statistics are sums all-reduced across ranks: ``mean = AR(sum x) / n`` and
``var = AR(sum (x - mean)**2) / n`` (biased; two passes, as stable as local batch
norm), with ``n`` the all-reduced count. ``_AllReduceSum`` is a graph node whose
backward all-reduces the gradient (the adjoint of a sum over ranks), so autograd
gives each rank torch's SyncBatchNorm gradient: that of the whole-batch batch
norm, restricted to the rank's samples.
"""

from __future__ import annotations

from ... import distributed as dist
from ..._creation import tensor
from ..._tensor import Tensor
from ...autograd.function import Node
from ...autograd.grad_mode import no_grad
from ...backend import float64


class _AllReduceSum(Node):
    def forward(self, arr):
        t = Tensor._make(arr.copy())
        dist.all_reduce(t, group=self.group)
        return t._data

    def backward(self, grad):
        return (_AllReduceSum.apply(grad, group=self.group),)


def sync_batch_norm(input, weight, bias, running_mean, running_var, eps, momentum, group):  # noqa: A002
    """Batch norm over the union of every rank's batch (training mode)."""
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    count = tensor(float(input.numel() // c), dtype=float64)
    dist.all_reduce(count, group=group)
    n = float(count.item())
    if n <= 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{input.shape!r}")
    mean = _AllReduceSum.apply(input.sum(dim=dims), group=group) / n
    centred = input - mean.reshape(shape)
    var = _AllReduceSum.apply((centred * centred).sum(dim=dims), group=group) / n
    y = centred * (var.reshape(shape) + eps).rsqrt()
    if running_mean is not None or running_var is not None:
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach().to(running_mean.dtype)
                                                     * momentum)
            if running_var is not None:
                unbiased = var.detach() * (n / (n - 1))
                running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype) * momentum)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y

"""``torch.nn.grad`` (also ``F.grad``): the gradient of conv1d/2d/3d with respect to the input
or the weight, given the shape of the other and ``grad_output``, as custom autograd Functions
that hand-write a convolution's backward call them.

A convolution is linear in each operand, so the gradient is ``grad_output`` pulled back
through the convolution of a zero tensor of the missing operand's shape: the same kernels
(and numbers) as ``backward`` through ``F.conv*d``. The result is differentiable when grad
mode is on and an operand requires grad, as torch's ``convolution_backward`` is.
"""

from __future__ import annotations

from .. import _creation
from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ._functional.conv import conv1d, conv2d
from ._functional.conv3d import conv3d

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _pull_back(conv, data, weight, grad_output, wrt, stride, padding, dilation, groups):
    """The gradient of ``conv(data, weight)`` with respect to ``wrt`` (the zero stand-in)."""
    create_graph = is_grad_enabled() and any(
        t.requires_grad for t in (data, weight, grad_output))
    with enable_grad():
        out = conv(data, weight, None, stride, padding, dilation, groups)
        return _autograd_grad(out, wrt, grad_output, create_graph=create_graph)[0]


def _input_grad(conv, input_size, weight, grad_output, stride, padding, dilation, groups):
    stand_in = _creation.zeros(tuple(input_size), dtype=grad_output.dtype, requires_grad=True)
    return _pull_back(conv, stand_in, weight, grad_output, stand_in, stride, padding, dilation,
                      groups)


def _weight_grad(conv, input, weight_size, grad_output, stride, padding, dilation, groups):  # noqa: A002
    stand_in = _creation.zeros(tuple(weight_size), dtype=grad_output.dtype, requires_grad=True)
    return _pull_back(conv, input, stand_in, grad_output, stand_in, stride, padding, dilation,
                      groups)


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _input_grad(conv1d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    return _weight_grad(conv1d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _input_grad(conv2d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    return _weight_grad(conv2d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _input_grad(conv3d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    return _weight_grad(conv3d, input, weight_size, grad_output, stride, padding, dilation, groups)

"""Activation functions of ``nn.functional`` (elementwise ops come from ``gradstep.ops``)."""

from __future__ import annotations

import warnings

from ..._warn_once import user_stacklevel
from ...amp._policy import autocast_op
from ...autograd.function import Node, as_torch_node
from ...backend import xp
from ...ops import activation as _ops_activation
from ...ops import elementwise as E
from ...ops import reduce as R
from ...ops._lowp import float32_compute
from ...ops._util import as_float, dtype_title
from ...ops.activation import hardswish as _hardswish

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "celu", "gelu",
    "silu", "mish", "tanh", "sigmoid", "hardsigmoid", "hardswish", "logsigmoid", "softplus",
    "softsign", "tanhshrink", "hardtanh", "hardtanh_", "threshold", "glu", "softmax", "softmin",
    "log_softmax", "prelu", "hardshrink", "softshrink", "rrelu", "rrelu_", "celu_", "selu_",
    "threshold_", "gumbel_softmax",
]


def _maybe_inplace(input, inplace, fn):  # noqa: A002
    """``fn(input)``, written back into ``input`` when ``inplace`` (recorded for autograd)."""
    if not inplace:
        return fn(input)
    if input._needs_graph():
        return input._inplace_graph(fn)
    input._write(fn(input.detach())._data)
    return input


def relu(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, E.relu)


def relu_(input):  # noqa: A002
    return relu(input, inplace=True)


def relu6(input, inplace=False):  # noqa: A002
    return hardtanh(input, 0.0, 6.0, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if not input.is_floating_point():
        return _maybe_inplace(input, inplace, _int_clamp(input, min_val, max_val))
    return _maybe_inplace(input, inplace, lambda x: E.hardtanh(x, min_val, max_val))


def _int_clamp(input, min_val, max_val):  # noqa: A002
    """torch's integer hardtanh: a clamp to the limits truncated to the input's type, which
    keeps the dtype (bool, and uint8 with a negative limit, are refused)."""
    if input.dtype.name == "bool":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if input.dtype.name == "uint8" and (min_val < 0 or max_val < 0):
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    return lambda x: x.clamp(int(min_val), int(max_val))


def hardtanh_(input, min_val=-1.0, max_val=1.0):  # noqa: A002
    return hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, lambda x: E.leaky_relu(x, negative_slope))


def leaky_relu_(input, negative_slope=0.01):  # noqa: A002
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, lambda x: E.elu(x, alpha))


def elu_(input, alpha=1.0):  # noqa: A002
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, _ops_activation.selu)


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, lambda x: _ops_activation.celu(x, alpha))


def celu_(input, alpha=1.0):  # noqa: A002
    return celu(input, alpha, inplace=True)


def selu_(input):  # noqa: A002
    return selu(input, inplace=True)


def gelu(input, approximate="none"):  # noqa: A002
    return E.gelu(input, approximate=approximate)


def silu(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, E.silu)


def mish(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, E.mish)


def tanh(input):  # noqa: A002
    return E.tanh(input)


def sigmoid(input):  # noqa: A002
    return E.sigmoid(input)


@float32_compute  # float16/bfloat16: computed in float32, rounded once (both ways)
class _Hardsigmoid(Node):
    """clip(x + 3, 0, 6) / 6; the gradient inside (-3, 3) is torch's float32 constant 1/6
    (and +0 outside, whatever the incoming gradient's sign)."""

    _name = "HardsigmoidBackward0"
    saves = (0,)

    def forward(self, a):
        t = a.dtype.type
        return xp.minimum(xp.maximum(a + t(3), t(0)), t(6)) / t(6)

    def backward(self, g):
        (a,) = self.saved_tensors
        inside = (a > -3.0) & (a < 3.0)
        return E.where(inside, g * float(xp.float32(1.0 / 6.0)), 0.0)


def hardsigmoid(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, inplace, lambda x: _Hardsigmoid.apply(as_float(x)))


def hardswish(input, inplace=False):  # noqa: A002
    """x * clip(x + 3, 0, 6) / 6; gradient x / 3 + 0.5 on [-3, 3] as torch's kernel."""
    return _maybe_inplace(input, inplace, _hardswish)


def logsigmoid(input):  # noqa: A002
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return as_torch_node(-E.softplus(-as_float(input)), "LogSigmoidBackward0")


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    return E.softplus(input, beta, threshold)


def softsign(input):  # noqa: A002
    return input / (input.abs() + 1.0)


def tanhshrink(input):  # noqa: A002
    return input - input.tanh()


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    # torch's x <= threshold ? value : x: a NaN stays NaN
    if not input.is_floating_point():
        threshold, value = _int_threshold_args(input, threshold, value)
    return _maybe_inplace(input, inplace, lambda x: E.where(x <= threshold, value, x))


def _int_threshold_args(input, threshold, value):  # noqa: A002
    """An integer input keeps its dtype: torch truncates both scalars to it."""
    if input.dtype.name == "bool":
        raise NotImplementedError("\"threshold_cpu\" not implemented for 'Bool'")
    if input.dtype.name == "uint8" and min(threshold, value) < 0:
        raise RuntimeError("value cannot be converted to type uint8_t without overflow")
    return int(threshold), int(value)


_threshold = threshold  # the parameter of threshold_ below shadows the function's name


def threshold_(input, threshold, value):  # noqa: A002
    return _threshold(input, threshold, value, inplace=True)


def glu(input, dim=-1):  # noqa: A002
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim % input.ndim} is size "
            f"{input.shape[dim]}"
        )
    a, b = input.chunk(2, dim)
    return as_torch_node(a * b.sigmoid(), "GluBackward0")


def _softmax_dim(name, input, dim, stacklevel):  # noqa: A002
    """torch's implicit dim (0 for 0-, 1- and 3-D input, else 1), with its deprecation warning."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    return R.softmax(input, _softmax_dim("softmax", input, dim, _stacklevel), dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    return R.softmax(-input, _softmax_dim("softmin", input, dim, _stacklevel), dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    return R.log_softmax(input, _softmax_dim("log_softmax", input, dim, _stacklevel),
                         dtype=dtype)




@autocast_op("prelu")
def prelu(input, weight):  # noqa: A002
    """max(0, x) + weight * min(0, x), with one weight per channel (dim 1) or a single one."""
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {dtype_title(input.dtype)} "
                           f"and {dtype_title(weight.dtype)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"prelu_cpu" not implemented for \'{dtype_title(input.dtype)}\'')
    if weight.ndim != 1:
        raise RuntimeError(f"prelu: weight must be 1-D, got shape {list(weight.shape)}")
    n = weight.shape[0]
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1  # torch: a 1-D input has 1 channel
        if channels != n:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {n} and channel size = {channels}."
            )
        if input.ndim >= 2:
            weight = weight.reshape((1, n) + (1,) * (input.ndim - 2))
    elif input.ndim == 0:
        weight = weight.reshape(())  # a 0-d input keeps its shape
    positive = input > 0
    negative_part = E.where(positive, 0.0, input)  # an inf in the other branch: weight grad 0
    return as_torch_node(E.where(positive, input, negative_part * weight), "PreluKernelBackward0")


# The shrinks' gradient at a NaN input is torch's scalar kernel's, ``lambd`` bounds tested
# false so the gradient passes, as gradstep's elu/celu/selu/hardtanh/hardswish follow their
# scalar kernels. torch's vectorized kernels blend the other way (0 for the shrinks, NaN for
# elu), on whole chunks of two vectors of a contiguous run (16 float32 or 8 float64 elements
# for the shrinks, 32/16 for elu, as measured on AVX-512), the rest elementwise: which
# elements a NaN meets which kernel depends on the layout, the size and the CPU, so no rule
# of gradstep's own reproduces it.
def hardshrink(input, lambd=0.5):  # noqa: A002
    """x where |x| > lambd, else 0.

    At a NaN input the gradient passes (see the note above)."""
    return as_torch_node(E.where(input.abs() <= lambd, input * 0, input), "HardshrinkBackward0")


def softshrink(input, lambd=0.5):  # noqa: A002
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    zero = input * 0  # at a NaN input the gradient passes (see above hardshrink)
    out = E.where(input > lambd, input - lambd, E.where(input >= -lambd, zero, input + lambd))
    return as_torch_node(out, "SoftshrinkBackward0")


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):  # noqa: A002
    """Leaky ReLU whose negative slope is U(lower, upper) per element in training, else the mean."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ..._tensor import Tensor
    from ..._torch_random import rrelu_noise

    if input.dtype.name == "float16":
        raise NotImplementedError('"rrelu_with_noise_out_cpu" not implemented for \'Half\'')
    # torch's noise: a slope drawn for each element <= 0 (the others keep slope 1), the
    # product taken in the op's math type (float32 for bfloat16)
    noise = Tensor._make(rrelu_noise(input._data, lower, upper))
    dtype = input.dtype
    return _maybe_inplace(input, inplace, lambda x: as_torch_node(
        (x * noise).to(dtype), "RreluWithNoiseBackward0"))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):  # noqa: A002
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """Softmax of ``(logits + Gumbel noise) / tau``; ``hard=True`` returns the one-hot argmax
    with the soft sample's gradient (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=user_stacklevel())
    from ..._tensor import Tensor
    from ..._torch_random import exponential_like

    # torch's noise: -empty_like(logits).exponential_().log(), in the logits' dtype
    noise = -xp.log(exponential_like(xp.empty(logits._data.shape, logits._data.dtype)))
    gumbels = (logits + Tensor._make(noise)) / tau
    y_soft = softmax(gumbels, dim)
    if not hard:
        return y_soft
    index = y_soft._data.argmax(axis=dim)
    hot = xp.zeros(y_soft.shape, y_soft._data.dtype)
    xp.put_along_axis(hot, xp.expand_dims(index, dim), 1, axis=dim)
    return Tensor._make(hot) - y_soft.detach() + y_soft

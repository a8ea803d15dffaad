"""Activation functions as ops (relu, gelu, silu, elu, softplus, ...) and their gradients."""

from __future__ import annotations

import math

from .. import _parallel
from ..autograd.function import Node, as_torch_node
from ..autograd.grad_mode import _GradState
from ..backend import xp
from ._lowp import float32_compute
from ._util import check_float_input
from .arithmetic import _scalar
from .unary import Clamp, _sigmoid, _Unary, clamp, erf_array, where


class Relu(Node):
    saves_output = True

    def forward(self, a):
        return _parallel.ufunc(xp.maximum, a, 0)

    def backward(self, g):
        # the gradient passes unless out <= 0 (so a NaN passes it, as in torch)
        out = self.saved_output
        if _GradState.enabled:  # create_graph=True: Tensor ops, so it differentiates again
            return g * ~(out <= 0)
        # one multiply by the bool mask (the Tensor path would also cast the mask to float)
        return g._make(_relu_grad(g._data, out._data))


def _relu_grad(g, out):
    """``g * ~(out <= 0)`` on arrays, split among threads when large."""
    if g.shape != out.shape or not g.shape or not _parallel.worth_splitting(g.size, g.shape[0]):
        return g * ~(out <= 0)
    res = xp.empty(g.shape, xp.result_type(g.dtype, bool))

    def chunk(lo, hi):
        mask = out[lo:hi] <= 0
        xp.logical_not(mask, out=mask)
        xp.multiply(g[lo:hi], mask, out=res[lo:hi])

    _parallel.over_rows(chunk, g.shape[0], g.size)
    return res


@float32_compute  # float16/bfloat16: times the float32 slope, rounded once (both ways)
class LeakyRelu(_Unary):
    def forward(self, a):
        return xp.where(a > 0, a, a * a.dtype.type(self.slope))

    def deriv(self, a):
        from .._tensor import Tensor

        # built in a's dtype: a float32 slope would be off by ~1e-8 in float64
        return Tensor._make(xp.where(a._data > 0, a.dtype.np.type(1), a.dtype.np.type(self.slope)))


@float32_compute  # float16/bfloat16: computed in float32, rounded once
class Elu(Node):
    """torch's ``elu`` kernel, which also runs ``celu`` and ``selu``: with ``neg = alpha * scale``
    (rounded in the input's dtype) and ``ipt = input_scale``, ``x * scale`` where ``x > 0``, else
    ``neg * expm1(x * ipt)``: so ``-0.0`` maps to ``-0.0``. The backward is torch's
    ``elu_backward`` (not ``is_result``) in its operation order:
    ``g * ipt * neg * exp(x * ipt)`` for ``x <= 0``, else ``g * scale``. A NaN input passes
    ``g * scale`` (torch's scalar path; its vector path, on bulk chunks, gives NaN)."""

    saves = (0,)

    grad_input_scale = None  # celu: torch's backward rounds alpha to float32 (see celu)

    def _coefs(self, dt, backward=False):
        t = dt.type
        ipt = self.grad_input_scale if backward and self.grad_input_scale else self.input_scale
        return t(self.alpha) * t(self.scale), t(self.scale), t(ipt)

    def forward(self, a):
        neg, pos, ipt = self._coefs(a.dtype)
        z = a * ipt
        if a.dtype == xp.float32:  # rounded once from float64: see _exp_f32
            em1 = xp.expm1(z.astype(xp.float64)).astype(xp.float32)
        else:
            em1 = xp.expm1(z)
        return xp.where(a > 0, a * pos, em1 * neg)

    def backward(self, g):
        (a,) = self.saved_tensors
        neg, pos, ipt = (float(c) for c in self._coefs(a.dtype.np, backward=True))
        return where(a <= 0, g * ipt * neg * _exp_f32(a * ipt), g * pos)


def _exp_f32(z):
    """``exp(z)`` for a float32 ``z`` through float64, rounded once: torch's vectorized (Sleef,
    1-ulp) float32 exp/expm1 agree with the correctly rounded value far more often than
    NumPy's float32 ones do (measured over 1e6 elu inputs: 0.14% vs 7% of outputs off, by
    one ulp vs up to two). Costs a float64 copy of the negative side; other dtypes as is."""
    if z.dtype.name != "float32":
        return z.exp()
    return z.double().exp().float()


@float32_compute
class Silu(_Unary):
    def forward(self, a):
        return _parallel.elementwise(lambda x: x * _sigmoid(x), a)

    def deriv(self, a):
        s = a.sigmoid()
        return s * (1.0 + a * (1.0 - s))


@float32_compute
class Softplus(_Unary):
    def forward(self, a):
        beta, th = self.beta, self.threshold
        z = a * a.dtype.type(beta)
        soft = (xp.logaddexp(0, z) / a.dtype.type(beta)).astype(a.dtype)
        return xp.where(z > th, a, soft)

    def deriv(self, a):
        z = a * self.beta
        return where(z > self.threshold, 1.0, z.sigmoid())


@float32_compute
class Gelu(_Unary):
    def forward(self, a):
        return _parallel.elementwise(self._gelu, a)

    def _gelu(self, a):
        if self.approximate == "tanh":
            k = math.sqrt(2.0 / math.pi)
            inner = k * (a + 0.044715 * a * a * a)
            return (0.5 * a * (1.0 + xp.tanh(inner))).astype(a.dtype)
        return (0.5 * a * (1.0 + erf_array(a / math.sqrt(2.0)))).astype(a.dtype)

    def deriv(self, a):
        if self.approximate == "tanh":
            k = math.sqrt(2.0 / math.pi)
            inner = (a + a * a * a * 0.044715) * k
            t = inner.tanh()
            dinner = (1.0 + a * a * (3 * 0.044715)) * k
            return 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * dinner
        cdf = 0.5 * (1.0 + (a * (1.0 / math.sqrt(2.0))).erf())
        pdf = (a * a * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))
        return cdf + a * pdf


@float32_compute
class Mish(_Unary):
    """torch's kernel: ``x * tanh(log1p(exp(x)))``; its gradient through sigmoid(x)."""

    def forward(self, a):
        return a * xp.tanh(xp.log1p(xp.exp(a)))

    def backward(self, g):
        (a,) = self.saved_tensors
        t = a.exp().log1p().tanh()
        return g * (t + a * a.sigmoid() * (1.0 - t * t))


@float32_compute
class Hardswish(_Unary):
    """``x * min(max(x + 3, 0), 6) / 6``; the gradient is torch's: 0 up to -3 (included),
    ``x / 3 + 0.5`` below 3, then 1."""

    def forward(self, a):
        t = a.dtype.type
        return a * xp.minimum(xp.maximum(a + t(3), t(0)), t(6)) / t(6)

    def backward(self, g):
        (a,) = self.saved_tensors
        ramp = g * (a / 3.0 + 0.5)
        return where(a <= -3.0, g.new_zeros(()), where(a < 3.0, ramp, g))



def silu(a):
    check_float_input(a, "silu_cpu")
    return Silu.apply(a)


def relu(a):
    if a.dtype.name == "bool":
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(a)


def relu6(a):
    return hardtanh(a, 0.0, 6.0)


class Hardtanh(Clamp):
    """clamp's forward with torch's ``hardtanh_backward``: no gradient where ``a <= min`` or
    ``a >= max`` (the bounds themselves included, unlike clamp), and a NaN passes it."""

    _name = "HardtanhBackward0"

    def backward(self, g):
        (a,) = self.saved_tensors
        return g.masked_fill((a <= self.lo) | (a >= self.hi), 0.0)


def hardtanh(a, min_val=-1.0, max_val=1.0):
    if not a.dtype.is_floating_point:
        return as_torch_node(clamp(a, min_val, max_val), "HardtanhBackward0")
    return Hardtanh.apply(a, lo=_scalar(min_val, a.dtype), hi=_scalar(max_val, a.dtype))


def leaky_relu(a, negative_slope=0.01):
    check_float_input(a, "leaky_relu_cpu")
    return LeakyRelu.apply(a, slope=negative_slope)


def elu(a, alpha=1.0, scale=1.0, input_scale=1.0):
    check_float_input(a, "elu_cpu")
    return Elu.apply(a, alpha=alpha, scale=scale, input_scale=input_scale)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(a):
    """torch's ``selu``: one elu with ``scale`` (``alpha * scale`` rounded once)."""
    return elu(a, SELU_ALPHA, SELU_SCALE)


def celu(a, alpha=1.0):
    """torch's ``celu``: elu with ``input_scale = 1 / alpha``; its backward uses
    ``1.0 / alpha.toFloat()`` (alpha rounded to float32), as torch's derivative formula does."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha must not be 0 in celu")
    check_float_input(a, "elu_cpu")
    out = Elu.apply(a, alpha=alpha, scale=1.0, input_scale=1.0 / alpha,
                    grad_input_scale=1.0 / float(xp.float32(alpha)))
    return as_torch_node(out, "CeluBackward0")


def softplus(a, beta=1.0, threshold=20.0):
    check_float_input(a, "softplus_cpu")
    return Softplus.apply(a, beta=beta, threshold=threshold)


def _bad_approximate(approximate):
    """torch's refusals of gelu's keyword-only ``approximate`` (a str: "none" or "tanh")."""
    from .._argparse import arg_error, type_name

    if not isinstance(approximate, str):
        text = f" must be str, not {type_name(approximate)}"
        raise arg_error("gelu", "approximate", None, text, text)
    raise RuntimeError("approximate argument must be either none or tanh.")


def gelu(a, approximate="none"):
    if approximate != "none" and approximate != "tanh":
        _bad_approximate(approximate)
    check_float_input(a, "GeluKernelImpl")
    return Gelu.apply(a, approximate=approximate)


def mish(a):
    check_float_input(a, "mish_cpu")
    return Mish.apply(a)


def hardswish(a):
    check_float_input(a, "hardswish_cpu")
    return Hardswish.apply(a)

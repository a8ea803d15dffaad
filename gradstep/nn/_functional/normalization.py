"""Normalization: ``batch_norm``, ``layer_norm``, ``group_norm``, ``rms_norm``, ``instance_norm``,
``local_response_norm``.

The centre-and-scale step ``(x - mean) / sqrt(var + eps)`` is one fused node
(``Normalize``): its forward and first-order backward run on raw arrays, and under
``create_graph=True`` its backward is built from Tensor ops instead, so gradients of
any order still flow. ``layer_norm`` with a weight or bias is one such node with its
affine part (``LayerNorm``); elsewhere the affine part and ``rms_norm`` are plain Tensor ops.
``batch_norm`` also updates the running statistics in place (outside the graph):
the running variance uses the unbiased batch variance, as torch does. float16/bfloat16
inputs take ``normalization_lowp`` (torch's roundings for them), or float32 inside
(``float32_function``) when their parameters are float32.
"""

from __future__ import annotations

import math

from ... import _parallel
from ... import _vmap_batched as _vmap
from ..._tensor import Tensor
from ...autograd.function import Node, as_torch_node
from ...autograd.grad_mode import _GradState, no_grad
from ...backend import xp
from ...ops import _rowwise
from ...ops._lowp import float32_function, is_lowp
from ...ops._util import dtype_title
from . import normalization_lowp as _lowp


class Normalize(Node):
    """``(x - mean) * rstd`` over ``axes``; ``apply`` receives the centred input ``xc``,
    ``mean`` and ``rstd`` already computed (the statistics are needed outside the node too).

    Backward reads the saved output while it is unchanged; torch saves the input and the
    statistics instead, so an in-place op on the output (``F.relu(norm(x), inplace=True)``
    without an affine part) is legal there: then ``xhat`` is rebuilt from the input."""

    _name = "NativeNormBackward0"
    saves = (0,)
    saves_output = True

    def forward(self, x):
        out, self.xc = self.xc, None
        out *= self.rstd
        return out

    def _output_changed(self):
        return self._out_vc[0] != self._out_version

    def backward(self, g):
        axes = self.axes
        (x,) = self.saved_tensors  # raises if the input changed in place, as torch's does
        if _GradState.enabled:  # create_graph: keep every factor differentiable in x
            rstd = (x.var(dim=axes, unbiased=False, keepdim=True) + self.eps).rsqrt()
            if self._output_changed():
                xhat = (x - x.mean(dim=axes, keepdim=True)) * rstd
            else:
                xhat = self.saved_output
            return rstd * (g - g.mean(dim=axes, keepdim=True)
                           - xhat * (g * xhat).mean(dim=axes, keepdim=True))
        if self._output_changed():
            xhat = (x._data - self.mean) * self.rstd
        else:
            xhat = self.saved_output._data
        gd = g._data
        if _rowwise.splittable(xhat.shape, axes) and gd.shape == xhat.shape and xhat.size:
            return Tensor._make(_rowwise.normalize_backward(gd, xhat, self.rstd, axes))
        proj = (gd * xhat).mean(axis=axes, keepdims=True)
        gx = gd - gd.mean(axis=axes, keepdims=True)
        gx -= xhat * proj
        gx *= self.rstd
        return Tensor._make(gx)


class LayerNorm(Node):
    """``layer_norm`` with a weight and/or a bias, as one node (torch's ``native_layer_norm``).

    The composition (``Normalize``, then a ``Mul`` and an ``Add`` node) does the same
    operations in the same order; here they run over blocks of rows while a block is in
    cache, and the backward makes the three gradients without routing through the Tensor
    layer. Attributes: ``axes`` (the trailing normalized dims), ``eps``, ``has_weight``,
    ``has_bias``.
    """

    _name = "NativeLayerNormBackward0"

    def forward(self, x, *params):
        w = params[0] if self.has_weight else None
        b = params[-1] if self.has_bias else None
        self.xhat, y, self.rstd = _rowwise.normalize_affine(x, self.axes, self.eps, w, b)
        return y

    def backward(self, g):
        saved = self.saved_tensors  # raises if x or the weight changed in place since
        x, w = saved[0], (saved[1] if self.has_weight else None)
        if _GradState.enabled:  # create_graph: keep every factor differentiable
            return self._graph_backward(x, w, g)
        gd, xhat = g._data, self.xhat
        need = [e is not None for e in self._next]
        lead = tuple(range(gd.ndim - len(self.axes)))  # the dims the parameters broadcast over
        gx = gw = gb = None
        if need[0]:
            g_xhat = gd if w is None else _parallel.ufunc(xp.multiply, gd, w._data)
            gx = _rowwise.normalize_backward(g_xhat, xhat, self.rstd, self.axes)
        if self.has_weight and need[1]:
            gw = xp.sum(_parallel.ufunc(xp.multiply, gd, xhat), axis=lead)
        if self.has_bias and need[-1]:
            gb = xp.sum(gd, axis=lead)
        grads = (gx,) + ((gw,) if self.has_weight else ()) + ((gb,) if self.has_bias else ())
        return tuple(None if a is None else Tensor._make(a) for a in grads)

    def _graph_backward(self, x, w, g):
        axes, lead = self.axes, tuple(range(g.ndim - len(self.axes)))
        rstd = (x.var(dim=axes, unbiased=False, keepdim=True) + self.eps).rsqrt()
        xhat = (x - x.mean(dim=axes, keepdim=True)) * rstd
        g_xhat = g if w is None else g * w
        gx = rstd * (g_xhat - g_xhat.mean(dim=axes, keepdim=True)
                     - xhat * (g_xhat * xhat).mean(dim=axes, keepdim=True))
        grads = (gx,) + (((g * xhat).sum(dim=lead),) if self.has_weight else ())
        return grads + ((g.sum(dim=lead),) if self.has_bias else ())

    def release(self):
        super().release()
        self.xhat = self.rstd = None


def _fused_layer_norm(x, dims, eps, weight, bias):
    """``LayerNorm``'s output, or None where the composition must run: no affine part (one
    ``Normalize`` node already), a reduction over the first dim, an empty input, dtypes other
    than float32/float64 or parameters of another dtype than the input's."""
    if weight is None and bias is None:
        return None
    d = x._data
    if d.dtype.name not in ("float32", "float64") or not d.size or \
            not _rowwise.splittable(d.shape, dims):
        return None
    params = [p for p in (weight, bias) if p is not None]
    if any(p._data.dtype != d.dtype for p in params):
        return None
    shown = None if len(params) == 2 else ((0, 1, None) if weight is not None else (0, None, 1))
    return LayerNorm.apply(x, *params, axes=dims, eps=eps, has_weight=weight is not None,
                           has_bias=bias is not None, saves=(0, 1) if weight is not None else (0,),
                           _shown_edges=shown)


def _normalize(x, dims, eps, name, batch_stats=False):
    """``(x - mean) / sqrt(var + eps)`` over ``dims``; returns (xhat, mean, biased var) with
    the statistics as raw arrays (kept dims). ``name``: torch's node for the norm, which lists
    the absent weight and bias as inputs without a graph. ``batch_stats``: batch_norm's
    statistics of a float32 image batch, accumulated as torch's (``_batch_stats_float32``)."""
    xd = x._data
    if batch_stats:
        xc, mean, var, rstd = _batch_stats_float32(xd, eps)
    elif _rowwise.splittable(xd.shape, dims) and xd.size:  # blocks of rows, on threads
        xc, mean, var, rstd = _rowwise.normalize(xd, dims, eps)
    else:
        mean = xd.mean(axis=dims, keepdims=True)
        xc = xd - mean
        var = (xc * xc).mean(axis=dims, keepdims=True)
        rstd = 1.0 / xp.sqrt(var + eps)
    y = Normalize.apply(x, axes=dims, eps=eps, xc=xc, mean=mean, rstd=rstd, _name=name,
                        _shown_edges=(0, None, None))
    return y, mean, var


def _batch_stats_float32(xd, eps):
    """batch_norm's ``(xc, mean, biased var, rstd)`` of a float32 ``(N, C, *spatial)`` array.

    torch's CPU kernel sums each channel in double and rounds the mean once to float32 (then
    the squares ``(x - mean)**2``, rounded in float32, likewise). A float32 reduction over
    ``(N, H, W)`` adds its rows one after another, several ulps off for 256x32x32 values
    with a large mean (and 1/std times that in the output). Here each ``(n, c)`` image is
    summed pairwise in float32 (NumPy along the contiguous axis: within about an ulp) and
    the N partial sums in float64: as fast as before, at most an ulp from torch's mean.
    """
    n, c = xd.shape[0], xd.shape[1]
    count = xd.size // c
    shape = (1, c) + (1,) * (xd.ndim - 2)

    def channel_sums(a):
        return a.reshape(n, c, -1).sum(axis=2).sum(axis=0, dtype=xp.float64)

    mean = (channel_sums(xd) / count).astype(xp.float32).reshape(shape)
    xc = xd - mean
    var = channel_sums(xc * xc).astype(xp.float32) / xp.float32(count)  # torch: float / n
    rstd = (1.0 / xp.sqrt(var.astype(xp.float64) + eps)).astype(xp.float32)  # in double
    return xc, mean, var.reshape(shape), rstd.reshape(shape)


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _check_norm_dtypes(input, params, kernel):  # noqa: A002
    """torch's CPU dtype rules for the fused norms. Parameters (weight, bias, running stats) of
    another dtype than the input ("mixed") must all be float32 and the input float16/bfloat16;
    otherwise every parameter shares the input's dtype, which must be floating."""
    dt = input.dtype
    first = None
    for p in params:
        if p is not None:
            first = p.dtype
            break
    if first is not None and first is not dt:
        if any(p is not None and p.dtype.name != "float32" for p in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if not is_lowp(dt.np):
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        return
    for p in params:
        if p is not None and p.dtype is not dt:
            raise RuntimeError(f"expected scalar type {dtype_title(dt)} but found "
                               f"{dtype_title(p.dtype)}")
    if not dt.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(dt)}\'')


def _check_vector(t, name, c):
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) of ``input`` over the batch and all spatial positions.

    In training mode the batch statistics normalise and, when ``running_mean`` and
    ``running_var`` are given, are blended into them with weight ``momentum``. In
    evaluation mode the running statistics normalise.
    """
    if input.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(input.ndim, 1)}, {max(input.ndim, 1) - 1}], but got 1)")
    c = input.shape[1]
    count = input.shape[0] * math.prod(input.shape[2:])  # values per channel
    if training and count == 1:  # torch's _verify_batch_size: N * spatial == 1
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {input.shape!r}")
    if not input._data.size:  # as torch: an empty batch skips the statistics and their checks
        return _empty_batch_norm(input, weight, bias)
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_vector(t, name, c)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"batch_norm" not implemented for \'{dtype_title(input.dtype)}\'')
    _check_norm_dtypes(input, (weight, bias, running_mean, running_var), "batch_norm")
    shape = (1, c) + (1,) * (input.ndim - 2)
    dims = (0,) + tuple(range(2, input.ndim))
    if training and running_mean is not None and _vmap.depth:  # inside vmap
        _vmap.check_batch_norm(input._data, running_mean._data, running_var._data)
    if not training and running_mean is None:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    if not training and running_var is None:
        raise RuntimeError("running_var must be defined in evaluation mode")
    if is_lowp(input._data.dtype):
        return _lowp.batch_norm(input, running_mean, running_var, weight, bias, training,
                                momentum, eps)
    if training:
        batch_stats = input._data.dtype == xp.float32 and input.ndim > 2
        y, mean, var = _normalize(input, dims, eps, "NativeBatchNormBackward0", batch_stats)
        if running_mean is not None or running_var is not None:
            _update_running(running_mean, running_var, mean, var, count, momentum)
    else:
        mean = running_mean.reshape(shape)
        y = (input - mean) * (running_var.reshape(shape) + eps).rsqrt()
    return as_torch_node(_affine(y, weight, bias, shape), "NativeBatchNormBackward0")


def _empty_batch_norm(input, weight, bias):  # noqa: A002
    """torch's result for an empty input: a copy scaled and shifted by the first weight and bias
    entries (so an integer input with float parameters comes out float)."""
    out = input.clone()
    if weight is not None:
        out = out * weight[0]
    if bias is not None:
        out = out + bias[0]
    return out


def _update_running(running_mean, running_var, mean, var, count, momentum):
    """Blend the batch statistics into the running buffers (in place, no graph)."""
    with no_grad():
        if running_mean is not None:
            new = (1 - momentum) * running_mean._data + momentum * mean.reshape(-1)
            running_mean.copy_(Tensor._make(new.astype(running_mean._data.dtype)))
        if running_var is not None:
            unbiased = var.reshape(-1) * (count / (count - 1))
            new = (1 - momentum) * running_var._data + momentum * unbiased
            running_var.copy_(Tensor._make(new.astype(running_var._data.dtype)))


def _normalized_dims(input, normalized_shape, op):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError(f"Expected normalized_shape to be at least 1-dimensional, i.e., "
                           f"containing at least one element, but got normalized_shape = {list(shape)}")
    if op == "rms_norm" and input.ndim < k:
        raise ValueError(f"Input tensor must have at least {k} dimensions, but got {input.ndim}")
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        star = "*, " if op == "layer_norm" else "*"
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[{star}{', '.join(str(s) for s in shape)}], but got input of size"
            f"{list(input.shape)}")
    return shape, tuple(range(input.ndim - k, input.ndim))


def _check_param_shape(t, name, shape):
    if t is not None and tuple(t.shape) != shape:
        raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                           f"{name} of shape {list(t.shape)} and normalized_shape = {list(shape)}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift elementwise."""
    shape, dims = _normalized_dims(input, normalized_shape, "layer_norm")
    _check_param_shape(weight, "weight", shape)
    _check_param_shape(bias, "bias", shape)
    _check_norm_dtypes(input, (weight, bias), "LayerNormKernelImpl")
    if _lowp_unmixed(input, weight, bias):
        k = len(shape)
        pshape = (1,) * (input.ndim - k) + shape
        return _lowp.group_norm(input, _rows(input, math.prod(shape)), weight, bias, pshape,
                                eps, "NativeLayerNormBackward0")
    # named here too: mixed dtypes end in the cast back (torch's one node does it all)
    return as_torch_node(_layer_norm(input, dims, shape, weight, bias, eps),
                         "NativeLayerNormBackward0")


def _lowp_unmixed(input, *params):  # noqa: A002
    """A non-empty float16/bfloat16 input whose parameters (if any) share its dtype."""
    return is_lowp(input._data.dtype) and input._data.size > 0 and not _lowp.mixed(input, *params)


def _rows(input, cols):  # noqa: A002
    """The 2-D shape of ``input`` with rows of ``cols`` elements."""
    return (input._data.size // cols, cols)


@float32_function("weight", "bias")  # float16/bfloat16 input, float32 parameters: float32 inside
def _layer_norm(input, dims, shape, weight, bias, eps):  # noqa: A002
    fused = _fused_layer_norm(input, dims, eps, weight, bias)
    if fused is not None:
        return fused
    y, _, _ = _normalize(input, dims, eps, "NativeLayerNormBackward0")
    return as_torch_node(_affine(y, weight, bias, shape), "NativeLayerNormBackward0")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalise each group of ``C / num_groups`` channels of each sample, then scale per channel."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[:2]
    if num_groups > 0 and (n * c // num_groups) * math.prod(input.shape[2:]) == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{[n * c // num_groups, num_groups] + list(input.shape[2:])}")
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={num_groups}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t.ndim != 1 or t.shape[0] != c):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape "
                f"{list(input.shape)}")
    _check_norm_dtypes(input, (weight, bias), "GroupNormKernelImpl")
    pshape = (1, c) + (1,) * (input.ndim - 2)
    if _lowp_unmixed(input, weight, bias):
        return _lowp.group_norm(input, _rows(input, input._data.size // (n * num_groups)),
                                weight, bias, pshape, eps, "NativeGroupNormBackward0")
    return as_torch_node(_group_norm(input, num_groups, weight, bias, pshape, eps),
                         "NativeGroupNormBackward0")


@float32_function("weight", "bias")  # float16/bfloat16 input, float32 parameters: float32 inside
def _group_norm(input, num_groups, weight, bias, pshape, eps):  # noqa: A002
    n = input.shape[0]
    grouped = input.reshape(n, num_groups, -1)
    y, _, _ = _normalize(grouped, (2,), eps, "NativeGroupNormBackward0")
    return as_torch_node(_affine(y.reshape(input.shape), weight, bias, pshape),
                         "NativeGroupNormBackward0")


@float32_function("weight")
def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """``x / sqrt(mean(x**2) + eps)`` over the trailing dims; ``eps=None`` is the dtype's eps."""
    shape, dims = _normalized_dims(input, normalized_shape, "rms_norm")
    _check_param_shape(weight, "weight", shape)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"rms_norm" not implemented for \'{dtype_title(input.dtype)}\'')
    if eps is None:
        eps = float(xp.finfo(input.dtype.np).eps)
    ms = as_torch_node(input.pow(2).mean(dim=dims, keepdim=True) + eps, "AddBackward1", (0,))
    y = input * ms.rsqrt()  # torch's composition: its node names and edges
    if weight is None:
        return y
    out = y * weight
    return out if out.dtype is input.dtype else out.to(input.dtype)  # torch: the input's dtype


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its spatial positions.

    As torch: batch norm of the ``(1, N*C, *)`` view with the per-channel running
    statistics repeated per sample; their updated copies are averaged back over the batch.
    """
    if use_input_stats:
        spatial = 1
        for s in input.shape[2:]:
            spatial *= s
        if spatial == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {list(input.shape)}")
    n, c = input.shape[:2]
    with no_grad():
        rm = None if running_mean is None else running_mean.repeat(n)
        rv = None if running_var is None else running_var.repeat(n)
    w = None if weight is None else weight.repeat(n)
    b = None if bias is None else bias.repeat(n)
    out = batch_norm(input.reshape(1, n * c, *input.shape[2:]), rm, rv, w, b,
                     use_input_stats, momentum, eps)
    if use_input_stats:
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(rm.reshape(n, c).mean(0))
            if running_var is not None:
                running_var.copy_(rv.reshape(n, c).mean(0))
    return out.reshape(input.shape)


def _check_lrn_dtype(x):
    """torch averages the squares with avg_pool2d (3-D input) or avg_pool3d (more dims), whose
    CPU kernels take floating types and int64 (avg_pool3d: no half types either)."""
    name = x.dtype.name
    if x.ndim == 3:
        ok = x.dtype.is_floating_point or name == "int64"
    else:
        ok = name in ("float32", "float64", "int64")
    if not ok:
        kernel = "avg_pool2d" if x.ndim == 3 else "avg_pool3d_out_frame"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(x.dtype)}\'')


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """``x / (k + alpha * mean of x**2 over `size` neighbouring channels) ** beta``."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    _check_lrn_dtype(input)
    from .padding import pad

    sq = input * input
    c = input.shape[1]
    flat = sq.reshape(input.shape[0], c, -1)
    padded = pad(flat, (0, 0, size // 2, (size - 1) // 2))
    total = padded[:, 0:c]
    for i in range(1, size):
        total = total + padded[:, i:i + c]
    # torch averages int64 squares with its int64 avg_pool: the sum divided toward zero
    mean = total / size if input.dtype.is_floating_point else total // size
    div = mean.reshape(input.shape)
    return input / (div * alpha + k).pow(beta)


__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "local_response_norm",
           "rms_norm"]

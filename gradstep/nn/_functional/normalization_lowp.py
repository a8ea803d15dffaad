"""batch_norm, layer_norm and group_norm of float16/bfloat16 inputs, rounded as torch's CPU
kernels round them (``normalization`` sends these inputs here).

torch computes them in float32 and rounds the output once, but when every parameter and
buffer given has the input's dtype (or none is given) it stores the statistics it saves for
the backward, the batch mean and ``1/std``, in that dtype: batch_norm then normalises with
those rounded statistics, and layer_norm/group_norm differentiate with them. With float32
parameters ("mixed", autocast's case) the statistics stay float32.
"""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Node
from ...autograd.grad_mode import _GradState, no_grad
from ...backend import xp
from ...ops._lowp import F32, fma, rounded


def mixed(x, *params):
    """Whether a float16/bfloat16 ``x`` meets a parameter of another dtype (float32)."""
    return any(t is not None and t._data.dtype != x._data.dtype for t in params)


def _sum32(a, axes):
    """Sums of a float32 array over ``axes``, rounded to float32 (torch accumulates in float32)."""
    return a.sum(axis=axes, dtype=xp.float64).astype(F32)


def _f32(v):
    return F32.type(v)


# ---------------------------------------------------------------- batch_norm
class _BatchNorm(Node):
    """batch_norm of ``x`` (and optional weight, bias) given its per-channel float32 ``mean``
    and ``invstd``, as torch's kernel: ``y = x * alpha + beta`` (one multiply-add, ``alpha =
    w * invstd``, ``beta = b - mean * alpha``) in float32, rounded once; the backward is the
    kernel's float32 formula, each gradient rounded once. Attributes: ``mean``, ``invstd``,
    ``axes``, ``shape`` (the per-channel broadcast shape), ``training``, ``eps``,
    ``has_weight``, ``has_bias``, ``bias_dtype``."""

    _name = "NativeBatchNormBackward0"

    def forward(self, x, *params):
        w = params[0] if self.has_weight else None
        b = params[-1] if self.has_bias else None
        alpha = self.invstd if w is None else w.astype(F32) * self.invstd
        beta = -(self.mean * alpha) if b is None else b.astype(F32) - self.mean * alpha
        return fma(x.astype(F32), alpha.reshape(self.shape), beta.reshape(self.shape)).astype(x.dtype)

    def backward(self, g):
        saved = self.saved_tensors
        x, w = saved[0], (saved[1] if self.has_weight else None)
        if _GradState.enabled:  # create_graph: Tensor ops, differentiable in x
            return self._graph_backward(g, x, w)
        axes, shape = self.axes, self.shape
        gf, xc = g._data.astype(F32), x._data.astype(F32) - self.mean.reshape(shape)
        total, dotp = _sum32(gf, axes), _sum32(xc * gf, axes)
        if self.training:  # ((dy - sum/N) - xc * (dotp * invstd^2 / N)) * invstd * w
            n = _f32(xc.size // xc.shape[1])
            k = dotp * self.invstd * self.invstd / n
            gx = ((gf - (total / n).reshape(shape)) - xc * k.reshape(shape)) * self.invstd.reshape(shape)
        else:
            gx = gf * self.invstd.reshape(shape)
        if w is not None:
            gx = gx * w._data.astype(F32).reshape(shape)
        grads = [gx.astype(x._data.dtype)]
        if self.has_weight:
            grads.append((dotp * self.invstd).astype(w._data.dtype))
        if self.has_bias:
            grads.append(total.astype(self.bias_dtype))
        return tuple(Tensor._make(a) for a in grads)

    def _graph_backward(self, g, x, w):
        axes, shape = self.axes, self.shape
        gf, xf = g.float(), x.float()
        if self.training:  # the statistics recomputed from x, so they differentiate too
            xhat, gx = _normalize_grad(gf, xf, axes, self.eps)
        else:
            invstd = Tensor._make(self.invstd.reshape(shape))
            xhat = (xf - Tensor._make(self.mean.reshape(shape))) * invstd
            gx = gf * invstd
        if w is not None:
            gx = gx * w.float().reshape(shape)
        grads = (gx.to(x.dtype),)
        if self.has_weight:
            grads += ((gf * xhat).sum(dim=axes).to(w.dtype),)
        if self.has_bias:
            grads += (gf.sum(dim=axes).to(self.bias_dtype),)
        return grads


def _normalize_grad(g, x, axes, eps):
    """``(xhat, dL/dx)`` of ``xhat = (x - mean) / sqrt(var + eps)`` over ``axes`` in Tensor ops
    (for create_graph)."""
    rstd = (x.var(dim=axes, unbiased=False, keepdim=True) + eps).rsqrt()
    xhat = (x - x.mean(dim=axes, keepdim=True)) * rstd
    return xhat, rstd * (g - g.mean(dim=axes, keepdim=True)
                         - xhat * (g * xhat).mean(dim=axes, keepdim=True))


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """batch_norm of a float16/bfloat16 ``x`` (the arguments checked by the caller)."""
    dt = x._data.dtype
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    eps32 = _f32(eps)
    if training:
        xf = x._data.astype(F32)
        n = xf.size // c
        mean = _sum32(xf, axes) / _f32(n)
        xc = xf - mean.reshape(shape)
        var_sum = _sum32(xc * xc, axes)
        var = var_sum / _f32(n)
        lowp = not mixed(x, weight, bias, running_mean, running_var)
        if lowp and dt.char == "E":  # bfloat16 also rounds the sum of squares and the variance
            var = rounded(rounded(var_sum, dt) / _f32(n), dt)
        invstd = 1 / xp.sqrt(var + eps32)
        _update_running(running_mean, running_var, mean, var_sum, n, momentum, lowp)
        if lowp:  # the saved statistics, in the input's dtype
            mean, invstd = rounded(mean, dt), rounded(invstd, dt)
    else:
        mean = running_mean._data.astype(F32)
        invstd = 1 / xp.sqrt(running_var._data.astype(F32) + eps32)
    params = [t for t in (weight, bias) if t is not None]
    return _BatchNorm.apply(
        x, *params, mean=mean, invstd=invstd, axes=axes, shape=shape, training=training,
        eps=eps, has_weight=weight is not None, has_bias=bias is not None,
        bias_dtype=None if bias is None else bias._data.dtype,
        saves=(0, 1) if weight is not None else (0,))


def _update_running(running_mean, running_var, mean, var_sum, n, momentum, lowp):
    """torch's update of the running buffers: ``momentum * stat + (1 - momentum) * buffer`` in
    float32, rounded to the buffer's dtype; the unbiased variance is ``var_sum / (n - 1)``.
    bfloat16 buffers (with a bfloat16 input) go through torch's bfloat16 arithmetic instead:
    ``momentum``, ``1 - momentum``, the mean, the unbiased variance and the products rounded."""
    buffers = [t for t in (running_mean, running_var) if t is not None]
    if not buffers:
        return
    dt = buffers[0]._data.dtype
    bf16 = lowp and dt.char == "E"
    m = rounded(_f32(momentum), dt) if bf16 else _f32(momentum)
    om = rounded(_f32(1) - m, dt) if bf16 else _f32(1) - m
    r = (lambda v: rounded(v, dt)) if bf16 else (lambda v: v)
    with no_grad():
        if running_mean is not None:
            old = running_mean._data.astype(F32)
            new = r(m * r(mean)) + r(om * old)
            running_mean.copy_(Tensor._make(new.astype(dt)))
        if running_var is not None:
            old = running_var._data.astype(F32)
            new = m * r(r(var_sum) / _f32(n - 1)) + r(om * old)
            running_var.copy_(Tensor._make(new.astype(dt)))


# ---------------------------------------------------------------- layer_norm, group_norm
class _GroupNorm(Node):
    """layer_norm/group_norm of ``x`` with parameters of its dtype (or none): each row of
    ``x.reshape(rows)`` (a sample's normalized dims, or a group) normalised in float32, then
    scaled and shifted by the weight/bias broadcast as ``pshape``, rounded once. The mean and
    1/std are saved rounded to ``x``'s dtype, and the backward computes from them in float32.
    Attributes: ``rows`` (2-D shape), ``pshape``, ``eps``, ``has_weight``, ``has_bias``."""

    def forward(self, x, *params):
        w = params[0] if self.has_weight else None
        b = params[-1] if self.has_bias else None
        xf = x.astype(F32).reshape(self.rows)
        n = _f32(xf.shape[1])
        mean = _sum32(xf, 1)[:, None] / n
        xc = xf - mean
        rstd = 1 / xp.sqrt(_sum32(xc * xc, 1)[:, None] / n + _f32(self.eps))
        y = (xc * rstd).reshape(x.shape)
        if w is not None:
            y = y * w.astype(F32).reshape(self.pshape)
        if b is not None:
            y = y + b.astype(F32).reshape(self.pshape)
        self.mean, self.rstd = rounded(mean, x.dtype), rounded(rstd, x.dtype)
        return y.astype(x.dtype)

    def backward(self, g):
        saved = self.saved_tensors
        x, w = saved[0], (saved[1] if self.has_weight else None)
        if _GradState.enabled:
            return self._graph_backward(g, x, w)
        gf, xf = g._data.astype(F32), x._data.astype(F32).reshape(self.rows)
        gxhat = gf if w is None else gf * w._data.astype(F32).reshape(self.pshape)
        gr = gxhat.reshape(self.rows)
        n, mean, rstd = _f32(gr.shape[1]), self.mean, self.rstd
        # torch's kernels: dx = rstd * dy' + b * x + c, dy' = dy * w, from the row sums
        # ds = sum(dy' * x) and db = sum(dy')
        ds, db = _sum32(gr * xf, 1)[:, None], _sum32(gr, 1)[:, None]
        b = (db * mean - ds) * rstd * rstd * rstd / n
        c = -b * mean - db * rstd / n
        gx = rstd * gr + b * xf + c
        xhat = (xf - mean) * rstd
        grads = [gx.reshape(x.shape).astype(x._data.dtype)]
        axes = tuple(i for i, s in enumerate(self.pshape) if s == 1)
        if self.has_weight:
            gw = _sum32(gf * xhat.reshape(gf.shape), axes)
            grads.append(gw.reshape(w.shape).astype(w._data.dtype))
        if self.has_bias:
            grads.append(_sum32(gf, axes).reshape(self.bshape).astype(self.bias_dtype))
        return tuple(Tensor._make(a) for a in grads)

    def _graph_backward(self, g, x, w):
        gf, xf = g.float(), x.float()
        gxhat = gf if w is None else gf * w.float().reshape(self.pshape)
        xhat, gx = _normalize_grad(gxhat.reshape(self.rows), xf.reshape(self.rows), (1,), self.eps)
        xhat = xhat.reshape(x.shape)
        axes = tuple(i for i, s in enumerate(self.pshape) if s == 1)
        grads = (gx.reshape(x.shape).to(x.dtype),)
        if self.has_weight:
            grads += ((gf * xhat).sum(dim=axes).reshape(w.shape).to(w.dtype),)
        if self.has_bias:
            grads += (gf.sum(dim=axes).reshape(self.bshape).to(self.bias_dtype),)
        return grads


def group_norm(x, rows, weight, bias, pshape, eps, name):
    """``_GroupNorm`` of a float16/bfloat16 ``x``: ``rows`` the 2-D shape whose rows are
    normalised, ``pshape`` the weight/bias broadcast shape, ``name`` torch's grad_fn name."""
    params = [t for t in (weight, bias) if t is not None]
    return _GroupNorm.apply(
        x, *params, rows=rows, pshape=pshape, eps=eps, has_weight=weight is not None,
        has_bias=bias is not None, bias_dtype=None if bias is None else bias._data.dtype,
        bshape=None if bias is None else tuple(bias.shape), _name=name,
        saves=(0, 1) if weight is not None else (0,))

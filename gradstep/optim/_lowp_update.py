"""float16/bfloat16 optimizer updates, rounded as torch's optimizers round them.

torch's optimizers are sequences of tensor ops (``mul_``, ``addcmul_``, ``lerp_``, ...). On a
float16/bfloat16 parameter each op computes in float32 and rounds its result once to the
parameter's dtype (see ``gradstep/ops/_lowp.py``). The float32/float64 update functions run
NumPy ufuncs in the array's own dtype, which for a 16-bit type rounds after every ufunc and
takes Python scalars at 16-bit precision. The functions here follow torch's op sequence on
float32 copies instead, rounding where torch's op stores its result; the optimizer classes
pick them once per parameter batch (``for_dtype``), so float32/float64 steps never come here.

torch's per-op rules for a 16-bit tensor ``x`` (Python scalars ``s``, ``a``, ``v``, ``w``;
measured against torch 2.13 on CPU, tests/optim/test_lowp_steps.py)::

    x.mul_(s)                     x * float32(s)
    _foreach_mul_(xs, s)          x * dtype(s)      the scalar rounded to the tensor's dtype
    _foreach_mul(xs, s)           x * float32(s)    (out of place: not rounded)
    x.add(y, alpha=a)             x + dtype(a) * y
    x.add_(s)                     x + dtype(s)
    x.div(s)                      x / float32(s)
    x.addcmul(y, z, value=v)      fma(float32(v) * y, z, x)
    x.addcdiv(y, z, value=v)      x + float32(v) * y / z
    x.lerp(y, w)                  fma(w, y - x, x), or fma(x - y, 1 - w, y) when |w| >= 0.5
    x.sqrt()                      float32 sqrt

(``dtype(s)``: ``s`` rounded to float32, then to the 16-bit type, as torch converts a Scalar.)
torch's multi-tensor path (``foreach=True``) differs from its per-parameter loop only in the
in-place ``_foreach_mul_``; each update takes ``foreach`` to follow one or the other.

These are torch's vectorized kernels. The last few elements of each tensor (fewer than a
vector's 16 or 32; of each thread's share for tensors over 32768 elements) go through torch's
scalar loop, whose ``add(alpha=)`` rounds ``alpha * y`` to the 16-bit type before adding: not
followed here (as in ``gradstep.ops``), so those elements may differ from torch's by about an
ulp per step.
"""

from __future__ import annotations

import functools

from ..backend import xp
from ..ops._lowp import F32, fma, rounded

_f32 = xp.float32


def for_dtype(update, lowp_update, dtype, foreach):
    """``update``, or for a float16/bfloat16 ``dtype`` the matching function of this module
    set to torch's path: the multi-tensor one when ``foreach`` is true."""
    if dtype.char not in "eE":
        return update
    return functools.partial(lowp_update, foreach=bool(foreach))


# ---------------------------------------------------------------- torch's ops, one rounding each
def _up(a):
    return a.astype(F32)


def _in_dtype(s, dt):
    """Python number ``s`` as torch converts a Scalar to ``dt``: to float32, then to ``dt``."""
    return xp.asarray(s, F32).astype(dt).astype(F32)


def _mul(x, s, dt, foreach_inplace=False):
    """``x.mul_(s)``, or ``torch._foreach_mul_`` (which rounds ``s`` to ``dt`` first)."""
    return rounded(x * (_in_dtype(s, dt) if foreach_inplace else _f32(s)), dt)


def _add(x, y, alpha, dt):
    """``x.add(y, alpha=alpha)``."""
    return rounded(x + _in_dtype(alpha, dt) * y, dt)


def _add_scalar(x, s, dt):
    """``x.add_(s)``."""
    return rounded(x + _in_dtype(s, dt), dt)


def _div_scalar(x, s, dt):
    return rounded(x / _f32(s), dt)


def _addcmul(x, y, z, value, dt):
    return rounded(fma(_f32(value) * y, z, x), dt)


def _addcdiv(x, y, z, value, dt):
    return rounded(x + _f32(value) * y / z, dt)


def _lerp(x, y, weight, dt):
    """``x.lerp(y, weight)``: one float32 multiply-add from the end nearer to ``weight``."""
    w, d = _f32(weight), y - x
    if abs(w) < 0.5:
        return rounded(fma(w, d, x), dt)
    return rounded(fma(-d, _f32(1) - w, y), dt)


def _sqrt(x, dt):
    return rounded(xp.sqrt(x), dt)


def _grad(grad, maximize):
    g = _up(grad)
    return -g if maximize else g


# ---------------------------------------------------------------- the optimizers
def sgd_update(param, grad, momentum_buffer, *, fresh, lr, weight_decay, momentum, dampening,
               nesterov, maximize, foreach, scratch=None):
    """``sgd.sgd_update`` for a float16/bfloat16 ``param`` (torch's ``_single_tensor_sgd``, or
    ``_multi_tensor_sgd`` with ``foreach``)."""
    dt = param.dtype
    p, g = _up(param), _grad(grad, maximize)
    if weight_decay != 0:
        g = _add(g, p, weight_decay, dt)
    if momentum != 0:
        if fresh:  # torch: the first buffer is a clone of the gradient
            buf = g
        else:
            buf = _mul(_up(momentum_buffer), momentum, dt, foreach)
            buf = _add(buf, g, 1 - dampening, dt)
        momentum_buffer[...] = buf
        g = _add(g, buf, momentum, dt) if nesterov else buf
    param[...] = _add(p, g, -lr, dt)


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps,
                weight_decay, amsgrad, maximize, decoupled_weight_decay, foreach, scratch=None):
    """``adam.adam_update`` for a float16/bfloat16 ``param`` (torch's ``_single_tensor_adam``, or
    ``_multi_tensor_adam`` with ``foreach``)."""
    dt = param.dtype
    p, g = _up(param), _grad(grad, maximize)
    if weight_decay != 0:
        if decoupled_weight_decay:
            p = _mul(p, 1 - lr * weight_decay, dt, foreach)
        else:
            g = _add(g, p, weight_decay, dt)
    m = exp_avg[...] = _lerp(_up(exp_avg), g, 1 - beta1, dt)
    v = _addcmul(_mul(_up(exp_avg_sq), beta2, dt, foreach), g, g, 1 - beta2, dt)
    exp_avg_sq[...] = v
    if amsgrad:
        v = max_exp_avg_sq[...] = xp.maximum(_up(max_exp_avg_sq), v)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    denom = _add_scalar(_div_scalar(_sqrt(v, dt), bias_correction2_sqrt, dt), eps, dt)
    param[...] = _addcdiv(p, m, denom, -(lr / (1 - beta1**step)), dt)


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize, foreach, scratch=None):
    """``rmsprop.rmsprop_update`` for a float16/bfloat16 ``param`` (torch's
    ``_single_tensor_rmsprop``, or ``_multi_tensor_rmsprop`` with ``foreach``)."""
    dt = param.dtype
    p, g = _up(param), _grad(grad, maximize)
    if weight_decay != 0:
        g = _add(g, p, weight_decay, dt)
    sq = _addcmul(_mul(_up(square_avg), alpha, dt, foreach), g, g, 1 - alpha, dt)
    square_avg[...] = sq
    if centered:
        ga = grad_avg[...] = _lerp(_up(grad_avg), g, 1 - alpha, dt)
        avg = _sqrt(_addcmul(sq, ga, ga, -1, dt), dt)
    else:
        avg = _sqrt(sq, dt)
    avg = _add_scalar(avg, eps, dt)
    if momentum > 0:
        buf = _addcdiv(_mul(_up(momentum_buffer), momentum, dt, foreach), g, avg, 1, dt)
        momentum_buffer[...] = buf
        param[...] = _add(p, buf, -lr, dt)
    else:
        param[...] = _addcdiv(p, g, avg, -lr, dt)


def adagrad_update(param, grad, state_sum, *, step, lr, lr_decay, weight_decay, eps, maximize,
                   foreach, scratch=None):
    """``adagrad.adagrad_update`` for a float16/bfloat16 ``param`` (torch's
    ``_single_tensor_adagrad``, or ``_multi_tensor_adagrad`` with ``foreach``)."""
    dt = param.dtype
    p, g = _up(param), _grad(grad, maximize)
    if weight_decay != 0:
        g = _add(g, p, weight_decay, dt)
    clr = lr / (1 + (step - 1) * lr_decay)
    s = state_sum[...] = _addcmul(_up(state_sum), g, g, 1, dt)
    std = _add_scalar(_sqrt(s, dt), eps, dt)
    if not foreach:
        param[...] = _addcdiv(p, g, std, -clr, dt)
        return
    # torch scales the gradient first: in place (dtype scalar) when it already made a new
    # gradient list (weight decay or maximize), else out of place (float32 scalar)
    scaled = _mul(g, -clr, dt, foreach_inplace=weight_decay != 0 or maximize)
    param[...] = _addcdiv(p, scaled, std, 1, dt)

"""Raw-array building blocks shared by the pure update functions (in place, like torch's ``*_``).

The update functions write every intermediate into a few temporaries (``out=``)
instead of letting NumPy allocate one per operation: on the flat path they run
once per cache-sized chunk, and a fresh allocation per operation and chunk costs
more than the arithmetic (the allocator hands large blocks back to the OS and
faults them in again). ``temps`` gives those temporaries.
"""

from __future__ import annotations

from .._blas import axpy
from ..backend import xp


def temps(like, scratch, count):
    """``count`` temporaries shaped like ``like``: views of ``scratch`` if given, else new arrays."""
    if scratch is None:
        return tuple(xp.empty_like(like) for _ in range(count))
    n = like.size
    return tuple(s[:n].reshape(like.shape) for s in scratch[:count])


def signed_grad(grad, maximize, out):
    """The gradient, negated into ``out`` when maximizing (``grad`` itself is never written)."""
    return xp.negative(grad, out=out) if maximize else grad


def add_weight_decay(g, param, weight_decay, out, tmp=None):
    """``g + weight_decay * param`` into ``out``, rounded once like torch's ``g.add(param, alpha=wd)``.

    ``tmp`` is accepted for callers that pass a second temporary; it is not needed.
    """
    if g is not out:
        xp.copyto(out, g)
    return axpy(weight_decay, param, out)


def lerp_(start, end, weight, tmp):
    """``start <- start + weight * (end - start)`` with torch's two-sided formula and rounding.

    torch evaluates from whichever end is closer (``|weight| < 0.5``) for accuracy, as one
    fused multiply-add: ``start + weight * d`` or ``end + (weight - 1) * d`` with
    ``d = end - start`` and ``weight - 1`` rounded in the array's dtype. ``axpy`` rounds the same
    way, so float32 results equal torch's to the last bit where the BLAS kernel is found.
    """
    xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        axpy(weight, tmp, start)
    else:
        xp.copyto(start, end)
        axpy(_minus_one(weight, start.dtype), tmp, start)


def _minus_one(weight, dtype):
    """``weight - 1`` as torch's lerp kernel rounds it: in float32 for float32 tensors, else in
    float64 (bfloat16/float16 compute in float32 there, from a weight that float64 holds)."""
    return float(xp.float32(weight) - xp.float32(1)) if dtype == xp.float32 else weight - 1


def ema_sq_(avg_sq, grad, beta, tmp):
    """``avg_sq <- beta * avg_sq + (1 - beta) * grad * grad`` (torch: ``mul_(beta).addcmul_``)."""
    avg_sq *= beta
    xp.multiply(grad, 1 - beta, out=tmp)
    tmp *= grad
    avg_sq += tmp

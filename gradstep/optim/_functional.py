"""Raw-array building blocks shared by the pure update functions (in place, like torch's ``*_``).

The update functions write every intermediate into a few temporaries (``out=``)
instead of letting NumPy allocate one per operation: on the flat path they run
once per cache-sized chunk, and a fresh allocation per operation and chunk costs
more than the arithmetic (the allocator hands large blocks back to the OS and
faults them in again). ``temps`` gives those temporaries.
"""

from __future__ import annotations

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


def add_weight_decay(g, param, weight_decay, out, tmp):
    """``g + weight_decay * param`` into ``out`` (``tmp``: a second temporary, used if ``g is out``).

    In-place adds where possible: NumPy's ``a += b`` is cheaper than ``add(a, b, out=c)``.
    """
    if g is out:
        out += xp.multiply(param, weight_decay, out=tmp)
    else:
        xp.multiply(param, weight_decay, out=out)
        out += g
    return out


def lerp_(start, end, weight, tmp):
    """``start <- start + weight * (end - start)`` with torch's two-sided formula.

    torch evaluates from whichever end is closer (``|weight| < 0.5``) for accuracy;
    matching it keeps float32 results equal to torch's to the last bit more often.
    """
    xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        xp.subtract(end, tmp, out=start)


def ema_sq_(avg_sq, grad, beta, tmp):
    """``avg_sq <- beta * avg_sq + (1 - beta) * grad * grad`` (torch: ``mul_(beta).addcmul_``)."""
    avg_sq *= beta
    xp.multiply(grad, 1 - beta, out=tmp)
    tmp *= grad
    avg_sq += tmp

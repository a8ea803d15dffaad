"""Raw-array building blocks shared by the pure update functions (in place, like torch's ``*_``).

The update functions write every intermediate into a few temporaries (``out=``)
instead of letting NumPy allocate one per operation: on the flat path they run
once per cache-sized chunk, and a fresh allocation per operation and chunk costs
more than the arithmetic (the allocator hands large blocks back to the OS and
faults them in again). ``temps`` gives those temporaries.
"""

from __future__ import annotations

from .._blas import axpy, lerp_  # noqa: F401 - lerp_: torch's rounding, for the optimizers
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


def add_weight_decay(g, param, weight_decay, out):
    """``g + weight_decay * param`` into ``out``, rounded once like torch's ``g.add(param, alpha=wd)``."""
    if g is not out:
        xp.copyto(out, g)
    return axpy(weight_decay, param, out)


def ema_sq_(avg_sq, grad, beta, tmp):
    """``avg_sq <- beta * avg_sq + (1 - beta) * grad * grad`` (torch: ``mul_(beta).addcmul_``)."""
    avg_sq *= beta
    xp.multiply(grad, 1 - beta, out=tmp)
    tmp *= grad
    avg_sq += tmp

"""Raw-array building blocks shared by the pure update functions (in place, like torch's ``*_``)."""

from __future__ import annotations

from ..backend import xp


def lerp_(start, end, weight):
    """``start <- start + weight * (end - start)`` with torch's two-sided formula.

    torch evaluates from whichever end is closer (``|weight| < 0.5``) for accuracy;
    matching it keeps float32 results identical to the last bit more often.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        diff = end - start
        diff *= 1 - weight
        xp.subtract(end, diff, out=start)


def ema_sq_(avg_sq, grad, beta):
    """``avg_sq <- beta * avg_sq + (1 - beta) * grad * grad`` (torch: ``mul_(beta).addcmul_``)."""
    avg_sq *= beta
    avg_sq += (1 - beta) * grad * grad

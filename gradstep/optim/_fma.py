"""``addcmul_`` rounded as torch's CPU kernel rounds it, for the Tensor-hyperparameter steps.

torch's vectorised ``addcmul_`` computes ``fma(value * t1, t2, self)``: ``value * t1`` rounded,
then one fused multiply-add. NumPy has no elementwise FMA, so it is emulated exactly enough
(``fma`` here is the one emulation the optimizers use; Muon's lerp and update call it too):

* float32: the product of two float32 numbers is exact in float64, so the float64 sum rounds
  once to 53 bits and then to 24 (a double rounding that differs from one rounding only when
  the exact sum lies within 2**-53 of a float32 midpoint, about once in 2**29 elements);
* float64: Dekker's error-free product and Knuth's error-free sum give ``a*b + c`` as
  ``s + (t + e)``, which is the correctly rounded result except in similar rare ties.
"""

from __future__ import annotations

from ..backend import xp
from ..ops._cephes import _two_product


def _fma64(a, b, c):
    p, e = _two_product(a, b)  # a * b = p + e exactly (Dekker)
    s = p + c
    bv = s - p
    t = (p - (s - bv)) + (c - bv)
    return s + (t + e)


def fma(a, b, c):
    """``a * b + c`` elementwise, rounded once (see the module doc), in ``c``'s dtype (an
    array); ``a`` and ``b`` may be arrays or numbers."""
    if c.dtype == xp.float32:
        return (xp.asarray(a, xp.float64) * xp.asarray(b, xp.float64) + c).astype(xp.float32)
    if c.dtype == xp.float64:
        a, b = xp.asarray(a, xp.float64), xp.asarray(b, xp.float64)
        with xp.errstate(all="ignore"):
            result = _fma64(a, b, c)
        plain = a * b + c  # infinities and NaNs: the error terms would turn them into NaN
        return xp.where(xp.isfinite(result), result, plain)
    return a * b + c


def addcmul_(self, tensor1, tensor2, value=1):
    """``self += value * tensor1 * tensor2`` on Tensors, in place, as torch rounds it."""
    data = self._data
    value = value.item() if hasattr(value, "item") else value
    scaled = tensor1._data if value == 1 else tensor1._data * data.dtype.type(value)
    data[...] = fma(scaled.astype(data.dtype, copy=False), tensor2._data, data)
    self._vc[0] += 1
    return self


def _number(value):
    return value.item() if hasattr(value, "item") else value


def add_(self, other, alpha):
    """``self.add_(other, alpha=alpha)``: torch rounds ``self + alpha * other`` once (an FMA)."""
    data = self._data
    data[...] = fma(other._data, data.dtype.type(_number(alpha)), data)
    self._vc[0] += 1
    return self


def lerp_(self, end, weight):
    """``self.lerp_(end, weight)`` as torch's kernel: one FMA from the nearer end (a Tensor
    weight rounds as the same number given as a float)."""
    data = self._data
    w = data.dtype.type(_number(weight))
    d = end._data - data
    if abs(w) < 0.5:
        data[...] = fma(xp.full_like(d, w), d, data)
    else:
        data[...] = fma(xp.full_like(d, w - data.dtype.type(1)), d, end._data)
    self._vc[0] += 1
    return self


def div_scalar(tensor, divisor):
    """``tensor / divisor`` for a number or 0-d Tensor divisor: a true division in the tensor's
    dtype (torch's CPU kernel divides; it does not multiply by a reciprocal)."""
    from .._tensor import Tensor

    data = tensor._data
    return Tensor._make(data / data.dtype.type(_number(divisor)))

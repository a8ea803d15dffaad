"""Cumulative sums and products: ``cumsum`` and ``cumprod`` (the cumulative max, min and
log-sum-exp are in ``counting``), with torch's dtypes (integers and bools give int64; float16
sums accumulate in float32) and torch's ``cumprod`` gradient where a slice holds zeros."""

from __future__ import annotations

from .._argparse import int_arg
from ..autograd.function import Node
from ..backend import xp
from . import _reduce_args as A
from ._lowp import float32_compute
from ._util import normalize_dim
from .reduce import _int_to_long


@float32_compute(backward=False)
class Cumsum(Node):
    def forward(self, a):
        if self.out_dtype is None and a.dtype == xp.float16:  # accumulate in float32, like torch
            return xp.cumsum(a, axis=self.dim, dtype=xp.float32).astype(xp.float16).reshape(a.shape)
        return xp.cumsum(a, axis=self.dim, dtype=self.out_dtype).reshape(a.shape)

    def backward(self, g):
        if g.ndim == 0:
            return g
        return g.flip(self.dim).cumsum(self.dim).flip(self.dim)


class Cumprod(Node):
    saves = (0,)
    saves_output = True

    def forward(self, a):
        return xp.cumprod(a, axis=self.dim, dtype=self.out_dtype).reshape(a.shape)

    def backward(self, g):
        (a,) = self.saved_tensors
        out = self.saved_output
        if a.numel() <= 1 or a.shape[self.dim] == 1:  # as torch: the gradient itself
            return g
        if bool(xp.any(a._data == 0)):
            return _cumprod_grad_with_zeros(a._data, g._data, self.dim)
        return (g * out).flip(self.dim).cumsum(self.dim).flip(self.dim) / a


def _cumprod_grad_with_zeros(a, g, dim):
    """The cumprod gradient along slices that may hold zeros (torch's scheme), as a constant.

    d out_j / d a_k = prod_{i<=j, i!=k} a_i. Before a slice's first zero torch divides
    (sum_j g_j out_j / a_k over the outputs before the zero); at the first zero k it sums
    g_j * prod_{i<=j, i!=k} a_i over j from k to just before the next zero (the products are
    the cumprod with a_k taken as 1; later terms are exactly 0 and not added, so no 0 * inf);
    past it the gradient is 0. So infinities and NaNs come out as in torch. This path has
    no double backward.
    """
    from .._tensor import Tensor

    a, g = xp.moveaxis(a, dim, -1), xp.moveaxis(g, dim, -1)
    zeros_upto = xp.cumsum(a == 0, axis=-1)
    before, span = zeros_upto == 0, zeros_upto == 1  # span: the first zero up to the next
    first = span & (a == 0)
    with xp.errstate(all="ignore"):
        gout = xp.where(before, g * xp.cumprod(a, axis=-1), 0)
        div = xp.flip(xp.cumsum(xp.flip(gout, -1), -1), -1) / a
        at_zero = xp.where(span, g * xp.cumprod(xp.where(first, 1, a), axis=-1), 0)
    at_zero = at_zero.sum(axis=-1, keepdims=True)
    res = xp.where(before, div, xp.where(first, at_zero, 0))
    return Tensor._make(xp.moveaxis(res, -1, dim).astype(g.dtype, copy=False))


# ---------------------------------------------------------------- functional API
def cumsum(a, dim, dtype=None):
    if type(dim) is not int:
        dim = int_arg(dim, "cumsum", "dim", 1)
    d = normalize_dim(dim, a.ndim)
    if dtype is not None:
        A.check_dtype(dtype, "cumsum")
    return Cumsum.apply(a, dim=d, out_dtype=_int_to_long(a, dtype))


def cumprod(a, dim, dtype=None):
    if type(dim) is not int:
        dim = int_arg(dim, "cumprod", "dim", 1)
    d = normalize_dim(dim, a.ndim)  # first, as torch checks it
    if dtype is not None:
        A.check_dtype(dtype, "cumprod")
    out_dtype = _int_to_long(a, dtype)  # integer and bool inputs give int64, as in torch
    if dtype is not None and out_dtype.kind == "f":
        a, out_dtype = a.to(dtype), None
    return Cumprod.apply(a, dim=d, out_dtype=out_dtype)

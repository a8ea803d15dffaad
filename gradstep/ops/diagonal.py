"""Diagonals: diagonal (a view), diag_embed, diag, diagflat, trace, fill_diagonal_."""

from __future__ import annotations

from ..autograd.function import Node, as_torch_node
from ..backend import xp
from ._util import normalize_dim


def _diag_view(a, offset, d1, d2):
    """A writable NumPy view of the ``offset`` diagonal of ``a`` over axes ``d1``/``d2``.

    The diagonal becomes the last axis (as in torch); the stride is the sum of both axes'.
    """
    n1, n2 = a.shape[d1], a.shape[d2]
    start1, start2 = (0, offset) if offset >= 0 else (-offset, 0)
    length = max(0, min(n1 - start1, n2 - start2))
    key = [slice(None)] * a.ndim
    if length:
        key[d1], key[d2] = slice(start1, None), slice(start2, None)
    sub = a[tuple(key)]
    keep = [i for i in range(a.ndim) if i not in (d1, d2)]
    shape = tuple(a.shape[i] for i in keep) + (length,)
    strides = tuple(a.strides[i] for i in keep) + (a.strides[d1] + a.strides[d2],)
    return xp.lib.stride_tricks.as_strided(sub, shape, strides,
                                           writeable=bool(a.flags.writeable))


class Diagonal(Node):
    _name = "DiagonalBackward0"
    is_view = True

    def forward(self, a):
        self.in_shape = a.shape
        return _diag_view(a, self.offset, self.d1, self.d2)

    def backward(self, g):
        return DiagonalScatter.apply(g, shape=self.in_shape, offset=self.offset, d1=self.d1,
                                     d2=self.d2)


class DiagonalScatter(Node):
    """``g`` written on a diagonal of zeros of ``shape`` (diagonal's gradient, diag_embed)."""

    _name = "DiagEmbedBackward0"

    def forward(self, g):
        z = xp.zeros(self.shape, g.dtype)
        _diag_view(z, self.offset, self.d1, self.d2)[...] = g
        return z

    def backward(self, gg):
        return Diagonal.apply(gg, offset=self.offset, d1=self.d1, d2=self.d2)


def _two_dims(dim1, dim2, ndim):
    d1, d2 = normalize_dim(dim1, ndim), normalize_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):  # noqa: A002
    from .strided import link_view

    d1, d2 = _two_dims(dim1, dim2, input.ndim)
    return link_view(Diagonal.apply(input, offset=int(offset), d1=d1, d2=d2), input)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    nd = input.ndim + 1
    d1, d2 = _two_dims(dim1, dim2, nd)
    n = (input.shape[-1] if input.ndim else 1) + abs(offset)
    rest = list(input.shape[:-1])
    shape = [0] * nd
    for i in sorted((d1, d2)):
        shape[i] = n
    it = iter(rest)
    shape = tuple(s if i in (d1, d2) else next(it) for i, s in enumerate(shape))
    x = input if input.ndim else input.reshape(1)
    return DiagonalScatter.apply(x, shape=shape, offset=int(offset), d1=d1, d2=d2)


def diag(input, diagonal=0):  # noqa: A002
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        out = Diagonal.apply(input, offset=int(diagonal), d1=0, d2=1).clone()
        return as_torch_node(out, "DiagonalBackward0_copy")  # torch's name for diag's copy
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " f"{input.ndim}D")


def diagflat(input, offset=0):  # noqa: A002
    return diag_embed(input.reshape(-1), offset)


def trace(input):  # noqa: A002
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return as_torch_node(Diagonal.apply(input, offset=0, d1=0, d2=1).sum(), "TraceBackward0")


def fill_diagonal_(input, fill_value, wrap=False):  # noqa: A002
    """torch's fill_diagonal_: all dims equal (or a tall matrix, with ``wrap``)."""
    nd = input.ndim
    if nd < 2:
        raise RuntimeError("dimensions must larger than 1")
    if nd > 2 and len(set(input.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    from .._tensor import Tensor

    mask = xp.zeros(input.shape, bool)
    n = min(input.shape)
    mask[(xp.arange(n),) * nd] = True
    if wrap and nd == 2 and input.shape[0] > input.shape[1] + 1:
        step = input.shape[1] + 1  # NumPy's flat wrap: every (cols+1)-th element
        flat = mask.reshape(-1)
        flat[::step] = True
    return input.masked_fill_(Tensor._make(mask), fill_value)


def _bind():
    from .._tensor import Tensor

    Tensor.diagonal = diagonal
    Tensor.diag_embed = diag_embed
    Tensor.diag = diag
    Tensor.diagflat = diagflat
    Tensor.trace = trace
    Tensor.fill_diagonal_ = fill_diagonal_


__all__ = ["diagonal", "diag_embed", "diag", "diagflat", "trace", "fill_diagonal_"]

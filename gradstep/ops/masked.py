"""Masked ops: ``masked_fill`` (and the checks ``masked_fill_`` shares) and ``masked_select``.

A mask broadcasts against the input as in torch (the mask named first in the error), and
the saved mask is guarded like an index (``_index_guard``): changing it in place before
backward raises torch's error.
"""

from __future__ import annotations

from .. import _vmap_batched as _vmap
from ..autograd.function import Node
from ..backend import xp
from ._index_guard import check_guard, guard_index
from ._util import sum_to
from .index import GetItem, _fill_value, broadcast_shapes


class MaskedFill(Node):
    holds_saved = True  # the mask, as torch saves it

    def forward(self, a):
        return xp.where(self.mask, _fill_value(self.value, a.dtype), a)

    def backward(self, g):
        check_guard(self)
        return sum_to(g.masked_fill(_mask_tensor(self.mask), 0.0), self.shape) if \
            self.mask.shape != g.shape else g.masked_fill(_mask_tensor(self.mask), 0.0)


def _mask_tensor(m):
    from .._tensor import Tensor

    return Tensor._make(m)


def check_masked_fill_args(mask, value):
    """torch's errors for a non-bool mask (uint8 masks were refused in torch 1.x's last
    releases) and for a value tensor with dimensions."""
    from .._tensor import Tensor
    from .linalg import _CPP_NAMES

    if mask._data.dtype != xp.bool_:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_CPP_NAMES.get(mask.dtype.name, mask.dtype.name)}")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )


def check_masked_fill_inplace_shape(shape, mask):
    """``masked_fill_`` writes into ``shape``: the mask must broadcast to it, not beyond."""
    if tuple(mask.shape) == tuple(shape):
        return
    out = broadcast_shapes(shape, mask.shape)
    if out != tuple(shape):
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape "
                           f"{list(out)}")


def masked_fill(a, mask, value):
    from .._tensor import Tensor

    check_masked_fill_args(mask, value)
    m = mask._data
    if isinstance(value, Tensor):
        if value.requires_grad:
            from ._util import check_grad_dtype
            from .elementwise import where

            check_grad_dtype(value, a.dtype)
            return where(mask, value.to(a.dtype), a)
        value = value.item()
    out_shape = broadcast_shapes(m.shape, a.shape)  # torch's order: "tensor a" is the mask
    if out_shape != a.shape:
        a = a.expand(out_shape)
    return guard_index(MaskedFill.apply(a, mask=xp.broadcast_to(m, out_shape), value=value,
                                        shape=a.shape), mask)


def masked_select(a, mask):
    if mask.dtype.name != "bool":
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {mask.dtype.name}")
    if isinstance(mask._data, _vmap.BatchedArray):
        _vmap.check_masked_select(mask._data)
    shape = broadcast_shapes(a.shape, mask.shape)
    m = xp.broadcast_to(mask._data, shape)
    return guard_index(GetItem.apply(a.expand(shape), key=(m,), _name="MaskedSelectBackward0"),
                       mask)

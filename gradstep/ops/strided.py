"""Strided views: Tensor.unfold, as_strided (bounds-checked against the storage),
storage_offset, data_ptr.

A tensor's storage is its view base's array (``_base``), or its own array; storage offsets
and strides count elements, as in torch.
"""

from __future__ import annotations

from ..autograd.function import Node
from ..backend import xp
from ._util import normalize_dim


def link_view(res, src):
    """Make ``res`` (a strided NumPy view of ``src``'s memory) a view of ``src`` for autograd:
    shared version counter and base, as Node.apply does for views whose array ``base`` is the
    source (NumPy's as_strided hides the source behind a wrapper, so it is done here)."""
    from ..autograd.grad_mode import _GradState

    if res._base is None and res._data.size and xp.shares_memory(res._data, src._data):
        res._vc = src._vc
        res._base = src._base if src._base is not None else src
        res._view_vc = src._vc[0] if _GradState.enabled else None
    return res


def _root(t):
    """The tensor's storage as a flat array of its dtype (see ``gradstep._storage``)."""
    from .._storage import storage_elements

    root = storage_elements(t)
    if root is None:  # memory not on whole elements of t's dtype: its view base's array
        return t._base._data if t._base is not None else t._data
    return root


def _addr(arr):
    return arr.__array_interface__["data"][0]


def storage_offset(self):
    return (_addr(self._data) - _addr(_root(self))) // self._data.itemsize


def data_ptr(self):
    return _addr(self._data)


class Unfold(Node):
    _name = "UnfoldBackward0"
    is_view = True

    def forward(self, a):
        self.in_shape = a.shape
        d, size, step = self.dim, self.size, self.step
        n = (a.shape[d] - size) // step + 1 if a.ndim else 1
        if a.ndim == 0:
            return a.reshape(1)
        shape = a.shape[:d] + (n,) + a.shape[d + 1:] + (size,)
        strides = a.strides[:d] + (a.strides[d] * step,) + a.strides[d + 1:] + (a.strides[d],)
        return xp.lib.stride_tricks.as_strided(a, shape, strides,
                                               writeable=bool(a.flags.writeable))

    def backward(self, g):
        return UnfoldGrad.apply(g, in_shape=self.in_shape, dim=self.dim, size=self.size,
                                step=self.step)


class UnfoldGrad(Node):
    """Windows summed back onto the positions they were read from."""

    _name = "UnfoldBackwardBackward0"

    def forward(self, g):
        z = xp.zeros(self.in_shape, g.dtype)
        if not self.in_shape:
            return g.reshape(())
        d, size, step = self.dim, self.size, self.step
        nw = g.shape[d]
        for j in range(size):
            key = [slice(None)] * z.ndim
            key[d] = slice(j, j + step * (nw - 1) + 1, step)
            z[tuple(key)] += g[..., j]
        return z

    def backward(self, gg):
        return Unfold.apply(gg, dim=self.dim, size=self.size, step=self.step)


def unfold(self, dimension, size, step):
    nd = self.ndim
    d = normalize_dim(dimension, nd) if nd else 0
    n = self.shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    return link_view(Unfold.apply(self, dim=d, size=size, step=step), self)


def _positions(size, stride, offset):
    pos = xp.full(tuple(size), offset, xp.int64)
    for k, (n, st) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[k] = n
        pos = pos + (xp.arange(n, dtype=xp.int64) * st).reshape(shape)
    return pos


class AsStrided(Node):
    """A view onto the input's storage; the gradient scatter-adds through storage positions."""

    _name = "AsStridedBackward0"
    is_view = True

    def forward(self, a):
        self.in_shape = a.shape
        flat = self.root.reshape(-1)
        item = flat.itemsize
        return xp.lib.stride_tricks.as_strided(
            flat[self.offset:], self.size, tuple(s * item for s in self.stride),
            writeable=bool(flat.flags.writeable))

    def backward(self, g):
        return AsStridedGrad.apply(g, out_pos=self.out_pos, in_pos=self.in_pos,
                                   n=self.root.size)


class AsStridedGrad(Node):
    def forward(self, g):
        z = xp.zeros(self.n, g.dtype)
        xp.add.at(z, self.out_pos.reshape(-1), g.reshape(-1))
        return z[self.in_pos]

    def backward(self, gg):
        return _gather_storage(gg, self.in_pos, self.out_pos, self.n)


def _gather_storage(gg, in_pos, out_pos, n):
    """gg laid out on storage positions ``in_pos``, read back at ``out_pos``."""
    from .._tensor import Tensor
    from .index import GetItem

    inv = xp.full(n, -1, xp.int64)
    inv[in_pos.reshape(-1)] = xp.arange(in_pos.size)
    picks = inv[out_pos]
    flat = gg.reshape(-1)
    pad = Tensor._make(xp.zeros(1, gg._data.dtype))
    from .shape import cat

    ext = cat([flat, pad])
    return GetItem.apply(ext, key=(xp.where(picks < 0, in_pos.size, picks),))


def as_strided(input, size, stride, storage_offset=None):  # noqa: A002
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    root = _root(input)
    on_storage = bool(root.flags.c_contiguous)
    if not on_storage:
        root = xp.ascontiguousarray(input._data)
        base_off = 0
    else:
        base_off = storage_offset_of(input)
    off = base_off if storage_offset is None else int(storage_offset)
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    need = off + 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    if need > root.size:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {off}, and "
            f"itemsize {root.itemsize} requiring a storage size of {need * root.itemsize} are "
            f"out of bounds for storage of size {root.size * root.itemsize}")
    item = root.itemsize
    in_pos = _positions(input.shape, tuple(s // item for s in input._data.strides), base_off) \
        if on_storage else _positions(input.shape, _c_strides(input.shape), 0)
    res = AsStrided.apply(input, root=root, size=size, stride=stride, offset=off,
                          out_pos=_positions(size, stride, off), in_pos=in_pos)
    return link_view(res, input)


def _c_strides(shape):
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= n
    return tuple(reversed(st))


def storage_offset_of(t):
    return storage_offset(t)


def _bind():
    from .._tensor import Tensor
    from .._tensor_inplace import _shape_inplace

    Tensor.unfold = unfold
    Tensor.as_strided = as_strided
    Tensor.as_strided_ = _shape_inplace(as_strided)
    Tensor.storage_offset = storage_offset
    Tensor.data_ptr = Tensor.const_data_ptr = data_ptr
    Tensor.dim_order = dim_order


def dim_order(self, *, ambiguity_check=False):
    """Dims from outermost to innermost in memory (by decreasing stride, stable)."""
    st = self.stride()
    return tuple(sorted(range(self.ndim), key=lambda i: -st[i]))


def as_strided_(input, size, stride, storage_offset=None):  # noqa: A002
    return input.as_strided_(size, stride, storage_offset)

"""In-place ``Tensor`` methods made from their out-of-place ops, bound onto ``Tensor``.

Each generated ``x.op_(...)`` computes ``op(x, ...)`` and writes the result back through
``Tensor``'s in-place machinery (``_inplace_graph`` when a graph is recorded, ``_write``
otherwise), so every one of them checks and behaves like the hand-written ones in
``_tensor.py``: the leaf-requires-grad error, the version-counter bump, the result's
``grad_fn``, and torch's error when the result type cannot be cast back (``long.sqrt_()``).

The methods whose torch 1.x overloads are still accepted (``add``, ``sub``, ``addcmul``,
``addcdiv`` and their in-place forms) go through ``_legacy``.
"""

from __future__ import annotations

from itertools import chain

from . import _blas, _legacy
from . import _vmap_batched as _vmap
from ._tensor import Tensor, _leaf_inplace_error
from .autograd.function import Node
from .autograd.grad_mode import _GradState, no_grad
from .backend import result_type, xp
from .ops import arithmetic as R
from .ops import compare as C
from .ops import pointwise as P
from .ops import shape as S
from .ops import unary as U
from .ops._lowp import is_lowp
from .ops._util import into_shape_error


def inplace_from(op):
    """``Tensor.<op>_``: ``op(self, ...)`` written back into ``self``."""

    def method(self, *args, **kwargs):
        others = [a for a in chain(args, kwargs.values()) if isinstance(a, Tensor)]
        if self._needs_graph(*others):
            return self._inplace_graph(lambda old: op(old, *args, **kwargs))
        with no_grad():
            out = op(self.detach(), *args, **kwargs)
        self._write(out._data)
        return self

    method.__name__ = getattr(op, "__name__", "op") + "_"
    return method


def inplace_untracked(op):
    """An in-place op autograd does not see (torch's ``logical_*_``): no leaf check, no graph."""

    def method(self, *args):
        with no_grad():
            out = op(self.detach(), *args)
        self._write(out._data)
        return self

    method.__name__ = getattr(op, "__name__", "op") + "_"
    return method


class _ComparedInPlace(Node):
    """``x.eq_(y)`` and friends on a tensor that requires grad: torch keeps it in the graph
    with a zero gradient (``EqBackward0``, ...)."""

    def forward(self, a):
        return self.value.astype(a.dtype)

    def backward(self, g):
        return g * 0


def _compared(op, backward_name):
    def compare(a, *args):
        out = op(a, *args)
        if not a._needs_graph():
            return out
        return _ComparedInPlace.apply(a, value=out._data, _name=backward_name)

    compare.__name__ = op.__name__
    return compare


def _bitwise(fn):
    return lambda a, b: C.bitwise(a, b, fn)


# in-place name -> the out-of-place op it writes back
GENERATED = {
    "log_": U.log, "log1p_": U.log1p, "log2_": U.log2, "log10_": U.log10, "expm1_": U.expm1,
    "rsqrt_": U.rsqrt, "sin_": U.sin, "cos_": U.cos, "reciprocal_": U.reciprocal,
    "floor_": U.floor, "ceil_": U.ceil, "round_": U.round, "trunc_": U.trunc, "fix_": U.trunc,
    "square_": U.square, "erf_": U.erf,
    "frac_": P.frac, "sgn_": P.sgn, "fmod_": P.fmod, "nan_to_num_": P.nan_to_num,
    "remainder_": R.remainder, "floor_divide_": R.floor_divide,
    "eq_": _compared(C.eq, "EqBackward0"), "ne_": _compared(C.ne, "NeBackward0"),
    "lt_": _compared(C.lt, "LtBackward0"), "le_": _compared(C.le, "LeBackward0"),
    "gt_": _compared(C.gt, "GtBackward0"), "ge_": _compared(C.ge, "GeBackward0"),
}
# in-place ops autograd does not track at all in torch
UNTRACKED = {
    "logical_not_": C.logical_not, "logical_and_": C.logical_and, "logical_or_": C.logical_or,
    "logical_xor_": C.logical_xor, "bitwise_not_": C.invert,
    "bitwise_and_": _bitwise(xp.bitwise_and), "bitwise_or_": _bitwise(xp.bitwise_or),
    "bitwise_xor_": _bitwise(xp.bitwise_xor),
}

# in-place aliases torch has for methods that exist under another name
ALIASES = {
    "absolute_": "abs_", "negative_": "neg_", "multiply_": "mul_", "divide_": "div_",
    "true_divide_": "div_", "subtract_": "sub_", "less_": "lt_", "less_equal_": "le_",
    "greater_": "gt_", "greater_equal_": "ge_", "not_equal_": "ne_",
}

# out-of-place methods torch has that had no Tensor method here
METHODS = {
    "frac": P.frac, "sgn": P.sgn, "fmod": P.fmod, "nan_to_num": P.nan_to_num,
    "addcmul": _legacy.method("addcmul", P.addcmul),
    "addcdiv": _legacy.method("addcdiv", P.addcdiv),
    "log1p": U.log1p, "expm1": U.expm1, "fix": U.trunc,
    "bitwise_and": _bitwise(xp.bitwise_and), "bitwise_or": _bitwise(xp.bitwise_or),
    "bitwise_xor": _bitwise(xp.bitwise_xor),
}


# ---------------------------------------------------------------- addcmul_ / addcdiv_
def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def _widened(self, other):
    """``other`` in ``self``'s dtype where torch computes in it: a bfloat16/float16 (or
    float32 into float64) Tensor operand is cast (exactly) before ``alpha * other`` or
    ``value * tensor1``, which NumPy would otherwise round in the narrower dtype (Muon's
    bfloat16 update added to a float32 parameter). Same dtypes cost one comparison."""
    if not isinstance(other, Tensor) or other._data.dtype == self._data.dtype:
        return other
    if result_type(self, other) is not self.dtype:
        return other
    return other.to(self.dtype)


def addcmul_(self, tensor1, tensor2, *, value=1):
    """``self += value * tensor1 * tensor2``, rounded in torch's order."""
    if self._needs_graph(tensor1, tensor2):
        return self._inplace_graph(lambda s: P.addcmul(s, tensor1, tensor2, value=value))
    if is_lowp(self._data.dtype):
        return _write_out_of_place(self, lambda s: P.addcmul(s, tensor1, tensor2, value=value))
    value = _number(value)
    tensor1, tensor2 = _widened(self, tensor1), _widened(self, tensor2)
    t1 = tensor1._data if value == 1 else tensor1._data * value
    try:
        product = xp.multiply(t1, tensor2._data)
    except ValueError:
        raise into_shape_error(self.shape, tensor1.shape, tensor2.shape) from None
    return self._ufunc_(xp.add, product)


def addcdiv_(self, tensor1, tensor2, *, value=1):
    """``self += value * tensor1 / tensor2``, rounded in torch's order."""
    if self._needs_graph(tensor1, tensor2) or not (
            tensor1.is_floating_point() or tensor2.is_floating_point()):
        return self._inplace_graph(lambda s: P.addcdiv(s, tensor1, tensor2, value=value))
    if is_lowp(self._data.dtype):
        return _write_out_of_place(self, lambda s: P.addcdiv(s, tensor1, tensor2, value=value))
    value = _number(value)
    tensor1, tensor2 = _widened(self, tensor1), _widened(self, tensor2)
    t1 = tensor1._data if value == 1 else tensor1._data * value
    try:
        quotient = xp.true_divide(t1, tensor2._data)
    except ValueError:
        raise into_shape_error(self.shape, tensor1.shape, tensor2.shape) from None
    return self._ufunc_(xp.add, quotient)


# ---------------------------------------------------------------- shape changes in place
def _shape_inplace(op):
    """``t_``, ``transpose_``, ... : ``self`` takes the shape (and history) of ``op(self)``."""

    def method(self, *args):
        if _GradState.enabled and self._rg and self.grad_fn is None:
            raise _leaf_inplace_error()
        out = op(self, *args)
        self._data = out._data
        if out.grad_fn is not None:
            self.grad_fn, self._out_nr = out.grad_fn, out._out_nr
        return self

    method.__name__ = op.__name__ + "_"
    return method


# ---------------------------------------------------------------- hand-written in-place arithmetic
# Fast paths without a graph (``Tensor._ufunc_``); with one, the out-of-place op is recorded.


def _write_out_of_place(self, fn):
    """``fn(self)`` written back, without a graph: for the in-place forms whose out-of-place op
    rounds as torch's kernel does where NumPy's in-place ufuncs would not (float16/bfloat16,
    computed in float32 and rounded once, see ``ops._lowp``; lerp's multiply-add)."""
    with no_grad():
        out = fn(self.detach())
    self._write(out._data)
    return self


def add_(self, other, alpha=1):
    if _vmap.depth and isinstance(other, Tensor):  # torch's vmap: a shape error for add_
        _vmap.check_add(self._data, other._data)
    try:
        if self._needs_graph(other):
            return self._inplace_graph(lambda s: s.add(other, alpha=alpha))
        if is_lowp(self._data.dtype):
            return _write_out_of_place(self, lambda s: s.add(other, alpha=alpha))
        other = _widened(self, other)
        if alpha != 1:
            if self._fused_axpy_(other, alpha):
                return self
            other = other._data * alpha if isinstance(other, Tensor) else other * alpha
        return self._ufunc_(xp.add, other)
    except NotImplementedError:  # a sparse ``other`` has no dense array: torch adds its entries
        if not getattr(other, "is_sparse", False):
            raise
        return _add_sparse_(self, other, alpha)


def _add_sparse_(self, other, alpha):
    """``dense.add_(sparse, alpha=alpha)`` (``p.data.add_(grad, alpha=-lr)`` with a sparse
    gradient): the entries added in place; with a graph, ``self + alpha * sparse``."""
    from . import _sparse_ops

    if self._needs_graph(other):
        return self._inplace_graph(lambda s: s + (other if alpha == 1 else other * alpha))
    return _sparse_ops.add_dense_sparse_(self, other, alpha)


def sub_(self, other, alpha=1):
    R._sub_check(self, other)
    if self._needs_graph(other):
        return self._inplace_graph(lambda s: s.sub(other, alpha=alpha))
    if is_lowp(self._data.dtype):
        return _write_out_of_place(self, lambda s: s.sub(other, alpha=alpha))
    other = _widened(self, other)
    if alpha != 1:
        if self._fused_axpy_(other, -alpha):  # torch: sub(alpha) is add(-alpha)
            return self
        other = other._data * alpha if isinstance(other, Tensor) else other * alpha
    return self._ufunc_(xp.subtract, other)


def _fused_axpy_(self, other, alpha):
    """``self += alpha * other`` rounded once, as torch does, when the BLAS can take both
    arrays (same-shape float32/float64, see ``gradstep._blas``); False if it cannot."""
    if (not isinstance(other, Tensor) or not _blas.fusable_scale(alpha)
            or not _blas.can_fuse(other._data, self._data)):
        return False
    self._check_writable()
    _blas.axpy(alpha, other._data, self._data)
    self._vc[0] += 1
    return True


def mul_(self, other):
    if self._needs_graph(other):
        return self._inplace_graph(lambda s: s * other)
    if is_lowp(self._data.dtype):
        return _write_out_of_place(self, lambda s: s * other)
    return self._ufunc_(xp.multiply, other)


def div_(self, other, rounding_mode=None):
    if self._needs_graph(other) or rounding_mode is not None:
        return self._inplace_graph(lambda s: s.div(other, rounding_mode=rounding_mode))
    if is_lowp(self._data.dtype):
        return _write_out_of_place(self, lambda s: s / other)
    return self._ufunc_(xp.true_divide, other)


def pow_(self, exponent):
    if self._needs_graph(exponent):
        return self._inplace_graph(lambda s: s**exponent)
    if is_lowp(self._data.dtype) or self._data.dtype.kind in "iub":  # ints: torch's negative
        # exponents (1, -1 or 0) and its error for a negative Python int, as out of place
        return _write_out_of_place(self, lambda s: s**exponent)
    return self._ufunc_(xp.power, exponent)


def neg_(self):
    if self._needs_graph():
        return self._inplace_graph(lambda s: -s)
    return self._ufunc_(xp.negative)


def clamp_(self, min=None, max=None):  # noqa: A002
    if self._needs_graph(min, max):
        return self._inplace_graph(lambda s: s.clamp(min, max))
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if min is not None:
        self._ufunc_(xp.maximum, min)  # its errors: torch's can't-cast and broadcast ones
    if max is not None:
        self._ufunc_(xp.minimum, max)
    if min is not None and max is not None:
        self._vc[0] -= 1  # one write, as torch counts it
    return self


def clamp_min_(self, min):  # noqa: A002
    return self.clamp_(min=min)


def clamp_max_(self, max):  # noqa: A002
    return self.clamp_(max=max)


def maximum_(self, other):
    if self._needs_graph(other):
        return self._inplace_graph(lambda s: s.maximum(other))
    return self._ufunc_(xp.maximum, other)


def _ufunc_inplace(name, ufunc):
    """``x.<name>_()``: ``ufunc`` in place without a graph; with one, ``x.<name>()`` recorded."""
    def method(self):
        if self._needs_graph():
            return self._inplace_graph(lambda s: getattr(s, name)())
        return self._ufunc_(ufunc)

    method.__name__ = name + "_"
    return method


sqrt_, exp_, abs_, sign_, tanh_ = (_ufunc_inplace(name, getattr(xp, name))
                                   for name in ("sqrt", "exp", "abs", "sign", "tanh"))


def relu_(self):
    if self._needs_graph():
        return self._inplace_graph(lambda s: s.relu())
    return self._ufunc_(xp.maximum, 0)


def sigmoid_(self):
    return self._inplace_graph(lambda s: s.sigmoid()) if self._needs_graph() else \
        self._set_raw(self.detach().sigmoid()._data)


def lerp_(self, end, weight):
    """``self += weight * (end - self)`` by torch's two-sided formula, for a number ``weight``.

    Rounded once per element like torch's kernel where the BLAS takes the arrays (``_blas``).
    """
    if self._needs_graph(end, weight):
        return self._inplace_graph(lambda s: s + (end - s) * weight)
    if is_lowp(self._data.dtype):
        return _write_out_of_place(self, lambda s: U.lerp(s, end, weight))
    if (isinstance(weight, (int, float)) and not isinstance(weight, bool)
            and isinstance(end, Tensor) and self.dtype.is_floating_point
            and end._data.dtype == self._data.dtype and end._data.shape == self._data.shape):
        self._check_writable()
        _blas.lerp_(self._data, end._data, weight)
        self._vc[0] += 1
        return self
    return _write_out_of_place(self, lambda s: U.lerp(s, end, weight))  # two-sided, fused


# ---------------------------------------------------------------- samplers and scatters
# (written in place through ``_write``; a graph only for the scatters' sources)
def uniform_(self, a=0.0, b=1.0, generator=None):
    from ._torch_random import uniform_like

    with no_grad():
        self._write(uniform_like(self._data, a, b, generator))
    return self


def normal_(self, mean=0.0, std=1.0, generator=None):
    from ._torch_random import normal_like

    self._write(normal_like(self._data, mean, std, generator))
    return self


def bernoulli_(self, p=0.5, generator=None):
    from ._torch_random import bernoulli_like

    self._write(bernoulli_like(self._data, p._data if isinstance(p, Tensor) else p, generator))
    return self


def random_(self, low=0, high=None, generator=None):
    from ._torch_random import random_like

    self._write(random_like(self._data, low, high, generator))
    return self


def exponential_(self, lambd=1.0, generator=None):
    from ._torch_random import exponential_like

    self._write(exponential_like(self._data, lambd, generator))
    return self


def index_add_(self, dim, index, source, alpha=1):
    from .ops._util import normalize_dim
    from .ops.index_reduce import check_index_add

    d = normalize_dim(dim, self.ndim)
    check_index_add(self, d, index, source)
    if self._needs_graph(source):
        def fn(s):
            z = s * 0
            return s + _index_add_out(z, d, index, source * alpha)
        return self._inplace_graph(fn)
    arr, src = (self._data, source._data) if self.ndim else \
        (self._data.reshape(1), source._data.reshape(-1))  # a 0-d tensor: one slot
    xp.add.at(xp.moveaxis(arr, d, 0), index._data, xp.moveaxis(src * alpha, d, 0))
    self._vc[0] += 1
    return self


def scatter_(self, dim, index, src=None, value=None, reduce=None):
    from .ops import index as _ix

    return _set_from(self, lambda s: _ix.scatter(s, dim, index, src, value, reduce), src)


def scatter_add_(self, dim, index, src):
    from .ops import index as _ix

    return _set_from(self, lambda s: _ix.scatter_add(s, dim, index, src), src)


def _set_from(self, fn, *others):
    if self._needs_graph(*others):
        return self._inplace_graph(fn)
    with no_grad():
        self._write(fn(self.detach())._data)
    return self


def _index_add_out(z, d, index, source):
    from .ops.index import IndexAddZeros

    return IndexAddZeros.apply(source, idx=index._data, dim=d, shape=z.shape)


HAND_WRITTEN = {name: globals()[name] for name in (
    "add_", "sub_", "_fused_axpy_", "mul_", "div_", "pow_", "neg_", "clamp_", "clamp_min_",
    "clamp_max_", "maximum_", "sqrt_", "exp_", "abs_", "sign_", "relu_", "sigmoid_", "tanh_",
    "lerp_", "uniform_", "normal_", "bernoulli_", "random_", "exponential_", "index_add_",
    "scatter_", "scatter_add_")}


def bind():
    T = Tensor
    for name, fn in HAND_WRITTEN.items():
        setattr(T, name, fn)
    T.clip_ = clamp_
    for name, op in GENERATED.items():
        setattr(T, name, inplace_from(op))
    for name, op in UNTRACKED.items():
        setattr(T, name, inplace_untracked(op))
    for alias, name in ALIASES.items():
        setattr(T, alias, getattr(T, name))
    for name, op in METHODS.items():
        setattr(T, name, op)
    T.addcmul_ = _legacy.method("addcmul_", addcmul_)
    T.addcdiv_ = _legacy.method("addcdiv_", addcdiv_)
    T.add = _legacy.method("add", R.add)
    T.sub = _legacy.method("sub", R.sub)
    T.add_ = _legacy.method("add_", T.add_)
    T.sub_ = _legacy.method("sub_", T.sub_)
    for name, op in (("t", S.t), ("transpose", S.transpose), ("squeeze", S.squeeze),
                     ("unsqueeze", S.unsqueeze), ("swapaxes", S.transpose),
                     ("swapdims", S.transpose)):
        setattr(T, name + "_", _shape_inplace(op))
    # resize_, resize_as_: see _storage.py (they work on the storage)


bind()

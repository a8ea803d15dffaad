"""Reductions (sum, mean, max, var, norm, softmax, ...) and their gradients."""

from __future__ import annotations

from .._argparse import Signatures, int_arg, int_list_arg, invalid_combination, is_int
from ..amp._policy import autocast_op
from ..autograd.function import Node
from ..autograd.grad_mode import _GradState
from ..backend import get_default_dtype, int64, xp
from . import _reduce_args as A
from . import _rowwise
from ._lowp import F32, float32_compute, lowp_dtype
from ._util import as_float, check_float_input, check_grad_dtype, dtype_title, normalize_dim
from ._util import normalize_dims as _normalize_dims
from .shape import Expand

_add_reduce = xp.add.reduce


def normalize_dims(dim, ndim):
    """Reduction axes; a 0-dim tensor accepts dim 0/-1 but has no axis to reduce."""
    if dim is None:
        return tuple(range(ndim))
    if not isinstance(dim, int):
        seen = set()
        for d in dim:
            k = normalize_dim(d, ndim)
            if k in seen:
                raise RuntimeError(f"dim {k} appears multiple times in the list of dims")
            seen.add(k)
    axes = _normalize_dims(dim, ndim)
    return axes if ndim else ()


def _expand_back(g, shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input's ``shape``.

    Reduced leading axes (a full reduction above all) need no reshape first: the gradient
    broadcasts as it is, in one ``ExpandBackward0`` as torch records it.
    """
    if not keepdim and axes:
        if axes == tuple(range(len(axes))):
            return Expand.apply(g, shape=tuple(shape))
        kshape = list(shape)
        for ax in axes:
            kshape[ax] = 1
        g = g.reshape(tuple(kshape))
    return g.expand(shape)


def _kept(out, axes, shape):
    """A reduced tensor reshaped to keepdim form, for broadcasting against the input."""
    if not axes:
        return out
    return out.reshape(tuple(1 if i in axes else s for i, s in enumerate(shape)))


@float32_compute(backward=False)  # bfloat16 accumulates in float32
class Sum(Node):
    def forward(self, a):
        self.shape = a.shape
        if self.out_dtype is None:  # short rows: einsum, 3-4x NumPy's reduction (see _rowwise)
            sums = _rowwise.trailing_sums(a, self.axes, self.keepdim)
            if sums is not None:
                return sums
        # np.sum's own call (np.sum adds only Python dispatch in front of it)
        return _add_reduce(a, axis=self.axes, dtype=self.out_dtype, keepdims=self.keepdim)

    def backward(self, g):
        return _expand_back(g, self.shape, self.axes, self.keepdim)

    def _default_name(self):
        return "SumBackward1" if self.dim_given else "SumBackward0"


@float32_compute(backward=False)
class Mean(Node):
    def forward(self, a):
        self.shape = a.shape
        if _count(a.shape, self.axes) == 0:  # NumPy warns "Mean of empty slice"; torch: nan
            return _plain_mean(a, self.axes, self.keepdim, self.out_dtype)
        if self.out_dtype is None:
            sums = _rowwise.trailing_sums(a, self.axes, self.keepdim)
            if sums is not None:
                return sums / _count(a.shape, self.axes)  # np.mean: the sum over the count
        return xp.mean(a, axis=self.axes, keepdims=self.keepdim, dtype=self.out_dtype)

    def backward(self, g):
        n = 1
        for ax in self.axes:
            n *= self.shape[ax]
        return _expand_back(g, self.shape, self.axes, self.keepdim) / n if n else \
            _expand_back(g, self.shape, self.axes, self.keepdim) * float("nan")

    def _default_name(self):
        return "MeanBackward1" if self.dim_given else "MeanBackward0"


class Prod(Node):  # bfloat16: rounded after every product, as torch does
    saves = (0,)
    saves_output = True

    def _default_name(self):
        return "ProdBackward1" if self.dim_given else "ProdBackward0"

    def forward(self, a):
        return xp.prod(a, axis=self.axes, keepdims=self.keepdim, dtype=self.out_dtype)

    def backward(self, g):
        (a,) = self.saved_tensors
        out = self.saved_output
        axes = self.axes
        ge = _expand_back(g, a.shape, axes, self.keepdim)
        if a._data.ndim == 0:
            return ge  # as torch: the product of one value (no out / a, NaN at inf or 0)
        zeros = int(xp.count_nonzero(a._data == 0))
        if not zeros:
            return ge * _conj_if_complex(_kept(out, axes, a.shape) / a)
        if zeros > 1 and not self.dim_given and not _GradState.enabled:
            return a.new_zeros(a.shape)  # as torch: two zeros in the product, no 0 * inf
        return ge * _conj_if_complex(_exclusive_prod(a, axes))


def _conj_if_complex(t):
    """torch's gradient is ``grad * conj(d out / d a)``: conjugated for complex inputs."""
    return t.conj() if t.dtype.is_complex else t


def _exclusive_prod(a, axes):
    """Product of all other elements along ``axes`` (exact with zeros), as a constant."""
    from .._tensor import Tensor

    d = a._data
    rest = [i for i in range(d.ndim) if i not in axes]
    perm = rest + list(axes)
    moved = xp.transpose(d, perm)
    flat = moved.reshape(moved.shape[: len(rest)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), d.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), -1), -1)
    ex = (left * right).reshape(moved.shape)
    return Tensor._make(xp.transpose(ex, xp.argsort(perm)))


class AmaxAmin(Node):
    """amax/amin (and full max/min): ties share the gradient evenly, as in torch."""

    saves = (0,)
    saves_output = True
    full = False  # max()/min() with no dim (their own grad_fn names)

    def _default_name(self):
        if self.full:
            return "MaxBackward1" if self.is_max else "MinBackward1"
        return "AmaxBackward0" if self.is_max else "AminBackward0"

    def forward(self, a):
        self.shape = a.shape
        f = xp.max if self.is_max else xp.min
        return f(a, axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        (a,) = self.saved_tensors
        out = _kept(self.saved_output, self.axes, a.shape)
        mask = a == out
        if self.full:  # max()/min(): the NaNs share a NaN result's gradient (amax/amin: NaN)
            mask = mask | (a.isnan() & out.isnan())
        mask = mask.to(g.dtype)
        count = mask.sum(dim=self.axes, keepdim=True)
        return _expand_back(g, a.shape, self.axes, self.keepdim) * mask / count


class MaxMinDim(Node):
    """max/min along one dim: the gradient goes to the returned index."""

    holds_saved = True  # the index, as torch saves it

    def forward(self, a):
        f = xp.argmax if self.is_max else xp.argmin
        idx = f(a, axis=self.dim, keepdims=True)
        self.idx = idx
        self.shape = a.shape
        vals = xp.take_along_axis(a, idx, axis=self.dim)
        return vals if self.keepdim else xp.squeeze(vals, self.dim)

    def backward(self, g):
        from .index import scatter_into_zeros

        gk = g if self.keepdim else g.unsqueeze(self.dim)
        return scatter_into_zeros(gk, self.idx, self.dim, self.shape)

    def _default_name(self):
        return "MaxBackward0" if self.is_max else "MinBackward0"


@float32_compute(backward=False)
class Var(Node):
    saves = (0,)

    def forward(self, a):
        self.shape = a.shape
        if _count(a.shape, self.axes) - self.correction <= 0:
            return _degenerate_var(a, self.axes, self.correction, self.keepdim)
        return xp.var(a, axis=self.axes, ddof=self.correction, keepdims=self.keepdim)

    def backward(self, g):
        (a,) = self.saved_tensors
        n = _count(self.shape, self.axes)
        mu = a.mean(dim=self.axes, keepdim=True)
        ge = _expand_back(g, self.shape, self.axes, self.keepdim)
        denom = n - self.correction
        return ge * (a - mu) * (2.0 / denom if denom else float("inf"))


@float32_compute(backward=False)
class Std(Node):
    saves = (0,)
    saves_output = True

    def forward(self, a):
        self.shape = a.shape
        if _count(a.shape, self.axes) - self.correction <= 0:
            return xp.sqrt(_degenerate_var(a, self.axes, self.correction, self.keepdim))
        return xp.std(a, axis=self.axes, ddof=self.correction, keepdims=self.keepdim)

    def backward(self, g):
        (a,) = self.saved_tensors
        n = _count(self.shape, self.axes)
        out = _kept(self.saved_output, self.axes, a.shape)
        mu = a.mean(dim=self.axes, keepdim=True)
        ge = _expand_back(g, self.shape, self.axes, self.keepdim)
        denom = n - self.correction
        # torch masks where std is 0 (constant input): gradient 0, not nan
        return (ge / (out * denom)).masked_fill(out == 0, 0.0) * (a - mu)


def _count(shape, axes):
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


def _plain_mean(a, axes, keepdim, dtype=None):
    """sum / count: NumPy's mean without its Python-level "Mean of empty slice" warning (an
    empty slice gives 0/0 = nan, silently under the ops' error state, as torch does)."""
    s = xp.sum(a, axis=axes, keepdims=keepdim, dtype=dtype)
    return s / s.dtype.type(_count(a.shape, axes))


def _degenerate_var(a, axes, ddof, keepdim):
    """NumPy's var when ``count - ddof <= 0`` (it divides by ``max(count - ddof, 0)``: inf or
    nan) without its "Degrees of freedom <= 0" RuntimeWarning; torch returns the same values."""
    d = a - _plain_mean(a, axes, True)
    s = xp.sum(d * d if d.dtype.kind != "c" else (d * d.conj()).real, axis=axes, keepdims=keepdim)
    dof = _count(a.shape, axes) - ddof  # (this module's ``max`` is the reduction)
    return s / s.dtype.type(dof if dof > 0 else 0)


@float32_compute(backward=False)
class Norm(Node):
    """Vector p-norm over ``axes`` (p = 2, 1, inf, -inf, 0 or any real)."""

    _name = "LinalgVectorNormBackward0"
    saves = (0,)
    saves_output = True

    def forward(self, a):
        p, axes, kd = self.p, self.axes, self.keepdim
        ab = xp.abs(a)
        if p == 2:
            return xp.sqrt(xp.sum(a * a, axis=axes, keepdims=kd))
        if p == 1:
            return xp.sum(ab, axis=axes, keepdims=kd)
        if p == float("inf"):
            return xp.max(ab, axis=axes, keepdims=kd) if ab.size else xp.zeros(
                _reduced_shape(a.shape, axes, kd), a.dtype)
        if p == float("-inf"):
            return xp.min(ab, axis=axes, keepdims=kd)
        if p == 0:
            return xp.sum(a != 0, axis=axes, keepdims=kd).astype(a.dtype)
        return (xp.sum(ab**p, axis=axes, keepdims=kd) ** (1.0 / p)).astype(a.dtype)

    def backward(self, g):
        (a,) = self.saved_tensors
        p, axes, kd = self.p, self.axes, self.keepdim
        out = _kept(self.saved_output, axes, a.shape)
        ge = _expand_back(g, a.shape, axes, kd)
        if p == 0:  # torch defines no gradient for the 0-"norm" (a count)
            return None
        if p == 1:
            return ge * a.sign()
        if p == 2:  # torch's grad * (a / norm), 0 where the norm is: a NaN grad stays NaN
            safe = out.masked_fill(out == 0, 1.0)
            return ge * (a / safe).masked_fill(out == 0, 0.0)
        if p in (float("inf"), float("-inf")):
            mask = ((a.abs() == out) | a.isnan()).to(a.dtype)  # NaNs count as the extremum
            count = mask.sum(dim=axes, keepdim=True)
            return ge * a.sign() * mask / count
        safe = out.masked_fill(out == 0, 1.0)
        scaled = (a.sign() * a.abs() ** (p - 1)).masked_fill(a == 0, 0.0)  # p < 1: 0 * inf
        res = ge * scaled / safe ** (p - 1)
        return res.masked_fill(out == 0, 0.0)


def _reduced_shape(shape, axes, keepdim):
    return tuple(1 if i in axes else s for i, s in enumerate(shape) if keepdim or i not in axes)


@float32_compute(backward=False)
class LogSumExp(Node):
    _name = "LogsumexpBackward0"
    saves = (0,)
    saves_output = True

    def forward(self, a):
        m = xp.max(a, axis=self.axes, keepdims=True) if a.size else xp.zeros((1,) * a.ndim, a.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        s = xp.log(xp.sum(xp.exp(a - m), axis=self.axes, keepdims=True)) + m
        return s if self.keepdim else xp.squeeze(s, axis=self.axes)

    def backward(self, g):
        (a,) = self.saved_tensors
        out = _kept(self.saved_output, self.axes, a.shape)
        return _expand_back(g, a.shape, self.axes, self.keepdim) * (a - out).exp()


# softmax and log_softmax of float16/bfloat16: computed in float32 (the input upcast by
# float32_compute), their gradients too, each rounded once, with the two intermediates
# torch's kernels store in the input's dtype (see _lowp_softmax, _lowp_log_softmax)
@float32_compute
class Softmax(Node):
    saves_output = True

    def forward(self, a):
        ax = self.dim if a.ndim else None
        lowp = lowp_dtype(self)
        if lowp is not None and a.ndim > 1 and ax != a.ndim - 1:
            return _lowp_softmax(a, ax, lowp)
        if a.size and _rowwise.splittable(a.shape, (ax,)):  # blocks of rows, on threads
            return _rowwise.softmax(a, ax)
        m = xp.max(a, axis=ax, keepdims=True) if a.size else 0
        e = xp.exp(a - m)
        e /= xp.sum(e, axis=ax, keepdims=True)
        return e

    def backward(self, g):
        y = self.saved_output
        if _rowwise_grad(g, y, self.dim):  # the same ops on raw arrays, in blocks of rows
            return g._make(_rowwise.softmax_backward(g._data, y._data, self.dim))
        return y * (g - (g * y).sum(dim=self.dim, keepdim=True))


def _lowp_softmax(a, ax, dt):
    """torch's softmax over a dim other than the last of float16/bfloat16 (float32 ``a``):
    ``exp(a - max)`` is stored rounded to ``dt``, then divided by the float32 sum."""
    e = xp.exp(a - xp.max(a, axis=ax, keepdims=True))
    s = xp.sum(e, axis=ax, keepdims=True)
    return e.astype(dt).astype(F32) / s


@float32_compute
class LogSoftmax(Node):
    saves_output = True

    def forward(self, a):
        ax = self.dim if a.ndim else None
        lowp = lowp_dtype(self)
        if lowp is not None and a.size and (a.ndim <= 1 or ax == a.ndim - 1):
            return _lowp_log_softmax(a, ax, lowp)
        if a.size and _rowwise.splittable(a.shape, (ax,)):  # blocks of rows, on threads
            return _rowwise.log_softmax(a, ax)
        m = xp.max(a, axis=ax, keepdims=True) if a.size else 0
        s = a - m
        s -= xp.log(xp.sum(xp.exp(s), axis=ax, keepdims=True))
        return s

    def backward(self, g):
        y = self.saved_output
        if _rowwise_grad(g, y, self.dim):  # the same ops on raw arrays, in blocks of rows
            return g._make(_rowwise.log_softmax_backward(g._data, y._data, self.dim))
        return g - y.exp() * g.sum(dim=self.dim, keepdim=True)


def _lowp_log_softmax(a, ax, dt):
    """torch's last-dim log_softmax of float16/bfloat16 (float32 ``a``): the sum of
    ``exp(a - max)`` and its log are each stored rounded to ``dt``."""
    s = a - xp.max(a, axis=ax, keepdims=True)
    total = xp.sum(xp.exp(s), axis=ax, keepdims=True).astype(dt).astype(F32)
    return s - xp.log(total).astype(dt).astype(F32)


def _rowwise_grad(g, y, dim):
    """Whether a softmax backward can run on raw arrays: first order (no graph to record),
    float32/float64 (bfloat16 and float16 round after each Tensor op), same shapes, rows free."""
    gd, yd = g._data, y._data
    return (not _GradState.enabled and gd.dtype == yd.dtype and gd.dtype.kind == "f"
            and gd.dtype.itemsize >= 4 and gd.shape == yd.shape and yd.size > 0
            and _rowwise.splittable(yd.shape, (dim,)))


# ---------------------------------------------------------------- functional API
def _int_to_long(t, dtype):
    if dtype is not None:
        from ..backend import as_dtype

        check_grad_dtype(t, as_dtype(dtype))
        return as_dtype(dtype).np
    if t.dtype._category < 2:  # bool and integers; floating and complex keep their dtype
        return int64.np
    return None


_SUM_SIGNATURES = Signatures(
    ("*, torch.dtype dtype = None",
     "tuple of ints dim, bool keepdim = False, *, torch.dtype dtype = None"),
    ("", "Tensor out = None"))
_MEAN_SIGNATURES = Signatures(_SUM_SIGNATURES, ("Tensor out = None",) * 2)


def _dims_arg(dim, name):
    """A reduction's ``int[1]? dim`` (sum, mean) that is not a plain int, checked as torch."""
    sigs = _SUM_SIGNATURES if name == "sum" else _MEAN_SIGNATURES
    return int_list_arg(dim, name, "dim", 1, sigs, single_int=True)


def sum(a, dim=None, keepdim=False, dtype=None):  # noqa: A001
    if dim is not None and type(dim) is not int:
        dim = _dims_arg(dim, "sum")
    if type(keepdim) is not bool or dtype is not None:
        A.check_dim_keepdim_dtype("sum", dim, keepdim, dtype, _SUM_SIGNATURES)
    axes = normalize_dims(dim, a.ndim)
    return Sum.apply(a, axes=axes, keepdim=keepdim, out_dtype=_int_to_long(a, dtype),
                     dim_given=dim is not None)


def mean(a, dim=None, keepdim=False, dtype=None):
    if dim is not None and type(dim) is not int:
        dim = _dims_arg(dim, "mean")
    if type(keepdim) is not bool or dtype is not None:
        A.check_dim_keepdim_dtype("mean", dim, keepdim, dtype, _MEAN_SIGNATURES)
    if dtype is not None:
        from ..backend import as_dtype

        if as_dtype(dtype)._category < 2:
            raise RuntimeError(
                "mean(): could not infer output dtype. Optional dtype must be either a floating "
                f"point or complex dtype. Got: {dtype_title(as_dtype(dtype))}"
            )
    if dtype is None and a.dtype._category < 2:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {dtype_title(a.dtype)}"
        )
    if dtype is not None:
        a = a.to(dtype)
    axes = normalize_dims(dim, a.ndim)
    return Mean.apply(a, axes=axes, keepdim=keepdim, out_dtype=None, dim_given=dim is not None)


@autocast_op("prod")
def prod(a, dim=None, keepdim=False, dtype=None):
    if dim is not None and type(dim) is not int:
        dim = A.prod_dim(dim)
    if type(keepdim) is not bool or dtype is not None:
        A.check_dim_keepdim_dtype("prod", dim, keepdim, dtype, A.PROD_SIGNATURES)
    axes = normalize_dims(dim, a.ndim)
    return Prod.apply(a, axes=axes, keepdim=keepdim if dim is not None else False,
                      out_dtype=_int_to_long(a, dtype), dim_given=dim is not None)


def _empty_check(a, axes, name):
    for ax in axes:
        if a.shape[ax] == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim {ax} to have non-zero size."
            )
    if not axes and a.numel() == 0:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )


def amax(a, dim=(), keepdim=False):
    if type(dim) is not int and dim is not None:
        dim = A.dims_arg(dim, "amax")
    if type(keepdim) is not bool:
        A.check_keepdim(keepdim, "amax")
    axes = normalize_dims(dim if dim != () else None, a.ndim)
    _empty_check(a, axes if a.ndim and dim not in ((), None) else (), "amax")
    return AmaxAmin.apply(a, axes=axes, keepdim=keepdim, is_max=True)


def amin(a, dim=(), keepdim=False):
    if type(dim) is not int and dim is not None:
        dim = A.dims_arg(dim, "amin")
    if type(keepdim) is not bool:
        A.check_keepdim(keepdim, "amin")
    axes = normalize_dims(dim if dim != () else None, a.ndim)
    _empty_check(a, axes if a.ndim and dim not in ((), None) else (), "amin")
    return AmaxAmin.apply(a, axes=axes, keepdim=keepdim, is_max=False)


def _max_min(a, dim, keepdim, other, is_max):
    from .._tensor import Tensor
    from ..return_types import max_min_result

    if isinstance(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        from .elementwise import maximum, minimum

        return maximum(a, other) if is_max else minimum(a, other)
    name = "max" if is_max else "min"
    if dim is not None and type(dim) is not int:
        if not is_int(dim):
            raise invalid_combination(name, (dim,), _MAX_MIN_SIGNATURES)
        dim = int_arg(dim, name, "dim", 1)
    if dim is None:
        if a.numel() == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return AmaxAmin.apply(a, axes=tuple(range(a.ndim)), keepdim=False, is_max=is_max, full=True)
    d = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return max_min_result(a.clone(), Tensor._make(xp.zeros((), xp.int64)), name)
    if a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    vals = MaxMinDim.apply(a, dim=d, keepdim=keepdim, is_max=is_max)
    f = xp.argmax if is_max else xp.argmin
    idx = f(a._data, axis=d, keepdims=keepdim)
    return max_min_result(vals, Tensor._make(idx.astype(xp.int64)), name)


_MAX_MIN_SIGNATURES = Signatures(("", "Tensor other", "int dim, bool keepdim = False"),
                                 ("Tensor out = None",) * 2 + ("tuple of Tensors out = None",))


def max(a, dim=None, keepdim=False, other=None, *, out=None):  # noqa: A001
    return _max_min_out(_max_min(a, dim, keepdim, other, True), out, "max")


def min(a, dim=None, keepdim=False, other=None, *, out=None):  # noqa: A001
    return _max_min_out(_max_min(a, dim, keepdim, other, False), out, "min")


def _max_min_out(result, out, name):
    """``out=``: one tensor for the elementwise/full forms, a (values, indices) pair with dim."""
    if out is None:
        return result
    from ..return_types import max_min_result
    from .pointwise import _into

    if isinstance(result, tuple):
        values, indices = out
        return max_min_result(_into(values, result[0]), _into(indices, result[1]), name)
    return _into(out, result)


def _arg_check(a, dim, keepdim, name):
    """torch's argmax/argmin refusals: bool input, an empty input or reduced dim."""
    if dim is not None and type(dim) is not int:
        int_arg(dim, name, "dim", 1)
    if type(keepdim) is not bool:
        A.check_keepdim(keepdim, name)
    if a.dtype.name == "bool":
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if a.numel() == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        return None
    d = normalize_dim(dim, a.ndim)
    if a.ndim and a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return d


def argmax(a, dim=None, keepdim=False):
    from .._tensor import Tensor

    _arg_check(a, dim, keepdim, "argmax")
    if dim is None:
        r = xp.argmax(a._data.reshape(-1))
        return Tensor._make(xp.asarray(r, xp.int64).reshape((1,) * a.ndim if keepdim else ()))
    d = normalize_dim(dim, a.ndim)
    return Tensor._make(xp.argmax(a._data, axis=d, keepdims=keepdim).astype(xp.int64))


def argmin(a, dim=None, keepdim=False):
    from .._tensor import Tensor

    _arg_check(a, dim, keepdim, "argmin")
    if dim is None:
        r = xp.argmin(a._data.reshape(-1))
        return Tensor._make(xp.asarray(r, xp.int64).reshape((1,) * a.ndim if keepdim else ()))
    d = normalize_dim(dim, a.ndim)
    return Tensor._make(xp.argmin(a._data, axis=d, keepdims=keepdim).astype(xp.int64))


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def _var_args(dim, unbiased):
    """torch's ``var(unbiased)`` overload: a bool in the ``dim`` slot is ``unbiased``."""
    if isinstance(dim, bool):
        return None, dim
    return dim, unbiased


def _var_check(a):
    if not a.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")


def _spread(node, name, a, dim, unbiased, keepdim, correction):
    """var/std (``node``) of ``a``; ``name`` is the torch function named in the warning."""
    if type(dim) is not int or type(keepdim) is not bool or unbiased is not None or \
            correction is not None:
        dim = A.var_args(name, dim, unbiased, keepdim, correction)
    _var_check(a)
    dim, unbiased = _var_args(dim, unbiased)
    axes = normalize_dims(dim, a.ndim)
    correction = _correction(unbiased, correction)
    if _count(a.shape, axes) - correction <= 0:
        _warn_no_dof(name)
    return node.apply(as_float(a), axes=axes, keepdim=keepdim, correction=correction)


def _warn_no_dof(name):
    """torch's TORCH_WARN (every call, shown at the user's line) when the result is nan:
    e.g. ``returns.std()`` of a one-step episode."""
    import warnings

    from .._warn_once import user_stacklevel

    warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less "
                  "than the reduction factor (input numel divided by output numel).",
                  UserWarning, stacklevel=user_stacklevel())


def var(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _spread(Var, "var", a, dim, unbiased, keepdim, correction)


def std(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _spread(Std, "std", a, dim, unbiased, keepdim, correction)


def var_mean(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (_spread(Var, "var_mean", a, dim, unbiased, keepdim, correction),
            mean(a, dim, keepdim))


def std_mean(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (_spread(Std, "std_mean", a, dim, unbiased, keepdim, correction),
            mean(a, dim, keepdim))


def norm(a, p="fro", dim=None, keepdim=False, dtype=None):
    tp = type(p)
    if dim is not None or type(keepdim) is not bool or dtype is not None or \
            not (tp is float or tp is int or p is None or (tp is str and p in ("fro", "nuc"))):
        dim = A.norm_args(a, p, dim, keepdim, dtype)
    if dtype is not None:
        a = a.to(dtype)
    if not a.dtype.is_floating_point:
        if a.dtype.is_complex:  # the norm of |a| (real), as torch's
            return norm(a.abs(), p, dim, keepdim)
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dtype_title(a.dtype)}")
    if p == "fro" and dim is not None and not isinstance(dim, int) and len(dim) > 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":  # torch.norm's nuclear norm: linalg.matrix_norm's, over the last two dims
        from ..linalg import matrix_norm

        return matrix_norm(a, "nuc", dim=(-2, -1) if dim is None else dim, keepdim=keepdim)
    if isinstance(p, str):
        raise RuntimeError(f"norm(): unknown norm type {p!r}")
    axes = normalize_dims(dim, a.ndim)
    if p in (float("inf"), float("-inf")) and a.numel() == 0:
        _no_identity(a, axes, p)
    return Norm.apply(a, p=float(p), axes=axes, keepdim=keepdim)


def _no_identity(a, axes, p):
    """max/min of |a| over nothing: torch refuses the reduction (there is no identity)."""
    name = "inf" if p > 0 else "-inf"
    if not axes or len(axes) == a.ndim:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {name} norm on an empty tensor "
                           "because the operation does not have an identity")
    for ax in axes:
        if a.shape[ax] == 0:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {name} norm on the dimension {ax}because "
                "this dimension is empty and the operation does not have an identity")


def logsumexp(a, dim=None, keepdim=False):
    if type(dim) is not int:
        dim = A.dims_arg(dim, "logsumexp")
    if type(keepdim) is not bool:
        A.check_keepdim(keepdim, "logsumexp")
    a = as_float(a)
    axes = normalize_dims(dim, a.ndim)
    return LogSumExp.apply(a, axes=axes, keepdim=keepdim)


def _softmax_dtype(a, dtype, dim, name):
    if dtype is not None:
        A.check_dtype(dtype, name)
        a = a.to(dtype)  # then the same kernel check: dtype=int64 has no kernel either
    if a.dtype.is_floating_point or not a._data.size:  # torch passes an empty int/bool tensor
        return a
    last = a.ndim == 0 or normalize_dim(dim, a.ndim) == a.ndim - 1
    check_float_input(a, f"{name}{'_lastdim' if last else ''}_kernel_impl")
    return a


def softmax(a, dim=None, dtype=None, _stacklevel=3):
    if type(dim) is not int:  # None too: F.softmax picks the implicit dim before this
        dim = int_arg(dim, "softmax", "dim", 1)
    d = normalize_dim(dim, a.ndim)
    a = _softmax_dtype(a, dtype, d, "softmax")
    if not a.dtype.is_floating_point:  # an empty int/bool tensor: torch returns a copy
        return a.clone()
    return Softmax.apply(a, dim=d)


def log_softmax(a, dim=None, dtype=None, _stacklevel=3):
    if type(dim) is not int:  # None too: F.log_softmax picks the implicit dim before this
        dim = int_arg(dim, "log_softmax", "dim", 1)
    d = normalize_dim(dim, a.ndim)
    a = _softmax_dtype(a, dtype, d, "log_softmax")
    if not a.dtype.is_floating_point:  # an empty int/bool tensor: torch returns a copy
        return a.clone()
    return LogSoftmax.apply(a, dim=d)


def all(a, dim=None, keepdim=False):  # noqa: A001
    from .._tensor import Tensor

    axes = normalize_dims(dim, a.ndim)
    return Tensor._make(_logical_dtype(xp.all(a._data, axis=axes, keepdims=keepdim), a))


def any(a, dim=None, keepdim=False):  # noqa: A001
    from .._tensor import Tensor

    axes = normalize_dims(dim, a.ndim)
    return Tensor._make(_logical_dtype(xp.any(a._data, axis=axes, keepdims=keepdim), a))


def _logical_dtype(r, a):
    """all/any give bool, except uint8 input stays uint8 (torch's legacy rule)."""
    return xp.asarray(r, xp.uint8) if a.dtype.np == xp.uint8 else xp.asanyarray(r)  # keeps vmap marks


def count_nonzero(a, dim=None):
    from .._tensor import Tensor

    axes = normalize_dims(dim, a.ndim)
    return Tensor._make(xp.count_nonzero(a._data, axis=axes).astype(xp.int64))


__all__ = ["sum", "mean", "get_default_dtype"]

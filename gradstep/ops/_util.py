"""Helpers shared by the op families: argument preparation and un-broadcasting."""

from __future__ import annotations

import re

from .. import _parallel
from ..autograd.grad_mode import _GradState
from ..backend import as_dtype, get_default_dtype, result_type, xp


def matmul_arrays(a, b, out=None):
    """``a @ b`` on arrays; an inner size of 1 is an outer product, done by broadcasting.

    That is the same numbers (one product each) and ~5x faster than OpenBLAS's K=1
    GEMM (512x1 by 1x784: 85 us against 400), e.g. the weight gradient of a batch of 1.
    ``out``, when given, is written and returned (any strides; its dtype the result's).
    """
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1:
        return xp.multiply(a, b, out=out)
    if a.ndim >= 3 and a.ndim == b.ndim and a.shape[:-2] == b.shape[:-2]:
        return _batched_matmul(a, b, out)
    return xp.matmul(a, b, out=out)


# A product of fewer multiply-adds than this runs on one thread in OpenBLAS (its
# SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD), so a stack of such products (attention's
# per-head scores and weighted values) would use one core: gradstep's threads share the stack.
SMALL_GEMM = 65536 * 4
# multiply-adds in the whole stack: the transformer benchmark's attention (128 products of
# 64x32x64, 16.7M) ran as fast or slower split inside its step (see gradstep._parallel)
MIN_SPLIT_GEMM_WORK = 1 << 26


def _batched_matmul(a, b, out=None):
    """``matmul`` of two stacks of small matrices, the stack split among gradstep's threads.

    Each matrix product is the same BLAS call either way, so the numbers are the same.
    """
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = a.size // (m * k) if m * k else 0
    work = m * n * k
    if work >= SMALL_GEMM or batch * work < MIN_SPLIT_GEMM_WORK or a.shape[0] < 2 or \
            _parallel.get_num_threads() == 1:
        return xp.matmul(a, b, out=out)
    if out is None:
        out = xp.empty(a.shape[:-1] + (n,), xp.result_type(a, b))

    def chunk(lo, hi):
        xp.matmul(a[lo:hi], b[lo:hi], out=out[lo:hi])

    _parallel.run(chunk, _parallel.row_ranges(a.shape[0], batch * work))
    return out


_Tensor = None  # gradstep._tensor.Tensor, looked up once (import cycle): see tensor_cls


def tensor_cls():
    """``Tensor`` without a function-local import on the hot path (that costs ~1 us a call)."""
    global _Tensor
    if _Tensor is None:
        from .._tensor import Tensor

        _Tensor = Tensor
    return _Tensor


def to_tensor(x, dtype=None):
    """``x`` as a Tensor (Python scalars and arrays become constants)."""
    if isinstance(x, _Tensor or tensor_cls()):
        return x
    from .._creation import tensor

    return tensor(x, dtype=dtype)


def cast(t, dt):
    """``t`` converted to dtype ``dt`` (differentiable); ``t`` itself if already there."""
    if t.dtype is dt:
        return t
    from .elementwise import Cast

    return Cast.apply(t, dtype=dt)


def binary_args(a, b, broadcast=True):
    """Bring two operands (Tensor or scalar) to tensors of torch's promoted dtype.

    ``broadcast=False`` skips the elementwise broadcast check (matmul has its own).
    """
    Tensor = _Tensor or tensor_cls()
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:  # the common case: two tensors, read off their arrays
        da, db = a._data, b._data
        if broadcast and da.shape != db.shape:
            check_broadcast(da.shape, db.shape)
        if da.dtype is db.dtype or a.dtype is b.dtype:
            return a, b
    else:
        if not ta:
            a = _scalar_or_tensor(a)
            ta = isinstance(a, Tensor)
        if not tb:
            b = _scalar_or_tensor(b)
            tb = isinstance(b, Tensor)
        if ta and tb:
            if broadcast and a.shape != b.shape:
                check_broadcast(a.shape, b.shape)
            if a.dtype is b.dtype:
                return a, b
    dt = result_type(a, b)
    # asarray(...).astype: a Python int wraps into a narrower int dtype as in torch (uint8 - 2)
    a = cast(a, dt) if ta else Tensor._make(xp.asarray(a).astype(dt.np))
    b = cast(b, dt) if tb else Tensor._make(xp.asarray(b).astype(dt.np))
    return a, b


def check_broadcast(sa, sb):
    """Raise torch's RuntimeError (naming both sizes) if shapes ``sa`` and ``sb`` don't broadcast."""
    n = max(len(sa), len(sb))
    for i in range(1, n + 1):
        x = sa[-i] if i <= len(sa) else 1
        y = sb[-i] if i <= len(sb) else 1
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                f"at non-singleton dimension {n - i}"
            )


def into_shape_error(out_shape, *shapes):
    """torch's RuntimeError for writing operands of ``shapes`` into ``out_shape`` (in place):
    the pair of sizes that clash, else "output with shape ... doesn't match the broadcast shape"."""
    shape = tuple(out_shape)
    for s in shapes:
        check_broadcast(shape, tuple(s))  # raises torch's message when they don't broadcast
        shape = tuple(xp.broadcast_shapes(shape, tuple(s)))
    return RuntimeError(f"output with shape {list(out_shape)} doesn't match the "
                        f"broadcast shape {list(shape)}")


_NUMPY_BROADCAST = ("could not be broadcast", "could not broadcast", "non-broadcastable")


def numpy_broadcast_error(error):
    """torch's RuntimeError for NumPy's broadcast ValueError ``error`` (None for any other).

    NumPy names the shapes in its message: "operands could not be broadcast together with
    shapes (3,4) (2,4)", "could not broadcast input array from shape (3,4) into shape (2,4)",
    "non-broadcastable output operand with shape (1,4) doesn't match the broadcast shape (3,4)".
    Used where NumPy code writes state in place (an optimizer step on loaded state whose shape
    is wrong), so that the user reads torch's words.
    """
    text = str(error)
    if not isinstance(error, ValueError) or not any(m in text for m in _NUMPY_BROADCAST):
        return None
    if "->" in text:  # "remapped shapes [original->remapped]: (3,4)->(3,4) ..."
        text = " ".join(part.split("->")[0] for part in text.split(": ", 1)[-1].split())
    shapes = [tuple(int(n) for n in m.split(",") if n.strip())
              for m in re.findall(r"\(([\d,\s]*)\)", text)]
    if len(shapes) < 2:
        return RuntimeError(text)
    if "into shape" in text:  # "from shape S into shape D": D is written
        shapes.reverse()
    try:  # raises at the first clash of sizes, in NumPy's order
        into = into_shape_error(shapes[0], *shapes[1:])
    except RuntimeError as clash:
        return clash
    # the sizes broadcast: the output (first) cannot hold them
    return into if "into shape" in text or "non-broadcastable" in text else RuntimeError(text)


def _scalar_or_tensor(x):
    if isinstance(x, (bool, int, float, complex)):
        return x
    return to_tensor(x)


def sum_to(g, shape):
    """Sum gradient ``g`` down to ``shape`` (undo broadcasting)."""
    gs = g._data.shape
    if gs == shape:
        return g
    nd = len(gs) - len(shape)
    axes = tuple(range(nd)) + tuple(
        i + nd for i, s in enumerate(shape) if s == 1 and gs[i + nd] != 1
    )
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    if nd or g._data.shape != shape:
        g = g.reshape(shape)
    return g


def dim_index_error(dim, ndim):
    """torch's IndexError for reading size ``dim`` of an ``ndim``-d tensor that lacks it."""
    if ndim == 0:
        return IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                      f"but got {dim})")


def normalize_dim(dim, ndim, name="dim"):
    """A non-negative axis, with torch's IndexError for out-of-range dims."""
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not lo <= dim <= hi:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim % ndim if ndim else 0


def normalize_dims(dim, ndim):
    """``dim`` (None, int, or sequence) as a sorted tuple of axes; None means all."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (normalize_dim(dim, ndim),)
    dims = tuple(normalize_dim(d, ndim) for d in dim)
    if not dims:
        return tuple(range(ndim))
    return tuple(sorted(set(dims)))


def float_dtype_for(t):
    """The dtype a float-only op (exp, mean, ...) computes in for tensor ``t``."""
    dt = t.dtype
    return dt if dt.is_floating_point or dt._category == 3 else get_default_dtype()


def as_float(t):
    return cast(t, float_dtype_for(t))


_TITLES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
           "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
           "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
           "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "float8_e4m3fn": "Float8_e4m3fn",
           "float8_e5m2": "Float8_e5m2", "float8_e4m3fnuz": "Float8_e4m3fnuz",
           "float8_e5m2fnuz": "Float8_e5m2fnuz"}


def dtype_title(dt):
    """torch's ScalarType name for a dtype, as its messages spell it (Float, Long, Bool, ...)."""
    return _TITLES.get(dt.name, dt.name.capitalize())


def check_float_input(t, kernel):
    """torch's NotImplementedError for a float-only kernel given an integer or bool tensor."""
    if not t.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(t.dtype)}\'')


def check_grad_dtype(t, dt):
    """torch refuses to record a differentiable op whose result dtype ``dt`` is not float."""
    if not dt.is_floating_point and _GradState.enabled and t.requires_grad:
        raise RuntimeError(f"Autograd not support dtype: {dtype_title(dt)}")


__all__ = ["as_dtype", "binary_args", "sum_to", "normalize_dim", "normalize_dims", "cast"]

"""float16 and bfloat16 arithmetic that computes in float32 and rounds once, as torch's CPU
kernels do: the one place where gradstep's low-precision rounding is decided.

torch's CPU kernels for float16/bfloat16 (its Vectorized<Half>/<BFloat16> paths) convert
each element to float32, compute the whole op there and round the result once; products
and reductions accumulate in float32; a Python scalar meets a low-precision tensor in
float32 ("opmath": ``t * 0.3`` multiplies by float32(0.3), not half(0.3)). NumPy applies one
ufunc at a time to float16 (and, through ml_dtypes, bfloat16) and rounds after each, so a
composite op (sigmoid, layer_norm, ``a + alpha * b``) would round its intermediates, and
sums would accumulate in the low-precision type. The decorators here give a node or
function torch's one rounding without touching the float32/float64 paths: the test is
one dtype check (``is_lowp``).

Where torch's kernel keeps an intermediate in the low-precision type (the statistics
batch_norm and layer_norm save, log_softmax's row sums, ``add``'s ``alpha``), or fuses a
multiply-add (lerp, batch_norm), the op says so with ``rounded``/``fma``/``lowp_dtype``;
where its backward is a derivative formula of Tensor ops, each op rounds (``backward=False``).
Each rule is measured against torch 2.13's results (tests/ops/test_lowp_rounding.py): some
differ between float16 and bfloat16 (``BF16_ONLY``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect

from ..backend import xp

F32 = xp.dtype(xp.float32)


def is_lowp(dt) -> bool:
    """Whether NumPy dtype ``dt`` is float16 ("e") or bfloat16 ("E"): one string test, and
    no import of ml_dtypes."""
    return dt.char in "eE"


def is_bf16(a) -> bool:
    """Whether array ``a`` is bfloat16 (the only NumPy kind "V" dtype gradstep has)."""
    return a.dtype.kind == "V"


def up(a):
    """A float16/bfloat16 array as float32 for the computation: ``(array, original_dtype)``.

    ``original_dtype`` is None when ``a`` is returned unchanged (any other dtype).
    """
    dt = a.dtype
    if dt.char in "eE":
        return a.astype(F32), dt
    return a, None


def down(out, dt):
    """Round a float32 result back to ``dt`` (from ``up``); a no-op when ``dt`` is None."""
    return out if dt is None else out.astype(dt)


def opmath_scalar(v, dt):
    """Python number ``v`` as torch's kernels use it with a tensor of NumPy dtype ``dt``:
    float32 for float16/bfloat16 (their opmath type), else ``dt``'s own scalar type."""
    return xp.float32(v) if dt.char in "eE" else dt.type(v)


def rounded(a, dt):
    """float32 array ``a`` rounded to ``dt`` (float16/bfloat16) and read back as float32: an
    intermediate that torch's kernel stores in the low-precision type."""
    return a.astype(dt).astype(F32)


def fma(a, b, c):
    """``a * b + c`` on float32 arrays/scalars with one float32 rounding, as torch's
    vectorized ``fmadd`` (lerp, batch_norm): the product is exact in float64."""
    return (xp.asarray(a, xp.float64) * b + c).astype(F32)


def _up_all(arrays):
    return [a if a is None or a.dtype.char not in "eE" else a.astype(F32) for a in arrays]


# ``float32_compute(backward=...)``: the low-precision dtypes (their NumPy type codes) whose
# backward runs in float32. Some of torch's backward kernels are float32 for bfloat16 but
# round after each step for float16 (sigmoid's): ``BF16_ONLY`` there.
BOTH, BF16_ONLY = "eE", "E"


def float32_compute(cls=None, *, backward=True, dtypes=BOTH):
    """Class decorator for a ``Node`` whose ``forward`` (and ``backward``) should run in
    float32 when its first array is float16/bfloat16, rounding each result once to that
    dtype. The wrapped backward sees the incoming gradient and the saved tensors as float32.

    ``dtypes``: the low-precision dtypes this applies to (``BOTH``, or ``BF16_ONLY`` where
    torch's float16 kernel rounds as NumPy's float16 ops do). ``backward``: True (the same
    dtypes), False, or ``BF16_ONLY``. An unwrapped backward is torch's derivative formula in
    Tensor ops, each rounded as torch rounds them (or ops that come back through wrapped
    forwards). A backward that records a graph (``create_graph=True``) runs unwrapped: its
    Tensor ops round after every op.
    """
    if cls is None:
        return functools.partial(float32_compute, backward=backward, dtypes=dtypes)
    fwd = cls.forward

    @functools.wraps(fwd)
    def forward(self, *arrays):
        dt = arrays[0].dtype
        if dt.char not in dtypes:
            return fwd(self, *arrays)
        self._lowp = dt
        out = fwd(self, *_up_all(arrays))
        if self.__dict__.get("out_dtype") is not None:  # sum(..., dtype=...) asked for a dtype
            return out
        return out.astype(dt)

    cls.forward = forward
    if backward:
        cls.backward = _wrap_backward(cls.backward, dtypes if backward is True else backward)
    return cls


def lowp_dtype(node):
    """The float16/bfloat16 NumPy dtype a ``float32_compute`` node computes for (its first
    input's), or None: lets a forward round an intermediate where torch's kernel does."""
    return node.__dict__.get("_lowp")


def _wrap_backward(bwd, chars):
    @functools.wraps(bwd)
    def backward(self, g):
        from ..autograd.grad_mode import _GradState

        dt = self.__dict__.get("_lowp")
        if dt is None or dt.char not in chars or _GradState.enabled:
            return bwd(self, g)
        with _float32_saved(self):
            grads = bwd(self, _tensor(g._data.astype(F32)))
        if isinstance(grads, tuple):
            return tuple(_round(t, dt) for t in grads)
        return _round(grads, dt)

    return backward


@contextlib.contextmanager
def _float32_saved(node):
    """During ``node``'s backward, its saved low-precision tensors (and saved output) read as
    float32 copies that share their version counters, so derivatives are computed in
    float32 and only the returned gradients are rounded."""
    saved, out = node._saved, node.__dict__.get("_out_data")
    unpack = node.__dict__.get("_unpack")
    plain = saved
    if unpack is not None:  # packed by saved_tensors_hooks (checkpoint): unpack them first
        plain = tuple(_with_vc(t, vc) for t, vc in zip(node.saved_tensors, node._saved_vcs))
        node._unpack = None
    node._saved = tuple(_as_float32(t) for t in plain)
    if out is not None and out.dtype.char in "eE":
        node._out_data = out.astype(F32)
    try:
        yield
    finally:
        node._saved = saved
        if unpack is not None:
            node._unpack = unpack
        if out is not None:
            node._out_data = out


def _with_vc(t, vc):
    """An alias of unpacked ``t`` under the saved tensor's version counter ``vc`` (what the
    node's version check reads)."""
    t = t._alias()
    t._vc = vc
    return t


def _as_float32(t):
    if t._data.dtype.char not in "eE":
        return t
    up = _tensor(t._data.astype(F32))
    up._vc = t._vc
    return up


def _tensor(arr):
    from .._tensor import Tensor

    return Tensor._make(arr)


def _round(t, dt):
    """A float32 gradient rounded to ``dt`` (the input's float16/bfloat16)."""
    if t is None or t._data.dtype != F32:
        return t
    return _tensor(t._data.astype(dt))


def float32_function(*names):
    """Function decorator for ops torch computes in float32 for float16/bfloat16 input
    (layer_norm, batch_norm, ...): a low-precision first argument, and the arguments
    ``names`` when they are low-precision, are cast to float32 (differentiably), and the
    result is rounded back once. The result has the input's dtype even with float32
    weights, as in torch.
    """
    def decorate(fn):
        sig = inspect.signature(fn)
        first = next(iter(sig.parameters))

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            x = args[0] if args else kwargs.get(first)
            data = getattr(x, "_data", None)
            if data is None or data.dtype.char not in "eE":
                return fn(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            for name in (first,) + names:
                v = bound.arguments.get(name)
                if v is not None and v._data.dtype.char in "eE":
                    bound.arguments[name] = v.float()
            return fn(*bound.args, **bound.kwargs).to(x.dtype)

        return wrapper

    return decorate

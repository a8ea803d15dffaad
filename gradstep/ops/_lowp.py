"""bfloat16 arithmetic that accumulates in float32, as torch's CPU kernels do.

NumPy (through ml_dtypes) applies elementwise ufuncs to bfloat16 by converting
each element to float32, computing and rounding back, which is what torch does
too. Products and reductions are different: NumPy would accumulate in bfloat16
(``ones(1000).sum()`` stops at 256) or refuses (``einsum``), while torch sums in
float32 and rounds the result once. The helpers here give gradstep's products
and reductions that behaviour without touching their float32/float64 paths.
"""

from __future__ import annotations

import contextlib
import functools
import inspect

from .. import backend as B
from ..backend import xp

F32 = xp.dtype(xp.float32)


def is_bf16(a) -> bool:
    """Whether array ``a`` is bfloat16 (the only NumPy kind "V" dtype gradstep has)."""
    return a.dtype.kind == "V"


def up(a):
    """A float16/bfloat16 array as float32 for the computation: ``(array, original_dtype)``.

    ``original_dtype`` is None when ``a`` is returned unchanged (any other dtype).
    """
    dt = a.dtype
    if dt.kind == "V" or dt == xp.float16:
        return a.astype(F32), dt
    return a, None


def down(out, dt):
    """Round a float32 result back to ``dt`` (from ``up``); a no-op when ``dt`` is None."""
    return out if dt is None else out.astype(dt)


def _up_all(arrays):
    return [a if a is None or a.dtype.kind != "V" else a.astype(F32) for a in arrays]


def float32_compute(cls=None, *, backward=True):
    """Class decorator for a ``Node`` whose ``forward`` (and ``backward``) should run in
    float32 when given bfloat16 arrays, rounding each result once. The wrapped backward
    sees the incoming gradient and the saved tensors as float32.

    With ``backward=False`` only ``forward`` is wrapped (for nodes whose backward is
    written in Tensor ops that come back through wrapped forwards). A backward that
    records a graph (``create_graph=True``) runs unwrapped: its Tensor ops see
    bfloat16 tensors and round after every op.
    """
    if cls is None:
        return functools.partial(float32_compute, backward=backward)
    fwd = cls.forward

    @functools.wraps(fwd)
    def forward(self, *arrays):
        if arrays[0].dtype.kind != "V":
            return fwd(self, *arrays)
        out = fwd(self, *_up_all(arrays))
        self._bf16 = True
        if self.__dict__.get("out_dtype") is not None:  # sum(..., dtype=...) asked for a dtype
            return out
        return out.astype(B.bfloat16.np)

    cls.forward = forward
    if backward:
        cls.backward = _wrap_backward(cls.backward)
    return cls


def _wrap_backward(bwd):
    @functools.wraps(bwd)
    def backward(self, g):
        from ..autograd.grad_mode import _GradState

        if not self.__dict__.get("_bf16") or _GradState.enabled:
            return bwd(self, g)
        with _float32_saved(self):
            grads = bwd(self, _tensor(g._data.astype(F32)))
        if isinstance(grads, tuple):
            return tuple(_round(t) for t in grads)
        return _round(grads)

    return backward


@contextlib.contextmanager
def _float32_saved(node):
    """During ``node``'s backward, its saved bfloat16 tensors (and saved output) read as
    float32 copies that share their version counters, so derivatives are computed in
    float32 and only the returned gradients are rounded."""
    saved, out = node._saved, node.__dict__.get("_out_data")
    node._saved = tuple(_as_float32(t) for t in saved)
    if out is not None and out.dtype.kind == "V":
        node._out_data = out.astype(F32)
    try:
        yield
    finally:
        node._saved = saved
        if out is not None:
            node._out_data = out


def _as_float32(t):
    if t._data.dtype.kind != "V":
        return t
    up = _tensor(t._data.astype(F32))
    up._vc = t._vc
    return up


def _tensor(arr):
    from .._tensor import Tensor

    return Tensor._make(arr)


def _round(t):
    """A float32 gradient rounded to bfloat16 (the input's dtype)."""
    if t is None or t._data.dtype.kind == "V":
        return t
    return _tensor(t._data.astype(B.bfloat16.np))


def float32_function(*names):
    """Function decorator for ops torch computes in float32 for bfloat16 input (layer_norm,
    batch_norm, ...): a bfloat16 first argument, and the arguments ``names`` when they are
    bfloat16, are cast to float32 (differentiably), and the result is rounded back to
    bfloat16 once. The result has the input's dtype even with float32 weights, as in torch.
    """
    def decorate(fn):
        sig = inspect.signature(fn)
        first = next(iter(sig.parameters))

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            x = args[0] if args else kwargs.get(first)
            data = getattr(x, "_data", None)
            if data is None or data.dtype.kind != "V":
                return fn(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            for name in (first,) + names:
                v = bound.arguments.get(name)
                if v is not None and v._data.dtype.kind == "V":
                    bound.arguments[name] = v.float()
            return fn(*bound.args, **bound.kwargs).to(x.dtype)

        return wrapper

    return decorate

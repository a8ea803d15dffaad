"""``out=`` for the functions of the issue-17 families (linalg, counting, building): the result
is computed as usual and written into ``out`` (resized to the result's shape), which is
returned; refused while the result is recorded in a graph, as torch refuses it."""

from __future__ import annotations

import functools
import inspect


def write_out(name, result, out):
    from .._tensor import Tensor

    results = result if isinstance(result, tuple) else (result,)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if len(outs) != len(results):
        raise RuntimeError(f"{name}(): expected {len(results)} out tensors, got {len(outs)}")
    for r, o in zip(results, outs):
        if isinstance(r, Tensor) and r.requires_grad:
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
    for r, o in zip(results, outs):
        if tuple(o.shape) != tuple(r.shape):
            o.resize_(tuple(r.shape))
        o.copy_(r)
    if isinstance(result, tuple):
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    return outs[0]


def outable(fn, name=None):
    """``fn`` with a working ``out=`` (``fn`` itself declares and ignores it)."""
    label = name or fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        res = fn(*args, **kwargs)
        return res if out is None else write_out(label, res, out)

    return wrapper


def wrap_namespace(namespace, names=None):
    """Give every function in ``namespace`` (a dict) that declares ``out`` a working one."""
    for key in list(names if names is not None else namespace):
        fn = namespace[key]
        if not callable(fn) or isinstance(fn, type):
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        if "out" in params and not getattr(fn, "__wrapped__", None):
            namespace[key] = outable(fn, key)

"""``torch.autograd.graph.allow_mutation_on_saved_tensors``: under it, an in-place change of a
tensor that a recorded op saved for backward keeps the saved original (cloned on write)
instead of making backward raise the version-counter error.

While the context is entered every op runs through ``function._op_hook`` (and every user
``Function`` through ``function._fn_hook``), which only notes the node it recorded. Each
in-place write reaches ``Tensor._check_writable`` first; there, when ``active`` is set (the
one flag the write paths look at), every noted node that still holds memory the write is
about to change gets a copy of it: its saved tensors (``_saved``, swapped for clones that keep
the saved version and the original's place in the graph) and the arrays its ``forward`` kept
(including a saved output, whose version check is reset to the copy).

A backward run after the context has exited is refused with torch's error when it reaches a
node that saved tensors (``_saved``); differences from torch: one whose nodes keep arrays of
their own only (or a user ``Function``'s) is not refused, and memory is compared by address
range (``may_share_memory``), so an unrelated array of the same buffer may be copied too,
which costs memory but changes no number.
"""

from __future__ import annotations

import contextlib
import weakref

from ..backend import xp
from . import function as _function

active = None  # the entered context, or None


class _AllowMutationOnSavedContext:
    """The state of one ``allow_mutation_on_saved_tensors`` context: the nodes recorded in it."""

    def __init__(self):
        self.nodes = weakref.WeakSet()
        self._hooks = None

    def clear(self):
        self.nodes.clear()

    def close(self):
        """The context exits: a backward that reads what its nodes saved is refused, as
        torch's unpack hook refuses it (the clones are no longer kept up to date)."""
        for node in list(self.nodes):
            d = node.__dict__
            if d.get("_saved") and d.get("_unpack") is None and not d.get("_freed"):
                node._unpack = _refuse_outside
        self.clear()


def _refuse_outside(saved):
    raise AssertionError("Trying to backward outside of the 'allow_mutation_on_saved_tensors' "
                         "contextin which the graph was originally recorded.")


def _run_with_previous(apply, args, kwargs):
    hooks = _function._op_hook, _function._fn_hook
    _function._op_hook, _function._fn_hook = active._hooks
    try:
        return apply(*args, **kwargs)
    finally:
        _function._op_hook, _function._fn_hook = hooks


def _note(out):
    from .._tensor import Tensor

    for o in out if isinstance(out, (tuple, list)) else (out,):
        if isinstance(o, Tensor) and o.grad_fn is not None:
            active.nodes.add(o.grad_fn)


def _node_hook(cls, inputs, attrs):
    out = _run_with_previous(cls.apply, inputs, attrs)
    _note(out)
    return out


def _fn_hook(cls, args, kwargs):
    out = _run_with_previous(cls.apply, args, kwargs)
    _note(out)
    return out


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """Context manager under which mutating tensors saved for backward is allowed: the
    saved value is cloned on mutation, so backward uses the original."""
    global active
    if active is not None:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    ctx = _AllowMutationOnSavedContext()
    ctx._hooks = (_function._op_hook, _function._fn_hook)
    _function._op_hook, _function._fn_hook = _node_hook, _fn_hook
    active = ctx
    try:
        yield ctx
    finally:
        _function._op_hook, _function._fn_hook = ctx._hooks
        ctx.close()
        active = None


# ---------------------------------------------------------------- clone on write
def before_write(t):
    """``t``'s memory is about to change in place: the noted nodes that hold it get a copy."""
    arr = t._data
    for node in list(active.nodes):
        _protect(node, arr)


def _shares(a, arr):
    return isinstance(a, xp.ndarray) and xp.may_share_memory(a, arr)


def _protect(node, arr):
    d = node.__dict__
    saved = d.get("_saved")
    if saved and d.get("_unpack") is None:
        versions = d.get("_saved_versions") or (None,) * len(saved)
        if any(s is not None and _shares(s._data, arr) for s in saved):
            d["_saved"] = tuple(_clone_saved(s, v) if s is not None and _shares(s._data, arr)
                                else s for s, v in zip(saved, versions))
    for key, value in list(d.items()):
        if _shares(value, arr):
            d[key] = value.copy()
            if key == "_out_data":  # the saved output: its version check now reads the copy
                d["_out_vc"] = [d["_out_version"]]
        elif isinstance(value, (tuple, list)) and key != "_saved" and any(
                _shares(v, arr) for v in value):
            d[key] = type(value)(v.copy() if _shares(v, arr) else v for v in value)


def _clone_saved(s, version):
    """A saved tensor's stand-in holding a copy of its values: the saved version, and the
    same place in the graph (a leaf's gradient still reaches the original leaf)."""
    from .._tensor import Tensor
    from .function import _edge

    c = Tensor._make(s._data.copy(), s._rg, s.grad_fn)
    c._out_nr = s._out_nr
    c._vc = [s._vc[0] if version is None else version]
    if s._rg and s.grad_fn is None:
        _edge(s)  # the leaf's accumulator, shared with the stand-in
        c._acc = s._acc
    return c

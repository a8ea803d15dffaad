"""``torch.utils.swap_tensors`` and ``torch.utils.set_module``.

A gradstep tensor's "impl" (what torch's ``_swap_tensor_impl`` exchanges: data, autograd
metadata, version counter, hooks) lives in ``Tensor``'s own ``__slots__``, so swapping every
slot, the ``__dict__`` and the class exchanges the whole content while each Python object
keeps its identity, as torch's does.
"""

from __future__ import annotations

import copyreg
import weakref

__all__ = ["swap_tensors", "set_module"]

_POISONED = (
    "Trying to execute AccumulateGrad node that was poisoned by swap_tensors "
    "this can happen when you try to run backward on a tensor that was swapped. "
    "For a module m with `torch.__future__.set_swap_module_params_on_conversion(True)` "
    "you should not change the device or dtype of the module (e.g. `m.cpu()` or `m.half()`) "
    "between running forward and backward. To resolve this, please only change the "
    "device/dtype before running forward (or after both forward and backward)."
)


def set_module(obj, mod):
    """Set ``obj.__module__`` (for nicer printing); ``mod`` must be a string."""
    if not isinstance(mod, str):
        raise TypeError("The mod argument should be a string")
    obj.__module__ = mod


def _user_weakrefs(t):
    """Weak references to ``t`` other than gradstep's own bookkeeping ones (the ``.data``
    alias list and ``retain_grad``'s back-reference: torch keeps those in C++, unseen)."""
    from .._tensor import _InternalRef

    return [r for r in weakref.getweakrefs(t) if not isinstance(r, _InternalRef)]


def _error_pre_hook(grad_outputs):
    raise RuntimeError(_POISONED)


def _live_accumulator(t):
    ref = getattr(t, "_acc", None)
    return ref() if ref is not None else None


def _poison_accumulator(t):
    """torch's use-count rule, as far as gradstep can see it: a leaf whose ``AccumulateGrad``
    node is alive (a graph through it was recorded and not yet freed) may be swapped, and that
    node then raises if backward reaches it."""
    acc = _live_accumulator(t)
    if acc is not None:
        acc.register_prehook(_error_pre_hook)
    return acc


def swap_tensors(t1, t2):
    """Swap the content of two Tensor objects: ``t1`` gets ``t2``'s content (data, class,
    attributes, autograd state) while each object keeps its identity."""
    if _user_weakrefs(t1):
        raise RuntimeError("Cannot swap t1 because it has weakref associated with it")
    if _user_weakrefs(t2):
        raise RuntimeError("Cannot swap t2 because it has weakref associated with it")
    t1_slots = set(copyreg._slotnames(t1.__class__))
    t2_slots = set(copyreg._slotnames(t2.__class__))
    if t1_slots != t2_slots:
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    acc1, acc2 = _poison_accumulator(t1), _poison_accumulator(t2)

    def swap_attr(name):
        tmp = getattr(t1, name)
        setattr(t1, name, getattr(t2, name))
        setattr(t2, name, tmp)

    swap_attr("__class__")
    swap_attr("__dict__")
    for slot in t1_slots:  # the Tensor slots among them are the impl
        if hasattr(t1, slot) and hasattr(t2, slot):
            swap_attr(slot)
        elif hasattr(t1, slot):
            setattr(t2, slot, getattr(t1, slot))
            delattr(t1, slot)
        elif hasattr(t2, slot):
            setattr(t1, slot, getattr(t2, slot))
            delattr(t2, slot)
    _repoint(acc1, acc2, t1, t2)


def _repoint(acc1, acc2, t1, t2):
    """Nodes that point back at a Python tensor follow the content, as torch's hold the impl."""
    if acc1 is not None:
        acc1.variable = t2
    if acc2 is not None:
        acc2.variable = t1
    for t, other in ((t1, t2), (t2, t1)):
        fn = getattr(t, "grad_fn", None)
        ref = getattr(fn, "_retain", None) if fn is not None else None
        if ref is not None and ref() is other:
            from .._tensor import _InternalRef

            fn._retain = _InternalRef(t)

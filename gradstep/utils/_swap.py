"""``torch.utils.swap_tensors`` and ``torch.utils.set_module``.

A gradstep tensor's "impl" (what torch's ``_swap_tensor_impl`` exchanges: data, autograd
metadata, version counter, hooks) lives in ``Tensor``'s own ``__slots__``, so swapping every
slot, the ``__dict__`` and the class exchanges the whole content while each Python object
keeps its identity, as torch's does.
"""

from __future__ import annotations

import copyreg
import gc
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


def _nodes_holding(obj):
    """The graph nodes that hold ``obj`` as an attribute or inside a tuple attribute (found
    through the garbage collector's referrer lists: a node's ``__dict__`` may be the referrer)."""
    from ..autograd.function import Node

    nodes = {}
    for r in gc.get_referrers(obj):
        if isinstance(r, Node):
            nodes[id(r)] = r
        elif isinstance(r, (tuple, dict)):
            for owner in gc.get_referrers(r):
                if isinstance(owner, Node):
                    nodes[id(owner)] = owner
                elif isinstance(owner, dict) and isinstance(r, tuple):
                    nodes.update((id(n), n) for n in gc.get_referrers(owner)
                                 if isinstance(n, Node) and vars(n) is owner)
    return nodes.values()


def _held(node, targets):
    """How many times ``node`` holds one of ``targets`` (a saved output excepted: torch's
    saved output does not hold the output's impl)."""
    n = 0
    for k, v in vars(node).items():
        if k == "_out_data" or k == "_next":
            continue
        if isinstance(v, tuple):
            n += sum(1 for x in v if any(x is t for t in targets))
        elif any(v is t for t in targets):
            n += 1
    return n


def _saved_refs(node, t):
    """The references to ``t`` that ``node`` counts in torch's use count. torch saves an input
    of a multi-input op only for another input's gradient (``w * x`` with a constant ``x``
    does not save ``w``, nor ``linear`` its weight for the bias); gradstep's nodes save every
    input, so a reference counts where another input is a computed tensor that requires grad,
    or where ``t`` is several of the inputs (``a * a``). Two leaves (``w1 * w2``) are not
    counted: the swap is then allowed where torch refuses it, and the poisoned
    ``AccumulateGrad`` still stops a backward through the old graph."""
    from ..autograd.function import AccumulateGrad, BackwardCFunction

    if isinstance(node, AccumulateGrad):
        return int(node.variable is t)
    held = _held(node, (t, t._data))
    edges = getattr(node, "_next", ())
    if not held or isinstance(node, BackwardCFunction) or len(edges) <= 1:
        return held
    own = None if not t._rg else (t.grad_fn, t._out_nr) if t.grad_fn is not None else (
        _live_accumulator(t), 0)
    mine = [e for e in edges if e is not None and own is not None and e == own]
    others = [e for e in edges if e is not None and not (own is not None and e == own)
              and not isinstance(e[0], AccumulateGrad)]
    return held if others or len(mine) >= 2 else 0


def _use_count(t):
    """torch's ``_use_count()`` (references to the tensor's impl) as far as gradstep can see
    it: the tensor itself, its live ``AccumulateGrad``, its views and what recorded nodes saved
    of it. References held by Python containers and frames are not counted, as torch does not
    count them."""
    from .._tensor import Tensor

    count = 1 + sum(1 for r in gc.get_referrers(t) if isinstance(r, Tensor) and r._base is t)
    nodes = {id(n): n for n in _nodes_holding(t)}
    nodes.update((id(n), n) for n in _nodes_holding(t._data))
    return count + sum(_saved_refs(n, t) for n in nodes.values())


def _keep_saved_content(t):
    """Nodes that saved the Python object ``t`` get a stand-in holding its present content
    (torch's saved variables hold the impl, which the swap does not move)."""
    from .._tensor import Tensor

    for node in _nodes_holding(t):
        saved = vars(node).get("_saved")
        if saved and any(x is t for x in saved):
            stand_in = Tensor._make(t._data, t._rg, t.grad_fn)
            stand_in._vc, stand_in._out_nr, stand_in._acc = t._vc, t._out_nr, t._acc
            node._saved = tuple(stand_in if x is t else x for x in saved)


def _check_use_count(t, name):
    """torch's rule: one reference, or two with the second the leaf's ``AccumulateGrad`` (that
    node then raises if backward reaches it)."""
    count = _use_count(t)
    if count <= 1:
        return None
    if count == 2 and t.is_leaf:
        if not t.requires_grad:  # torch asks for the gradient edge here
            raise RuntimeError("It is not possible to get the gradient edge for a Tensor that "
                               "does not require gradients")
        acc = _live_accumulator(t)
        if acc is not None:
            acc.register_prehook(_error_pre_hook)
            return acc
    raise RuntimeError(f"Expected use_count of {name} to be 1 or 2 with an AccumulateGrad node "
                       f"but got {count} make sure you are not holding references to the "
                       "tensor in other places.")


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
    acc1, acc2 = _check_use_count(t1, "t1"), _check_use_count(t2, "t2")
    _keep_saved_content(t1)
    _keep_saved_content(t2)

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

"""Graph nodes: the built-in op base ``Node``, ``AccumulateGrad``, and the public ``Function``.

A built-in op is a ``Node`` subclass with

* ``forward(self, *arrays) -> array``: the computation on raw backend arrays;
* ``backward(self, grad) -> tuple``: the gradient for each input, written in
  Tensor ops so that gradients of gradients work (``create_graph=True``);
* ``saves``: indices of the inputs that ``backward`` needs, and ``saves_output``.

``apply`` runs ``forward`` (with NumPy's floating-point warnings off) and, when grad mode is
on and an input requires grad, records the node in the graph. Saved tensors are checked against their version
counter when ``backward`` reads them, so an in-place change after saving is caught.
"""

from __future__ import annotations

import re
import threading
import weakref

from .._errstate import IGNORE as _IGNORE
from .._errstate import get_state as _get_state
from .._errstate import reset_state as _reset_state
from .._errstate import set_state as _set_state
from .._hook_handle import RemovableHandle
from . import _view_meta
from . import anomaly_mode as _anomaly
from .anomaly_mode import _AnomalyState
from .grad_mode import _GradState, enable_grad, no_grad

_Tensor = None  # set by gradstep._tensor to break the import cycle
FREED_GRAPH_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
_acc_lock = threading.Lock()
#: ``hook(cls, inputs, attrs) -> Tensor`` that runs every op in its place while set (the
#: selective activation checkpoint contexts of ``utils.checkpoint``); None otherwise
_op_hook = None
#: ``hook(cls, args, kwargs)`` that runs every user ``autograd.Function`` in its place while
#: set (a level of ``autograd.forward_ad``); None otherwise
_fn_hook = None


class Node:
    """A recorded operation (a tensor's ``grad_fn``)."""

    saves: tuple = ()
    saves_output = False
    is_view = False
    n_out = 1
    _pre_hooks = None  # hooks registered on a non-leaf output tensor
    _retain = None  # weakref to a non-leaf tensor that called retain_grad()
    _freed = False
    holds_saved = False  # backward reads values the node kept itself: see ``release``
    _saved = ()
    _name = None
    # next_functions as torch lists them, where its node has other inputs than gradstep's:
    # indices into ``_next``, None for an input that torch lists without a graph (a Python
    # scalar torch wraps in a tensor); None: ``_next`` as it is
    _shown_edges = None
    _unpack = None  # the unpack hook when saved tensors were packed (graph.saved_tensors_hooks)
    _node_pre_hooks = None  # Node.register_prehook: hook(grad_outputs)
    _post_hooks = None  # Node.register_hook: hook(grad_inputs, grad_outputs)

    # -- graph recording -------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **attrs):
        if _op_hook is not None:  # a selective-checkpoint context is active (utils._sac)
            return _op_hook(cls, inputs, attrs)
        node = cls.__new__(cls)
        if attrs:
            node.__dict__.update(attrs)
        # NumPy silent about inf/nan, as torch is (see gradstep._errstate; inlined: once per op)
        token = _set_state(_IGNORE) if _get_state() is not _IGNORE else None
        try:
            n = len(inputs)
            if n == 1:
                out = node.forward(inputs[0]._data)
            elif n == 2:  # no list to build and unpack for the binary ops
                out = node.forward(inputs[0]._data, inputs[1]._data)
            else:
                out = node.forward(*[t._data for t in inputs])
        finally:
            if token is not None:
                _reset_state(token)
        res = None
        if _GradState.enabled:
            for t in inputs:
                if t._rg or (t._base is not None and _stale_view(t) and t._rg):
                    res = node._record(inputs, out)
                    break
        if res is None:
            res = _Tensor._make(out)
        # a view op may still copy (reshape of a non-contiguous array): only a result that
        # shares the input's memory shares its version counter
        if cls.is_view and out.base is not None and _same_memory(out, inputs[0]._data):
            src = inputs[0]
            res._vc = src._vc
            res._base = src._base if src._base is not None else src
            # the base version this view's grad_fn reflects (None: made under no_grad, untracked)
            res._view_vc = src._vc[0] if _GradState.enabled else None
            if not _GradState.enabled:  # torch refuses to change it in place with grad mode on
                res._view_meta = _view_meta.MADE_UNDER_NO_GRAD
            elif src._view_meta is not None and src._base is not None:
                res._view_meta = _view_meta.inherited(src, node, res)
            if src._custom_fn_view is not None:
                _inherit_custom_fn_view(res, src)
        if _AnomalyState.enabled:
            _anomaly.on_forward(node, inputs, out)
        return res

    def _record(self, inputs, out_data):
        if len(inputs) == 1:  # the common arities without comprehensions (a call each)
            d = inputs[0]._data
            self._next = (_edge(inputs[0]),)
            self._metas = ((d.shape, d.dtype),)
        elif len(inputs) == 2:
            a, b = inputs
            da, db = a._data, b._data
            self._next = (_edge(a), _edge(b))
            self._metas = ((da.shape, da.dtype), (db.shape, db.dtype))
        else:
            self._next = tuple([_edge(t) for t in inputs])
            self._metas = tuple([(t._data.shape, t._data.dtype) for t in inputs])
        saves = self.saves
        if saves:
            saved = tuple([inputs[i] for i in saves])
            # [-1], not [0]: the one read an inference tensor refuses (see _inference)
            self._saved_versions = tuple([t._vc[-1] for t in saved])
            self._saved = _pack_saved(self, saved)
        out = _Tensor._make(out_data, True, self)
        if self.saves_output:
            self._out_data = out_data
            self._out_vc = out._vc
            self._out_version = out._vc[0]
        return out

    # -- what backward reads ---------------------------------------------
    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(FREED_GRAPH_MESSAGE)
        if self._unpack is not None:  # packed by graph.saved_tensors_hooks
            saved = tuple(self._unpack(p) for p in self._saved)
            for t, vc, v in zip(saved, self._saved_vcs, self._saved_versions):
                if vc[0] != v:
                    raise _inplace_error(t, v, self)
            return saved
        for t, v in zip(self._saved, self._saved_versions):
            if t._vc[0] != v:
                raise _inplace_error(t, v, self)
        return self._saved

    @property
    def saved_output(self):
        """The op's output, rebuilt so a double backward flows through this node."""
        if self._freed:
            self.saved_tensors  # raises the freed-graph error  # noqa: B018
        t = _Tensor._make(self._out_data, True, self)
        t._vc = self._out_vc
        if self._out_vc[0] != self._out_version:
            raise _inplace_error(t, self._out_version, self, output=True)
        return t

    def release(self):
        """Free what was saved for backward (after a backward without retain_graph).

        A node that saved something (``saves``, ``saves_output``, or, with ``holds_saved``,
        values it keeps itself: an index, a mask, a Python scalar that torch saves as a
        tensor) is marked freed, and running it again raises torch's freed-graph error, as
        torch does for any node that saved a tensor. The check is an instance attribute that
        replaces ``_run_backward``: nothing is added to a backward that runs once.
        """
        if self._saved or self.saves_output or self.holds_saved:
            self._freed = True
            self._saved = ()
            self._out_data = None
            self._run_backward = _run_freed  # a plain function: no bound method to make

    # -- introspection -----------------------------------------------------
    def name(self) -> str:
        return self._name or self._default_name()

    def _default_name(self):
        """The name when no ``_name`` is set: a subclass whose name depends on the call
        overrides this (an ``as_torch_node`` renaming still wins)."""
        return type(self).__name__ + "Backward0"

    @property
    def next_functions(self):
        edges, shown = self._next, self._shown_edges
        if shown is not None:
            edges = tuple(None if i is None else edges[i] for i in shown)
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in edges)

    def _register_tensor_prehook(self, hook):
        """A hook of the tensor this node made (output 0): ``hook(grad) -> grad or None``."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(hook)
        return _RemovableHandle(self._pre_hooks, hook)

    def register_prehook(self, hook):
        """``hook(grad_outputs) -> tuple or None`` before this node's backward."""
        if self._node_pre_hooks is None:
            self._node_pre_hooks = []
        self._node_pre_hooks.append(hook)
        return _RemovableHandle(self._node_pre_hooks, hook)

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs) -> tuple or None`` after this node's backward."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _RemovableHandle(self._post_hooks, hook)

    @property
    def metadata(self):
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    def __repr__(self):  # torch's repr shows its class: name() without a torch::autograd:: prefix
        return f"<{self.name().rpartition('::')[2]} object at {hex(id(self))}>"

    def backward(self, grad):  # pragma: no cover - every op overrides
        raise NotImplementedError(f"{self.name()} has no backward")

    def _run_backward(self, grads):
        """Engine entry: grads per output -> grads per input (tuple)."""
        g = self.backward(grads[0])
        return g if isinstance(g, tuple) else (g,)


def _run_freed(grads):
    """``_run_backward`` of a released node (see ``Node.release``)."""
    raise RuntimeError(FREED_GRAPH_MESSAGE)


def as_torch_node(out, name, shown_edges=None):
    """``out``, its grad_fn given torch's ``name`` (and ``shown_edges``, see ``Node``).

    For an op that gradstep composes of several nodes where torch records one: the last
    node carries torch's name, so ``out.grad_fn`` prints as in torch; the nodes below it stay
    gradstep's. Only for a composite whose last node is always new (never an input's).
    """
    fn = out.grad_fn
    if fn is not None:
        fn._name = name
        if shown_edges is not None:
            fn._shown_edges = shown_edges
    return out


class AccumulateGrad(Node):
    """The sink for a leaf tensor: adds the incoming gradient into ``leaf.grad``."""

    _name = "torch::autograd::AccumulateGrad"  # torch's name() for it

    def __init__(self, leaf):
        self.variable = leaf
        self._next = ()
        self._metas = ()


_saved_hooks = threading.local()  # .stack: (pack, unpack) pairs of graph.saved_tensors_hooks


def _pack_saved(node, saved):
    """``saved``, or what the innermost ``saved_tensors_hooks`` pack hook makes of each."""
    stack = getattr(_saved_hooks, "stack", None)
    if not stack:
        return saved
    pack, unpack = stack[-1]
    node._unpack = unpack
    node._saved_vcs = tuple(t._vc for t in saved)
    return tuple(pack(t) for t in saved)


def _stale_view(t):
    """Whether view ``t``'s base changed in place since ``t``'s grad_fn was set."""
    vc = t.__dict__.get("_view_vc", None)
    if vc is None or vc == t._vc[0]:
        return False
    _refresh_view(t)
    return True


def _refresh_view(t):
    """Re-derive a view from its base after an in-place change to the memory they share."""
    from ..ops.index import view_of_base

    with enable_grad():
        view_of_base(t)


def _same_memory(out, src):
    """Whether ``out`` is a view into ``src``'s memory (the arrays' owners are the same)."""
    base = out.base
    return base is src or (src.base is not None and base is src.base)


def _edge(t):
    """The graph edge leading to tensor ``t``: (node, output index), or None."""
    if t._base is not None:
        _stale_view(t)
    if not t._rg:
        return None
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._out_nr)
    ref = t._acc
    acc = ref() if ref is not None else None
    if acc is None:
        acc = _new_accumulator(t)
    return (acc, 0)


def _new_accumulator(t):
    """The leaf's one live ``AccumulateGrad`` (made under a lock: threads may share a leaf)."""
    with _acc_lock:
        ref = t._acc
        acc = ref() if ref is not None else None
        if acc is None:
            acc = AccumulateGrad(t)
            t._acc = weakref.ref(acc)
    return acc


def _inplace_error(t, expected, node, output=False):
    kind = "output 0" if output else "an input"
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.dtype.name} tensor of shape {list(t.shape)}], which is {kind} of "
        f"{node.name()}, is at version {t._vc[0]}; expected version {expected} instead. "
        "Hint: clone the tensor before modifying it in place, or do the modification "
        "out of place."
    )


def _RemovableHandle(container, hook):  # noqa: N802 - the handle torch returns, for a hook in a list
    return RemovableHandle._of(container, hook)


# ---------------------------------------------------------------- public Function
class FunctionCtx:
    """The ``ctx`` passed to a user Function's forward and backward."""

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        """Kept for a Function's ``jvp``, which gradstep never calls: forward AD
        (``autograd.forward_ad``) differentiates through ``backward`` instead."""
        self._to_save_forward = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = value


class BackwardCFunction(FunctionCtx, Node):
    """The node recorded for a user-defined ``Function``; it is also the ``ctx``."""

    materialize_grads = True
    _to_save = ()
    _non_diff = frozenset()

    def name(self):
        return self._fn_cls.__name__ + "Backward"

    @property
    def saved_tensors(self):
        if self._freed:
            return Node.saved_tensors.fget(self)
        for t, v in zip(self._saved, self._saved_versions):
            if t is not None and t._vc[0] != v:
                raise _inplace_error(t, v, self)
        return self._saved

    def release(self):
        self._freed = True
        self._saved = ()

    def _run_backward(self, grads):
        if self.materialize_grads:
            grads = [
                g if g is not None else _Tensor._make(
                    _zeros_like_meta(self._out_metas[i])) for i, g in enumerate(grads)
            ]
        res = self._fn_cls.backward(self, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        # torch allows returning more grads than inputs if the extras are None
        n = len(self._input_positions)
        if len(res) < self._n_args:
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {self._n_args}, got {len(res)})"
            )
        return tuple(res[i] for i in self._input_positions)[:n]


def _zeros_like_meta(meta):
    from ..backend import xp

    shape, dt = meta
    return xp.zeros(shape, dt)


class Function:
    """Base class for user-defined differentiable operations (torch.autograd.Function).

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` as
    static methods and are called through ``apply``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """torch's second style: ``forward(*args)`` without ``ctx``, then this fills ``ctx``
        from the inputs and the output."""
        raise NotImplementedError("setup_context is not implemented.")

    @classmethod
    def _run_forward(cls, ctx, args, kwargs):
        if cls.setup_context is Function.setup_context:  # forward(ctx, *args)
            return cls.forward(ctx, *args, **kwargs)
        if kwargs:
            raise ValueError("A custom autograd.Function with a setup_context does not take "
                             "keyword arguments")
        outputs = cls.forward(*args)
        cls.setup_context(ctx, args, outputs)
        return outputs

    @classmethod
    def apply(cls, *args, **kwargs):
        if _fn_hook is not None:  # a forward AD level is entered (autograd.forward_ad)
            return _fn_hook(cls, args, kwargs)
        Tensor = _Tensor
        ctx = (cls.__dict__.get("_backward_cls") or _make_backward_cls(cls))()
        ctx._fn_cls = cls
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(
            isinstance(a, Tensor) and a._rg for a in args
        )
        with no_grad():
            outputs = cls._run_forward(ctx, args, kwargs)
        is_tuple = isinstance(outputs, tuple)
        outs = outputs if is_tuple else (outputs,)
        record = _GradState.enabled and any(ctx.needs_input_grad)
        if not record:
            return outputs
        inputs = [args[i] for i in tensor_pos]
        ctx._input_positions = tensor_pos
        ctx._n_args = len(args)
        ctx._next = tuple(_edge(t) for t in inputs)
        ctx._metas = tuple((t._data.shape, t._data.dtype) for t in inputs)
        ctx.n_out = len(outs)
        ctx._out_metas = tuple(
            (o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None) for o in outs
        )
        saved = ctx._to_save
        ctx._saved = tuple(saved)
        ctx._saved_versions = tuple(t._vc[-1] if t is not None else None for t in saved)
        dirty = getattr(ctx, "_dirty", ())
        if dirty:
            _check_dirty(dirty)
        input_ids = {id(t) for t in inputs}
        view_mark = (_custom_fn_name(cls), _n_differentiable(ctx, outs) > 1)
        new_outs = []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                new_outs.append(o)
                continue
            if id(o) in ctx._non_diff or not o.dtype.is_floating_point:
                new_outs.append(o)
                continue
            dirty_input = id(o) in input_ids and id(o) in {id(d) for d in dirty}
            if id(o) in input_ids and not dirty_input:
                o = _Tensor._make(o._data)  # an input returned as is gets a fresh alias
                o._custom_fn_view = view_mark
            elif o._base is not None and not dirty_input:
                o._custom_fn_view = view_mark  # torch refuses in-place on such views
            if o._view_meta is not None:  # made in forward under no_grad: the marks above rule
                o._view_meta = None
            o._rg = True
            o.grad_fn = ctx
            o._out_nr = i
            new_outs.append(o)
        if _AnomalyState.enabled:
            _anomaly.on_forward(ctx, inputs, None)
        return tuple(new_outs) if is_tuple else new_outs[0]


def _make_backward_cls(cls):
    """The node class of a custom Function, named as torch's (``MyFnBackward``: what
    ``type(out.grad_fn).__name__`` shows), made once per Function class."""
    node_cls = type(cls.__name__ + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
    node_cls.__module__ = BackwardCFunction.__module__
    cls._backward_cls = node_cls
    return node_cls


def _custom_fn_name(cls):
    """The name torch's view+inplace error gives a custom Function: its node's name less the
    ``Backward`` suffix, which is the class name."""
    return cls.__name__


def custom_fn_view_inplace_error(t):
    """torch's error for an in-place change of a custom Function's view output (see
    ``Function.apply``): which of its two texts depends on the number of outputs."""
    name, several_outputs = t._custom_fn_view
    head = f"Output {t._out_nr} of {name} is a view and is being modified inplace. "
    if several_outputs:
        return RuntimeError(
            head + "This view is the output of a function that returns multiple views. Such "
            "functions do not allow the output views to be modified inplace. You should replace "
            "the inplace operation by an out-of-place one.")
    return RuntimeError(
        head + "This view was created inside a custom Function (or because an input was "
        "returned as-is) and the autograd logic to handle view+inplace would override the custom "
        "backward associated with the custom Function, leading to incorrect gradients. This "
        "behavior is forbidden. You can fix this by cloning the output of the custom Function.")


def _inherit_custom_fn_view(view, src):
    """A view of a custom Function's view output is refused in-place changes too; torch's error
    then names the view op (``ViewBackward0`` -> ``View``)."""
    if view.grad_fn is not None:
        name = re.sub(r"Backward\d*$", "", view.grad_fn.name())
        view._custom_fn_view = (name, src._custom_fn_view[1])


def _n_differentiable(ctx, outs):
    return sum(isinstance(o, _Tensor) and id(o) not in ctx._non_diff and o.dtype.is_floating_point
               for o in outs)


def _check_dirty(tensors):
    """torch's refusal of ``ctx.mark_dirty`` on a leaf that requires grad (or a view of one);
    as in torch, the forward has already changed it."""
    for t in tensors:
        base = t._base
        if base is not None and base._rg and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        if t._rg and t.grad_fn is None and base is None:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                               "operation.")


class InplaceFunction(Function):
    """torch's legacy base class (kept for old code): a ``Function`` with an ``inplace`` flag."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


def once_differentiable(fn):
    """Decorator for a backward that does not support double backward."""

    def wrapper(ctx, *grads):
        with no_grad():
            return fn(ctx, *grads)

    return wrapper


__all__ = ["Function", "FunctionCtx", "Node", "AccumulateGrad", "once_differentiable", "enable_grad",
           "InplaceFunction"]

"""The recorder behind ``torch.profiler`` and ``torch.autograd.profiler``: timed, nested ranges.

Three kinds of range are recorded, with torch's names:

* every op that goes through the op dispatch (``Node.apply``): ``aten::mul``, ``aten::matmul``...;
* every backward node the engine runs, as torch's pair
  ``autograd::engine::evaluate_function: MulBackward0`` around ``MulBackward0`` (and
  ``torch::autograd::AccumulateGrad`` for the leaves);
* every ``record_function`` block (and the ``ProfilerStep#N`` steps of a scheduled profiler).

Zero cost when no profiler runs: neither the op dispatch nor the engine checks for a profiler.
Starting the first session swaps recording twins in (``Node.apply``, ``Function.apply``, each
node class's own ``_run_backward``, ``engine._accumulate``); stopping the last one puts the
originals back, the very same objects. Sessions may overlap (a legacy profiler inside a
scheduled one): each range goes to every session running when it starts.

While recording, an op costs about 1 us more (two clock reads and a small object); shapes and
stacks, when asked for, cost more.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from time import perf_counter_ns, time_ns

from ..autograd import engine as _engine
from ..autograd.function import AccumulateGrad, Function, Node

# torch's at::RecordScope values for FunctionEvent.scope
FUNCTION = 0
BACKWARD_FUNCTION = 1
USER_SCOPE = 7

EVALUATE = "autograd::engine::evaluate_function: "
_ACCUMULATE = AccumulateGrad._name  # "torch::autograd::AccumulateGrad"
_thread_id = threading.get_native_id  # the OS thread id, as torch's traces show


class _Range:
    """One timed range; ``end`` is 0 while it is open."""

    __slots__ = ("name", "scope", "start", "end", "parent", "thread", "shapes", "owner",
                 "memory", "stack")

    def __init__(self, name, scope, parent, thread):
        self.name = name
        self.scope = scope
        self.parent = parent
        self.thread = thread
        self.end = 0
        self.shapes = None
        self.owner = None  # the backward node whose run this range times
        self.memory = 0
        self.stack = None


# -------------------------------------------------------------------- global recording state
_lock = threading.Lock()
_sessions = ()  # the running sessions (a tuple, replaced whole: readers need no lock)
_open = {}  # thread id -> the ranges open on that thread, innermost last
_want_shapes = False  # what the running sessions ask for (the union)
_want_memory = False
_want_stack = False
_originals = None  # what the twins replaced (see _swap_in), while they are in


def _begin(name, scope):
    tid = _thread_id()
    stack = _open.get(tid)
    if stack is None:
        stack = _open.setdefault(tid, [])
    r = _Range(name, scope, stack[-1] if stack else None, tid)
    if _want_stack:
        r.stack = _python_stack()
    stack.append(r)
    r.start = perf_counter_ns()
    for s in _sessions:
        s.ranges.append(r)
    return r


def _end(r):
    r.end = perf_counter_ns()
    stack = _open.get(r.thread)
    if stack:
        if stack[-1] is r:
            stack.pop()
        elif r in stack:  # closed out of order (a record_function left open across a block)
            stack.remove(r)


def _python_stack():
    """The caller's Python frames, innermost first, as torch writes them: ``file(line): func``."""
    out = []
    f = sys._getframe(2)
    while f is not None:
        code = f.f_code
        if not code.co_filename.startswith(_HERE):
            out.append(f"{code.co_filename}({f.f_lineno}): {code.co_name}")
        f = f.f_back
    return out


_HERE = os.path.dirname(__file__)


# -------------------------------------------------------------------- names
_op_names = {}  # (class, instance _name) -> "aten::..."
# where the op's class name says less than torch's op name
_ALIASES = {"MatMul": "matmul", "AddMm": "addmm", "Linear": "linear", "Cast": "_to_copy",
            "LogAddExp": "logaddexp", "LogAddExp2": "logaddexp2", "XLogY": "xlogy",
            "IGamma": "igamma", "SetItem": "copy_", "Einsum": "einsum"}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z0-9])(?=[A-Z][a-z])")  # MaxPool2DWith
_BACKWARD_SUFFIX = re.compile(r"Backwards?\d*$")


def op_name(cls, instance_name=None):
    """torch's name for the forward op of node class ``cls``: ``Mul`` -> ``aten::mul``.

    Taken from the grad_fn name the op records (``AddScalar`` records ``AddBackward0``, so it is
    ``aten::add``), else from the class name; the name is the same with or without grad mode.
    """
    key = (cls, instance_name)
    name = _op_names.get(key)
    if name is None:
        base = _ALIASES.get(cls.__name__)
        if base is None:
            raw = instance_name or cls.__dict__.get("_name") or cls._name or cls.__name__
            raw = _BACKWARD_SUFFIX.sub("", raw.rpartition("::")[2]).lstrip("_")
            base = _CAMEL.sub("_", raw).lower()
        name = _op_names[key] = "aten::" + base
    return name


def _shape(t):
    d = getattr(t, "_data", None)
    return list(d.shape) if d is not None else []


def _owned_bytes(out):
    """Bytes of the op's result that it allocated (a view of its input allocated nothing)."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = 0
    for o in outs:
        d = getattr(o, "_data", None)
        if d is not None and d.base is None:
            total += d.nbytes
    return total


# -------------------------------------------------------------------- the recording twins
def _recording_apply(original):
    """A twin of ``Node.apply`` (``original`` is its function) that times the op."""

    def apply(cls, *inputs, **attrs):
        r = _begin(op_name(cls, attrs.get("_name")), FUNCTION)
        if _want_shapes:
            r.shapes = [_shape(t) for t in inputs]
        try:
            out = original(cls, *inputs, **attrs)
            if _want_memory:
                r.memory = _owned_bytes(out)
            return out
        finally:
            _end(r)

    apply.__wrapped__ = original
    return classmethod(apply)


def _recording_function_apply(original):
    """A twin of ``autograd.Function.apply``: a user Function's forward, named by its class
    (torch's ``MyFn`` range, around the ops it runs)."""

    def apply(cls, *args, **kwargs):
        r = _begin(cls.__name__, FUNCTION)
        if _want_shapes:
            r.shapes = [_shape(a) for a in args]
        try:
            return original(cls, *args, **kwargs)
        finally:
            _end(r)

    apply.__wrapped__ = original
    return classmethod(apply)


def _recording_run(original):
    """A twin of a class's ``_run_backward`` that times the node as torch does."""

    def _run_backward(node, grads):
        stack = _open.get(_thread_id())
        if stack and stack[-1].owner is node:  # super()._run_backward from an override: timed
            return original(node, grads)
        name = node.name()
        outer = _begin(EVALUATE + name, FUNCTION)
        inner = _begin(name, BACKWARD_FUNCTION)
        inner.owner = node
        if _want_shapes:
            inner.shapes = [_shape(g) for g in grads]
        try:
            return original(node, grads)
        finally:
            _end(inner)
            _end(outer)

    _run_backward.__wrapped__ = original
    return _run_backward


def _recording_accumulate(original):
    """A twin of ``engine._accumulate``: the leaves' ``AccumulateGrad``."""

    def _accumulate(leaf, g, *rest):
        outer = _begin(EVALUATE + _ACCUMULATE, FUNCTION)
        inner = _begin(_ACCUMULATE, BACKWARD_FUNCTION)
        if _want_shapes:
            inner.shapes = [_shape(g)]
        try:
            return original(leaf, g, *rest)
        finally:
            _end(inner)
            _end(outer)

    _accumulate.__wrapped__ = original
    return _accumulate


def _node_classes():
    """Node and every subclass (once each, though a class may derive from two of them)."""
    out, todo = {}, [Node]
    while todo:
        cls = todo.pop()
        if cls not in out:
            out[cls] = None
            todo.extend(cls.__subclasses__())
    return list(out)


def _swap_in():
    global _originals
    apply = Node.__dict__["apply"]
    fn_apply = Function.__dict__["apply"]
    runs = [(c, c.__dict__["_run_backward"]) for c in _node_classes()
            if "_run_backward" in c.__dict__]
    accumulate = _engine._accumulate
    Node.apply = _recording_apply(apply.__func__)
    Function.apply = _recording_function_apply(fn_apply.__func__)
    for cls, fn in runs:
        cls._run_backward = _recording_run(fn)
    _engine._accumulate = _recording_accumulate(accumulate)
    _originals = (apply, fn_apply, runs, accumulate)


def _swap_out():
    global _originals
    apply, fn_apply, runs, accumulate = _originals
    Node.apply = apply
    Function.apply = fn_apply
    for cls, fn in runs:
        cls._run_backward = fn
    _engine._accumulate = accumulate
    _originals = None


def _set_sessions(sessions):
    global _sessions, _want_shapes, _want_memory, _want_stack
    if sessions and not _sessions:
        _swap_in()
    elif _sessions and not sessions:
        _swap_out()
        for tid in [t for t, stack in _open.items() if not stack]:  # threads since ended
            _open.pop(tid, None)
    _want_shapes = any(s.record_shapes for s in sessions)
    _want_memory = any(s.profile_memory for s in sessions)
    _want_stack = any(s.with_stack for s in sessions)
    _sessions = sessions


def is_recording():
    """Whether some profiler session is recording now."""
    return bool(_sessions)


class Session:
    """One recording window: the ranges that started between ``start()`` and ``stop()``."""

    def __init__(self, record_shapes=False, profile_memory=False, with_stack=False):
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.ranges = []
        self.start_ns = self.stop_ns = None
        self.wall_start_ns = None  # the wall clock (ns since the epoch) at start_ns

    @property
    def running(self):
        return self in _sessions

    def start(self):
        with _lock:
            if self in _sessions:
                raise RuntimeError("Profiler context manager is not reentrant")
            self.wall_start_ns = time_ns()
            self.start_ns = perf_counter_ns()
            _set_sessions(_sessions + (self,))

    def stop(self):
        with _lock:
            if self in _sessions:
                _set_sessions(tuple(s for s in _sessions if s is not self))
            if self.start_ns is not None and self.stop_ns is None:
                self.stop_ns = perf_counter_ns()

    def pause(self):
        """Stop collecting for a while (``toggle_collection_dynamic(False, ...)``)."""
        with _lock:
            if self in _sessions:
                _set_sessions(tuple(s for s in _sessions if s is not self))

    def resume(self):
        with _lock:
            if self.start_ns is not None and self.stop_ns is None and self not in _sessions:
                _set_sessions(_sessions + (self,))

    def end_of(self, r):
        """When range ``r`` ended, as this session saw it: one still open ends at stop."""
        stop = self.stop_ns if self.stop_ns is not None else perf_counter_ns()
        return r.end if 0 < r.end <= stop else stop


class record_function:
    """Label a block (``with``) or a function (decorator) in the profiler's results.

    With no profiler recording, entering costs a tuple check and records nothing.
    """

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._range = None

    def __enter__(self):
        if not isinstance(self.name, str):
            raise RuntimeError(
                "record_function expected a value of type 'str' for argument 'name' but "
                f"instead found type '{type(self.name).__name__}'.")
        if _sessions:
            self._range = _begin(self.name, USER_SCOPE)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        r = self._range
        if r is not None:
            self._range = None
            _end(r)
        return False

    def __call__(self, func):
        import functools

        name, args = self.name, self.args

        @functools.wraps(func)
        def wrapped(*a, **kw):
            with record_function(name, args):  # a fresh one a call: threads, recursion
                return func(*a, **kw)

        return wrapped

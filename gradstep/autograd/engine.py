"""The backward engine: iterative, dependency-counted traversal of the graph.

No recursion anywhere, so a chain of 100,000 ops backpropagates. Each node runs
once, after every gradient flowing into it has been summed.

Threads: a pass keeps its state (buffers, dependency counts, final callbacks) in locals and
thread-local storage, and grad mode is per thread, so independent graphs run backward in
different threads at once. Adding into a leaf's ``.grad`` is done under a lock, so two threads
whose graphs share a leaf (one model, Hogwild-style) both land their gradient, as in torch.
"""

from __future__ import annotations

import itertools
import threading

from .._errstate import IGNORE as _IGNORE
from .._errstate import get_state as _get_state
from .._errstate import reset_state as _reset_state
from .._errstate import set_state as _set_state
from . import anomaly_mode as _anomaly
from .anomaly_mode import _AnomalyState
from .function import AccumulateGrad
from .function import _edge as _edge_of
from .grad_mode import _GradState

_Tensor = None  # set by gradstep._tensor
_local = threading.local()  # .callbacks: one list of final callbacks per running backward pass
_grad_lock = threading.Lock()  # held while a .grad is read, created and added into


class _Pass(list):
    """One running backward pass: its final callbacks (the list), a unique id (torch's graph
    task id) and whether a reentrant checkpoint may run in it (no ``inputs`` were given to
    this pass or to one it runs inside, as torch's ``checkpoint_valid``)."""

    __slots__ = ("gid", "checkpoint_valid")


_gids = itertools.count(1)


def current_graph_task_id():
    """The id of the backward pass running in this thread, -1 outside one."""
    stack = getattr(_local, "callbacks", None)
    return stack[-1].gid if stack else -1


def is_checkpoint_valid():
    """torch.autograd._is_checkpoint_valid: False inside a pass given ``inputs`` (``grad``)."""
    stack = getattr(_local, "callbacks", None)
    return stack[-1].checkpoint_valid if stack else True


def _callback_stack():
    stack = getattr(_local, "callbacks", None)
    if stack is None:
        stack = _local.callbacks = []
    return stack


def queue_callback(callback):
    """Run ``callback()`` once the current backward pass has processed every node.

    torch's ``Variable._execution_engine.queue_callback``: a hook that fires during
    backward (e.g. DistributedDataParallel's gradient hook) uses it to finish work
    before ``backward()`` returns. Callbacks run in the order queued; one may queue another.
    """
    stack = _callback_stack()
    if not stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    stack[-1].append(callback)


def _run_callbacks(callbacks):
    i = 0
    while i < len(callbacks):  # callbacks queued by a callback run too
        callbacks[i]()
        i += 1


def _dependencies(roots):
    """Count, for each node reachable from ``roots``, the edges that point to it."""
    deps = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for e in node._next:
            if e is None:
                continue
            n = e[0]
            deps[n] = deps.get(n, 0) + 1
            if n not in seen:
                seen.add(n)
                stack.append(n)
    return deps


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 allow_unused=False):
    """Backpropagate from ``tensors``; accumulate into leaves, or return grads of ``inputs``."""
    roots = []
    buffers = {}
    handed_out = set()  # ids of arrays given to a .grad in this pass (to avoid aliasing)
    for t, g in zip(tensors, grad_tensors):
        if not t._rg:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        e = _edge_of(t)
        node = e[0]
        if node not in buffers:
            roots.append(node)
            buffers[node] = [None] * node.n_out
        buf = buffers[node]
        buf[e[1]] = g if buf[e[1]] is None else buf[e[1]] + g
        handed_out.add(id(g._data))

    capture = None
    results = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            if not t._rg:
                raise RuntimeError(f"One of the differentiated Tensors (index {i}) does not require grad")
            capture.setdefault(_edge_of(t), []).append(i)
        results = [None] * len(inputs)

    deps = _dependencies(roots)
    ready = [n for n in roots if deps.get(n, 0) == 0]
    prev_mode = _GradState.enabled
    _GradState.enabled = create_graph
    callbacks = _Pass()
    callbacks.gid = next(_gids)
    stack = _callback_stack()
    callbacks.checkpoint_valid = inputs is None and (not stack or stack[-1].checkpoint_valid)
    stack.append(callbacks)
    # the whole pass runs with NumPy's floating-point errors ignored (see gradstep._errstate);
    # user hooks run in the caller's state (``_as_caller``), as they did before the pass
    caller = _get_state()
    token = _set_state(_IGNORE) if caller is not _IGNORE else None
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if (node._pre_hooks or node._node_pre_hooks or node._retain is not None
                    or capture is not None):
                grads = _before_node(node, grads, caller, handed_out, create_graph, capture,
                                     results)
            if type(node) is AccumulateGrad:
                if capture is None:
                    _accumulate(node.variable, grads[0], handed_out, create_graph, caller)
                continue
            for g in grads:
                if g is not None:  # some gradient flows in: run the node
                    if _AnomalyState.enabled:
                        in_grads = _anomaly.run_backward(node, grads)
                    else:
                        in_grads = node._run_backward(grads)
                    break
            else:
                in_grads = (None,) * len(node._next)
            if node._post_hooks:
                in_grads = _as_caller(caller, _run_node_hooks, node._post_hooks, in_grads,
                                      tuple(grads))
            if not retain_graph:
                node.release()
            _route(node, in_grads, buffers, deps, ready)
        if token is not None:
            _reset_state(token)
            token = None
        _GradState.enabled = prev_mode  # callbacks run in the caller's grad mode
        _run_callbacks(callbacks)
    finally:
        if token is not None:
            _reset_state(token)
        _callback_stack().pop()
        _GradState.enabled = prev_mode

    if results is not None:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (index {i}) appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior."
                )
    return results


def _before_node(node, grads, caller, handed_out, create_graph, capture, results):
    """What happens to a node's incoming grads before it runs: hooks, retain_grad, capture."""
    if node._pre_hooks:
        grads = _as_caller(caller, _run_pre_hooks, node, grads)
    if node._node_pre_hooks:
        grads = _as_caller(caller, _run_node_hooks, node._node_pre_hooks, grads)
    if node._retain is not None:
        _retain(node, grads[0], handed_out, create_graph)
    if capture is not None:
        _capture(capture, node, grads, results)
    return grads


def _as_caller(state, fn, *args):
    """``fn(*args)`` (a user hook) under the caller's NumPy error state ``state``."""
    if state is _IGNORE:
        return fn(*args)
    token = _set_state(state)
    try:
        return fn(*args)
    finally:
        _reset_state(token)


def _route(node, in_grads, buffers, deps, ready):
    """Send each input gradient along its edge, checking shape and dtype."""
    metas = node._metas
    n = len(in_grads)
    i = -1
    for e in node._next:
        i += 1
        if e is None:
            continue
        g = in_grads[i] if i < n else None
        nxt = e[0]
        if g is not None:
            shape, dt = metas[i]
            try:
                gd = g._data
            except NotImplementedError:  # a sparse gradient has no dense array
                g = _sparse_grad().route(g, nxt, shape, dt)
            else:
                if gd.shape != shape:
                    if not _expandable(shape, gd.shape):
                        raise RuntimeError(
                            f"Function {node.name()} returned an invalid gradient at index {i} - "
                            f"got {list(gd.shape)} but expected shape compatible with {list(shape)}"
                        )
                    g = g.sum_to_size(shape)  # torch sums a broadcast gradient back to the input
                if gd.dtype != dt:
                    if gd.dtype.kind == "c" and dt.kind != "c":  # a real input: the real part
                        g = g.real
                    g = g.to(_dtype_of(dt))
            buf = buffers.get(nxt)
            if buf is None:
                buf = buffers[nxt] = [None] * nxt.n_out
            k = e[1]
            if buf[k] is None:
                buf[k] = g
            else:
                try:
                    buf[k] = buf[k] + g
                except RuntimeError:  # a sparse gradient first: sparse + dense is refused
                    buf[k] = _sparse_grad().add(buf[k], g)
        elif nxt not in buffers:
            buffers[nxt] = [None] * nxt.n_out
        d = deps[nxt] - 1
        deps[nxt] = d
        if d == 0:
            ready.append(nxt)


def _sparse_grad():
    """The rules for sparse gradients (imported on first use: dense passes never need them)."""
    from .. import _sparse_grad

    return _sparse_grad


def _expandable(shape, to):
    """Whether ``shape`` broadcasts to ``to`` (torch's ``is_expandable_to``)."""
    if len(shape) > len(to):
        return False
    return all(a == b or a == 1 for a, b in zip(reversed(shape), reversed(to)))


def _dtype_of(np_dtype):
    from ..backend import from_numpy_dtype

    return from_numpy_dtype(np_dtype)


def _run_pre_hooks(node, grads):
    g = grads[0]
    if g is None:
        return grads
    for hook in list(node._pre_hooks):
        r = hook(g)
        if r is not None:
            g = r
    return [g] + list(grads[1:])


def _run_node_hooks(hooks, grads, *extra):
    """Node.register_prehook / register_hook: each hook may return replacement grads."""
    grads = tuple(grads)
    for hook in list(hooks):
        r = hook(grads, *extra)
        if r is not None:
            grads = tuple(r)
    return grads


def _owned(g, handed_out, create_graph, copy_name="CloneBackward0"):
    """A gradient array that no other ``.grad`` or caller holds (copy when shared).

    Under ``create_graph`` torch always stores a copy with history (``CopyBackwards`` for a
    leaf's ``.grad``, ``CloneBackward0`` for a retained one): ``.grad`` is then never a view,
    so ``p.grad.detach_()`` works, and changing it in place leaves the graph alone.
    """
    if create_graph:
        from ..ops.shape import Contiguous

        return Contiguous.apply(g, force=True, _name=copy_name)
    d = g._data
    if d.base is not None or id(d) in handed_out or not d.flags.writeable:
        d = d.copy()
    handed_out.add(id(d))
    return _Tensor._make(d)


def _retain(node, g, handed_out, create_graph):
    t = node._retain()
    if t is None or g is None:
        return
    if t._grad is None:
        t._grad = _owned(g, handed_out, create_graph)
    else:
        t._grad = t._grad + (g if create_graph else g.detach())


def _capture(capture, node, grads, results):
    for k, g in enumerate(grads):
        idx = capture.get((node, k))
        if idx is not None and g is not None:
            for i in idx:
                results[i] = g if results[i] is None else results[i] + g


def _accumulate(leaf, g, handed_out, create_graph, caller):
    """AccumulateGrad: run the leaf's hooks, then add ``g`` into ``leaf.grad``.

    Runs inside the pass's quiet NumPy state; the hooks run in the caller's (``caller``).
    """
    if g is None:
        return
    hooks = leaf._hooks
    if hooks:
        g = _as_caller(caller, _run_leaf_hooks, hooks, g)
    with _grad_lock:
        cur = leaf._grad
        try:
            if cur is None:
                leaf._grad = _owned(g, handed_out, create_graph, "torch::autograd::CopyBackwards")
            elif create_graph or cur._rg:
                leaf._grad = cur + g
            else:
                cur._data += g._data  # inf + -inf: nan, silently (the pass is quiet)
        except (NotImplementedError, RuntimeError):
            if not (g.is_sparse or (cur is not None and cur.is_sparse)):
                raise
            leaf._grad = _sparse_grad().accumulate(cur, g, handed_out, create_graph)
    post = leaf._post_hooks
    if post:
        _as_caller(caller, _run_post_hooks, post, leaf)


def _run_leaf_hooks(hooks, g):
    for hook in list(hooks.values()):
        r = hook(g)
        if r is not None:
            g = r
    return g


def _run_post_hooks(hooks, leaf):
    for hook in list(hooks.values()):
        hook(leaf)

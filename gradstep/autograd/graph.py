"""``torch.autograd.graph``: the public view of the backward graph and saved-tensor hooks.

``Node`` is the type every ``grad_fn`` is an instance of (gradstep's ops, ``AccumulateGrad``
and custom ``Function`` contexts). ``saved_tensors_hooks`` applies its pack/unpack pair to the
tensors an op saves for backward through the node's ``saves``. Some fused nodes also keep
intermediate arrays of their own that the hooks do not see: the RNN layers' gates, a
convolution's im2col columns, the normalized input and 1/std of the normalization layers, and
the attention weights of ``scaled_dot_product_attention``. The numbers are right either way, but a
pack hook that offloads or compresses saved tensors leaves those arrays where they are.
"""

from __future__ import annotations

import abc
import threading
from collections import namedtuple

from . import engine as _engine
from . import function as _function
from ._saved_mutation import allow_mutation_on_saved_tensors

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
           "register_multi_grad_hook", "allow_mutation_on_saved_tensors", "Node",
           "GradientEdge", "get_gradient_edge", "increment_version"]


class Node(abc.ABC):
    """The abstract type of graph nodes: ``isinstance(t.grad_fn, Node)`` holds."""

    @abc.abstractmethod
    def name(self):
        """The node's name, e.g. ``MulBackward0``."""

    @classmethod
    def __subclasshook__(cls, C):
        if cls is Node and issubclass(C, _function.Node):
            return True
        return NotImplemented


GradientEdge = namedtuple("GradientEdge", ("node", "output_nr"))
GradientEdge.__doc__ = "An edge of the graph: (node, which output of it)."


def get_gradient_edge(tensor):
    """The edge autograd uses to reach ``tensor`` (its AccumulateGrad node for a leaf)."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    node, nr = _function._edge(tensor)
    return GradientEdge(node, nr)


def increment_version(tensor):
    """Bump the version counter(s), as an in-place change would."""
    for t in (tensor,) if not isinstance(tensor, (list, tuple)) else tensor:
        t._vc[0] += 1


def _stack():
    stack = getattr(_function._saved_hooks, "stack", None)
    if stack is None:
        stack = _function._saved_hooks.stack = []
    return stack


_disabled = threading.local()


class saved_tensors_hooks:  # noqa: N801  (torch's name)
    """Within this context, tensors saved for backward are stored as ``pack_hook(t)`` and read
    back through ``unpack_hook(packed)``."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        msg = getattr(_disabled, "msg", None)
        if msg is not None:
            raise RuntimeError(msg)
        _stack().append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *args):
        _stack().pop()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801
    """Saved tensors go to CPU memory (gradstep's tensors already live there: a plain save)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__(lambda t: t, lambda t: t)


class disable_saved_tensors_hooks:  # noqa: N801
    """Entering ``saved_tensors_hooks`` inside this context raises ``error_message``."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self._prev = getattr(_disabled, "msg", None)
        _disabled.msg = self.error_message
        return self

    def __exit__(self, *args):
        _disabled.msg = self._prev

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self:
                return fn(*a, **k)

        return wrapper


class _MultiHandle:
    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.remove()


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """``mode="all"``: ``fn(grads)`` once per backward after the gradients of ``tensors`` are
    computed (None for those the backward did not reach); ``mode="any"``: ``fn(grad)`` on the
    first of them to be computed."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    lock = threading.Lock()
    if mode == "any":
        state = {"fired": False}

        def make(i):
            def hook(grad):
                with lock:
                    if state["fired"]:
                        return None
                    state["fired"] = True
                _engine.queue_callback(lambda: state.__setitem__("fired", False))
                return fn(grad)

            return hook
    else:
        # fn fires as soon as every tensor's gradient has arrived (torch fires once those the
        # backward computes have); tensors the backward does not reach: at its end instead
        state = {"grads": None, "left": 0}

        def flush():
            grads, state["grads"] = state["grads"], None
            if grads is not None:
                fn(tuple(grads))

        def make(i):
            def hook(grad):
                with lock:
                    if state["grads"] is None:
                        state["grads"] = [None] * len(tensors)
                        state["left"] = len(tensors)
                        _engine.queue_callback(flush)
                    if state["grads"][i] is None:
                        state["left"] -= 1
                    state["grads"][i] = grad
                    done = state["left"] == 0
                if done:
                    flush()

            return hook

    return _MultiHandle([t.register_hook(make(i)) for i, t in enumerate(tensors)
                         if t.requires_grad])

"""``torch.utils.checkpoint``: activation checkpointing.

``checkpoint(fn, *args)`` runs ``fn`` under ``no_grad`` (so none of its intermediate
activations are kept), saves the inputs and the RNG state, and on backward re-runs ``fn``
with the RNG state restored (so dropout draws the same masks) and backpropagates through the
recomputed graph. Parameters that ``fn`` uses (not passed in ``args``) get their gradients
accumulated into ``.grad`` by that inner backward, as torch's reentrant variant does.

``use_reentrant=False`` takes the same path here, plus keyword arguments and outputs that need
a gradient even when no input does (a hidden always-requires-grad input keeps the node in the
graph). Unlike torch's non-reentrant variant, parameters used inside ``fn`` still receive their
gradients only through ``.grad`` (``autograd.grad`` with respect to them reports them unused).
"""

from __future__ import annotations

import warnings

from .. import random as _random
from .._tensor import Tensor
from ..amp import autocast_mode as _amp
from ..autograd import backward as _backward
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointFunction", "check_backward_validity",
           "detach_variable", "noop_context_fn", "CheckpointError"]


class CheckpointError(RuntimeError):
    pass


def noop_context_fn():
    from contextlib import nullcontext

    return nullcontext(), nullcontext()


def detach_variable(inputs):
    """Detached copies of the tensors in ``inputs`` that keep their ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for x in inputs:
        if not isinstance(x, Tensor):
            out.append(x)
            continue
        y = x.detach()
        y.requires_grad = x.requires_grad
        out.append(y)
    return tuple(out)


def check_backward_validity(inputs):
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)


class CheckpointFunction(Function):
    """forward: ``run_function(*args)`` without a graph; backward: recompute, then backprop."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        if preserve_rng_state:
            ctx.rng_state = _random.get_rng_state()
        ctx.autocast_kwargs = _cpu_autocast_kwargs()
        ctx.inputs = list(args)
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_indices))
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        detached = detach_variable(tuple(inputs))
        current = _random.get_rng_state() if ctx.preserve_rng_state else None
        try:
            if ctx.preserve_rng_state:
                _random.set_rng_state(ctx.rng_state)
            # recompute under the forward's autocast state, as torch does: a backward run
            # outside the autocast region must rebuild the same bfloat16 graph
            with enable_grad(), _amp.autocast("cpu", **ctx.autocast_kwargs):
                outputs = ctx.run_function(*detached)
        finally:
            if current is not None:
                _random.set_rng_state(current)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not "
                               "necessary")
        _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None for x in detached)


def _cpu_autocast_kwargs():
    return {"enabled": _amp.is_autocast_enabled("cpu"), "dtype": _amp.get_autocast_dtype("cpu"),
            "cache_enabled": _amp.is_autocast_cache_enabled()}


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, early_stop=True, **kwargs):
    """Run ``function(*args, **kwargs)`` keeping only its inputs; recompute it on backward."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        if is_grad_enabled():
            check_backward_validity(args)
        return CheckpointFunction.apply(function, preserve, *args)
    forward_ctx, recompute_ctx = context_fn()
    state = {"first": True}

    def run(*a):
        ctx = forward_ctx if state["first"] else recompute_ctx
        state["first"] = False
        with ctx:
            out = function(*a[:-1], **kwargs)  # the last argument is the hidden anchor
        leaves = []
        state["rebuild"] = _flatten(out, leaves)
        return tuple(leaves)

    if not is_grad_enabled():
        with forward_ctx:
            return function(*args, **kwargs)
    from .. import _creation

    anchor = _creation.zeros((), requires_grad=True)
    flat = CheckpointFunction.apply(run, preserve, *args, anchor)
    return state["rebuild"](iter(flat if isinstance(flat, tuple) else (flat,)))


def _flatten(obj, leaves):
    """Append the leaves of ``obj`` (nested dicts, lists, tuples) to ``leaves``; return a
    function that rebuilds ``obj``'s structure from an iterator over replacement leaves.

    The non-reentrant checkpoint gives any output structure a gradient, as torch's does
    (a block returning ``{'h': ..., 'attn': ...}``): the node sees a flat tuple."""
    if isinstance(obj, dict):
        parts = [(k, _flatten(v, leaves)) for k, v in obj.items()]
        return lambda it: type(obj)((k, f(it)) for k, f in parts)
    if isinstance(obj, (list, tuple)):
        parts = [_flatten(v, leaves) for v in obj]
        if hasattr(obj, "_fields"):  # a namedtuple
            return lambda it: type(obj)(*[f(it) for f in parts])
        return lambda it: type(obj)([f(it) for f in parts])
    leaves.append(obj)
    return lambda it: next(it)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):  # noqa: A002
    """Split ``functions`` (a Sequential or a list) into ``segments`` chunks and checkpoint all
    but the last, each taking the previous chunk's single output."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
            "passed explicitly. In version 2.9 we will raise an exception if use_reentrant is "
            "not passed. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    from ..nn.modules.container import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run_function(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1)(input)

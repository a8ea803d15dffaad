"""``torch.utils.checkpoint``: activation checkpointing.

``use_reentrant=True``: ``checkpoint(fn, *args)`` runs ``fn`` under ``no_grad`` (none of its
intermediate activations are kept), saves the inputs and the RNG state, and on backward re-runs
``fn`` with the RNG state restored (dropout draws the same masks) and backpropagates through the
recomputed graph; parameters used inside get their gradients through ``.grad``, and, as in
torch, ``autograd.grad`` (or ``backward(inputs=...)``) through it is refused.

``use_reentrant=False`` is torch's non-reentrant variant (``_checkpoint_frame``): the plain graph
with its saved tensors recomputed on demand, so ``autograd.grad``, ``create_graph``, keyword
arguments, any output structure and selective checkpointing (``_sac``) work.
"""

from __future__ import annotations

import contextlib
import warnings

from .. import random as _random
from .._tensor import Tensor
from ..amp import autocast_mode as _amp
from ..autograd import backward as _backward
from ..autograd import engine as _engine
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from . import _checkpoint_frame as _frame
from ._checkpoint_frame import CheckpointError, GraphExecGroup
from ._sac import CheckpointPolicy, SelectiveCheckpointContext, create_selective_checkpoint_contexts

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "check_backward_validity", "detach_variable", "get_device_states", "set_device_states",
           "noop_context_fn", "set_checkpoint_early_stop", "DefaultDeviceType",
           "set_checkpoint_debug_enabled", "CheckpointPolicy", "SelectiveCheckpointContext",
           "create_selective_checkpoint_contexts", "SAC_IGNORED_OPS", "GraphExecGroup"]

_checkpoint_debug_enabled = None
_enable_checkpoint_early_stop = None


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    """Override every checkpoint's ``debug`` flag inside the context (None: defer to it)."""
    global _checkpoint_debug_enabled
    prev = _checkpoint_debug_enabled
    try:
        _checkpoint_debug_enabled = enabled
        yield
    finally:
        _checkpoint_debug_enabled = prev


@contextlib.contextmanager
def set_checkpoint_early_stop(enable):
    """Whether non-reentrant checkpoints made inside stop recomputing once they have what
    backward needs (overrides their ``early_stop``)."""
    global _enable_checkpoint_early_stop
    prev = _enable_checkpoint_early_stop
    try:
        _enable_checkpoint_early_stop = enable
        yield
    finally:
        _enable_checkpoint_early_stop = prev


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


class DefaultDeviceType:
    """The device type whose RNG states checkpoints save when no input is off the CPU: the
    current accelerator's, which on a CPU-only build is ``"cpu"``."""

    _default_device_type = None

    @staticmethod
    def set_device_type(device="cuda"):
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type():
        if not DefaultDeviceType._default_device_type:
            DefaultDeviceType._default_device_type = "cpu"
        return DefaultDeviceType._default_device_type


def _tensor_leaves(args):
    from ._pytree import tree_leaves

    return [a for a in tree_leaves(args) if isinstance(a, Tensor)]


def get_device_states(*args):
    """The ids and RNG states of the non-CPU devices of the tensors in ``args``: none here
    (gradstep's tensors all live on the CPU), as torch's CPU build returns ``([], [])``."""
    ids = [t.get_device() for t in _tensor_leaves(args) if t.device.type not in ("cpu", "meta")]
    if ids:  # unreachable with gradstep tensors; kept for torch's contract
        raise RuntimeError("Torch not compiled with CUDA enabled")
    return [], []


def set_device_states(devices, states, *, device_type=None):
    """Set the RNG states of ``devices``: with no device but the CPU there are none to set."""
    if device_type is None:
        device_type = DefaultDeviceType.get_device_type()
    if device_type == "meta":
        return
    for _device, _state in zip(devices, states):
        raise RuntimeError("Torch not compiled with CUDA enabled")


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
        if not _engine.is_checkpoint_valid():
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                "passing an `inputs` parameter to .backward(). To resolve this error, you can "
                "either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument.")
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
        check_backward_validity(args)  # torch warns from its forward, grad mode or not
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check,
                                         debug, early_stop, args, kwargs)


def _checkpoint_without_reentrant(fn, preserve, context_fn, determinism_check, debug,
                                  early_stop, args, kwargs):
    """torch's non-reentrant variant (see ``_checkpoint_frame``)."""
    if _checkpoint_debug_enabled if _checkpoint_debug_enabled is not None else debug:
        if context_fn is not noop_context_fn:
            raise ValueError("debug=True is incompatible with non-default context_fn")
    checks = {"default": _frame.default_meta, "none": None}
    if determinism_check not in checks:
        raise ValueError(f"determinism_check should be one of {list(checks)}, but got "
                         f"{determinism_check}")
    forward_ctx, recompute_ctx = context_fn()
    autocast_kwargs = _cpu_autocast_kwargs()
    rng_state = _random.get_rng_state() if preserve else None

    def recompute(*a):
        current = _random.get_rng_state() if preserve else None
        try:
            if preserve:
                _random.set_rng_state(rng_state)
            with _amp.autocast("cpu", **autocast_kwargs), recompute_ctx:
                fn(*a, **kwargs)
        finally:
            if current is not None:
                _random.set_rng_state(current)

    if not is_grad_enabled():
        return fn(*args, **kwargs)
    stop = _enable_checkpoint_early_stop if _enable_checkpoint_early_stop is not None \
        else early_stop
    frame = _frame.Frame(recompute, stop, checks[determinism_check], args)
    with frame.hooks(), forward_ctx:
        out = fn(*args, **kwargs)
    frame.forward_completed = True
    return out


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


def _sac_ignored_ops():
    from .. import ops

    return {ops.aten.detach.default}


SAC_IGNORED_OPS = _sac_ignored_ops()

"""Selective activation checkpointing: ``create_selective_checkpoint_contexts``.

torch runs the checkpointed forward under a dispatch mode that asks ``policy_fn(ctx, op, *args,
**kwargs)`` for every aten op whether to keep its output, and runs the recomputation under a
second mode that hands the kept outputs back instead of running those ops again. gradstep has
no dispatcher: the two contexts install ``autograd.function._op_hook``, through which every
graph op (``Node.apply``) runs while one is active (in the thread that entered it). The policy
is asked about each op that records a graph node, with the op as torch's
``torch.ops.aten.<name>.default`` (``mm``, ``addmm``, ``bmm``, ``convolution``, ...; an op gradstep
does not list there is a stand-in with the same ``str``) and the op's tensor inputs as ``args``
(gradstep's ops take their other arguments as attributes, so ``kwargs`` is empty).
"""

from __future__ import annotations

import enum
import threading
from collections import defaultdict

from .._tensor import Tensor
from ..autograd import function as _function

__all__ = ["CheckpointPolicy", "SelectiveCheckpointContext", "create_selective_checkpoint_contexts"]


class SelectiveCheckpointContext:
    """What the policy function gets as its first argument (``op_output``: the op's result)."""

    def __init__(self, *, is_recompute, op_output=None) -> None:
        self.is_recompute = is_recompute
        self.op_output = op_output


class CheckpointPolicy(enum.Enum):
    """Save an op's output in forward, or recompute it in backward (``MUST_*`` / ``PREFER_*``
    only differ for compilers; the CPU-offload policies save, as everything is on the CPU)."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVING = (CheckpointPolicy.MUST_SAVE, CheckpointPolicy.PREFER_SAVE)
_RECOMPUTE = object()
_CONSUMED = object()
_MISMATCH = ("This can happen if the operations in the checkpointed region are nondeterministic "
             "or depend on global state that changed between forward and backward.")


def _policy_from_bool(b):
    return CheckpointPolicy.MUST_SAVE if b else CheckpointPolicy.PREFER_RECOMPUTE


class _UnlistedOp:
    """The op a policy sees for a node whose aten op ``torch.ops.aten`` does not list."""

    _made: dict = {}

    def __new__(cls, name):
        op = cls._made.get(name)
        if op is None:
            op = cls._made[name] = super().__new__(cls)
            op._name = name
        return op

    def name(self):
        return f"aten::{self._name}"

    def __str__(self):
        return f"aten.{self._name}.default"

    def __repr__(self):
        return f"<OpOverload(op='aten.{self._name}', overload='default')>"


def _op_of(node):
    import re

    from .._aten_builtin import op_for_node_name

    name = node.name().rpartition("::")[2]
    op = op_for_node_name(name)
    if op is None:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", re.sub(r"Backward\d*$", "", name)).lower()
        op = _UnlistedOp(snake)
    return op


class _OpMode:
    """While entered (by one thread), every graph op runs through ``_run``."""

    def __init__(self, storage):
        self.storage = storage
        self.counter = defaultdict(int)

    def __enter__(self):
        self._prev = _function._op_hook
        self._thread = threading.get_ident()
        _function._op_hook = self._hook
        return self

    def __exit__(self, *exc):
        _function._op_hook = self._prev

    def _hook(self, cls, inputs, attrs):
        if threading.get_ident() != self._thread:
            return _plain(self._prev, cls, inputs, attrs)
        idx = self.counter[cls]
        self.counter[cls] = idx + 1
        return self._run(cls, idx, inputs, attrs)


def _plain(hook, cls, inputs, attrs):
    """``cls.apply`` with ``hook`` as the op hook (None: the plain op)."""
    prev = _function._op_hook
    _function._op_hook = hook
    try:
        return cls.apply(*inputs, **attrs)
    finally:
        _function._op_hook = prev


class _CachingMode(_OpMode):
    """The forward context: runs each op, asks the policy, keeps the outputs it says to save."""

    def __init__(self, policy_fn, storage):
        super().__init__(storage)
        self.policy_fn = policy_fn

    def _run(self, cls, idx, inputs, attrs):
        out = _plain(None, cls, inputs, attrs)
        fn = out.grad_fn if isinstance(out, Tensor) else None
        if fn is None:  # no graph node: nothing backward would need from it
            self.storage[cls][idx] = _RECOMPUTE
            return out
        policy = self.policy_fn(SelectiveCheckpointContext(is_recompute=False, op_output=out),
                                _op_of(fn), *inputs)
        if isinstance(policy, bool):
            policy = _policy_from_bool(policy)
        if policy in _SAVING or policy in (CheckpointPolicy.MUST_CPU_OFFLOAD,
                                           CheckpointPolicy.PREFER_CPU_OFFLOAD):
            self.storage[cls][idx] = (out._data, out._vc, out._vc[0])
        else:
            self.storage[cls][idx] = _RECOMPUTE
        return out


class _CachedMode(_OpMode):
    """The recompute context: ops whose output was saved return it instead of running."""

    def __init__(self, storage, allow_cache_entry_mutation):
        super().__init__(storage)
        self.allow_mutation = allow_cache_entry_mutation

    def __enter__(self):
        self.counter.clear()  # a second backward meets "backward an extra time", as torch's
        return super().__enter__()

    def _run(self, cls, idx, inputs, attrs):
        per_op = self.storage.get(cls)
        if per_op is None or idx not in per_op:
            raise RuntimeError(f"{cls.__name__} invocation index {idx} encountered during "
                               f"backward but not found in storage. {_MISMATCH}")
        entry = per_op[idx]
        if entry is _CONSUMED:
            raise RuntimeError("Trying to backward an extra time. You are only allowed to "
                               "backward once on any region computed under selective "
                               "activation checkpoint.")
        if entry is _RECOMPUTE:
            return _plain(None, cls, inputs, attrs)
        data, vc, version = entry
        if not self.allow_mutation and vc[0] != version:
            raise RuntimeError("Tensor cached during selective activation checkpoint has been "
                               "mutated")
        per_op[idx] = _CONSUMED
        # the node is recorded as usual (its saved inputs are what the recompute collects);
        # only its computation is replaced by the kept output
        return _plain(None, cls, inputs, dict(attrs, forward=lambda *arrays: data))


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """The ``context_fn`` pair for ``checkpoint(..., use_reentrant=False)``: a list of ops is a
    policy saving those ops' outputs and recomputing the rest."""
    from .._ops_namespace import OpOverload, OpOverloadPacket

    if isinstance(policy_fn_or_list, list):
        for op in policy_fn_or_list:
            if not isinstance(op, OpOverload):
                extra = ("Please update the OpOverloadPacket to a specific OpOverload.For "
                         "example, if you have `torch.ops.aten.mm`, change it to "
                         "`torch.ops.aten.mm.default`.") if isinstance(op, OpOverloadPacket) else ""
                raise ValueError(f"Expected op in `op_list` to be an OpOverload but got: {op} "
                                 f"of type {type(op)}. {extra}")
        ops = policy_fn_or_list

        def policy_fn(ctx, op, *args, **kwargs):
            return CheckpointPolicy.MUST_SAVE if op in ops else CheckpointPolicy.PREFER_RECOMPUTE
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage = defaultdict(dict)
    return _CachingMode(policy_fn, storage), _CachedMode(storage, allow_cache_entry_mutation)

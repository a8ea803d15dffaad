"""Non-reentrant activation checkpointing (``checkpoint(..., use_reentrant=False)``), as torch's.

The forward runs with grad on, so the graph is the plain one (``autograd.grad`` reaches the
parameters used inside, ``create_graph`` and double backward work), but under
``saved_tensors_hooks`` that store each saved tensor as an empty ``_Holder``. The first unpack
in a backward pass re-runs the function (RNG state and autocast restored) under a hook that fills
the holders still alive with the recomputed values, in save order, stopping once the last one is
filled (early stop). An unpacked value carries the original tensor's graph edge, so a backward
that builds a graph differentiates through the original graph, as torch's saved variables do.

What is not recomputed: leaves that require grad (parameters, inputs: alive anyway), custom
``Function`` ``save_for_backward`` tensors, and the arrays some fused nodes keep themselves
(see ``autograd.graph``): those stay in memory from the forward, with the same numbers.
"""

from __future__ import annotations

import itertools
import threading
import weakref

from .._tensor import Tensor
from ..autograd import engine as _engine
from ..autograd.grad_mode import enable_grad
from ..autograd.graph import saved_tensors_hooks

DEBUG_TIP = """
Tip: To see a more detailed error message, either pass `debug=True` to
`torch.utils.checkpoint.checkpoint(...)` or wrap the code block
with `with torch.utils.checkpoint.set_checkpoint_debug_enabled(True):` to
enable checkpoint\u2011debug mode globally.
"""
_outside = itertools.count(1)  # ids for unpacks outside a backward pass


class CheckpointError(RuntimeError):
    pass


class _StopRecomputation(Exception):
    pass


def default_meta(x):
    return {"shape": x.shape, "dtype": x.dtype, "device": x.device}


class GraphExecGroup:
    """Backward calls made inside one instance recompute each checkpointed region at most once
    (they must not need the same saved activation); contexts cannot be nested."""

    _local = threading.local()

    def __enter__(self):
        current = getattr(GraphExecGroup._local, "group", None)
        if current is not None:
            raise RuntimeError(f"GraphExecGroup contexts cannot be nested. Already inside group "
                               f"{current}")
        GraphExecGroup._local.group = self
        return self

    def __exit__(self, *args):
        GraphExecGroup._local.group = None

    @classmethod
    def _get_current_group(cls):
        return getattr(cls._local, "group", None)


class _Holder:
    """What the graph keeps for one saved tensor: its graph edge and, per backward pass, the
    recomputed value (``kept``: a leaf that requires grad, saved as it is)."""

    __slots__ = ("handles", "kept", "fn", "nr", "rg", "__weakref__")

    def __init__(self, t):
        self.handles = {}
        if t._rg and t.grad_fn is None:
            self.kept = t
        else:
            self.kept = None
            self.fn, self.nr, self.rg = t.grad_fn, t._out_nr, t._rg


class Frame:
    """One checkpointed call: its inputs, the holders of what it saved, the recomputations."""

    def __init__(self, recompute_fn, early_stop, metadata_fn, args):
        self.recompute_fn = recompute_fn
        self.early_stop = early_stop
        self.metadata_fn = metadata_fn
        self.args = args
        self.weak_holders = []
        self.metas = []
        self.recomp_counter = {}
        self.recomputed = set()
        self.forward_completed = False
        self.ignore_saved_mismatch = False

    # -- forward: the hooks the checkpointed function runs under
    def hooks(self):
        return saved_tensors_hooks(self._pack, self._unpack)

    def _pack(self, t):
        holder = _Holder(t)
        self.weak_holders.append(weakref.ref(holder))
        if self.metadata_fn is not None:
            self.metas.append(self.metadata_fn(t))
        return holder

    # -- backward
    def _unpack(self, holder):
        gid = GraphExecGroup._get_current_group()
        in_pass = gid is not None
        if gid is None:
            gid = _engine.current_graph_task_id()
            in_pass = gid != -1
        if not in_pass:
            gid = ("outside", next(_outside))
        if gid not in self.recomputed:
            self._recompute(gid)
            if in_pass and not isinstance(gid, GraphExecGroup):
                # drop what this pass recomputed once it ends (retain_graph keeps the holders)
                _engine.queue_callback(lambda: self._forget(gid))
        if holder.kept is not None:  # recomputed as torch does (its checks), used as it is
            holder.handles.pop(gid, None)
            return holder.kept
        if gid not in holder.handles:
            raise AssertionError("Something went unexpectedly wrong in activation checkpoint. "
                                 "Please report this bug by filing an issue to PyTorch.")
        value = holder.handles[gid] if in_pass else holder.handles.pop(gid)
        if not holder.rg:
            return value
        t = Tensor._make(value._data, True, holder.fn)  # the original tensor's graph edge
        t._out_nr = holder.nr
        return t

    def _recompute(self, gid):
        self.recomp_counter[gid] = 0
        try:
            with _RecomputeHook(self, gid), enable_grad():
                self.recompute_fn(*self.args)
        except _StopRecomputation:
            pass
        self.recomputed.add(gid)
        self._check(gid)

    def _forget(self, gid):
        self.recomputed.discard(gid)
        self.recomp_counter.pop(gid, None)
        for ref in self.weak_holders:
            h = ref()
            if h is not None:
                h.handles.pop(gid, None)

    def _check(self, gid):
        """torch's errors when the recomputation saved other tensors than the forward."""
        if self.ignore_saved_mismatch:
            return
        if len(self.weak_holders) != self.recomp_counter[gid]:
            raise CheckpointError(
                "torch.utils.checkpoint: A different number of tensors was saved during the "
                "original forward and recomputation.\n"
                f"Number of tensors saved during forward: {len(self.weak_holders)}\n"
                f"Number of tensors saved during recomputation: {self.recomp_counter[gid]}.\n"
                f"{DEBUG_TIP}")
        if self.metadata_fn is None:
            return
        bad = ""
        for idx, ref in enumerate(self.weak_holders):
            h = ref()
            if h is None or gid not in h.handles:
                continue
            now = self.metadata_fn(h.handles[gid])
            if now != self.metas[idx]:
                bad += (f"tensor at position {idx}:\nsaved metadata: {self.metas[idx]}\n"
                        f"recomputed metadata: {now}\n")
        if bad:
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values for the following tensors have "
                f"different metadata than during the forward pass.\n{bad}.\n{DEBUG_TIP}")


class _RecomputeHook(saved_tensors_hooks):  # noqa: N801
    """Fills the frame's holders, in save order, with the recomputed (detached) values."""

    def __init__(self, frame, gid):
        def pack(x):
            x = x.detach() if x._rg else x
            idx = frame.recomp_counter[gid]
            frame.recomp_counter[gid] = idx + 1
            n = len(frame.weak_holders)
            if idx >= n:
                if not frame.forward_completed:  # a backward inside the checkpointed function
                    frame.ignore_saved_mismatch = True
                    return x
                raise CheckpointError("torch.utils.checkpoint: trying to save more tensors "
                                      "during recomputation than during the original forward "
                                      f"pass.\n{DEBUG_TIP}")
            holder = frame.weak_holders[idx]()
            if holder is not None:  # dead: its node already ran without retain_graph
                holder.handles[gid] = x
            if frame.early_stop and idx + 1 == n:
                raise _StopRecomputation
            return x

        super().__init__(pack, lambda x: x)

"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward.

How the gradients are reduced (as torch's Reducer does it):

* Parameters that require grad are grouped into buckets of about
  ``bucket_cap_mb`` (default 25 MB; with the default, the bucket of the first
  layers only 1 MB), posted in reverse registration order: the last layers'
  gradients are ready first in backward, and the first layers' bucket, ready
  last, is the communication that cannot overlap, so it is kept small. A bucket
  holds one dtype.
* Each parameter has a post-accumulate-grad hook. When a parameter's gradient is
  ready it is copied, divided by the world size, into its bucket's flat buffer;
  when a bucket is complete, its non-blocking all-reduce (``Iallreduce``) is
  posted and runs while backward continues with earlier layers. Buckets are
  posted in a fixed order on every rank, so the collectives always match.
* When the last bucket is posted, a final callback is queued on the autograd
  engine: before ``backward()`` returns it waits for every bucket and writes the
  averaged gradients back into each ``.grad``.
* A communication hook (``register_comm_hook``) replaces the division and the
  all-reduce: it gets each complete bucket, undivided, as a ``GradBucket`` and
  returns a ``Future`` of the reduced flat tensor, which is written into the grads.
* With ``gradient_as_bucket_view=True`` each ``.grad`` is a view of its bucket, so
  backward accumulates straight into the buffer that is reduced (no copies).
"""

from __future__ import annotations

import contextlib
import inspect
import time
import warnings
import weakref
import zlib

from ... import distributed as dist
from ..._tensor import Tensor
from ...autograd import engine
from ...autograd.function import AccumulateGrad, _edge
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...backend import xp
from ...distributed import GradBucket
from ...distributed.algorithms.join import Join, Joinable, JoinHook, _JoinConfig
from ...futures import Future
from ..modules.module import Module

_DEFAULT_BUCKET_CAP_MB = 25
_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024


class _Bucket:
    """A flat buffer holding the gradients of some parameters of one dtype."""

    def __init__(self, indices, params, dtype):
        self.indices = indices  # positions in DistributedDataParallel._params
        self.offsets = []
        n = 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.buffer = xp.zeros(n, dtype=dtype)
        self.pending = len(indices)
        self.request = None  # the all-reduce in flight, or
        self.future = None  # what the communication hook returned
        self.done = False

    def reset(self):
        self.pending = len(self.indices)
        self.request = None
        self.future = None
        self.done = False

    def test(self):
        """Let the reduction in flight advance; True once it is done."""
        if not self.done:
            self.done = self.future.done() if self.future is not None else self.request.Test()
        return self.done

    def wait(self):
        """The flat array holding the reduced gradients, once the reduction is done."""
        if self.future is None:
            self.request.Wait()
            return self.buffer
        return _hook_result(self.future.wait(), self.buffer)


def _hook_result(value, buffer):
    """The flat array in what a hook's future delivered: a tensor, or a list of one."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, Tensor):
        raise RuntimeError("DDP communication hook's future must hold a tensor (or a list of one "
                           f"tensor) the size of the bucket, got {type(value).__name__}")
    if value.numel() != buffer.size:
        raise RuntimeError(f"DDP communication hook's future holds a tensor of {value.numel()} "
                           f"elements, but the bucket has {buffer.size}")
    data = value._data
    return data if data is buffer else xp.ascontiguousarray(data).reshape(-1)


def _assign_buckets(params, cap_bytes, first_cap_bytes):
    """Lists of parameter indices in the order their all-reduces are posted (torch's assignment).

    Parameters are taken in registration order, one open bucket per dtype; a bucket is
    closed once it holds at least its cap (``first_cap_bytes`` for the first one closed,
    ``cap_bytes`` after). The list is then reversed: the last layers' gradients are ready
    first in backward, and the first layers' small bucket, ready last, is the part of
    the communication that cannot overlap anything.
    """
    open_buckets, sizes, done = {}, {}, []
    for i, p in enumerate(params):
        key = p._data.dtype
        open_buckets.setdefault(key, []).append(i)
        sizes[key] = sizes.get(key, 0) + p.numel() * p._data.itemsize
        if sizes[key] >= (first_cap_bytes if not done else cap_bytes):
            done.append(open_buckets.pop(key))
            sizes[key] = 0
    done.extend(open_buckets.values())
    done.sort(key=lambda idx: idx[0])
    return [list(reversed(idx)) for idx in reversed(done)]


def _reachable_params(outputs):
    """ids of the leaf tensors that the autograd graphs of ``outputs`` lead to."""
    stack, seen, leaves = [], set(), set()
    for t in outputs:
        e = _edge(t) if t._rg else None
        if e is not None and e[0] not in seen:
            seen.add(e[0])
            stack.append(e[0])
    while stack:
        node = stack.pop()
        if type(node) is AccumulateGrad:
            leaves.add(id(node.variable))
            continue
        for e in node._next:
            if e is not None and e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
    return leaves


def _find_tensors(obj):
    """Every tensor in a (nested) output: tensors, lists, tuples and dicts."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _find_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _find_tensors(o)]
    return []


class DistributedDataParallel(Module, Joinable):
    """Data parallelism across the ranks of a ``gradstep.distributed`` process group.

    Every rank runs the same model on its own share of each batch; ``backward()``
    returns with every ``.grad`` averaged over all ranks, so the same optimizer
    step keeps the replicas identical. Parameters and buffers are broadcast from
    the group's rank 0 at construction (and buffers, e.g. BatchNorm statistics,
    before each forward when ``forward_sync_buffers``; torch 2.13's deprecated
    ``broadcast_buffers=False`` also skips the first sync). ``static_graph=True`` finds the
    unused parameters in the first iteration and treats them as unused afterwards.
    ``join()`` lets ranks with fewer batches finish early (uneven inputs).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=None,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        super().__init__()
        _refuse_unsupported(delay_all_reduce_named_params, param_to_hook_all_reduce, mixed_precision,
                            device_mesh, bucket_cap_mb_list)
        forward_sync, init_sync_buffers = _buffer_sync(broadcast_buffers, forward_sync_buffers)
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if device_ids is not None or output_device is not None:
            raise ValueError("DistributedDataParallel device_ids and output_device must be None: "
                             "gradstep runs one CPU process per rank")
        if bucket_cap_mb is not None and bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.process_group = _process_group(process_group)
        self._comm = self.process_group._comm
        self.module = module
        self.dim = dim
        self.forward_sync_buffers = forward_sync
        self.skip_all_reduce_unused_params = bool(skip_all_reduce_unused_params)
        self.batched_grad_copy = bool(batched_grad_copy)
        self.mixed_precision = None
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = False
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.require_backward_grad_sync = True
        self.world_size = self.process_group.size()
        self._divisor = self.world_size  # of the default averaging; join() may lower it
        self._divide_by_initial_world_size = True
        self._join_config = _JoinConfig.construct_disabled_join_config()
        cap_mb = _DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(cap_mb * 1024 * 1024)
        first_cap = min(_DEFAULT_FIRST_BUCKET_BYTES, self.bucket_bytes_cap) if bucket_cap_mb is None \
            else self.bucket_bytes_cap

        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._buckets = []
        self._slot = [None] * len(self._params)  # index -> (bucket, offset)
        for idx in _assign_buckets(self._params, self.bucket_bytes_cap, first_cap):
            b = _Bucket(idx, [self._params[i] for i in idx], self._params[idx[0]]._data.dtype)
            for i, off in zip(idx, b.offsets):
                self._slot[i] = (b, off)
            self._buckets.append(b)
        # each parameter's stretch of its bucket, shaped like it (its .grad with bucket views)
        self._views = [b.buffer[off:off + p.numel()].reshape(p._data.shape)
                       for p, (b, off) in zip(self._params, self._slot)]

        self._comm_hook = None  # (hook, state) once register_comm_hook is called
        self._static_unused = None  # with static_graph: the unused parameters, found once
        self._expect_hooks = False  # a forward that needs its backward synced happened
        self._ready = [False] * len(self._params)
        self._used = xp.zeros(len(self._params), dtype=xp.uint8)
        self._next_bucket = 0
        self._hooks_fired = False
        self._wait_seconds = 0.0
        self._reductions = 0
        if self.world_size > 1:
            self._check_same_model()
            if init_sync:
                self._broadcast(list(module.parameters()) + (list(module.buffers()) if init_sync_buffers
                                                             else []))
        if self.gradient_as_bucket_view:
            for i in range(len(self._params)):
                self._grad_into_bucket(i)
        self._hook_handles = [p.register_post_accumulate_grad_hook(_make_hook(self, i))
                              for i, p in enumerate(self._params)]
        if static_graph:
            self._set_static_graph()

    @property
    def broadcast_buffers(self):
        """torch 2.13's deprecated name of ``forward_sync_buffers``."""
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value):
        self.forward_sync_buffers = value

    # ------------------------------------------------------------ construction helpers
    def _check_same_model(self):
        """Every rank must wrap a model with the same parameter shapes (else the buckets differ)."""
        sig = [len(self._params), sum(p.numel() for p in self._params)]
        sig.append(zlib.crc32(repr([(tuple(p.shape), p._data.dtype.str) for p in self._params]).encode()))
        lo, hi = Tensor._make(xp.array(sig, dtype=xp.int64)), Tensor._make(xp.array(sig, dtype=xp.int64))
        dist.all_reduce(lo, op=dist.ReduceOp.MIN, group=self.process_group)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX, group=self.process_group)
        if not bool((lo._data == hi._data).all()):
            raise RuntimeError(
                f"DistributedDataParallel: rank {dist.get_rank()} has {sig[0]} parameters with "
                f"{sig[1]} values, but the ranks do not all wrap the same model (parameter counts "
                f"{int(lo._data[0])}..{int(hi._data[0])}, values {int(lo._data[1])}..{int(hi._data[1])}, "
                "or different shapes); build the same model on every rank")

    def _broadcast(self, tensors, group_src=0):
        with no_grad():
            for t in tensors:
                dist.broadcast(t, group=self.process_group, group_src=group_src)

    def _syncs_buffers(self):
        return self.forward_sync_buffers and self.world_size > 1 and is_grad_enabled() and \
            any(True for _ in self.module.buffers())

    # ------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        self._check_previous_reduction()
        if self._join_config.enable:
            self._join_iteration()
        elif self._syncs_buffers():
            self._broadcast(list(self.module.buffers()))
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._prepare_for_backward(output)
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes of forwards run inside this block only accumulate local gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------ hooks and graph options
    def register_comm_hook(self, state, hook):
        """Reduce each bucket with ``hook(state, bucket) -> Future`` instead of the averaging
        all-reduce (torch's contract: the bucket is not divided by the world size; the future
        holds a tensor of the bucket's size, which becomes the bucket's gradients). Once only.
        """
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        _check_hook_signature(hook)
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be "
                               "called once.")
        self._comm_hook = (hook, state)

    def _set_static_graph(self):
        """Declare the graph static: the parameters unused in the first iteration stay unused."""
        if self.static_graph:
            warnings.warn("You've set static_graph to be True, no need to set it again.",
                          stacklevel=2)
            return
        self.static_graph = True
        if self.find_unused_parameters:
            warnings.warn("You passed find_unused_parameters=true to DistributedDataParallel, "
                          "`_set_static_graph` will detect unused parameters automatically, so "
                          "you do not need to set find_unused_parameters=true, just be sure these "
                          "unused parameters will not change during training loop while calling "
                          "`_set_static_graph`.", stacklevel=2)

    # ------------------------------------------------------------ the reducer
    def _check_previous_reduction(self):
        if self._expect_hooks and self._hooks_fired:
            missing = [self._names[i] for i, r in enumerate(self._ready) if not r]
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. "
                "This error indicates that your module has parameters that were not used in producing "
                "loss. Pass find_unused_parameters=True to DistributedDataParallel, or make sure every "
                "output of forward takes part in computing the loss. Parameters that received no "
                f"gradient on rank {dist.get_rank()}: {', '.join(missing)}")
        self._drain()

    def _drain(self):
        """Finish collectives a forward without backward left posted, then start a fresh round."""
        for b in self._buckets:
            if b.request is not None or b.future is not None:
                b.wait()
        self._start_round()

    def _start_round(self):
        for b in self._buckets:
            b.reset()
        self._ready = [False] * len(self._params)
        self._used[:] = 0
        self._next_bucket = 0
        self._hooks_fired = False
        self._expect_hooks = False

    def _tracks_unused(self):
        return self.find_unused_parameters or self.static_graph

    def _prepare_for_backward(self, output):
        self._expect_hooks = True
        if not self._tracks_unused():
            return
        if self.static_graph and self._static_unused is not None:
            unused = self._static_unused
        else:
            reached = _reachable_params(_find_tensors(output))
            unused = [i for i, p in enumerate(self._params) if id(p) not in reached]
            if self.static_graph:
                self._static_unused = unused
        for i in unused:
            self._mark_ready(i, used=False)
        if self._next_bucket == len(self._buckets):  # no parameter takes part: nothing to wait for
            self._finalize()

    def _grad_ready(self, index):
        """The post-accumulate-grad hook of parameter ``index``."""
        if not self._expect_hooks:
            return
        if self._ready[index]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once: parameter {self._names[index]} got a "
                "second gradient before the reduction finished (several backward passes through one "
                "forward?). Use no_sync() for all but the last of them.")
        self._hooks_fired = True
        self._mark_ready(index, used=True)
        if self._next_bucket == len(self._buckets):
            engine.queue_callback(self._finalize)
        else:
            self._poll()

    def _poll(self):
        """Let posted all-reduces advance: MPI moves a non-blocking collective along only inside
        MPI calls (without a progress thread), so each gradient hook tests the ones in flight."""
        for b in self._buckets[:self._next_bucket]:
            b.test()

    def _grad_into_bucket(self, index):
        """With bucket views: make ``.grad`` of parameter ``index`` its bucket view (copying a
        gradient held elsewhere into it). True if it already was."""
        p, view = self._params[index], self._views[index]
        if p._grad is not None and p._grad._data is view:
            return True
        if p._grad is not None:
            view[...] = p._grad._data
            p.grad = Tensor._make(view)
        return False

    def _mark_ready(self, index, used):
        self._ready[index] = True
        self._used[index] = used
        bucket, off = self._slot[index]
        p = self._params[index]
        view = bucket.buffer[off:off + p.numel()]
        divide = self._comm_hook is None  # a hook gets the bucket undivided
        if p._grad is None:
            view[:] = 0
        elif self.gradient_as_bucket_view:
            self._grad_into_bucket(index)
            if divide:
                xp.divide(view, self._divisor, out=view, casting="unsafe")
        elif divide:
            xp.divide(p._grad._data.reshape(-1), self._divisor, out=view, casting="unsafe")
        else:
            view[:] = p._grad._data.reshape(-1)
        bucket.pending -= 1
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            self._launch(self._next_bucket)
            self._next_bucket += 1

    def _launch(self, k):
        """Start reducing bucket ``k``: the averaging all-reduce, or the communication hook."""
        b = self._buckets[k]
        if self._comm_hook is None:
            b.request = self._comm.allreduce(b.buffer, "sum", nonblocking=True)
            return
        hook, state = self._comm_hook
        bucket = GradBucket(k, Tensor._make(b.buffer), b.offsets, [self._params[i] for i in b.indices],
                            len(self._buckets))
        fut = hook(state, bucket)
        if not isinstance(fut, Future):
            raise RuntimeError("DDP communication hook's callback must return a torch.futures.Future "
                               f"object, but got {type(fut).__module__}.{type(fut).__qualname__}")
        b.future = fut

    def _finalize(self):
        """Wait for every bucket and write the averaged gradients into ``.grad``."""
        start = time.perf_counter()
        results = [b.wait() for b in self._buckets]
        globally_used = None
        if self._tracks_unused():
            used = Tensor._make(self._used.copy())
            # used on any rank: it gets the average
            dist.all_reduce(used, op=dist.ReduceOp.MAX, group=self.process_group)
            globally_used = used._data
        self._wait_seconds += time.perf_counter() - start
        self._reductions += 1
        for b, result in zip(self._buckets, results):
            for i, off in zip(b.indices, b.offsets):
                if globally_used is None or globally_used[i]:
                    self._set_grad(i, result[off:off + self._params[i].numel()], result is b.buffer)
        self._start_round()

    def _set_grad(self, index, flat, in_bucket):
        """``.grad`` of parameter ``index`` becomes ``flat`` (its reduced values)."""
        p = self._params[index]
        if self.gradient_as_bucket_view:
            view = self._views[index]
            if not in_bucket:
                view[...] = flat.reshape(view.shape)
            if p._grad is None or p._grad._data is not view:
                p.grad = Tensor._make(view)
            return
        avg = flat.reshape(p._data.shape)
        if p._grad is None:
            p.grad = Tensor._make(avg.astype(p._data.dtype, copy=True))
        else:
            p._grad._data[...] = avg

    # ------------------------------------------------------------ uneven inputs (join)
    def join(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False):
        """Context manager for ranks with different numbers of batches (torch's DDP.join).

        A rank that runs out of batches leaves the block and shadows the others' collectives
        (its gradients count as zeros) until all have left; then every rank takes the model of
        the last to leave. Gradients are divided by the initial world size, or with
        ``divide_by_initial_world_size=False`` by the number of ranks still running.
        """
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs):
        return _DDPJoinHook(self, kwargs.get("divide_by_initial_world_size", True))

    @property
    def join_device(self):
        from ... import device

        return device("cpu")

    @property
    def join_process_group(self):
        return self.process_group

    def _join_iteration(self):
        """A running rank's side of a join round: count the running ranks, say what this
        iteration syncs, and broadcast buffers from a running rank."""
        work = Join.notify_join_context(self)
        active = self.world_size
        if work is not None:
            work.wait()
            active = int(work.result()[0]._data[0])
        self._divisor = self.world_size if self._divide_by_initial_world_size else active
        buffers = self._syncs_buffers()
        self._join_flags(is_grad_enabled() and self.require_backward_grad_sync, buffers)
        if buffers:
            self._broadcast(list(self.module.buffers()), self._common_rank(True))

    def _join_flags(self, backward, buffers):
        """(whether the running ranks sync the backward, their buffers): joined ranks send 0s."""
        flags = Tensor._make(xp.array([int(backward), int(buffers)], dtype=xp.int64))
        dist.all_reduce(flags, group=self.process_group)
        return bool(flags._data[0]), bool(flags._data[1])

    def _common_rank(self, candidate):
        """The highest group rank among those with ``candidate`` True."""
        rank = Tensor._make(xp.array([self.process_group.rank() if candidate else -1], dtype=xp.int64))
        dist.all_reduce(rank, op=dist.ReduceOp.MAX, group=self.process_group)
        return int(rank._data[0])

    def _shadow_iteration(self):
        """A joined rank's side of a join round: the same collectives, with zero gradients."""
        backward, buffers = self._join_flags(False, False)
        if buffers:
            self._broadcast(list(self.module.buffers()), self._common_rank(False))
        if not backward:
            return
        for k, b in enumerate(self._buckets):
            zeros = xp.zeros_like(b.buffer)
            if self._comm_hook is None:  # non-blocking, as the running ranks' (MPI matches kinds)
                self._comm.allreduce(zeros, "sum", nonblocking=True).Wait()
                continue
            hook, state = self._comm_hook
            hook(state, GradBucket(k, Tensor._make(zeros), b.offsets,
                                   [self._params[i] for i in b.indices], len(self._buckets))).wait()
        if self._tracks_unused():
            used = Tensor._make(xp.zeros(len(self._params), dtype=xp.uint8))
            dist.all_reduce(used, op=dist.ReduceOp.MAX, group=self.process_group)

    def _get_ddp_logging_data(self):
        """Counters for benchmarks: reductions finished, seconds spent waiting on them, bucket sizes."""
        return {
            "world_size": self.world_size,
            "reductions": self._reductions,
            "comm_wait_seconds": self._wait_seconds,
            "bucket_sizes": [int(b.buffer.nbytes) for b in self._buckets],
            "comm_hook": None if self._comm_hook is None else
            getattr(self._comm_hook[0], "__qualname__", repr(self._comm_hook[0])),
            "static_graph": self.static_graph,
        }


class _DDPJoinHook(JoinHook):
    """DDP's part in ``Join``: shadow each iteration, then take the last joiner's model."""

    def __init__(self, ddp, divide_by_initial_world_size):
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self):
        self.ddp._shadow_iteration()

    def post_hook(self, is_last_joiner):
        ddp = self.ddp
        ddp._divisor = ddp.world_size
        src = ddp._common_rank(is_last_joiner)
        ddp._broadcast(list(ddp.module.parameters()) + list(ddp.module.buffers()), src)


def _process_group(process_group):
    """The ProcessGroup DDP reduces over (the default group when None)."""
    if process_group is None:
        return dist._groups.default_group()  # raises, naming init_process_group, before it
    if not isinstance(process_group, dist.ProcessGroup):
        raise ValueError("DistributedDataParallel: process_group must be a group made by "
                         f"new_group() (on one of its ranks) or None, got {process_group!r}")
    return process_group


def _check_hook_signature(hook):
    """torch's checks of a hook's annotations, where it has them."""
    try:
        params = inspect.signature(hook).parameters
        ret = inspect.signature(hook).return_annotation
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return
    bucket = params.get("bucket")
    given = bucket.annotation if bucket is not None else inspect.Parameter.empty
    # postponed annotations are strings: "dist.GradBucket", "torch.futures.Future[torch.Tensor]"
    if given not in (inspect.Parameter.empty, GradBucket) and \
            not (isinstance(given, str) and given.endswith("GradBucket")):
        raise ValueError("Communication hook: bucket annotation should be dist.GradBucket.")
    if ret not in (inspect.Signature.empty, Future[Tensor]) and \
            not (isinstance(ret, str) and ret.replace(" ", "").endswith("Future[torch.Tensor]")):
        raise ValueError("Communication hook: return annotation should be "
                         "torch.futures.Future[torch.Tensor].")


def _make_hook(ddp, index):
    """The post-accumulate-grad hook of parameter ``index`` (holds ``ddp`` weakly)."""
    ref = weakref.ref(ddp)

    def hook(param):
        d = ref()
        if d is not None:
            d._grad_ready(index)

    return hook


def _buffer_sync(broadcast_buffers, forward_sync_buffers):
    """(sync buffers before each forward, sync them at construction), with torch 2.13's
    FutureWarnings for the deprecated ``broadcast_buffers``."""
    if broadcast_buffers is not None:
        if forward_sync_buffers is not None:
            warnings.warn("Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
                          "`broadcast_buffers` is deprecated and its value is ignored when "
                          "`forward_sync_buffers` is provided.", FutureWarning, stacklevel=3)
        else:
            warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. "
                          "IMPORTANT: unlike `broadcast_buffers=False`, `forward_sync_buffers=False` "
                          "still syncs buffers at init. If you rely on buffers NOT being synced at init "
                          "(e.g. rank-local buffers), keep using `broadcast_buffers=False` until "
                          "`init_sync_buffers` is available.", FutureWarning, stacklevel=3)
    if forward_sync_buffers is not None:
        return bool(forward_sync_buffers), True
    effective = True if broadcast_buffers is None else bool(broadcast_buffers)
    return effective, effective


def _refuse_unsupported(delay_all_reduce_named_params, param_to_hook_all_reduce, mixed_precision,
                        device_mesh, bucket_cap_mb_list):
    """torch 2.13's newer options that change what DDP computes or where: not supported over MPI."""
    given = [name for name, value in (
        ("delay_all_reduce_named_params", delay_all_reduce_named_params),
        ("param_to_hook_all_reduce", param_to_hook_all_reduce), ("mixed_precision", mixed_precision),
        ("device_mesh", device_mesh), ("bucket_cap_mb_list", bucket_cap_mb_list)) if value is not None]
    if given:
        raise NotImplementedError(f"DistributedDataParallel({', '.join(given)}=...) is not supported by "
                                  "gradstep's MPI data parallelism; leave it None")

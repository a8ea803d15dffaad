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
"""

from __future__ import annotations

import contextlib
import time
import weakref
import zlib

from ... import distributed as dist
from ..._tensor import Tensor
from ...autograd import engine
from ...autograd.function import AccumulateGrad, _edge
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...backend import xp
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
        self.request = None
        self.done = False

    def reset(self):
        self.pending = len(self.indices)
        self.request = None
        self.done = False


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


class DistributedDataParallel(Module):
    """Data parallelism across the ranks of ``gradstep.distributed``'s process group.

    Every rank runs the same model on its own share of each batch; ``backward()``
    returns with every ``.grad`` averaged over all ranks, so the same optimizer
    step keeps the replicas identical. Parameters and buffers are broadcast from
    rank 0 at construction (and buffers, e.g. BatchNorm statistics, before each
    forward when ``broadcast_buffers``). ``static_graph`` is accepted as a hint
    and changes nothing here; gradients are always copies, not bucket views.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if device_ids is not None or output_device is not None:
            raise ValueError("DistributedDataParallel device_ids and output_device must be None: "
                             "gradstep runs one CPU process per rank")
        if gradient_as_bucket_view:
            raise ValueError("gradient_as_bucket_view=True is not supported: gradients are copied "
                             "out of the buckets")
        if process_group is not None:
            raise ValueError("gradstep.distributed has only the default process group: "
                             "pass process_group=None")
        if bucket_cap_mb is not None and bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = False
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
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
                self._broadcast(list(module.parameters()) + list(module.buffers()))
        self._hook_handles = [p.register_post_accumulate_grad_hook(_make_hook(self, i))
                              for i, p in enumerate(self._params)]

    # ------------------------------------------------------------ construction helpers
    def _check_same_model(self):
        """Every rank must wrap a model with the same parameter shapes (else the buckets differ)."""
        sig = [len(self._params), sum(p.numel() for p in self._params)]
        sig.append(zlib.crc32(repr([(tuple(p.shape), p._data.dtype.str) for p in self._params]).encode()))
        lo, hi = Tensor._make(xp.array(sig, dtype=xp.int64)), Tensor._make(xp.array(sig, dtype=xp.int64))
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        if not bool((lo._data == hi._data).all()):
            raise RuntimeError(
                f"DistributedDataParallel: rank {dist.get_rank()} has {sig[0]} parameters with "
                f"{sig[1]} values, but the ranks do not all wrap the same model (parameter counts "
                f"{int(lo._data[0])}..{int(hi._data[0])}, values {int(lo._data[1])}..{int(hi._data[1])}, "
                "or different shapes); build the same model on every rank")

    def _broadcast(self, tensors):
        with no_grad():
            for t in tensors:
                dist.broadcast(t, src=0)

    # ------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        self._check_previous_reduction()
        if self.broadcast_buffers and self.world_size > 1 and is_grad_enabled():
            bufs = list(self.module.buffers())
            if bufs:
                self._broadcast(bufs)
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
            if b.request is not None:
                b.request.Wait()
            b.reset()
        self._ready = [False] * len(self._params)
        self._used[:] = 0
        self._next_bucket = 0
        self._hooks_fired = False
        self._expect_hooks = False

    def _prepare_for_backward(self, output):
        self._expect_hooks = True
        if not self.find_unused_parameters:
            return
        reached = _reachable_params(_find_tensors(output))
        for i, p in enumerate(self._params):
            if id(p) not in reached:
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
            if b.request is not None and not b.done:
                b.done = b.request.Test()

    def _mark_ready(self, index, used):
        self._ready[index] = True
        self._used[index] = used
        bucket, off = self._slot[index]
        p = self._params[index]
        view = bucket.buffer[off:off + p.numel()]
        if p._grad is None:
            view[:] = 0
        else:
            xp.multiply(p._grad._data.reshape(-1), 1.0 / self.world_size, out=view, casting="unsafe")
        bucket.pending -= 1
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            b = self._buckets[self._next_bucket]
            b.request = dist._get_world().allreduce(b.buffer, "sum", nonblocking=True)
            self._next_bucket += 1

    def _finalize(self):
        """Wait for every bucket and write the averaged gradients into ``.grad``."""
        start = time.perf_counter()
        for b in self._buckets:
            b.request.Wait()
        globally_used = None
        if self.find_unused_parameters:
            used = Tensor._make(self._used.copy())
            dist.all_reduce(used, op=dist.ReduceOp.MAX)  # used on any rank: it gets the average
            globally_used = used._data
        self._wait_seconds += time.perf_counter() - start
        self._reductions += 1
        for b in self._buckets:
            for i, off in zip(b.indices, b.offsets):
                if globally_used is not None and not globally_used[i]:
                    continue
                p = self._params[i]
                avg = b.buffer[off:off + p.numel()].reshape(p._data.shape)
                if p._grad is None:
                    p.grad = Tensor._make(avg.copy())
                else:
                    p._grad._data[...] = avg
        for b in self._buckets:
            b.reset()
        self._ready = [False] * len(self._params)
        self._used[:] = 0
        self._next_bucket = 0
        self._hooks_fired = False
        self._expect_hooks = False

    def _get_ddp_logging_data(self):
        """Counters for benchmarks: reductions finished, seconds spent waiting on them, bucket sizes."""
        return {
            "world_size": self.world_size,
            "reductions": self._reductions,
            "comm_wait_seconds": self._wait_seconds,
            "bucket_sizes": [int(b.buffer.nbytes) for b in self._buckets],
        }


def _make_hook(ddp, index):
    """The post-accumulate-grad hook of parameter ``index`` (holds ``ddp`` weakly)."""
    ref = weakref.ref(ddp)

    def hook(param):
        d = ref()
        if d is not None:
            d._grad_ready(index)

    return hook

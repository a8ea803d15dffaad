"""gradstep's own intra-op threads, for elementwise and per-row work on large arrays.

NumPy runs each ufunc on one core, where torch runs its elementwise kernels on every
intra-op thread. NumPy's loops release the GIL, so a large op split into chunks along
its first axis, the chunks run on a few Python threads, can use the other cores too.

Only work whose numbers do not depend on the split comes here: elementwise ufuncs,
and per-row or per-image work (a softmax over the last axis, a max pool over each
plane) whose reductions run inside one chunk in the same order as in one call. So the
result is bit-identical to the one-thread call, whatever the thread count.

The threads share one iterator over the chunks and each takes the next chunk when
done with its last (``next`` on a list iterator is atomic under the GIL): a thread the
OS does not schedule, because another process is busy on that core, costs nothing,
the others take its share. The calling thread works too.

How many threads: ``GRADSTEP_NUM_THREADS`` if set, else ``OMP_NUM_THREADS`` if set, else
one per usable core (at most ``MAX_THREADS``); ``set_num_threads(n)`` here changes it
(1: never split).
``gradstep.set_num_threads`` (torch's call) sets the BLAS's threads and leaves this
pool alone.

Only arrays of ``MIN_ELEMENTS`` or more are split, a high bar, measured on the 2-core
VM of bench/RESULTS.md. Splitting halves an op run back to back (exp over 4M floats:
2.0 -> 1.0 ms), but inside a training step a worker thread woken after even 1 ms of
idleness starts on its waker's core and shares it for the next milliseconds (exp over
1M floats on two threads after a pause: 530 us, against 400 back to back and 710 on
one thread). torch's OpenMP threads and OpenBLAS's spin-wait between kernels and so
stay on their cores; a Python thread cannot wait without sleeping (spinning would hold
the GIL). So only large arrays gain: the wide CNN's 2M-4M element ReLU, pooling and
layout copies, where the smaller arrays of the other benchmark models ran 0-20% slower
split than whole. The optimizer's flat path (``gradstep.optim._flat``) shares the same
worker threads for its long updates.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .backend import xp

MAX_THREADS = 8
# Below this many elements one call is cheaper than handing chunks to threads inside a
# training step (2-core VM: the wide CNN's 2M-4M element ReLU, pooling and layout copies
# gained 5-10% of its step; the transformer's 1M-element ones and everything smaller lost).
MIN_ELEMENTS = 1 << 21
CHUNKS_PER_THREAD = 4  # a few chunks each, so a descheduled thread's share moves to the others


def usable_cores() -> int:
    """The cores this process may run on (``sched_getaffinity``), at most ``MAX_THREADS``."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_THREADS, n or 1))


def _default_threads():
    """``GRADSTEP_NUM_THREADS``, else ``OMP_NUM_THREADS`` (what limits torch's intra-op threads,
    e.g. one per MPI rank), when set to a positive int; else the usable cores."""
    for name in ("GRADSTEP_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            n = int(os.environ.get(name, ""))
        except ValueError:
            continue
        if n > 0:
            return min(MAX_THREADS, n)
    return usable_cores()


_threads = _default_threads()
_pool = None
_pool_lock = threading.Lock()


def get_num_threads() -> int:
    return _threads


def set_num_threads(n: int) -> None:
    """Split large elementwise work among ``n`` threads (the caller's included); 1: never."""
    global _threads
    _threads = max(1, min(MAX_THREADS, int(n)))


def executor():
    """The process-wide worker threads: one fewer than the usable cores, made on first use."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=max(1, usable_cores() - 1),
                                           thread_name_prefix="gradstep")
    return _pool


def _forget_pool_after_fork():
    global _pool
    _pool = None  # the parent's worker threads do not exist in a forked child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def worth_splitting(elements: int, rows: int) -> bool:
    """Whether work over ``elements`` elements in ``rows`` first-axis rows should be split."""
    return _threads > 1 and elements >= MIN_ELEMENTS and rows >= 2


def run(fn, tasks, workers=None):
    """``[fn(*task) for task in tasks]``, the tasks shared among the threads; results in order.

    ``fn`` must release the GIL for most of its time (NumPy loops do) and must not depend
    on which thread runs it.
    """
    tasks = list(tasks)
    workers = min(workers or _threads, len(tasks))
    if workers <= 1:
        return [fn(*t) for t in tasks]
    results = [None] * len(tasks)
    todo = iter(list(enumerate(tasks)))

    def work():
        for i, t in todo:
            results[i] = fn(*t)

    futures = [executor().submit(work) for _ in range(workers - 1)]
    try:
        work()
    finally:
        for f in futures:
            f.result()
    return results


def row_ranges(rows: int, elements: int):
    """``(lo, hi)`` first-axis ranges: a few chunks per thread, none much below MIN_ELEMENTS/4."""
    chunks = min(rows, _threads * CHUNKS_PER_THREAD, max(_threads, elements // (MIN_ELEMENTS // 4)))
    bounds = [rows * i // chunks for i in range(chunks + 1)]
    return [(lo, hi) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


def over_rows(fn, rows: int, elements: int):
    """``fn(lo, hi)`` for first-axis chunks ``[lo, hi)`` of ``rows`` rows, on threads when
    the work (``elements`` in all) is large; returns the results in order."""
    if not worth_splitting(elements, rows):
        return [fn(0, rows)]
    return run(fn, row_ranges(rows, elements))


def ufunc(f, *args, out=None):
    """``f(*args, out=out)`` for a NumPy ufunc, split along the first axis on large arrays.

    Array arguments broadcast as usual; those that span the output's first axis are
    sliced, the others (a bias row, a scalar) go whole to every chunk. The small-array
    path is a size check on top of the plain call: this runs in every arithmetic op.
    """
    if _threads > 1:
        big = 0
        for a in args:
            if isinstance(a, xp.ndarray) and a.size > big:
                big = a.size
        if big >= MIN_ELEMENTS:
            return _split_ufunc(f, args, out)
    return f(*args) if out is None else f(*args, out=out)


def _split_ufunc(f, args, out):
    if out is None:
        shape = xp.broadcast_shapes(*(a.shape for a in args if isinstance(a, xp.ndarray)))
        if not shape or shape[0] < 2:
            return f(*args)
        try:
            dtypes = tuple(a.dtype if isinstance(a, (xp.ndarray, xp.generic)) else type(a)
                           for a in args)  # a Python scalar's type: weak, as in one call
            out_dtype = f.resolve_dtypes(dtypes + (None,) * f.nout)[-1]
        except (TypeError, AttributeError, ValueError):  # an odd mix: let NumPy decide, one call
            return f(*args)
        out = xp.empty(shape, out_dtype)
    elif not out.shape or out.shape[0] < 2:
        return f(*args, out=out)
    n = out.shape[0]
    sliced = [isinstance(a, xp.ndarray) and a.ndim == out.ndim and a.shape[0] == n for a in args]

    def chunk(lo, hi):
        f(*[a[lo:hi] if s else a for a, s in zip(args, sliced)], out=out[lo:hi])

    run(chunk, row_ranges(n, out.size))
    return out


def elementwise(fn, a):
    """``fn(a)`` for an elementwise ``fn`` of one array (several NumPy passes, say), run on
    first-axis chunks among the threads when ``a`` is large, the pieces then joined."""
    if not a.shape or not worth_splitting(a.size, a.shape[0]):
        return fn(a)
    return xp.concatenate(run(lambda lo, hi: fn(a[lo:hi]), row_ranges(a.shape[0], a.size)))


def unary(f):
    """A one-argument ufunc ``f`` as a forward that splits large arrays among the threads."""
    def forward(a):
        return ufunc(f, a)

    forward.__name__ = forward.__qualname__ = f.__name__
    return staticmethod(forward)


def copyto(dst, src):
    """``dst[...] = src``, split along the first axis on large arrays (a layout change)."""
    src = xp.asarray(src)
    if not dst.shape or not worth_splitting(dst.size, dst.shape[0]):
        dst[...] = src
        return dst
    n = dst.shape[0]
    sliced = src.ndim == dst.ndim and src.shape[0] == n

    def chunk(lo, hi):
        dst[lo:hi] = src[lo:hi] if sliced else src

    run(chunk, row_ranges(n, dst.size))
    return dst


def contiguous(a):
    """``ascontiguousarray(a)``, the copy split along the first axis when large."""
    if a.flags.c_contiguous or not a.shape or not worth_splitting(a.size, a.shape[0]):
        return xp.ascontiguousarray(a)
    return copyto(xp.empty(a.shape, a.dtype), a)

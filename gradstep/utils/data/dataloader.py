"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

Worker processes (``num_workers > 0``) are started with the ``fork`` method on
Linux (fast: the dataset is inherited, not pickled; torch does the same) and
``spawn`` elsewhere; pass ``multiprocessing_context`` to choose. Prefer
``spawn`` when the main process runs threads of its own, as forking a threaded
process is unsafe.

Each worker has its own index queue and its own result pipe. Tasks are handed
out round-robin and read back in the order they were sent, so batches arrive
in sampler order and worker ``k`` always builds the same batches for the same
seed. The main process waits on the result pipe together with every worker's
process sentinel, so a worker that dies (``os._exit``, SIGKILL, a crash) is
reported at once instead of hanging; ``timeout`` bounds each wait.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import warnings
from multiprocessing import connection as mp_connection
from typing import Generic, TypeVar

from ..._torch_random import random_like
from ...backend import xp
from . import _worker
from ._collate import default_collate, default_convert
from ._worker import get_worker_info  # noqa: F401 - torch.utils.data.dataloader re-exports it
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_T_co = TypeVar("_T_co", covariant=True)
_JOIN_TIMEOUT = 5.0  # seconds a worker gets to exit cleanly before it is terminated


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: ``None`` forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


def _default_context():
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


class DataLoader(Generic[_T_co]):
    """Combines a dataset and a sampler into an iterable over batches (torch's signature and rules)."""

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        self._check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self._iterable = isinstance(dataset, IterableDataset)
        shuffle = self._check_sampling_options(shuffle, sampler, batch_sampler, batch_size, drop_last)
        if batch_sampler is not None:
            batch_size, drop_last = None, False
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self._IterableDataset_len_called = None  # torch's name: what len(loader) said, for the overrun warning
        self._initialized = True
        self.check_worker_number_rationality()

    # ------------------------------------------------------------ argument rules
    @staticmethod
    def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let "  # sic, torch's
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

    def _check_sampling_options(self, shuffle, sampler, batch_sampler, batch_size, drop_last):
        """torch's exclusions between shuffle, sampler, batch_sampler, batch_size and drop_last."""
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler "
                                 f"option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        return shuffle

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        if context is not None:
            if self.num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid start method "
                                     f"in {methods!r}, but got multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context object or a "
                                f"string specifying the start method, but got multiprocessing_context={context}")
        self._multiprocessing_context = context

    def __setattr__(self, name, value):
        if name in self._FROZEN and getattr(self, "_initialized", False):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    def check_worker_number_rationality(self):
        """Warn (as torch does, at construction and at each multi-process iterator) when
        ``num_workers`` exceeds the CPUs this process may use."""
        if not self.num_workers:
            return
        cpuset_checked = hasattr(os, "sched_getaffinity")
        cpus = len(os.sched_getaffinity(0)) if cpuset_checked else os.cpu_count()
        if cpus is not None and self.num_workers <= cpus:
            return
        if cpus is None:
            suggestion = "DataLoader is not able to compute a suggested max number of worker in current system."
        else:
            suggestion = (f"Our suggested max number of worker in current system is {cpus}"
                          f"{'' if cpuset_checked else ' (`cpuset` is not taken into account)'}, which is "
                          "smaller than what this DataLoader is going to create.")
        warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in total. {suggestion} "
                      "Please be aware that excessive worker creation might get DataLoader running slow or even "
                      "freeze, lower the worker number to avoid potential slowness/freeze if necessary.",
                      stacklevel=2)

    # ------------------------------------------------------------ iteration
    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:  # none yet, or stopped by an error
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self):
        if self._iterable:
            n = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._iterable = loader._iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._timeout = loader.timeout
        self._num_workers = loader.num_workers
        self._persistent_workers = loader.persistent_workers
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device "
                          "pinned memory won't be used.", stacklevel=3)
        # Drawn for every iterator (also without workers), so the sampler sees the same
        # generator state whatever num_workers is: same seed, same batches.
        self._base_seed = int(random_like(xp.empty((), xp.int64), generator=loader.generator))
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_reported = loader._IterableDataset_len_called if self._iterable else None

    def __iter__(self):
        return self

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")

    def _reset(self, loader):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_reported = loader._IterableDataset_len_called if self._iterable else None

    def _next_index(self):
        return next(self._sampler_iter)

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._len_reported is not None and self._num_yielded > self._len_reported:
            self._warn_length_overrun()
        return data

    def _warn_length_overrun(self):
        """torch's warning: an IterableDataset gave more than the ``len()`` that ``len(loader)`` used.

        As in torch, the count compared is batches yielded against the dataset's length."""
        msg = (f"Length of IterableDataset {self._dataset} was reported to be {self._len_reported}"
               f"(when accessing len(dataloader)), but {self._num_yielded} samples have been fetched. ")
        if self._num_workers > 0:
            msg += ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                    "IterableDataset replica at each worker. Please see "
                    "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for examples.")
        warnings.warn(msg, stacklevel=3)

    def __len__(self):
        return len(self._index_sampler)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = _worker.make_fetcher(self._iterable, self._dataset, self._auto_collation,
                                             self._collate_fn, self._drop_last)

    def _next_data(self):
        return self._fetcher.fetch(self._next_index())  # StopIteration ends the epoch


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Runs ``num_workers`` worker processes; see the module docstring for the design."""

    def __init__(self, loader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        if self._prefetch_factor < 1:  # torch also accepts 0 at construction and fails here
            raise AssertionError("prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
        self._in_order = loader.in_order
        context = loader.multiprocessing_context or _default_context()
        self._workers, self._index_queues, self._conns = [], [], []
        self._shutdown = False
        try:
            for wid in range(self._num_workers):
                self._start_worker(context, loader, wid)
        except BaseException:
            self._shutdown_workers()
            raise
        self._start_epoch(first=True)

    def _start_worker(self, context, loader, wid):
        index_queue = context.Queue()
        index_queue.cancel_join_thread()  # never block interpreter exit on an unread queue
        recv_end, send_end = context.Pipe(duplex=False)
        args = (self._iterable, self._dataset, index_queue, send_end, self._auto_collation,
                self._collate_fn, self._drop_last, self._base_seed, loader.worker_init_fn, wid,
                self._num_workers, os.getpid())
        proc = context.Process(target=_worker.worker_loop, args=args, daemon=True)
        proc.start()
        send_end.close()  # the worker holds the only write end: its death gives EOF here
        self._workers.append(proc)
        self._index_queues.append(index_queue)
        self._conns.append(recv_end)

    # ------------------------------------------------------------ epochs and tasks
    def _reset(self, loader):
        super()._reset(loader)
        self._start_epoch(first=False)

    def _start_epoch(self, first):
        self._send_idx = 0  # id of the next task to send
        self._rcvd_idx = 0  # id of the next task to return (in-order mode)
        self._tasks = {}  # task id -> worker id, for tasks not yet returned
        self._active = [True] * self._num_workers  # False once a worker's iterable stream ended
        self._next_worker = 0
        if not first:
            for q in self._index_queues:
                q.put(_worker._ResumeIteration())
            for wid in range(self._num_workers):
                while not isinstance(self._receive([wid])[1], _worker._ResumeIteration):
                    pass  # results of the previous epoch's unfinished tasks: dropped
        for _ in range(self._prefetch_factor * self._num_workers):
            self._send_task()

    def _send_task(self):
        """Give the next batch of indices to the next active worker, round-robin."""
        for _ in range(self._num_workers):
            wid = self._next_worker
            self._next_worker = (wid + 1) % self._num_workers
            if self._active[wid]:
                break
        else:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        self._index_queues[wid].put((self._send_idx, index))
        self._tasks[self._send_idx] = wid
        self._send_idx += 1

    def _next_data(self):
        while True:
            task_id, data = self._next_result()
            if task_id is None:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if isinstance(data, _worker._IterableEnd):
                self._active[data.worker_id] = False
                continue
            self._send_task()
            if isinstance(data, _worker.ExceptionWrapper):
                data.reraise()
            return data

    def _next_result(self):
        """The next ``(task_id, data)``; ``(None, None)`` when no task is outstanding."""
        if self._in_order:
            while self._rcvd_idx < self._send_idx:
                task_id = self._rcvd_idx
                self._rcvd_idx += 1
                wid = self._tasks.pop(task_id)
                if self._active[wid]:  # tasks of an ended iterable worker get no useful answer
                    got_id, data = self._receive([wid])
                    if got_id != task_id:
                        raise RuntimeError(f"DataLoader internal error: expected task {task_id}, got {got_id}")
                    return task_id, data
            return None, None
        waiting = sorted({w for w in self._tasks.values() if self._active[w]})
        if not waiting:
            return None, None
        task_id, data = self._receive(waiting)
        self._tasks.pop(task_id)
        return task_id, data

    def _receive(self, wids):
        """One message from any of the workers ``wids``; raises if a worker died or time ran out."""
        conns = [self._conns[w] for w in wids]
        sentinels = [p.sentinel for p in self._workers]
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = mp_connection.wait(conns + sentinels, timeout=left)
            for wid, conn in zip(wids, conns):
                if conn in ready:
                    try:
                        return conn.recv()
                    except (EOFError, OSError):
                        self._raise_worker_died([wid])
            exited = [w for w, p in enumerate(self._workers) if p.sentinel in ready]
            if exited:
                self._raise_worker_died(exited)
            if deadline is not None and time.monotonic() >= deadline:
                self._shutdown_workers(graceful=False)
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _raise_worker_died(self, wids):
        """Raise for the workers ``wids`` (their pipe hit EOF or their sentinel fired) that exited."""
        dead = []
        for wid in wids:
            proc = self._workers[wid]
            proc.join(timeout=1.0)  # the process is gone or going: this only reaps its exit code
            if proc.exitcode is not None:
                dead.append(_describe_exit(wid, proc))
        if not dead:
            return
        self._shutdown_workers(graceful=False)
        raise RuntimeError("DataLoader worker exited unexpectedly: " + "; ".join(dead) +
                           ". Run with num_workers=0 to see the error in the main process.")

    # ------------------------------------------------------------ shutdown
    def _shutdown_workers(self, graceful=True):
        """Stop every worker: ask politely, close the result pipes, then terminate stragglers.

        After an error (a dead worker, a timeout) ``graceful=False`` terminates at once:
        the surviving workers may be stuck in the very call that timed out.
        """
        if self._shutdown:
            return
        self._shutdown = True
        for q in self._index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for conn in self._conns:
            conn.close()  # a worker blocked on sending a result gets BrokenPipeError and exits
        deadline = time.monotonic() + (_JOIN_TIMEOUT if graceful else 0.0)
        for proc in self._workers:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
        for proc in self._workers:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=1.0)
        for q in self._index_queues:
            q.close()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:
            pass


def _describe_exit(wid, proc):
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"worker {wid} (pid {proc.pid}) was killed by signal {name}"
    return f"worker {wid} (pid {proc.pid}) exited with code {code}"

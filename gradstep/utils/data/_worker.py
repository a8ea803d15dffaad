"""What runs inside a DataLoader worker process, and the fetchers both sides share.

A worker takes ``(task_id, batch_indices)`` from its own index queue, builds the
batch with a fetcher, and sends ``(task_id, batch)`` back over its own result
pipe. Errors travel as an ``ExceptionWrapper`` carrying the worker's traceback
text; the main process re-raises it. ``None`` on the queue means "exit";
``_ResumeIteration`` (persistent workers) means "start a new epoch" and is
acknowledged so the main process can drop results of the old epoch.
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback

from ..._tensor import Tensor
from ...backend import xp
from ._collate import default_collate
from .dataset import Subset, TensorDataset

_POLL_INTERVAL = 1.0  # how often an idle worker checks that its parent is still alive


# ------------------------------------------------------------------ worker info
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: id, num_workers, seed, dataset."""

    def __init__(self, id, num_workers, seed, dataset):  # noqa: A002 - torch's name
        self.id = id
        self.num_workers = num_workers
        self.seed = seed
        self.dataset = dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={self.dataset!r})")


_worker_info = None


def get_worker_info():
    """The current worker's ``WorkerInfo``, or ``None`` in the main process.

    ``dataset`` is the worker's own copy, so an ``IterableDataset`` (or a
    ``worker_init_fn``) can use ``id`` and ``num_workers`` to pick its share.
    """
    return _worker_info


# ------------------------------------------------------------------ errors
class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as type + traceback text."""

    def __init__(self, where):
        exc_type, exc, tb = sys.exc_info()
        self.exc_type = exc_type if _picklable(exc_type) else RuntimeError
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # an exception type that needs other constructor arguments
            raise RuntimeError(msg) from None
        raise exc


class _KeyErrorMessage(str):
    """KeyError shows ``repr(message)``; this keeps the traceback's newlines readable."""

    def __repr__(self):
        return str(self)


def _picklable(obj):
    try:
        pickle.dumps(obj)
        return True
    except Exception:
        return False


# ------------------------------------------------------------------ fetchers
def _fast_tensor_batch(dataset, index):
    """The batch ``default_collate([dataset[i] for i in index])`` built by one fancy index per tensor.

    Applies to a ``TensorDataset`` (possibly inside ``Subset``s) whose tensors
    do not require grad; returns ``None`` when it does not apply.
    """
    while type(dataset) is Subset:
        if not isinstance(dataset.indices, (list, range, xp.ndarray)):
            return None
        inner = dataset.indices
        index = [inner[i] for i in index]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset or not dataset.tensors:
        return None
    if any(t._rg for t in dataset.tensors):
        return None
    try:
        rows = xp.asarray(index)
    except (TypeError, ValueError):
        return None  # indices of a kind the array module does not take: go item by item
    if rows.ndim != 1 or rows.dtype.kind not in "iu":
        return None
    return [Tensor._make(t._data[rows]) for t in dataset.tensors]


class _MapFetcher:
    """Builds batches of a map-style dataset from sampler indices."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.fast = auto_collation and collate_fn is default_collate

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.fast:
            batch = _fast_tensor_batch(self.dataset, index)
            if batch is not None:
                return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class _IterableFetcher:
    """Builds batches by pulling ``len(index)`` samples from the dataset's iterator."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        samples = []
        for _ in index:
            try:
                samples.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not samples or (self.drop_last and len(samples) < len(index)):
            raise StopIteration
        return self.collate_fn(samples)


def make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableFetcher if iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# ------------------------------------------------------------------ the worker process
class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch; echoed back as the ack."""


class _IterableEnd:
    """A worker's iterable-dataset stream is exhausted for this epoch."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


def seed_worker(base_seed, worker_id):
    """Seed every generator augmentation code may use as torch's workers do: gradstep's and
    Python's with ``base_seed + worker_id``, NumPy's global one with the four words NumPy's
    ``SeedSequence`` makes of ``(worker_id, base_seed)`` (torch's ``_generate_state`` is that
    hash written out), so ``np.random`` in a Dataset draws torch's numbers too."""
    from ...random import manual_seed

    seed = base_seed + worker_id
    manual_seed(seed)
    random.seed(seed)
    entropy = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    xp.random.seed(xp.random.SeedSequence(entropy).generate_state(4))


def worker_loop(iterable, dataset, index_queue, result_conn, auto_collation, collate_fn, drop_last,
                base_seed, init_fn, worker_id, num_workers, parent_pid):
    """The body of a worker process (see the module docstring for the protocol)."""
    global _worker_info
    seed = base_seed + worker_id
    seed_worker(base_seed, worker_id)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        init_error = ExceptionWrapper(where)
    try:
        while True:
            try:
                task = index_queue.get(timeout=_POLL_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    return  # the main process is gone
                continue
            if task is None:
                return
            if isinstance(task, _ResumeIteration):
                if init_error is None:
                    fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                result_conn.send((None, task))
                continue
            task_id, index = task
            if init_error is not None:
                data = init_error
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    data = _IterableEnd(worker_id)
                except Exception:
                    data = ExceptionWrapper(where)
            try:
                result_conn.send((task_id, data))
            except (BrokenPipeError, ConnectionResetError):
                return  # the main process closed our pipe: shutting down
            except Exception:  # the batch could not be pickled
                result_conn.send((task_id, ExceptionWrapper(where)))
    except KeyboardInterrupt:
        return  # Ctrl-C reaches the whole process group; the main process reports it
    except (BrokenPipeError, ConnectionResetError):
        return

"""DataLoader with worker processes: same batches as in-process, seeding, errors, deaths, shutdown.

Tiny datasets and hard timeouts: a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np
import pytest

import gradstep
from gradstep.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

pytestmark = pytest.mark.timeout(60)


class _Augmented(Dataset):
    """Item i: (i, worker id, pid, a draw from each of gradstep's, Python's and NumPy's RNG)."""

    def __init__(self, n):
        self.n = n
        self.offset = 0

    def __getitem__(self, i):
        info = get_worker_info()
        wid = -1 if info is None else info.id
        return {"i": i + self.offset, "worker": wid, "pid": os.getpid(), "seed": info and info.seed,
                "noise": gradstep.rand(2), "py": random.random(), "np": float(np.random.random())}

    def __len__(self):
        return self.n


class _Failing(Dataset):
    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"bad sample {i}: corrupted record")
        return i

    def __len__(self):
        return 8


class _Dying(Dataset):
    def __init__(self, how):
        self.how = how

    def __getitem__(self, i):
        if i == 3 and get_worker_info() is not None:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(7)
        return i

    def __len__(self):
        return 8


class _Sleepy(Dataset):
    def __getitem__(self, i):
        if i == 2:
            time.sleep(30)
        return i

    def __len__(self):
        return 4


class _Range(IterableDataset):
    """Splits range(n) between workers with get_worker_info(), as torch's docs show."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        per = -(-self.n // info.num_workers)
        start = info.id * per
        return iter(range(start, min(start + per, self.n)))


def _epoch(loader):
    return [{k: (v.tolist() if isinstance(v, gradstep.Tensor) else v) for k, v in b.items()}
            for b in loader]


def test_workers_give_the_same_batches_as_the_main_process():
    ds = TensorDataset(gradstep.arange(30), gradstep.arange(30) * 2.0)

    def batches(num_workers):
        dl = DataLoader(ds, batch_size=4, shuffle=True, num_workers=num_workers,
                        generator=gradstep.Generator().manual_seed(5))
        return [(x.tolist(), y.tolist()) for x, y in dl]

    assert batches(2) == batches(0)


def test_seeding_per_worker_is_reproducible_and_distinct():
    def run():
        dl = DataLoader(_Augmented(12), batch_size=2, num_workers=2,
                        generator=gradstep.Generator().manual_seed(1))
        return _epoch(dl)

    a, b = run(), run()
    drop_pid = lambda epoch: [{k: v for k, v in batch.items() if k != "pid"} for batch in epoch]
    assert drop_pid(a) == drop_pid(b)  # same loader seed: same augmentation randomness
    assert [batch["i"] for batch in a] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    assert [batch["worker"] for batch in a] == [[0, 0], [1, 1]] * 3  # round-robin, in order
    assert len({p for batch in a for p in batch["pid"]} - {os.getpid()}) == 2
    assert a[1]["seed"][0] - a[0]["seed"][0] == 1  # worker seed = base_seed + worker id
    for key in ("noise", "py", "np"):  # the two workers draw different numbers
        assert a[0][key] != a[1][key]
    c = _epoch(DataLoader(_Augmented(12), batch_size=2, num_workers=2,
                          generator=gradstep.Generator().manual_seed(2)))
    assert c[0]["noise"] != a[0]["noise"]


def test_worker_init_fn_and_worker_info():
    def init(worker_id):
        info = get_worker_info()
        assert info.id == worker_id and info.num_workers == 2
        info.dataset.offset = 100 * (worker_id + 1)

    got = _epoch(DataLoader(_Augmented(4), batch_size=1, num_workers=2, worker_init_fn=init))
    assert [b["i"] for b in got] == [[100], [201], [102], [203]]
    assert get_worker_info() is None


def test_iterable_dataset_is_split_across_workers():
    dl = DataLoader(_Range(11), batch_size=2, num_workers=2)
    items = [x for batch in dl for x in batch.tolist()]
    assert sorted(items) == list(range(11))  # every item once, none twice


def test_worker_error_reaches_main_process_with_its_traceback():
    dl = DataLoader(_Failing(), batch_size=2, num_workers=2, timeout=20)
    it = iter(dl)
    assert next(it).tolist() == [0, 1]
    start = time.monotonic()
    with pytest.raises(ValueError) as err:
        next(it)
        next(it)
    assert time.monotonic() - start < 10
    msg = str(err.value)
    assert "bad sample 5: corrupted record" in msg
    assert "in DataLoader worker process 0" in msg and "Traceback" in msg and "__getitem__" in msg
    assert next(it).tolist() == [6, 7]  # the loader goes on after a failed batch
    with pytest.raises(StopIteration):
        next(it)


@pytest.mark.parametrize("how, pattern", [("kill", "killed by signal SIGKILL"), ("exit", "exited with code 7")])
def test_dead_worker_is_reported_not_a_hang(how, pattern):
    dl = DataLoader(_Dying(how), batch_size=2, num_workers=2)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=pattern):
        list(dl)
    assert time.monotonic() - start < 10


def test_timeout_is_honoured_and_workers_are_stopped():
    it = iter(DataLoader(_Sleepy(), batch_size=1, num_workers=1, timeout=0.5))
    assert next(it) == 0 and next(it) == 1
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"timed out after 0.5 seconds"):
        next(it)
    assert time.monotonic() - start < 10
    assert not any(p.is_alive() for p in it._workers)


def test_workers_exit_when_exhausted_or_deleted():
    it = iter(DataLoader(_Augmented(8), batch_size=2, num_workers=2))
    procs = list(it._workers)
    assert len(list(it)) == 4
    assert not any(p.is_alive() for p in procs)
    it = iter(DataLoader(_Augmented(40), batch_size=2, num_workers=2))
    next(it)
    procs = list(it._workers)
    del it
    deadline = time.monotonic() + 10
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in procs)


def test_persistent_loader_recovers_after_a_dead_worker():
    dl = DataLoader(_Dying("exit"), batch_size=2, num_workers=1, persistent_workers=True)
    with pytest.raises(RuntimeError, match="exited with code 7"):
        list(dl)
    it = iter(dl)  # fresh workers, not the stopped ones
    assert next(it).tolist() == [0, 1]


def test_persistent_workers_are_reused_across_epochs():
    dl = DataLoader(_Augmented(6), batch_size=2, num_workers=2, persistent_workers=True,
                    prefetch_factor=1)
    first = _epoch(dl)
    it = iter(dl)
    next(it)  # abandon the second epoch part-way: its pending results must not leak
    third = _epoch(dl)
    assert [b["i"] for b in third] == [b["i"] for b in first] == [[0, 1], [2, 3], [4, 5]]
    pids = {p for b in first + third for p in b["pid"]}
    assert len(pids) == 2
    assert all(p.is_alive() for p in dl._iterator._workers)
    procs = list(dl._iterator._workers)
    del dl, it
    deadline = time.monotonic() + 10
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in procs)


def test_out_of_order_delivery_still_yields_every_batch():
    dl = DataLoader(TensorDataset(gradstep.arange(20)), batch_size=3, num_workers=2, in_order=False)
    batches = sorted(b[0].tolist() for b in dl)
    assert batches == [list(range(i, min(i + 3, 20))) for i in range(0, 20, 3)]


def test_unpicklable_batch_is_reported():
    dl = DataLoader(TensorDataset(gradstep.arange(4)), batch_size=2, num_workers=1,
                    collate_fn=lambda batch: (lambda: batch))
    with pytest.raises(Exception, match="in DataLoader worker process 0"):
        next(iter(dl))


def test_spawn_context_works():
    ds = TensorDataset(gradstep.arange(6))
    dl = DataLoader(ds, batch_size=3, num_workers=1, multiprocessing_context="spawn")
    assert [b[0].tolist() for b in dl] == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # torch's __del__ trips
def test_zero_prefetch_factor_fails_on_iteration_like_torch():
    import torch
    import torch.utils.data as tud

    with pytest.raises(AssertionError):
        iter(tud.DataLoader(tud.TensorDataset(torch.arange(4)), num_workers=1, prefetch_factor=0))
    with pytest.raises(AssertionError, match="prefetch_factor"):
        iter(DataLoader(TensorDataset(gradstep.arange(4)), num_workers=1, prefetch_factor=0))

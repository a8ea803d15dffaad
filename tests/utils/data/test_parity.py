"""torch.utils.data as public programs use it, element for element against torch.

Every test runs the same code with ``lib=torch`` and ``lib=gradstep`` from the same seed and
compares the exact orders, values and dtypes: gradstep draws torch's random numbers, so
shuffles, samplers, splits and the per-worker seeds must all come out as torch's.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch

import gradstep

LIBS = (torch, gradstep)


def _plain(x):
    """A batch as plain Python values (tensors as (dtype name, values)), comparable across libs."""
    if isinstance(x, (torch.Tensor, gradstep.Tensor)):
        return str(x.dtype).split(".")[-1], x.tolist()
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x).__name__, [_plain(v) for v in x]
    return x


def _same(fn):
    """``fn(lib)`` for torch and gradstep, as plain values; asserts they are equal."""
    theirs, ours = (_plain(fn(lib)) for lib in LIBS)
    assert ours == theirs
    return ours


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e).__name__, str(e)
    return None


def _same_error(fn):
    theirs, ours = (_error(lambda lib=lib: fn(lib)) for lib in LIBS)
    assert theirs is not None and ours == theirs


# ------------------------------------------------------------------ DataLoader shuffles and the global seed
@pytest.mark.parametrize("seed", [0, 5, 2024])
def test_shuffle_orders_over_epochs_and_the_global_seed_after_each(seed):
    def run(lib):
        lib.manual_seed(seed)
        ds = lib.utils.data.TensorDataset(lib.arange(10), lib.arange(10) * 0.5)
        out = []
        for kwargs in (dict(batch_size=3), dict(batch_size=4, drop_last=True), dict(batch_size=None)):
            dl = lib.utils.data.DataLoader(ds, shuffle=True, **kwargs)
            for _ in range(3):
                out.append([b for b in dl])
                out.append(lib.rand(1))
        next(iter(lib.utils.data.DataLoader(ds, batch_size=2, shuffle=True)))  # a partial epoch
        list(lib.utils.data.DataLoader(ds, batch_size=2))  # no shuffle: still draws the base seed
        out.append(lib.rand(1))
        return out

    _same(run)


@pytest.mark.parametrize("seed", [1, 77])
def test_loader_generator_orders_and_leaves_the_global_seed_alone(seed):
    def run(lib):
        lib.manual_seed(0)
        g = lib.Generator().manual_seed(seed)
        dl = lib.utils.data.DataLoader(list(range(11)), batch_size=4, shuffle=True, generator=g)
        return [[b for b in dl] for _ in range(3)] + [lib.rand(1, generator=g), lib.rand(1)]

    _same(run)


# ------------------------------------------------------------------ samplers
@pytest.mark.parametrize("seed", [0, 7, 2**40 + 5])
def test_sampler_orders_from_the_global_seed(seed):
    weights = [0.1, 0.9, 0.4, 0.0, 2.0, 1.0]

    def run(lib):
        d = lib.utils.data
        lib.manual_seed(seed)
        out = [list(d.RandomSampler(range(10))), list(d.RandomSampler(range(10), replacement=True)),
               list(d.RandomSampler(range(10), replacement=True, num_samples=70)),
               list(d.RandomSampler(range(10), num_samples=25)), list(d.RandomSampler(range(10), num_samples=3)),
               list(d.SubsetRandomSampler([3, 5, 7, 11, 13])),
               list(d.WeightedRandomSampler(weights, 12)),
               list(d.WeightedRandomSampler(weights, 5, replacement=False)),
               list(d.WeightedRandomSampler(lib.rand(50).double(), 40))]
        return out + [lib.rand(3)]

    _same(run)


@pytest.mark.parametrize("seed", [3, 123])
def test_sampler_orders_from_an_explicit_generator(seed):
    weights = [0.1, 0.9, 0.4, 0.0, 2.0, 1.0]

    def run(lib):
        d = lib.utils.data
        lib.manual_seed(0)
        g = lib.Generator().manual_seed(seed)
        out = [list(d.RandomSampler(range(10), generator=g)),
               list(d.RandomSampler(range(10), replacement=True, num_samples=40, generator=g)),
               list(d.SubsetRandomSampler(range(20, 30), generator=g)),
               list(d.WeightedRandomSampler(weights, 10, generator=g)),
               list(d.WeightedRandomSampler(weights, 4, replacement=False, generator=g))]
        return out + [lib.rand(2, generator=g), lib.rand(2)]

    _same(run)


@pytest.mark.parametrize("n", [10, 11, 3])
@pytest.mark.parametrize("replicas", [1, 3, 4])
def test_distributed_sampler_shares_per_rank_and_epoch(n, replicas):
    def run(lib):
        out = []
        for seed in (0, 9):
            for shuffle in (False, True):
                for drop_last in (False, True):
                    for rank in range(replicas):
                        s = lib.utils.data.DistributedSampler(list(range(n)), num_replicas=replicas, rank=rank,
                                                              shuffle=shuffle, seed=seed, drop_last=drop_last)
                        out.append((len(s), s.total_size))
                        for epoch in (0, 1, 5):
                            s.set_epoch(epoch)
                            out.append(list(s))
        return out

    _same(run)


def test_distributed_sampler_rank_errors_match_torch():
    for replicas, rank in [(2, 2), (2, -1), (0, 0)]:
        _same_error(lambda lib, r=replicas, k=rank: lib.utils.data.DistributedSampler(range(4), num_replicas=r, rank=k))


# ------------------------------------------------------------------ datasets
@pytest.mark.parametrize("fractions", [[0.8, 0.2], [0.5, 0.3, 0.2], [1 / 3] * 3, [0.1, 0.1, 0.8]])
@pytest.mark.parametrize("n", [10, 11, 13, 2])
def test_random_split_fractions_and_generator(fractions, n):
    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parts = lib.utils.data.random_split(range(n), fractions, generator=lib.Generator().manual_seed(n))
        return [list(p) for p in parts] + [[str(w.message) for w in caught]]

    _same(run)


def test_random_split_from_the_global_seed():
    def run(lib):
        lib.manual_seed(3)
        parts = lib.utils.data.random_split(range(12), [5, 7])
        return [p.indices for p in parts] + [lib.rand(2)]

    _same(run)


def test_concat_dataset_boundaries_and_negative_indices():
    def run(lib):
        parts = [lib.utils.data.TensorDataset(lib.arange(a, b)) for a, b in ((0, 3), (10, 14), (20, 22))]
        cd = lib.utils.data.ConcatDataset(parts)
        return [cd.cumulative_sizes, [cd[i] for i in range(len(cd))], [cd[-i] for i in range(1, len(cd) + 1)]]

    _same(run)
    _same_error(lambda lib: lib.utils.data.ConcatDataset([range(3)])[-4])


def test_tensor_dataset_size_mismatch_message():
    _same_error(lambda lib: lib.utils.data.TensorDataset(lib.zeros(3), lib.zeros(4)))


def test_typed_subclasses_and_subscripts_like_torch():
    """Typed code subclasses ``Dataset[Tuple[Tensor, int]]``, ``Sampler[int]``, annotates ``DataLoader[T]``."""
    def run(lib):
        d = lib.utils.data

        class Pairs(d.Dataset[tuple]):
            def __len__(self):
                return 3

            def __getitem__(self, i):
                return lib.tensor([float(i)]), i

        class Reversed(d.Sampler[int]):
            def __iter__(self):
                return iter([2, 1, 0])

        out = [list(d.DataLoader(Pairs(), sampler=Reversed(), batch_size=2))]
        for name in ("Dataset", "IterableDataset", "Sampler", "Subset", "DataLoader", "ConcatDataset",
                     "StackDataset", "DistributedSampler", "ChainDataset", "TensorDataset", "RandomSampler"):
            out.append(_error(lambda name=name: getattr(d, name)[int]) is None)
        return out

    assert _same(run)[1][1:] == [True] * 9 + [False] * 2


def test_abstract_iterable_dataset_and_sampler_init_errors():
    _same_error(lambda lib: type("NoIter", (lib.utils.data.IterableDataset,), {})())
    _same_error(lambda lib: lib.utils.data.Sampler([1, 2]))


# ------------------------------------------------------------------ collate
def test_numpy_scalars_mixed_with_python_numbers_promote_like_torch():
    cases = [[np.float32(1), 2.0], [np.float64(1), 2.0], [np.int32(1), 2], [np.int32(1), 2.5],
             [np.float16(1), np.float32(2)], [np.uint8(3), np.int8(-1)], [np.float32(1), np.float32(2)]]
    for batch in cases:
        _same(lambda lib, batch=batch: lib.utils.data.default_collate(batch))


def test_collate_of_every_element_kind():
    def sample(lib, i):
        return {"x": np.full((2,), i, dtype=np.float32), "y": i, "f": i * 0.5, "s": f"s{i}",
                "nest": [i, (i + 1.0, np.int16(i))], "b": bool(i % 2), "t": lib.tensor([i, -i])}

    _same(lambda lib: list(lib.utils.data.DataLoader([sample(lib, i) for i in range(5)], batch_size=2)))
    _same(lambda lib: list(lib.utils.data.DataLoader([sample(lib, i) for i in range(2)], batch_size=None)))


# ------------------------------------------------------------------ loader options and warnings
def test_prefetch_factor_errors_match_torch():
    _same_error(lambda lib: lib.utils.data.DataLoader(range(3), prefetch_factor=2))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # torch's __del__ trips
def test_zero_prefetch_factor_message_matches_torch():
    _same_error(lambda lib: iter(lib.utils.data.DataLoader(range(3), num_workers=1, prefetch_factor=0)))


def test_iterable_dataset_longer_than_its_len_warns_like_torch():
    def run(lib):
        class Stream(lib.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(6))

            def __len__(self):
                return 3

            def __repr__(self):
                return "Stream"

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(lib.utils.data.DataLoader(Stream(), batch_size=1))  # len() never asked: no warning
            dl = lib.utils.data.DataLoader(Stream(), batch_size=1)
            n = len(dl)
            batches = list(dl)
            dl2 = lib.utils.data.DataLoader(Stream(), batch_size=2)
            n2 = len(dl2)  # torch compares the 3 batches yielded with the reported 3 samples
            list(dl2)
        return [n, n2, batches, [(w.category.__name__, str(w.message)) for w in caught]]

    assert len(_same(run)[1][3][1]) == 3


def test_too_many_workers_warning_matches_torch():
    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.utils.data.DataLoader(range(4), num_workers=100_000)
        return [str(w.message) for w in caught]

    assert len(_same(run)[1]) == 1


# ------------------------------------------------------------------ worker processes
def _worker_sample(lib, i):
    info = lib.utils.data.get_worker_info()
    return {"i": i, "worker": info.id, "seed": info.seed, "initial_seed": lib.initial_seed(),
            "torch": lib.rand(1).item(), "np": float(np.random.rand()), "py": random.random()}


class _TorchWorkerDataset(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return _worker_sample(torch, i)


class _OurWorkerDataset(gradstep.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return _worker_sample(gradstep, i)


def test_worker_seeds_orders_and_draws_match_torch():
    """Each worker sees torch's seed (base_seed + id) in ``initial_seed()`` and draws torch's
    numbers from torch, NumPy and ``random``; persistent workers keep their state across epochs."""
    def run(lib):
        ds = _TorchWorkerDataset() if lib is torch else _OurWorkerDataset()
        lib.manual_seed(11)
        dl = lib.utils.data.DataLoader(ds, batch_size=2, shuffle=True, num_workers=2,
                                       persistent_workers=True, prefetch_factor=1)
        out = []
        for _ in range(2):
            out.append(list(dl))
            out.append(lib.rand(1))
        return out

    epoch0 = _same(run)[1][0][1]
    assert [b["worker"][1] for b in epoch0] == [[0, 0], [1, 1], [0, 0], [1, 1]]  # round-robin, in order
    assert all(b["initial_seed"] == b["seed"] for b in epoch0)
    assert gradstep.utils.data.get_worker_info() is None

"""Samplers: counts, coverage, determinism with a generator, argument errors (as torch)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch.utils.data as tud

import gradstep
from gradstep.utils.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def _gen(seed):
    return gradstep.Generator().manual_seed(seed)


def test_sequential():
    s = SequentialSampler(range(7))
    assert list(s) == list(range(7)) and len(s) == 7


def test_random_without_replacement_is_a_permutation():
    s = RandomSampler(range(50), generator=_gen(1))
    got = list(s)
    assert len(s) == 50 and sorted(got) == list(range(50)) and got != list(range(50))


def test_random_num_samples_beyond_length_repeats_full_permutations():
    got = list(RandomSampler(range(10), num_samples=25, generator=_gen(2)))
    assert len(got) == 25
    assert sorted(got[:10]) == list(range(10)) and sorted(got[10:20]) == list(range(10))
    assert len(set(got[20:])) == 5


def test_random_with_replacement():
    s = RandomSampler(range(5), replacement=True, num_samples=400, generator=_gen(3))
    got = list(s)
    assert len(s) == 400 and len(got) == 400 and set(got) == set(range(5))
    assert len(got) > len(set(got))  # repeats happen


def test_random_same_seed_same_order_and_default_generator():
    assert list(RandomSampler(range(30), generator=_gen(4))) == list(RandomSampler(range(30), generator=_gen(4)))
    gradstep.manual_seed(5)
    a = list(RandomSampler(range(30)))
    gradstep.manual_seed(5)
    b = list(RandomSampler(range(30)))
    assert a == b


def test_random_sampler_errors_match_torch():
    for kwargs, exc in [({"replacement": 1}, TypeError), ({"num_samples": 0}, ValueError),
                        ({"num_samples": 2.5}, ValueError)]:
        with pytest.raises(exc):
            tud.RandomSampler(range(3), **kwargs)
        with pytest.raises(exc):
            RandomSampler(range(3), **kwargs)


def test_subset_random():
    idx = [3, 7, 11, 20]
    s = SubsetRandomSampler(idx, generator=_gen(6))
    got = list(s)
    assert len(s) == 4 and sorted(got) == idx


def test_weighted_random_follows_weights():
    s = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000, generator=_gen(7))
    counts = collections.Counter(s)
    assert len(s) == 4000 and counts[0] == 0
    assert 0.7 < counts[2] / 4000 < 0.8  # expected 0.75


def test_weighted_random_without_replacement_is_distinct():
    got = list(WeightedRandomSampler([1.0, 2.0, 3.0, 4.0, 5.0], 5, replacement=False, generator=_gen(8)))
    assert sorted(got) == [0, 1, 2, 3, 4]


def test_weighted_random_errors_match_torch():
    for args in [([1.0, 2.0], 0), ([1.0, 2.0], True), ([[1.0], [2.0]], 2)]:
        with pytest.raises(ValueError):
            tud.WeightedRandomSampler(*args)
        with pytest.raises(ValueError):
            WeightedRandomSampler(*args)


@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(drop_last):
    ours = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(10)), 3, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs) == (3 if drop_last else 4)


def test_batch_sampler_errors_match_torch():
    for args in [(range(4), 0, False), (range(4), True, False), (range(4), 2, 1)]:
        with pytest.raises(ValueError):
            tud.BatchSampler(*args)
        with pytest.raises(ValueError):
            BatchSampler(*args)


def test_batch_sampler_covers_a_random_sampler():
    batches = list(BatchSampler(RandomSampler(range(23), generator=_gen(9)), 5, False))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate(batches).tolist()) == list(range(23))


def test_random_with_replacement_draws_lazily_like_torch():
    # minGPT's trainer: RandomSampler(ds, replacement=True, num_samples=int(1e10)) and next(iter(...));
    # torch draws 32 indices at a time, so the first batch costs nothing
    import itertools

    for mod, gen in ((tud, None), (gradstep.utils.data, _gen(1))):
        s = mod.RandomSampler(range(7), replacement=True, num_samples=int(1e10), generator=gen)
        first = list(itertools.islice(iter(s), 70))
        assert len(s) == int(1e10) and len(first) == 70 and all(0 <= i < 7 for i in first)
    for n in (1, 31, 32, 33, 65):  # the remainder after whole chunks of 32 is drawn too
        assert len(list(RandomSampler(range(3), replacement=True, num_samples=n, generator=_gen(2)))) == \
            len(list(tud.RandomSampler(range(3), replacement=True, num_samples=n))) == n

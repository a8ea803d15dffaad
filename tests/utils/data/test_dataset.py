"""Datasets: TensorDataset, ConcatDataset, Subset, StackDataset, random_split (against torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import gradstep
from gradstep.utils.data import (
    ConcatDataset,
    Dataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)


def test_tensor_dataset_items_and_errors():
    x = gradstep.arange(12).reshape(6, 2)
    y = gradstep.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    assert a.tolist() == [8, 9] and b.item() == 4
    with pytest.raises(AssertionError):
        tud.TensorDataset(torch.zeros(3), torch.zeros(4))
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(gradstep.zeros(3), gradstep.zeros(4))


def test_concat_dataset_indexing_like_torch():
    parts = [list(range(3)), list(range(10, 15)), list(range(20, 22))]
    ours, theirs = ConcatDataset(parts), tud.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 10 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-10, 10):
        assert ours[i] == theirs[i]
    with pytest.raises(ValueError):
        ours[-11]
    with pytest.raises(AssertionError):
        ConcatDataset([])
    assert (Dataset.__add__(_Listy([1]), _Listy([2])))[1] == 2


class _Listy(Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


def test_subset_and_stack_dataset():
    base = _Listy(list("abcdef"))
    sub = Subset(base, [5, 0, 2])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == ["f", "a", "c"]
    assert sub.__getitems__([0, 2]) == ["f", "c"]
    st = StackDataset(base, _Listy(list(range(6))))
    assert st[1] == ("b", 1) and len(st) == 6
    assert StackDataset(a=base, b=base)[0] == {"a": "a", "b": "a"}
    with pytest.raises(ValueError):
        StackDataset(base, _Listy([1]))


@pytest.mark.parametrize("lengths, sizes", [([3, 7], [3, 7]), ([0.5, 0.5], [5, 5]),
                                            ([0.3, 0.3, 0.4], [3, 3, 4]), ([0.33, 0.33, 0.34], [4, 3, 3])])
def test_random_split_sizes_match_torch(lengths, sizes):
    ours = random_split(range(10), lengths, generator=gradstep.Generator().manual_seed(0))
    theirs = tud.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs] == sizes
    seen = [i for s in ours for i in s.indices]
    assert sorted(seen) == list(range(10))  # disjoint and covering


def test_random_split_fraction_remainder_round_robin():
    parts = random_split(range(11), [0.25, 0.25, 0.5], generator=gradstep.Generator().manual_seed(1))
    theirs = tud.random_split(range(11), [0.25, 0.25, 0.5], generator=torch.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [len(p) for p in theirs]


def test_random_split_reproducible_and_errors():
    a = random_split(range(20), [10, 10], generator=gradstep.Generator().manual_seed(3))
    b = random_split(range(20), [10, 10], generator=gradstep.Generator().manual_seed(3))
    assert a[0].indices == b[0].indices and a[0].indices != list(range(10))
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        tud.random_split(range(10), [3, 3])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [1.0, 0.0])


def test_subset_of_tensor_dataset_slices_rows():
    x = gradstep.from_numpy(np.arange(20.0).reshape(10, 2))
    train, _ = random_split(TensorDataset(x), [0.6, 0.4], generator=gradstep.Generator().manual_seed(0))
    for i in range(len(train)):
        assert train[i][0].tolist() == x[train.indices[i]].tolist()

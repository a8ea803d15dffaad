"""DataLoader in the main process: argument rules, len, batching, drop_last, reproducibility, fast path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import gradstep
from gradstep.utils.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
)


class _Squares(Dataset):
    """Map-style: item i is (float32 vector, int label)."""

    def __init__(self, n, lib=gradstep):
        self.n, self.lib = n, lib

    def __getitem__(self, i):
        return self.lib.full((3,), float(i)), i * i

    def __len__(self):
        return self.n


class _Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class _TorchStream(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


BAD_OPTIONS = [
    dict(num_workers=-1),
    dict(timeout=-1),
    dict(prefetch_factor=2),
    dict(num_workers=1, prefetch_factor=-1),
    dict(persistent_workers=True),
    dict(shuffle=True, sampler=[0, 1]),
    dict(batch_sampler=[[0, 1]], batch_size=2),
    dict(batch_sampler=[[0, 1]], shuffle=True),
    dict(batch_sampler=[[0, 1]], sampler=[0, 1]),
    dict(batch_sampler=[[0, 1]], drop_last=True),
    dict(batch_size=None, drop_last=True),
    dict(multiprocessing_context="fork"),
    dict(num_workers=1, multiprocessing_context="no-such-method"),
    dict(num_workers=1, multiprocessing_context=3),
    dict(batch_size=0),
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=lambda o: ",".join(o))
def test_argument_rules_match_torch(options):
    with pytest.raises(Exception) as theirs:
        tud.DataLoader(_Squares(4, torch), **options)
    with pytest.raises(type(theirs.value)):
        DataLoader(_Squares(4), **options)


@pytest.mark.parametrize("options", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])],
                         ids=lambda o: ",".join(o))
def test_iterable_dataset_argument_rules_match_torch(options):
    with pytest.raises(ValueError):
        tud.DataLoader(_TorchStream(4), **options)
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(_Stream(4), **options)


def test_attributes_are_frozen_after_init():
    dl = DataLoader(_Squares(4))
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        dl.batch_size = 3


@pytest.mark.parametrize("n, bs, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, True)])
def test_len_and_drop_last_match_torch(n, bs, drop_last):
    ours = DataLoader(_Squares(n), batch_size=bs, drop_last=drop_last)
    theirs = tud.DataLoader(_Squares(n, torch), batch_size=bs, drop_last=drop_last)
    assert len(ours) == len(theirs) == len(list(ours)) == len(list(theirs))
    assert [len(b[1]) for b in ours] == [len(b[1]) for b in theirs]
    for (ox, oy), (tx, ty) in zip(ours, theirs):
        np.testing.assert_array_equal(ox.numpy(), tx.numpy())
        np.testing.assert_array_equal(oy.numpy(), ty.numpy())
        assert oy.dtype is gradstep.int64 and ox.dtype is gradstep.float32


@pytest.mark.parametrize("bs, drop_last", [(3, False), (3, True), (None, False)])
def test_iterable_dataset_batches_and_len_match_torch(bs, drop_last):
    ours = DataLoader(_Stream(10), batch_size=bs, drop_last=drop_last)
    theirs = tud.DataLoader(_TorchStream(10), batch_size=bs, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [b.tolist() if bs else b for b in ours] == [b.tolist() if bs else b for b in theirs]


def test_batch_size_none_converts_without_batching():
    dl = DataLoader([np.arange(3), np.arange(3) + 1], batch_size=None)
    items = list(dl)
    assert len(items) == 2 and isinstance(items[0], gradstep.Tensor) and items[1].tolist() == [1, 2, 3]


def test_batch_sampler_and_custom_collate():
    dl = DataLoader(_Squares(6), batch_sampler=[[5, 1], [0]], collate_fn=lambda b: [s[1] for s in b])
    assert list(dl) == [[25, 1], [0]] and len(dl) == 2


def test_same_generator_seed_same_batches():
    ds = TensorDataset(gradstep.arange(40))

    def epoch(seed):
        dl = DataLoader(ds, batch_size=8, shuffle=True, generator=gradstep.Generator().manual_seed(seed))
        return [b[0].tolist() for b in dl]

    assert epoch(0) == epoch(0)
    assert epoch(0) != epoch(1)
    assert sorted(sum(epoch(0), [])) == list(range(40))
    gradstep.manual_seed(11)
    a = [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)]
    gradstep.manual_seed(11)
    b = [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)]
    assert a == b


class _SlowTensorDataset(TensorDataset):
    """A TensorDataset subclass: not eligible for the fast path, so items go one by one."""


@pytest.mark.parametrize("wrap", ["plain", "subset"])
def test_tensor_dataset_fast_path_equals_item_by_item(wrap):
    rng = np.random.default_rng(0)
    x = gradstep.from_numpy(rng.standard_normal((50, 2, 3)).astype(np.float32))
    y = gradstep.from_numpy(rng.integers(0, 5, 50))
    fast_ds, slow_ds = TensorDataset(x, y), _SlowTensorDataset(x, y)
    if wrap == "subset":
        idx = rng.permutation(50)[:37].tolist()
        fast_ds, slow_ds = gradstep.utils.data.Subset(fast_ds, idx), gradstep.utils.data.Subset(slow_ds, idx)
    kw = dict(batch_size=8, shuffle=True)
    fast = list(DataLoader(fast_ds, generator=gradstep.Generator().manual_seed(3), **kw))
    slow = list(DataLoader(slow_ds, generator=gradstep.Generator().manual_seed(3), **kw))
    assert len(fast) == len(slow) == len(DataLoader(fast_ds, **kw))
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_fast_path_batches_are_copies():
    x = gradstep.zeros(6, 2)
    batch = next(iter(DataLoader(TensorDataset(x), batch_size=3, sampler=SequentialSampler(range(6)))))
    batch[0].add_(1.0)
    assert x.sum().item() == 0.0


def test_pin_memory_warns_without_accelerator():
    with pytest.warns(UserWarning, match="pin_memory"):
        list(DataLoader(_Squares(2), pin_memory=True))

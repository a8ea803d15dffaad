"""The bundled Digits set: sizes, split, scaling, dtypes, transforms, DataLoader use."""

from __future__ import annotations

import gzip
import os

import numpy as np

import gradstep
from gradstep.datasets import Digits
from gradstep.utils.data import DataLoader

DATA = os.path.join(os.path.dirname(gradstep.datasets.__file__), "data")


def test_sizes_shapes_dtypes_and_range():
    train, test = Digits(), Digits(train=False)
    assert len(train) == 1438 and len(test) == 359 and len(train) + len(test) == 1797
    img, target = train[0]
    assert tuple(img.shape) == (1, 8, 8) and img.dtype is gradstep.float32 and isinstance(target, int)
    assert train.data.dtype is gradstep.float32 and tuple(train.data.shape) == (1438, 1, 8, 8)
    assert train.targets.dtype is gradstep.int64
    assert float(train.data.min()) == 0.0 and float(train.data.max()) == 1.0


def test_split_is_stratified_disjoint_and_matches_the_file():
    raw = np.loadtxt(gzip.open(os.path.join(DATA, "digits.csv.gz")), delimiter=",")
    pixels, labels = raw[:, :64] / 16.0, raw[:, 64].astype(np.int64)
    train, test = Digits(), Digits(train=False)
    test_counts = np.bincount(test.targets.numpy(), minlength=10)
    all_counts = np.bincount(labels, minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * all_counts) <= 0.5)  # 20% of every class, rounded
    # every row lands in exactly one split, with its own label
    rows = np.concatenate([train.data.numpy().reshape(-1, 64), test.data.numpy().reshape(-1, 64)])
    got = {(r.tobytes(), int(t)) for r, t in zip(rows, np.concatenate([train.targets.numpy(), test.targets.numpy()]))}
    want = {(r.astype(np.float32).tobytes(), int(t)) for r, t in zip(pixels, labels)}
    assert got == want and len(rows) == 1797


def test_split_follows_the_documented_recipe():
    labels = np.loadtxt(gzip.open(os.path.join(DATA, "digits.csv.gz")), delimiter=",")[:, 64].astype(int)
    rng = np.random.RandomState(20260)
    expected = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        expected.extend(rng.permutation(idx)[:int(round(0.2 * len(idx)))].tolist())
    with open(os.path.join(DATA, "digits_test_indices.txt")) as f:
        stored = [int(w) for line in f if not line.startswith("#") for w in line.split()]
    assert stored == sorted(expected)
    np.testing.assert_array_equal(Digits(train=False).targets.numpy(), labels[sorted(expected)])


def test_transforms_and_a_loader():
    ds = Digits(transform=lambda x: x * 2, target_transform=lambda t: t + 10)
    img, target = ds[3]
    np.testing.assert_array_equal(img.numpy(), Digits()[3][0].numpy() * 2)
    assert target == int(Digits().targets[3]) + 10
    x, y = next(iter(DataLoader(Digits(train=False), batch_size=16)))
    assert tuple(x.shape) == (16, 1, 8, 8) and y.dtype is gradstep.int64


def test_items_are_copies():
    ds = Digits()
    img, _ = ds[0]
    img.mul_(0.0)
    assert float(ds[0][0].sum()) > 0

"""``--data`` specs: ``digits``, ``mnist:DIR``, ``fashion-mnist:DIR``, ``csv:FILE:TARGET``."""

from __future__ import annotations

import os

from .. import datasets
from .._creation import tensor
from .._tensor import Tensor
from ..backend import xp
from ..random import Generator
from ..utils.data import TensorDataset, random_split
from .config import UsageError


def _images(ds):
    """Dataset images as float32 N x 1 x H x W in [0, 1] and int64 labels."""
    data = ds.data._data
    if data.dtype == xp.uint8:
        data = data.astype(xp.float32) / 255.0
    if data.ndim == 3:
        data = data[:, None]
    return Tensor._make(xp.ascontiguousarray(data, dtype=xp.float32)), ds.targets.long()


def load_data(spec):
    """(train TensorDataset, test TensorDataset, sample shape, number of classes)."""
    kind, _, rest = spec.partition(":")
    rest = os.path.expanduser(rest)
    if kind == "digits" and not rest:
        train, test = datasets.Digits(train=True), datasets.Digits(train=False)
        pairs = [(train.data, train.targets), (test.data, test.targets)]
    elif kind in ("mnist", "fashion-mnist"):
        if not rest:
            raise UsageError(f"--data {kind} needs a folder: --data {kind}:DIR")
        if not os.path.isdir(rest):
            raise UsageError(f"data folder '{rest}' does not exist")
        cls = datasets.MNIST if kind == "mnist" else datasets.FashionMNIST
        try:
            pairs = [_images(cls(rest, train=True)), _images(cls(rest, train=False))]
        except (FileNotFoundError, ValueError, OSError) as e:
            raise UsageError(str(e).splitlines()[0]) from None
    elif kind == "csv":
        path, _, target = rest.rpartition(":")
        if not path or not target:
            raise UsageError("--data csv needs a file and a target column: --data csv:FILE:TARGET")
        if not os.path.isfile(path):
            raise UsageError(f"data file '{path}' does not exist")
        try:
            table = datasets.CSVDataset(path, target)
        except (ValueError, KeyError) as e:
            raise UsageError(str(e).splitlines()[0]) from None
        whole = TensorDataset(table.data, table.targets.long())
        n_test = max(1, len(whole) // 5)
        train_idx, test_idx = random_split(range(len(whole)), [len(whole) - n_test, n_test],
                                           generator=Generator().manual_seed(0))
        tr, te = tensor(list(train_idx)), tensor(list(test_idx))
        pairs = [(table.data[tr], table.targets.long()[tr]), (table.data[te], table.targets.long()[te])]
    else:
        raise UsageError(f"unknown --data '{spec}'; use digits, mnist:DIR, fashion-mnist:DIR or csv:FILE:TARGET")
    (xtr, ytr), (xte, yte) = pairs
    num_classes = int(max(ytr.max().item(), yte.max().item())) + 1
    return TensorDataset(xtr, ytr), TensorDataset(xte, yte), tuple(xtr.shape[1:]), num_classes

"""``--data`` specs: ``digits``, ``mnist:DIR``, ``fashion-mnist:DIR``, ``csv:FILE:TARGET``."""

from __future__ import annotations

import os

from .. import datasets
from .._creation import tensor
from .._tensor import Tensor
from ..backend import xp
from ..random import Generator
from ..utils.data import TensorDataset, random_split
from .config import UsageError, suggest

DATA_KINDS = ("digits", "mnist", "fashion-mnist", "csv")


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
        pairs = _csv_pairs(rest)
    else:
        raise UsageError(f"unknown --data '{spec}'{suggest(kind, DATA_KINDS)}; "
                         "use digits, mnist:DIR, fashion-mnist:DIR or csv:FILE:TARGET")
    (xtr, ytr), (xte, yte) = pairs
    num_classes = int(max(ytr.max().item(), yte.max().item())) + 1
    return TensorDataset(xtr, ytr), TensorDataset(xte, yte), tuple(xtr.shape[1:]), num_classes


def _read_csv(path, target):
    if not os.path.isfile(path):
        raise UsageError(f"data file '{path}' does not exist" if not os.path.exists(path) else
                         f"data file '{path}' is not a file")
    try:
        return datasets.CSVDataset(path, target)
    except UnicodeDecodeError as e:
        raise UsageError(f"data file '{path}' is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (ValueError, KeyError, IndexError) as e:
        raise UsageError(str(e).splitlines()[0]) from None
    except OSError as e:
        raise UsageError(f"cannot read data file '{path}': {e.strerror}") from None


def _check_table(table, path):
    """Class labels 0, 1, 2... in the target column, finite numbers in the others, 2 rows at least."""
    name = f"data file '{path}'"
    targets, data = table.targets._data, table.data._data
    if len(targets) < 2:
        raise UsageError(f"{name} has {len(targets)} data row(s); it needs 2 at least (train and test)")
    if targets.dtype.kind == "f":
        odd = xp.flatnonzero(~xp.isfinite(targets) | (targets != xp.round(targets)))
        if len(odd):
            raise UsageError(f"{name}: the target column '{table.target_column}' holds {float(targets[odd[0]])} on "
                             f"data row {odd[0] + 1}; gradstep train classifies, so targets must be class "
                             "labels 0, 1, 2...")
    if (targets < 0).any():
        row = int(xp.flatnonzero(targets < 0)[0])
        raise UsageError(f"{name}: the target column '{table.target_column}' holds {int(targets[row])} on "
                         f"data row {row + 1}; class labels must be 0, 1, 2...")
    labels = xp.unique(targets)
    if int(labels[-1]) + 1 > max(1000, 2 * len(labels)):
        raise UsageError(f"{name}: the target column '{table.target_column}' has {len(labels)} distinct labels "
                         f"but goes up to {int(labels[-1])}; gradstep train makes one output per class 0 to "
                         "the largest label, so number the classes 0, 1, 2...")
    if not table.feature_names:
        raise UsageError(f"{name} has no feature columns besides the target '{table.target_column}'")
    bad = ~xp.isfinite(data)
    if bad.any():
        row, col = (int(i[0]) for i in xp.nonzero(bad))
        raise UsageError(f"{name}: column '{table.feature_names[col]}' holds {float(data[row, col])} on data row "
                         f"{row + 1}; features must be finite numbers (fill or drop missing values)")


def _csv_pairs(rest):
    """``FILE:TARGET``: a fixed 80/20 split of the table, as (features, labels) pairs."""
    path, _, target = rest.rpartition(":")
    if not path or not target:
        raise UsageError("--data csv needs a file and a target column: --data csv:FILE:TARGET")
    table = _read_csv(path, target)
    _check_table(table, path)
    n = len(table)
    n_test = max(1, n // 5)
    train_idx, test_idx = random_split(range(n), [n - n_test, n_test], generator=Generator().manual_seed(0))
    tr, te = tensor(list(train_idx)), tensor(list(test_idx))
    labels = table.targets.long()
    return [(table.data[tr], labels[tr]), (table.data[te], labels[te])]

"""The UCI optical recognition of handwritten digits set, bundled with gradstep (no download).

1,797 grey 8x8 images of the digits 0-9 (about 180 per class), pixel counts
0..16. The file is scikit-learn's copy (``digits.csv.gz``, BSD-3; see
``data/README.md`` for the licence and the citation).

Split: a fixed, stratified 80/20 split. ``data/digits_test_indices.txt`` lists
the 359 test rows: 20% of every class (rounded), drawn once with
``numpy.random.RandomState(20260)`` and stored, so the split never depends on
the NumPy version. The other 1,438 rows are the training set, in file order.
"""

from __future__ import annotations

import gzip
import os

from .._tensor import Tensor
from ..backend import xp
from ..utils.data.dataset import Dataset

_DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
_cache = {}


def _load(root):
    """(pixels as N x 64 int64, labels as N int64, sorted test indices), read once per folder."""
    folder = _DATA_DIR if root is None else os.fspath(root)
    if folder not in _cache:
        csv_path = os.path.join(folder, "digits.csv.gz")
        split_path = os.path.join(folder, "digits_test_indices.txt")
        for path in (csv_path, split_path):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"Digits: '{path}' not found; pass root=None to use the copy "
                                        "bundled with gradstep")
        with gzip.open(csv_path, "rt") as f:
            table = xp.loadtxt(f, delimiter=",", dtype=xp.int64, ndmin=2)
        if table.shape[1] != 65:
            raise ValueError(f"{csv_path}: expected 65 columns (64 pixels and the label), got {table.shape[1]}")
        with open(split_path) as f:
            words = [w for line in f if not line.startswith("#") for w in line.split()]
        test = xp.array([int(w) for w in words], dtype=xp.int64)
        _cache[folder] = (table[:, :64], table[:, 64], test)
    return _cache[folder]


class Digits(Dataset):
    """``dataset[i]`` is ``(image, target)``: a float32 ``1 x 8 x 8`` tensor and an int.

    Pixels are the set's counts 0..16 divided by 16, so images lie in [0, 1].
    ``data`` (float32, N x 1 x 8 x 8) and ``targets`` (int64, N) hold the whole
    split: 1,438 training or 359 test samples. ``root=None`` uses the bundled
    copy; a folder holding its own ``digits.csv.gz`` and
    ``digits_test_indices.txt`` may be given instead.
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None):
        self.root = root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        pixels, labels, test = _load(root)
        in_test = xp.zeros(len(labels), dtype=bool)
        in_test[test] = True
        rows = xp.flatnonzero(~in_test if train else in_test)
        images = (pixels[rows].astype(xp.float32) / xp.float32(16)).reshape(-1, 1, 8, 8)
        self.data = Tensor._make(images)
        self.targets = Tensor._make(labels[rows].copy())

    def __getitem__(self, index):
        image = Tensor._make(self.data._data[index].copy())  # transforms may work in place
        target = int(self.targets._data[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self.targets._data)

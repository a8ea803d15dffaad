"""``gradstep.datasets``: the bundled Digits set, MNIST-format readers, CSV tables, transforms."""

from . import transforms
from .csv import CSVDataset
from .digits import Digits
from .mnist import MNIST, FashionMNIST, read_idx

__all__ = ["CSVDataset", "Digits", "FashionMNIST", "MNIST", "read_idx", "transforms"]

"""MNIST and Fashion-MNIST from the standard IDX files in a local folder, and the IDX reader.

The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each plain or ``.gz``)
are looked for in ``root`` itself and in ``root/<ClassName>/raw`` (torchvision's
layout), so a folder torchvision downloaded into works as it is. Nothing is
downloaded.
"""

from __future__ import annotations

import gzip
import os
import zlib

from .._tensor import Tensor
from ..backend import xp
from ..utils.data.dataset import Dataset

# IDX element type codes (the third byte of the magic number).
_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


_CHUNK = 1 << 20


def _read_exactly(f, n):
    """Up to ``n`` bytes of ``f``, read in chunks: what is allocated follows what the file really holds
    (a header's claim, or a .gz that inflates without end, cannot make it allocate more)."""
    out = bytearray()
    while len(out) < n:
        chunk = f.read(min(_CHUNK, n - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _read_idx_file(path):
    """(header bytes, dtype, shape, data bytes, whether more bytes follow the data), read no further
    than the header says (a .gz bomb after the data is never inflated)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = _read_exactly(f, 4)
            if len(head) < 4:
                raise ValueError(f"{path}: not an IDX file (only {len(head)} bytes, the header needs at least 4)")
            if head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES or head[3] == 0:
                magic = int.from_bytes(head, "big")
                raise ValueError(f"{path}: not an IDX file (bad magic number 0x{magic:08x}; expected 0x0000TTNN "
                                 "with type byte TT in 08,09,0b,0c,0d,0e and NN >= 1 dimensions)")
            ndim = head[3]
            dims = _read_exactly(f, 4 * ndim)
            if len(dims) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header ({4 + len(dims)} bytes, {ndim} dimensions need "
                                 f"{4 + 4 * ndim})")
            shape = tuple(int.from_bytes(dims[4 * i: 4 + 4 * i], "big") for i in range(ndim))
            dtype = xp.dtype(_IDX_TYPES[head[2]])
            expected = dtype.itemsize
            for s in shape:
                expected *= s
            data = _read_exactly(f, expected)
            more = len(data) == expected and bool(f.read(1))
    except (OSError, EOFError, zlib.error) as e:  # a damaged .gz stream
        raise ValueError(f"{path}: cannot read the file ({e})") from e
    return dtype, shape, expected, data, more


def read_idx(path):
    """The array stored in an IDX file (plain or ``.gz``), with the file's shape and dtype.

    Raises ``ValueError`` naming the file when the magic number is wrong or the
    data is shorter or longer than the header says. Reads no more than the header
    says (plus one byte), so a ``.gz`` that inflates past it is never inflated.
    """
    dtype, shape, expected, raw, more = _read_idx_file(path)
    if len(raw) != expected or more:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        held = f"{len(raw)} bytes of data" if not more else f"more than {expected} bytes of data"
        raise ValueError(f"{path}: IDX data {what}: header says shape {shape} ({expected} bytes of "
                         f"{dtype.name}) but the file holds {held}")
    arr = xp.frombuffer(raw, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # native byte order, writable copy


class MNIST(Dataset):
    """Handwritten digits, 28x28 grey images, 60,000 train and 10,000 test samples.

    ``dataset[i]`` is ``(image, target)``: the image is the raw ``H x W`` uint8
    array (the role torchvision's PIL image plays; ``transforms.ToTensor()``
    turns it into a ``1 x H x W`` float tensor in [0, 1]) and the target an int.
    ``data`` (uint8, N x 28 x 28) and ``targets`` (int64, N) hold everything.
    """

    url = "https://ossci-datasets.s3.amazonaws.com/mnist/"
    files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None):
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        image_name, label_name = self.files[bool(train)]
        images = read_idx(self._find(image_name))
        labels = read_idx(self._find(label_name))
        if images.ndim != 3 or images.dtype != xp.uint8:
            raise ValueError(f"{image_name}: expected a 3-d uint8 IDX array of images, got shape "
                             f"{images.shape} and type {images.dtype}")
        if labels.ndim != 1:
            raise ValueError(f"{label_name}: expected a 1-d IDX array of labels, got shape {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{image_name} holds {len(images)} images but {label_name} holds "
                             f"{len(labels)} labels")
        self.data = Tensor._make(images)
        self.targets = Tensor._make(labels.astype(xp.int64))

    def _find(self, name):
        folders = [self.root, os.path.join(self.root, type(self).__name__, "raw")]
        for folder in folders:
            for candidate in (name, name + ".gz"):
                path = os.path.join(folder, candidate)
                if os.path.isfile(path):
                    return path
        raise FileNotFoundError(
            f"{type(self).__name__}: file '{name}' (or '{name}.gz') not found in "
            + " or ".join(repr(f) for f in folders)
            + f". Download it from {self.url}{name}.gz and put it in {self.root!r}.")

    def __getitem__(self, index):
        image = self.data._data[index]
        target = int(self.targets._data[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self.targets._data)


class FashionMNIST(MNIST):
    """Zalando's article images in MNIST's format (same files, same shapes, 10 clothing classes)."""

    url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]

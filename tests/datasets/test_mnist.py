"""MNIST / FashionMNIST and the IDX reader on small IDX files written here (plain, .gz, malformed)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

import gradstep
from gradstep.datasets import MNIST, FashionMNIST, read_idx
from gradstep.datasets.transforms import ToTensor
from gradstep.utils.data import DataLoader

TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def _idx_bytes(arr):
    code = TYPE_CODES[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">i", s) for s in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write(path, arr, compress=False):
    data = _idx_bytes(arr)
    if compress:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def _make_split(folder, prefix, n, seed, compress):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    _write(folder / f"{prefix}-images-idx3-ubyte", images, compress)
    _write(folder / f"{prefix}-labels-idx1-ubyte", labels, compress)
    return images, labels


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
def test_read_idx_round_trips_every_type(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    got = read_idx(str(_write(tmp_path / "a-idx3", arr)))
    assert got.dtype == np.dtype(dtype) and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
@pytest.mark.parametrize("compress", [False, True])
def test_reads_train_and_test_files(tmp_path, cls, compress):
    train_imgs, train_labels = _make_split(tmp_path, "train", 7, 0, compress)
    test_imgs, test_labels = _make_split(tmp_path, "t10k", 3, 1, compress)
    train, test = cls(tmp_path), cls(str(tmp_path), train=False)
    assert len(train) == 7 and len(test) == 3
    assert train.data.dtype is gradstep.uint8 and tuple(train.data.shape) == (7, 28, 28)
    assert train.targets.dtype is gradstep.int64
    np.testing.assert_array_equal(train.data.numpy(), train_imgs)
    np.testing.assert_array_equal(test.targets.numpy(), test_labels)
    img, target = train[4]
    np.testing.assert_array_equal(img, train_imgs[4])
    assert target == int(train_labels[4])
    assert len(cls.classes) == 10


def test_transform_and_loader(tmp_path):
    imgs, labels = _make_split(tmp_path, "train", 5, 2, False)
    ds = MNIST(tmp_path, transform=ToTensor(), target_transform=lambda t: t * 10)
    x, y = next(iter(DataLoader(ds, batch_size=5)))
    assert tuple(x.shape) == (5, 1, 28, 28) and x.dtype is gradstep.float32
    np.testing.assert_allclose(x.numpy()[:, 0], imgs.astype(np.float32) / 255, rtol=1e-6)
    assert y.tolist() == (labels.astype(int) * 10).tolist()


def test_torchvision_layout_is_found(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    _make_split(raw, "t10k", 2, 3, True)
    assert len(FashionMNIST(tmp_path, train=False)) == 2


def test_missing_file_names_it_and_where_to_get_it(tmp_path):
    _write(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError) as err:
        MNIST(tmp_path)
    msg = str(err.value)
    assert "train-labels-idx1-ubyte" in msg and str(tmp_path) in msg and "https://" in msg
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        FashionMNIST(tmp_path / "nowhere", train=False)


def test_wrong_magic_number(tmp_path):
    good = _idx_bytes(np.zeros((2, 28, 28), np.uint8))
    for bad in (b"\x01" + good[1:], good[:2] + b"\x07" + good[3:], good[:3] + b"\x00" + good[4:]):
        path = tmp_path / "train-images-idx3-ubyte"
        path.write_bytes(bad)
        with pytest.raises(ValueError, match="not an IDX file.*magic"):
            read_idx(str(path))


def test_truncated_and_oversized_files(tmp_path):
    good = _idx_bytes(np.zeros((2, 28, 28), np.uint8))
    cases = [(good[:-10], "truncated"), (good[:9], "truncated IDX header"), (good[:2], "only 2 bytes"),
             (good + b"\x00", "trailing bytes")]
    for data, pattern in cases:
        path = tmp_path / "x-idx3-ubyte"
        path.write_bytes(data)
        with pytest.raises(ValueError, match=pattern) as err:
            read_idx(str(path))
        assert str(path) in str(err.value)
    gz = tmp_path / "y-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(good)[:-12])  # a cut .gz stream
    with pytest.raises(ValueError, match="y-idx3-ubyte.gz"):
        read_idx(str(gz))


def test_mismatched_image_and_label_counts(tmp_path):
    _write(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    _write(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="3 images but .* 2 labels"):
        MNIST(tmp_path)
    _write(tmp_path / "train-labels-idx1-ubyte", np.zeros((3, 1), np.uint8))
    with pytest.raises(ValueError, match="1-d IDX array of labels"):
        MNIST(tmp_path)


def test_a_gz_that_inflates_past_its_header_is_not_inflated(tmp_path):
    """A .gz bomb after valid data: the reader stops one byte past what the header claims."""
    import tracemalloc

    bomb = tmp_path / "x-idx1-ubyte.gz"
    bomb.write_bytes(gzip.compress(_idx_bytes(np.zeros(4, np.uint8)) + bytes(64 << 20)))  # 64 MiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="trailing bytes"):
            read_idx(str(bomb))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # a chunk or two, not the 64 MiB it inflates to
    corrupt = bytearray(gzip.compress(_idx_bytes(np.zeros(400, np.uint8))))
    corrupt[12:20] = b"\xff" * 8  # a broken deflate stream is a ValueError naming the file, not zlib.error
    bad = tmp_path / "y-idx1-ubyte.gz"
    bad.write_bytes(bytes(corrupt))
    with pytest.raises(ValueError, match="y-idx1-ubyte.gz"):
        read_idx(str(bad))

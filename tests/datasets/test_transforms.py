"""Transforms: ToTensor, Normalize (against torch arithmetic), RandomCrop, RandomHorizontalFlip, Compose."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.datasets import transforms as T


def test_to_tensor_hw_and_hwc():
    rng = np.random.default_rng(0)
    hw = rng.integers(0, 256, (4, 5), dtype=np.uint8)
    out = T.ToTensor()(hw)
    assert tuple(out.shape) == (1, 4, 5) and out.dtype is gradstep.float32
    np.testing.assert_array_equal(out.numpy()[0], (torch.from_numpy(hw).float() / 255).numpy())
    hwc = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    out = T.ToTensor()(hwc)
    assert tuple(out.shape) == (3, 4, 5)
    np.testing.assert_array_equal(out.numpy(), (torch.from_numpy(hwc).permute(2, 0, 1).float() / 255).numpy())
    assert float(T.ToTensor()(np.full((2, 2), 255, np.uint8)).max()) == 1.0
    floats = rng.standard_normal((2, 3, 2)).astype(np.float32)
    np.testing.assert_array_equal(T.ToTensor()(floats).numpy(), floats.transpose(2, 0, 1))  # not scaled
    with pytest.raises(TypeError, match="ndarray"):
        T.ToTensor()(gradstep.zeros(2, 2))
    with pytest.raises(ValueError, match="2/3 dimensional"):
        T.ToTensor()(np.zeros(3, np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_torch(dtype):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(dtype)
    mean, std = [0.1, 0.2, 0.3], [0.5, 2.0, 1.5]
    ours = T.Normalize(mean, std)(gradstep.from_numpy(x.copy()))
    tx = torch.from_numpy(x)
    theirs = (tx - torch.tensor(mean, dtype=tx.dtype).view(-1, 1, 1)) / torch.tensor(std, dtype=tx.dtype).view(-1, 1, 1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert ours.dtype.name == np.dtype(dtype).name
    src = gradstep.from_numpy(x.copy())
    assert T.Normalize(mean, std, inplace=True)(src) is src
    np.testing.assert_allclose(src.numpy(), theirs.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_normalize_errors():
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0.0], [0.0])(gradstep.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize([0.0], [1.0])(gradstep.zeros(1, 2, 2, dtype=gradstep.int64))


def test_random_crop_with_padding_is_a_window_of_the_padded_image():
    img = gradstep.arange(1, 17, dtype=gradstep.float32).reshape(1, 4, 4)
    padded = np.pad(img.numpy(), ((0, 0), (2, 2), (2, 2)))
    crop = T.RandomCrop(4, padding=2)
    seen = set()
    gradstep.manual_seed(0)
    for _ in range(200):
        out = crop(img).numpy()
        assert out.shape == (1, 4, 4)
        hits = [(t, l) for t in range(5) for l in range(5) if np.array_equal(padded[:, t:t + 4, l:l + 4], out)]
        assert hits
        seen.update(hits)
    assert len(seen) == 25  # every offset of the 8x8 padded image occurs


def test_random_crop_reproducible_with_seed_and_errors():
    img = gradstep.rand(3, 10, 10)
    gradstep.manual_seed(4)
    a = [T.RandomCrop((5, 6))(img).numpy() for _ in range(5)]
    gradstep.manual_seed(4)
    b = [T.RandomCrop((5, 6))(img).numpy() for _ in range(5)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert a[0].shape == (3, 5, 6)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(12)(img)
    assert tuple(T.RandomCrop(12, pad_if_needed=True)(img).shape) == (3, 12, 12)
    out = T.RandomCrop(6, padding=(1, 2), padding_mode="reflect")(gradstep.rand(1, 4, 4))
    assert tuple(out.shape) == (1, 6, 6)


def test_random_horizontal_flip():
    img = gradstep.arange(6, dtype=gradstep.float32).reshape(1, 2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img).numpy(), torch.arange(6.0).reshape(1, 2, 3).flip(-1).numpy())
    assert T.RandomHorizontalFlip(p=0.0)(img) is img
    gradstep.manual_seed(0)
    flips = sum(T.RandomHorizontalFlip()(img) is not img for _ in range(1000))
    assert 430 < flips < 570


def test_compose_applies_in_order():
    pipeline = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])])
    out = pipeline(np.array([[0, 255]], np.uint8))
    np.testing.assert_allclose(out.numpy(), [[[-1.0, 1.0]]])
    assert "Normalize" in repr(pipeline)

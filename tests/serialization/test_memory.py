"""A load allocates about the file's size plus the tensors it honestly holds, nothing more."""

import tracemalloc

import numpy as np
import torch

import gradstep as gs


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_torch_file_peak(tmp_path):
    sd = {f"w{i}": torch.randn(256, 1024) for i in range(8)}  # 8 MiB of float32
    torch.save(sd, tmp_path / "t.pt")
    size = (tmp_path / "t.pt").stat().st_size
    peak = _peak(lambda: gs.load(tmp_path / "t.pt"))
    # the file's bytes (read once) + the storages (their own arrays, tensors are views) + slack
    assert peak < 2 * size + (4 << 20), (peak, size)
    assert peak > size  # the measurement sees NumPy's allocations


def test_native_file_peak(tmp_path):
    sd = {f"w{i}": gs.tensor(np.random.default_rng(i).standard_normal((256, 1024), dtype=np.float32))
          for i in range(8)}
    gs.save(sd, tmp_path / "g.gs")
    size = (tmp_path / "g.gs").stat().st_size
    peak = _peak(lambda: gs.load(tmp_path / "g.gs"))
    assert peak < 2 * size + (4 << 20), (peak, size)

"""DataLoader benchmark: one shuffled epoch over a 60,000 x 784 float32 TensorDataset, batch 64.

gradstep's DataLoader beside ``torch.utils.data.DataLoader`` (``num_workers=0``)
on the same data in one run; the table gives batches per second and the
gradstep/torch rate ratio (higher is better, >= 1.0 meets the goal). Epochs are
timed in alternation and the fastest of each is kept, so background load
distorts the ratio as little as possible.

Run: ``.venv/bin/python bench/data.py``
"""

from __future__ import annotations

import time

import numpy as np
import torch

import gradstep as gs
from gradstep.utils.data import DataLoader, TensorDataset

N, D, BATCH, REPS = 60_000, 784, 64, 3


def _epoch_seconds(loader):
    t = time.perf_counter()
    n = 0
    for _x, _y in loader:
        n += 1
    return time.perf_counter() - t, n


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(0, 10, N)
    ours = DataLoader(TensorDataset(gs.from_numpy(x), gs.from_numpy(y)), batch_size=BATCH, shuffle=True,
                      generator=gs.Generator().manual_seed(0))
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=BATCH, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    best_ours = best_theirs = float("inf")
    for _ in range(REPS):
        t, n_ours = _epoch_seconds(ours)
        best_ours = min(best_ours, t)
        t, n_theirs = _epoch_seconds(theirs)
        best_theirs = min(best_theirs, t)
    assert n_ours == n_theirs == len(ours)
    rate_ours, rate_theirs = n_ours / best_ours, n_theirs / best_theirs
    print(f"one epoch, {N} x {D} float32, batch {BATCH}, shuffle, num_workers=0 "
          f"({n_ours} batches, best of {REPS})")
    print(f"{'loader':<34}{'batches/s':>12}")
    print(f"{'gradstep.utils.data.DataLoader':<34}{rate_ours:>12.0f}")
    print(f"{'torch.utils.data.DataLoader':<34}{rate_theirs:>12.0f}")
    print(f"{'ratio gradstep/torch':<34}{rate_ours / rate_theirs:>12.2f}")


if __name__ == "__main__":
    main()

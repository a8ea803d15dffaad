"""nn core benchmarks: fused cross-entropy, Linear, Embedding and an MLP step, gradstep beside torch.

Each case runs forward+backward in both libraries on the same data; they are timed in
alternation and the fastest repetition of each is kept (background load distorts the
ratio least). The table gives milliseconds and the gradstep/torch time ratio (lower is
better, 1.0 = same speed). Both libraries run single-threaded and are timed in process CPU
time, so a busy shared machine disturbs the comparison as little as possible.

Run: ``.venv/bin/python bench/nn_core.py``
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: one thread, like torch
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from layers import _best_times  # noqa: E402  (bench/ is the script's folder)

import gradstep as gs  # noqa: E402


def _best(step_gs, step_torch, reps=20):
    """Fastest CPU time of ``reps`` alternating runs of each step."""
    return _best_times(step_gs, step_torch, reps=reps, clock=time.process_time)


def _pair(lib, arr, grad=False):
    t = lib.tensor(arr)
    return t.requires_grad_(True) if grad else t


def cross_entropy():
    r = np.random.default_rng(0)
    x, y = r.standard_normal((512, 1000), dtype=np.float32), r.integers(0, 1000, 512)
    a, b = _pair(gs, x, True), _pair(torch, x, True)
    ya, yb = _pair(gs, y), _pair(torch, y)
    return ("cross_entropy 512x1000, label_smoothing=0.1",
            *_best(lambda: gs.nn.functional.cross_entropy(a, ya, label_smoothing=0.1).backward(),
                   lambda: torch.nn.functional.cross_entropy(b, yb, label_smoothing=0.1).backward()))


def linear():
    r = np.random.default_rng(0)
    x = r.standard_normal((256, 1024), dtype=np.float32)
    la, lb = gs.nn.Linear(1024, 1024), torch.nn.Linear(1024, 1024)
    a, b = _pair(gs, x, True), _pair(torch, x, True)
    return ("Linear 1024->1024, batch 256", *_best(lambda: la(a).sum().backward(),
                                                    lambda: lb(b).sum().backward()))


def embedding():
    r = np.random.default_rng(0)
    idx = r.integers(0, 50_000, (64, 64))
    ea, eb = gs.nn.Embedding(50_000, 128), torch.nn.Embedding(50_000, 128)
    a, b = _pair(gs, idx), _pair(torch, idx)
    return ("Embedding 50000x128, 64x64 indices", *_best(lambda: ea(a).sum().backward(),
                                                          lambda: eb(b).sum().backward()))


def mlp_step():
    r = np.random.default_rng(0)
    x, y = r.standard_normal((128, 784), dtype=np.float32), r.integers(0, 10, 128)

    def make(lib):
        nn = lib.nn
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 10))

    ma, mb = make(gs), make(torch)
    xa, xb, ya, yb = _pair(gs, x), _pair(torch, x), _pair(gs, y), _pair(torch, y)
    crit_a, crit_b = gs.nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()

    def step(m, crit, x, y):
        m.zero_grad()
        crit(m(x), y).backward()

    return ("MLP 784-256-10 step, batch 128", *_best(lambda: step(ma, crit_a, xa, ya),
                                                      lambda: step(mb, crit_b, xb, yb)))


CASES = [cross_entropy, linear, embedding, mlp_step]


def main():
    torch.set_num_threads(1)
    print(f"{'case':<45} {'gradstep ms':>12} {'torch ms':>10} {'ratio':>7}")
    for case in CASES:
        name, a, b = case()
        print(f"{name:<45} {a * 1e3:>12.2f} {b * 1e3:>10.2f} {a / b:>7.2f}")


if __name__ == "__main__":
    main()

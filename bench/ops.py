"""Op overhead and large-array throughput: gradstep beside torch, forward+backward, one run.

(a) a tiny op chain (a * b + c on 4-element tensors): measures per-op Python overhead;
(b) a large chain (matmuls and elementwise ops on 1024x1024): measures BLAS/array throughput.
Prints a table with the gradstep/torch time ratio (lower is better; 1.0 = same speed).
"""

from __future__ import annotations

import time

import numpy as np
import torch

import gradstep as gs


def _time(fn, min_time=1.0, min_reps=5):
    fn()  # warm up
    reps, start = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        el = time.perf_counter() - start
        if el >= min_time and reps >= min_reps:
            return el / reps


def tiny(lib, n=4):
    rng = np.random.default_rng(0)
    a, b, c = (lib.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True) for _ in range(3))

    def step():
        out = (a * b + c).sum()
        out.backward()

    return step


def large(lib, n=1024):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((n, n)).astype(np.float32) / 32, requires_grad=True)
    w = lib.tensor(rng.standard_normal((n, n)).astype(np.float32) / 32, requires_grad=True)

    def step():
        h = (x @ w).tanh()
        h = (h @ w) * h + x
        h.sum().backward()

    return step


def main():
    rows = []
    for name, make in (("tiny a*b+c (4 elems)", tiny), ("large matmul chain 1024x1024", large)):
        tg = _time(make(gs))
        tt = _time(make(torch))
        rows.append((name, tg, tt))
    print(f"torch {torch.__version__}, numpy {np.__version__}, torch threads {torch.get_num_threads()}")
    print(f"{'case':32s} {'gradstep':>12s} {'torch':>12s} {'ratio':>7s}")
    for name, tg, tt in rows:
        print(f"{name:32s} {tg * 1e6:10.1f}us {tt * 1e6:10.1f}us {tg / tt:6.2f}x")


if __name__ == "__main__":
    main()

"""Layer benchmarks: forward+backward of gradstep layers beside their torch twins, one run.

Each case is a function returning ``(name, gradstep_seconds, torch_seconds)``; ``CASES``
lists them and ``main`` prints a table with the gradstep/torch time ratio (lower is
better, 1.0 = same speed). The two libraries are timed in alternation on the same data,
and the fastest repetition of each is kept, so background load on a shared machine
distorts the ratio as little as possible.

Run: ``.venv/bin/python bench/layers.py``
"""

from __future__ import annotations

import time

import numpy as np
import torch

import gradstep as gs


def _best_times(step_gs, step_torch, reps=10, clock=time.perf_counter):
    """Fastest of ``reps`` alternating runs of each step (after one warm-up run each).

    ``clock`` is wall time by default; ``time.process_time`` gives CPU time instead.
    """
    step_gs()
    step_torch()
    best_gs = best_torch = float("inf")
    for _ in range(reps):
        t = clock()
        step_gs()
        best_gs = min(best_gs, clock() - t)
        t = clock()
        step_torch()
        best_torch = min(best_torch, clock() - t)
    return best_gs, best_torch


# ---------------------------------------------------------------- Conv2d


def _conv2d_step(lib, x_arr, state):
    """One forward+backward of Conv2d(32, 64, 3, padding=1); weights copied from ``state``."""
    conv = lib.nn.Conv2d(32, 64, 3, padding=1)
    with lib.no_grad():
        conv.weight.copy_(lib.tensor(state["weight"]))
        conv.bias.copy_(lib.tensor(state["bias"]))
    x = lib.tensor(x_arr, requires_grad=True)

    def step():
        conv.zero_grad()
        x.grad = None
        conv(x).sum().backward()

    return step


def conv2d_case():
    """Conv2d forward+backward: batch 64, 32->64 channels, 28x28, 3x3 kernel, padding 1."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    state = {"weight": (rng.standard_normal((64, 32, 3, 3)) * 0.05).astype(np.float32),
             "bias": (rng.standard_normal(64) * 0.05).astype(np.float32)}
    t_gs, t_torch = _best_times(_conv2d_step(gs, x, state), _conv2d_step(torch, x, state))
    return "Conv2d 32->64 3x3, N=64, 28x28 (fwd+bwd)", t_gs, t_torch


CASES = [conv2d_case]

# Further sections append their case functions to CASES below this line.


# ---------------------------------------------------------------- LSTM


def _lstm_step(lib, x_arr, state):
    """One forward+backward of a 1-layer LSTM(256, 256); weights copied from ``state``."""
    lstm = lib.nn.LSTM(x_arr.shape[-1], 256)
    lstm.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    x = lib.tensor(x_arr, requires_grad=True)

    def step():
        lstm.zero_grad()
        x.grad = None
        out, (h, c) = lstm(x)
        (out.sum() + h.sum() + c.sum()).backward()

    return step


def lstm_case():
    """LSTM forward+backward: seq 50, batch 32, input 256, hidden 256, one layer."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 32, 256)).astype(np.float32)
    state = {k: v.numpy() for k, v in torch.nn.LSTM(256, 256).state_dict().items()}
    t_gs, t_torch = _best_times(_lstm_step(gs, x, state), _lstm_step(torch, x, state))
    return "LSTM 256->256, seq 50, N=32 (fwd+bwd)", t_gs, t_torch


CASES.append(lstm_case)


def main():
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}")
    print(f"{'case':44s} {'gradstep':>10s} {'torch':>10s} {'ratio':>7s}")
    for case in CASES:
        name, t_gs, t_torch = case()
        print(f"{name:44s} {t_gs * 1e3:8.1f}ms {t_torch * 1e3:8.1f}ms {t_gs / t_torch:6.2f}x")


if __name__ == "__main__":
    main()

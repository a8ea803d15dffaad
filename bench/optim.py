"""Optimizer step speed: gradstep beside torch.optim on 10 million float32 parameters.

    .venv/bin/python bench/optim.py [--numel 10000000] [--reps 15] [--threads N] [--settle 0.15]

Two layouts (4 equal tensors; 200 tensors of mixed sizes), two optimizers
(SGD(momentum=0.9, weight_decay=1e-4) and Adam), and five implementations:
gradstep's default (flat vectorised path), gradstep ``foreach=False`` (one
parameter at a time), torch's default, ``foreach=True`` and ``fused=True``.
Gradients are set once and reused, so only ``step()`` is timed. Effective GB/s
counts the minimum traffic of the algorithm (SGD: read p, g, buf, write p, buf;
Adam: read p, g, m, v, write p, m, v), the same for every implementation.

The implementations are timed round-robin (one step each, repeated), so a
burst of load from other processes hits all of them alike. Before each timed
step the main thread computes (busy-waits) for ``--settle`` seconds, as a
training loop runs forward and backward before ``step()``: after a parallel
region torch's OpenMP threads spin-wait for several milliseconds, and OpenBLAS's
(which gradstep's updates call, see ``gradstep._blas``) for about 0.1 s (2^28
cycles, its default THREAD_TIMEOUT). Without the pause they would take a core
from whichever implementation runs next (and their spinning would count in its
CPU time): with a 0.02 s pause, torch's default Adam measured 25-40 ms after a
gradstep step instead of its 14-16 ms. In a training process each library's
threads spin only between its own calls. The pause is busy rather than a sleep because
on this VM, after the whole process slept, a woken worker thread shares the
waker's core for the next several milliseconds (no parallelism at all, for
torch's threads as for gradstep's), which is not what a training loop sees.
``--threads N`` sets torch's intra-op threads and gradstep's optimizer threads to the same N; with
``--threads 1`` the CPU-time column is the steadiest number on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import gradstep
from gradstep.optim import _flat

ARRAYS_TOUCHED = {"SGD": 5, "Adam": 7}
CONFIGS = {"SGD": dict(lr=1e-3, momentum=0.9, weight_decay=1e-4), "Adam": dict(lr=1e-3)}


def layout_sizes(name, numel, seed=0):
    if name == "4 tensors":
        return [numel // 4] * 3 + [numel - 3 * (numel // 4)]
    rng = np.random.default_rng(seed)
    w = rng.lognormal(0.0, 1.5, 200)  # a few big matrices, many small vectors
    sizes = np.maximum(1, (w / w.sum() * numel).astype(np.int64))
    sizes[np.argmax(sizes)] += numel - sizes.sum()
    return [int(s) for s in sizes]


def _busy_wait(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def time_round_robin(steps, reps, settle):
    """Median wall time, min wall time and median CPU time per step of each of ``steps``."""
    for step in steps:  # state allocation and (for gradstep) building the flat buffers
        step()
        step()
    wall = [[] for _ in steps]
    cpu = [[] for _ in steps]
    for _ in range(reps):
        for k, step in enumerate(steps):
            _busy_wait(settle)  # the previous implementation's spinning threads go idle
            w0, c0 = time.perf_counter(), time.process_time()
            step()
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    return [(statistics.median(w), min(w), statistics.median(c)) for w, c in zip(wall, cpu)]


def make_gradstep(sizes, rng_seed, opt_name, **kw):
    rng = np.random.default_rng(rng_seed)
    params = []
    for s in sizes:
        p = gradstep.from_numpy(rng.standard_normal(s, dtype=np.float32)).requires_grad_()
        p.grad = gradstep.from_numpy(rng.standard_normal(s, dtype=np.float32))
        params.append(p)
    return getattr(gradstep.optim, opt_name)(params, **CONFIGS[opt_name], **kw).step


def make_torch(sizes, rng_seed, opt_name, **kw):
    rng = np.random.default_rng(rng_seed)
    params = []
    for s in sizes:
        p = torch.from_numpy(rng.standard_normal(s, dtype=np.float32)).requires_grad_()
        p.grad = torch.from_numpy(rng.standard_normal(s, dtype=np.float32))
        params.append(p)
    return getattr(torch.optim, opt_name)(params, **CONFIGS[opt_name], **kw).step


IMPLS = [
    ("gradstep (flat, default)", make_gradstep, {}),
    ("gradstep foreach=False", make_gradstep, dict(foreach=False)),
    ("torch default", make_torch, {}),
    ("torch foreach=True", make_torch, dict(foreach=True)),
    ("torch fused=True", make_torch, dict(fused=True)),
]


def copy_bandwidth(numel):
    """GB/s of a plain copy of ``numel`` float32 (bytes read + written), one thread and all."""
    src = np.random.default_rng(0).standard_normal(numel, dtype=np.float32)
    dst = np.empty_like(src)
    rows = 1000 if numel % 1000 == 0 else 1  # rows for the split copy
    rows_src, rows_dst = src.reshape(rows, -1), dst.reshape(rows, -1)
    result = []
    pool = gradstep._parallel
    before = pool.get_num_threads()
    pool.set_num_threads(_flat.THREADS)  # the split copy on as many threads as the optimizer's
    try:
        for copy in (lambda: np.copyto(dst, src), lambda: pool.copyto(rows_dst, rows_src)):
            copy()
            best = min(_timed(copy) for _ in range(10))
            result.append(2 * 4 * numel / best / 1e9)
    finally:
        pool.set_num_threads(before)
    return result


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--numel", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--settle", type=float, default=0.15,
                    help="seconds of busy pause before each timed step (OpenMP/OpenBLAS spin-wait)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads = gradstep optimizer threads (default: each's own)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        _flat.THREADS = args.threads
    gs_threads = _flat.THREADS
    print(f"torch {torch.__version__} with {torch.get_num_threads()} threads; gradstep optimizer "
          f"threads {gs_threads}; numpy {np.__version__}; {args.numel:,} float32 parameters; "
          f"median and min wall time, median CPU time (all threads) of {args.reps} steps")
    one, all_threads = copy_bandwidth(args.numel)
    print(f"copy bandwidth (read + write of {args.numel:,} float32, best of 10): {one:.1f} GB/s on one "
          f"thread, {all_threads:.1f} GB/s on {gs_threads} threads: the memory limit the GB/s column "
          f"is measured against")
    for layout in ("4 tensors", "200 tensors"):
        sizes = layout_sizes(layout, args.numel)
        for opt_name in ("SGD", "Adam"):
            gb = ARRAYS_TOUCHED[opt_name] * 4 * args.numel / 1e9
            steps = [make(sizes, 0, opt_name, **kw) for _, make, kw in IMPLS]
            timings = time_round_robin(steps, args.reps, args.settle)
            del steps
            base = dict(zip((label for label, _, _ in IMPLS), (t[0] for t in timings)))
            print(f"\n{opt_name} on {layout} ({len(sizes)} tensors, largest {max(sizes):,})")
            print(f"{'implementation':26s} {'ms/step':>8s} {'min':>7s} {'cpu ms':>7s} {'GB/s':>6s} "
                  f"{'vs torch default':>17s} {'vs torch fused':>15s}")
            for (label, _, _), (med, best, cpu) in zip(IMPLS, timings):
                print(f"{label:26s} {med * 1e3:8.2f} {best * 1e3:7.2f} {cpu * 1e3:7.2f} "
                      f"{gb / med:6.1f} {base['torch default'] / med:16.2f}x "
                      f"{base['torch fused=True'] / med:14.2f}x")


if __name__ == "__main__":
    main()

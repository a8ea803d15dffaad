"""Optimizer step speed: gradstep beside torch.optim on 10 million float32 parameters.

    .venv/bin/python bench/optim.py [--numel 10000000] [--reps 15]

Two layouts (4 equal tensors; 200 tensors of mixed sizes), two optimizers
(SGD(momentum=0.9, weight_decay=1e-4) and Adam), and five implementations:
gradstep's default (flat vectorised path), gradstep ``foreach=False`` (one
parameter at a time), torch's default, ``foreach=True`` and ``fused=True``.
Gradients are set once and reused, so only ``step()`` is timed. Effective GB/s
counts the minimum traffic of the algorithm (SGD: read p, g, buf, write p, buf;
Adam: read p, g, m, v, write p, m, v), the same for every implementation.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import gradstep

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


def time_steps(step, reps):
    step()  # state allocation and (for gradstep) building the flat buffers
    step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--numel", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch threads; numpy "
          f"{np.__version__}; {args.numel:,} float32 parameters; median (min) of {args.reps} steps")
    for layout in ("4 tensors", "200 tensors"):
        sizes = layout_sizes(layout, args.numel)
        for opt_name in ("SGD", "Adam"):
            gb = ARRAYS_TOUCHED[opt_name] * 4 * args.numel / 1e9
            rows = []
            for label, make, kw in IMPLS:
                step = make(sizes, 0, opt_name, **kw)
                med, best = time_steps(step, args.reps)
                rows.append((label, med, best))
                del step
            base = {label: med for label, med, _ in rows}
            print(f"\n{opt_name} on {layout} ({len(sizes)} tensors, largest {max(sizes):,})")
            print(f"{'implementation':28s} {'ms/step':>9s} {'(min)':>8s} {'GB/s':>7s} "
                  f"{'vs torch default':>17s} {'vs torch fused':>15s}")
            for label, med, best in rows:
                print(f"{label:28s} {med * 1e3:9.2f} {best * 1e3:8.2f} {gb / med:7.1f} "
                      f"{base['torch default'] / med:16.2f}x {base['torch fused=True'] / med:14.2f}x")


if __name__ == "__main__":
    main()

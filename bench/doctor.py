"""What ``gradstep.doctor.watch`` costs per training step.

The step of ``gradstep train``'s default run: the MLP of ``build_model('mlp', (1, 8, 8), 10)``
on the bundled digits, its default batch size and SGD (its lr, momentum 0.9, weight decay 1e-4), cross
entropy; zero_grad / forward / backward / step. Doctor off and on are two copies of the
run, timed in alternating chunks of steps in one process (the doctor's hooks are in place
only during its own chunks); the best chunk of each is reported in wall and CPU time, and
the median CPU ratio (of all chunks, and of each round's back-to-back pair). torch runs the same step beside them for scale. The issue's goal:
on / off <= 1.10 (aim: <= 1.05, as gradstep's step gets faster). On a loaded machine only the
best-chunk numbers mean much.

The doctor gathers its costly evidence on some steps only (every 10th, the update copy every
50th, see ``gradstep/doctor/watcher.py``): a chunk is a multiple of 50 steps so that every
chunk holds the same mix, and the best chunk is not simply one without those steps.

    python bench/doctor.py [--steps 50] [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: CPU time then measures our work, not spinning

import numpy as np  # noqa: E402


def _defaults():
    """lr and batch size of ``gradstep train``'s default run (SGD momentum 0.9, weight decay 1e-4)."""
    from gradstep.training.config import TrainConfig

    cfg = TrainConfig()
    return cfg.lr, cfg.batch_size


def _batches(n_steps):
    batch = _defaults()[1]
    from gradstep.training.data import load_data

    train, _, _, _ = load_data("digits")
    xs = np.stack([np.asarray(train[i][0].numpy()) for i in range(len(train))]).astype(np.float32)
    ys = np.array([int(train[i][1]) for i in range(len(train))])
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n_steps):
        idx = rng.integers(0, len(xs), batch)
        out.append((xs[idx], ys[idx]))
    return out


def _gradstep_setup():
    import gradstep
    from gradstep.training.models import build_model

    gradstep.manual_seed(0)
    model = build_model("mlp", (1, 8, 8), 10)
    opt = gradstep.optim.SGD(model.parameters(), lr=_defaults()[0], momentum=0.9, weight_decay=1e-4)
    return gradstep, model, opt


class _Gradstep:
    """One model/optimizer; ``chunk`` times a few steps, with the doctor watching or not."""

    def __init__(self, batches, doctor):
        self.lib, self.model, self.opt = _gradstep_setup()
        self.crit = self.lib.nn.CrossEntropyLoss()
        self.data = [(self.lib.tensor(x), self.lib.tensor(y)) for x, y in batches]
        self.doctor = self.lib.doctor.watch(self.model, self.opt) if doctor else None
        self.i = 0

    def chunk(self, n):
        """(wall, cpu) seconds per step over the next ``n`` steps."""
        if self.doctor is not None:
            self.doctor.start()  # hooks in place only while this model trains
        opt, model, crit = self.opt, self.model, self.crit
        batches = [self.data[(self.i + k) % len(self.data)] for k in range(n)]
        self.i += n
        w0, c0 = time.perf_counter(), time.process_time()
        for x, y in batches:
            opt.zero_grad()
            crit(model(x), y).backward()
            opt.step()
        w, c = (time.perf_counter() - w0) / n, (time.process_time() - c0) / n
        if self.doctor is not None:
            self.doctor.stop()
        return w, c


def _run_torch(batches):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=_defaults()[0], momentum=0.9, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss()
    data = [(torch.tensor(x), torch.tensor(y)) for x, y in batches]
    t0 = time.perf_counter()
    for x, y in data:
        opt.zero_grad()
        crit(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - t0) / len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50, help="steps per timed chunk (a multiple of 50)")
    ap.add_argument("--rounds", type=int, default=30, help="alternating chunks of each")
    args = ap.parse_args()
    batches = _batches(200)
    off, on = _Gradstep(batches, False), _Gradstep(batches, True)
    off.chunk(args.steps), on.chunk(args.steps)  # warm up (and the doctor's first 10 steps, all checked)
    times = {"off": [], "on": []}
    for r in range(args.rounds):  # alternate the order so drifts in machine load hit both alike
        for name, run in (("off", off), ("on", on)) if r % 2 == 0 else (("on", on), ("off", off)):
            times[name].append(run.chunk(args.steps))
    if on.doctor.findings:
        raise SystemExit("the doctor found problems in the clean loop:\n" + on.doctor.report())
    ref = []
    try:
        for _ in range(5):
            ref.append(_run_torch(batches))
    except ImportError:
        pass
    lr, batch = _defaults()
    print(f"MLP on digits (gradstep train's default run), batch {batch}, SGD lr {lr}; {args.rounds} alternating "
          f"chunks of {args.steps} steps each")
    print(f"{'':24s} {'wall us/step':>13s} {'cpu us/step':>12s} {'wall vs off':>12s} {'cpu vs off':>11s}")
    best = {k: (min(t[0] for t in v), min(t[1] for t in v)) for k, v in times.items()}
    for label, key in (("gradstep, doctor off", "off"), ("gradstep, doctor on", "on")):
        w, c = best[key]
        print(f"{label:24s} {w * 1e6:13.1f} {c * 1e6:12.1f} {w / best['off'][0]:12.3f} {c / best['off'][1]:11.3f}")
    if ref:
        w = min(ref)
        print(f"{'torch (reference)':24s} {w * 1e6:13.1f} {'':>12s} {w / best['off'][0]:12.3f}")
    med = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
    # each round's two chunks ran back to back: their ratio is the least touched by load drifts
    paired = statistics.median(a[1] / b[1] for a, b in zip(times["on"], times["off"]))
    print(f"doctor on / off: {best['on'][0] / best['off'][0]:.3f} wall (best chunks), "
          f"{best['on'][1] / best['off'][1]:.3f} cpu (best chunks), {med['on'] / med['off']:.3f} cpu "
          f"(medians), {paired:.3f} cpu (median of each round's ratio); goal <= 1.10 (aim <= 1.05)")


if __name__ == "__main__":
    main()

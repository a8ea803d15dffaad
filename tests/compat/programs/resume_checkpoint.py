"""Save a full training checkpoint and resume it in a fresh process, as training repos do.

The checkpoint holds the model, optimizer, scheduler, GradScaler and EMA state_dicts, the
epoch, and all three RNG states (torch's, numpy's and Python's), so that a resumed run
draws the same shuffles, dropout masks and augmentations as an uninterrupted one.

  --phase full    all epochs, uninterrupted ("full epoch ..." lines)
  --phase first   the full run, then, from the same seeds, the first --split epochs and
                  torch.save(checkpoint, --ckpt)
  --phase resume  a fresh process: torch.load(--ckpt) and the remaining epochs

Every epoch prints one line; a resumed run's lines must equal the uninterrupted run's.
The harness also resumes each library's run from the other library's checkpoint.
"""

import argparse
import math
import pickle
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, Dataset


class Jitter(Dataset):
    """Features with numpy and Python-random augmentation (so their RNG states matter)."""

    def __init__(self, n=96, d=12, classes=4):
        rs = np.random.RandomState(7)
        self.x = rs.randn(n, d).astype(np.float32)
        self.y = (self.x[:, :classes].argmax(1)).astype(np.int64)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        x = self.x[i] + np.random.normal(0.0, 0.05, self.x.shape[1]).astype(np.float32)
        if random.random() < 0.5:
            x = x * 1.1
        return torch.from_numpy(x), int(self.y[i])


class Net(nn.Module):
    def __init__(self, d=12, hidden=32, classes=4):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d, hidden), nn.LayerNorm(hidden), nn.GELU(),
                                  nn.Dropout(0.1), nn.Linear(hidden, hidden), nn.GELU())
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.head(self.body(x))


def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build(args):
    model = Net()
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=3e-3, betas=(0.9, 0.98))
    steps = args.epochs * math.ceil(96 / 16 / args.accum)
    warm = 3

    def lr_lambda(step):
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3,
                                  enabled=args.amp)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    return model, opt, sched, scaler, ema


def seed_worker(worker_id):
    seed = torch.initial_seed() % 2 ** 32
    np.random.seed(seed)
    random.seed(seed)


def train_epoch(epoch, model, opt, sched, scaler, ema, loader, args):
    model.train()
    total, count = 0.0, 0
    opt.zero_grad(set_to_none=True)
    for i, (x, y) in enumerate(loader):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.amp):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.05)
        scaler.scale(loss / args.accum).backward()
        if (i + 1) % args.accum == 0 or i + 1 == len(loader):
            scaler.unscale_(opt)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0,
                                                  error_if_nonfinite=not args.amp)
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)
            sched.step()
            ema.update_parameters(model)
        total += loss.item() * len(y)
        count += len(y)
    return total / count, norm.item()


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    logits = model(x)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def checkpoint(epoch, model, opt, sched, scaler, ema):
    return {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
            "ema": ema.state_dict(), "epoch": epoch, "rng": torch.get_rng_state(),
            "np_rng": np.random.get_state(), "py_rng": random.getstate()}


def restore(state, model, opt, sched, scaler, ema):
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    ema.load_state_dict(state["ema"])
    torch.set_rng_state(state["rng"])
    np.random.set_state(state["np_rng"])
    random.setstate(state["py_rng"])
    return state["epoch"] + 1


def load_checkpoint(path):
    """torch >= 2.6's default weights_only=True refuses numpy's RNG state: retry, trusting our file."""
    try:
        return torch.load(path)
    except pickle.UnpicklingError as e:  # torch's message names the global it refused
        text = str(e)
        print("weights_only refused:", text.split(". ")[0], "|",
              text.split("WeightsUnpickler error: ")[1].split(" was not")[0])
    with torch.serialization.safe_globals([np._core.multiarray._reconstruct, np.ndarray, np.dtype,
                                           type(np.dtype(np.uint32))]):
        approved = torch.load(path)  # or approve exactly what the file needs
    state = torch.load(path, weights_only=False)
    print("approved load equal:", np.array_equal(approved["np_rng"][1], state["np_rng"][1]),
          approved["py_rng"] == state["py_rng"], sorted(approved) == sorted(state))
    return state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--save-init")  # the harness passes these; this program ignores them
    parser.add_argument("--init")
    parser.add_argument("--phase", default="full", choices=["full", "first", "resume"])
    parser.add_argument("--ckpt", default="checkpoint.pt")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--split", type=int, default=2)
    parser.add_argument("--accum", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--amp", action="store_true")
    args = parser.parse_args()
    if args.phase == "first":
        run(args, "full", "full ")
    run(args, args.phase, "full " if args.phase == "full" else "")


def run(args, phase, label):
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    model, opt, sched, scaler, ema = build(args)
    start = 0
    if phase == "resume":
        start = restore(load_checkpoint(args.ckpt), model, opt, sched, scaler, ema)
    ds = Jitter()
    val_x, val_y = torch.from_numpy(ds.x[:32]), torch.from_numpy(ds.y[:32])
    stop = args.split if phase == "first" else args.epochs
    for epoch in range(start, stop):
        # a fresh, seeded generator per epoch: the shuffle does not depend on where we resumed
        g = torch.Generator().manual_seed(1000 + epoch)
        loader = DataLoader(ds, batch_size=16, shuffle=True, generator=g, drop_last=False,
                            num_workers=args.workers, worker_init_fn=seed_worker)
        loss, norm = train_epoch(epoch, model, opt, sched, scaler, ema, loader, args)
        vl, va = evaluate(model, val_x, val_y)
        el, ea = evaluate(ema.module, val_x, val_y)
        print(f"{label}epoch {epoch} loss {loss:.6f} norm {norm:.5f} val {vl:.6f} acc {va:.4f} "
              f"ema {el:.6f} acc {ea:.4f} lr {sched.get_last_lr()[0]:.6e} "
              f"scale {scaler.get_scale():.1f} draw {torch.rand(1).item():.6f} "
              f"np {np.random.rand():.6f} py {random.random():.6f}")
    if phase == "first":
        torch.save(checkpoint(stop - 1, model, opt, sched, scaler, ema), args.ckpt)
        print("saved epoch", stop - 1)


if __name__ == "__main__":
    main()

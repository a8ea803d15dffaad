"""The training run: epochs of zero_grad / backward / step, evaluation, checkpoints and resume.

A run folder holds ``config.json``, ``metrics.csv``, ``curves.png``,
``checkpoint.gs`` (after every epoch) and ``best.gs`` (best test accuracy).
The checkpoint carries the model, optimizer and scheduler state, the global
RNG and the data loader's RNG, so ``--resume`` continues bit for bit.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import os
import time

from .. import distributed as dist
from .. import nn
from .._creation import tensor
from ..autograd.grad_mode import no_grad
from ..backend import float64, xp
from ..random import Generator, get_rng_state, manual_seed, set_rng_state
from ..serialization import atomic_write, save
from ..utils.data import DataLoader, DistributedSampler
from .config import TrainConfig, UsageError
from .data import load_data
from .factory import build_optimizer, build_scheduler
from .models import build_model
from .plot import plot_curves
from .progress import Progress
from .resume import CHECKPOINT_FORMAT, check_epochs, check_same_settings, check_train_checkpoint

METRIC_FIELDS = ("epoch", "train_loss", "test_loss", "test_acc", "lr", "seconds")


@dataclasses.dataclass
class Setup:
    cfg: TrainConfig
    model: nn.Module
    optimizer: object
    scheduler: object
    per_batch_sched: bool
    train_loader: DataLoader
    test_set: object
    loader_gen: Generator
    num_classes: int
    in_shape: tuple
    train_model: nn.Module = None  # what training runs forward through: the model, or DDP around it
    world_size: int = 1

    def __post_init__(self):
        if self.train_model is None:
            self.train_model = self.model


def _world_size():
    return dist.get_world_size() if dist.is_initialized() else 1


def build(cfg: TrainConfig) -> Setup:
    """Everything a run needs, created in a fixed order so a seed reproduces it."""
    cfg.validate()
    manual_seed(cfg.seed)
    train_set, test_set, in_shape, num_classes = load_data(cfg.data)
    model = build_model(cfg.model, in_shape, num_classes)
    optimizer = build_optimizer(cfg, model.parameters())
    loader_gen = Generator().manual_seed(cfg.seed + 1)
    world = _world_size()
    if world > 1:  # each rank its share of every epoch; gradients averaged in backward
        sampler = DistributedSampler(train_set, shuffle=True, seed=cfg.seed)
        loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers)
        train_model = nn.parallel.DistributedDataParallel(model)
    else:
        loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, generator=loader_gen,
                            num_workers=cfg.workers)
        train_model = model
    scheduler, per_batch = build_scheduler(cfg, optimizer, len(loader))
    return Setup(cfg, model, optimizer, scheduler, per_batch, loader, test_set, loader_gen, num_classes, in_shape,
                 train_model, world)


def evaluate(model, dataset, num_classes, batch_size=512):
    """(mean loss, accuracy, confusion matrix as a NumPy array [true, predicted])."""
    model.eval()
    criterion = nn.CrossEntropyLoss(reduction="sum")
    total, correct, n = 0.0, 0, 0
    confusion = xp.zeros((num_classes, num_classes), dtype=xp.int64)
    with no_grad():
        for x, y in DataLoader(dataset, batch_size=batch_size):
            out = model(x)
            total += criterion(out, y).item()
            pred = out.argmax(1)
            correct += int((pred == y).sum().item())
            n += len(y)
            xp.add.at(confusion, (y.numpy(), pred.numpy()), 1)
    model.train()
    return total / max(n, 1), correct / max(n, 1), confusion


def train_epoch(s: Setup, progress):
    """One pass over the training data; returns the mean training loss (over all ranks)."""
    model, opt, cfg = s.train_model, s.optimizer, s.cfg
    criterion = nn.CrossEntropyLoss()
    model.train()
    running, seen = 0.0, 0
    pending = 0
    last = len(s.train_loader) - 1
    opt.zero_grad()
    for i, (inputs, labels) in enumerate(s.train_loader):
        local_only = s.world_size > 1 and pending + 1 < cfg.accumulate and i < last
        with model.no_sync() if local_only else contextlib.nullcontext():  # DDP: sync at the step only
            loss = criterion(model(inputs), labels)
            (loss / cfg.accumulate if cfg.accumulate > 1 else loss).backward()
        pending += 1
        if pending == cfg.accumulate:
            _update(s)
            pending = 0
        running += loss.item() * len(labels)
        seen += len(labels)
        progress.update(running / seen)
    if pending:
        _update(s)
    if s.world_size > 1:
        totals = tensor([running, float(seen)], dtype=float64)
        dist.all_reduce(totals)
        running, seen = totals.tolist()
    return running / max(seen, 1)


def _update(s: Setup):
    if s.cfg.clip_grad_norm:
        nn.utils.clip_grad_norm_(s.model.parameters(), s.cfg.clip_grad_norm)
    s.optimizer.step()
    s.optimizer.zero_grad()
    if s.scheduler is not None and s.per_batch_sched:
        s.scheduler.step()


def _step_epoch_scheduler(s: Setup, test_loss):
    if s.scheduler is None or s.per_batch_sched:
        return
    if type(s.scheduler).__name__ == "ReduceLROnPlateau":
        s.scheduler.step(test_loss)
    else:
        s.scheduler.step()


def checkpoint_state(s: Setup, epoch, history, best_acc):
    return {
        "format": CHECKPOINT_FORMAT,
        "model_name": s.cfg.model,
        "data": s.cfg.data,
        "in_shape": list(s.in_shape),
        "num_classes": s.num_classes,
        "config": dataclasses.asdict(s.cfg),
        "epoch": epoch,
        "model": s.model.state_dict(),
        "optimizer": s.optimizer.state_dict(),
        "scheduler": s.scheduler.state_dict() if s.scheduler is not None else None,
        "rng": get_rng_state(),
        "loader_rng": s.loader_gen.get_state(),
        "history": history,
        "best_acc": best_acc,
    }


def restore(s: Setup, ckpt):
    """Load a checkpoint into a freshly built setup; a different model is a UsageError."""
    check_train_checkpoint(ckpt)
    if ckpt["model_name"] != s.cfg.model or tuple(ckpt["in_shape"]) != s.in_shape or \
            ckpt["num_classes"] != s.num_classes:
        raise UsageError(
            f"checkpoint is from a different model ({ckpt['model_name']} on {list(ckpt['in_shape'])}, "
            f"{ckpt['num_classes']} classes) than this run ({s.cfg.model} on {list(s.in_shape)}, "
            f"{s.num_classes} classes)"
        )
    try:
        s.model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise UsageError(f"checkpoint does not fit the model: {str(e).splitlines()[0]}") from None
    try:
        s.optimizer.load_state_dict(ckpt["optimizer"])
        if s.scheduler is not None and ckpt.get("scheduler") is not None:
            s.scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        s.loader_gen.set_state(ckpt["loader_rng"])
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise UsageError(f"the checkpoint's optimizer, scheduler or RNG state does not fit this run "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


def _write_metrics(path, history):
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=METRIC_FIELDS)
    w.writeheader()
    for row in history:
        w.writerow({k: row[k] for k in METRIC_FIELDS})
    atomic_write(path, text.getvalue().encode())


def _make_run_folder(out_dir):
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the run folder '{out_dir}': {e.strerror}") from None


def _current_lr(opt):
    lr = opt.param_groups[0]["lr"]
    return float(lr.item() if hasattr(lr, "item") else lr)


def run(cfg: TrainConfig, out_dir, resume=None, printer=print, progress=None, stop_after=None):
    """Train according to ``cfg``, writing the run folder ``out_dir``; returns the history.

    ``resume``: a checkpoint to continue, with the same settings (``resume.py`` says
    what may change). ``progress``: tqdm bars (None: when stderr is a terminal).

    ``stop_after`` ends the run after that epoch's checkpoint, as an interruption would
    (used to test that ``--resume`` continues bit for bit). On several ranks (MPI),
    rank 0 alone prints and writes the run folder.
    """
    if resume is not None:  # first what needs no typed options: SGD's momentum would fail Adam's build
        check_same_settings(cfg, check_train_checkpoint(resume), skip=("opt_args", "sched_args"))
    s = build(cfg)
    lead = not dist.is_initialized() or dist.get_rank() == 0
    if not lead:
        printer, progress = (lambda *a, **k: None), False
    history, best_acc, start = [], -1.0, 1
    if resume is not None:
        check_same_settings(cfg, resume)
        restore(s, resume)
        check_epochs(cfg, resume, s.scheduler, len(s.train_loader))
        history, best_acc, start = list(resume["history"]), resume["best_acc"], resume["epoch"] + 1
    if lead:
        _make_run_folder(out_dir)
        atomic_write(os.path.join(out_dir, "config.json"), (cfg.to_json() + "\n").encode())
    if resume is not None:
        printer(f"resuming from epoch {resume['epoch']} (best test accuracy so far {100 * best_acc:.2f}%)")
    n_params = sum(p.numel() for p in s.model.parameters())
    printer(f"model {cfg.model} ({n_params:,} parameters) on {cfg.data}: {len(s.train_loader.dataset)} "
            f"train / {len(s.test_set)} test samples, {s.num_classes} classes")
    batch = f"batch {cfg.batch_size}" if s.world_size == 1 else \
        f"batch {cfg.batch_size} per rank x {s.world_size} ranks = global batch {cfg.batch_size * s.world_size}"
    printer(f"optimizer {type(s.optimizer).__name__}, scheduler {cfg.scheduler or 'none'}, "
            f"{batch} x accumulate {cfg.accumulate}, {cfg.epochs} epochs, run folder {out_dir}")
    if cfg.accumulate > 1 and lead:
        printer(_check_accumulation(s))
    t_run = time.perf_counter()
    doctor = _start_doctor(s) if cfg.doctor else None
    for epoch in range(start, cfg.epochs + 1):
        lr = _current_lr(s.optimizer)
        if isinstance(s.train_loader.sampler, DistributedSampler):
            s.train_loader.sampler.set_epoch(epoch)
        bar = Progress(len(s.train_loader), f"epoch {epoch}/{cfg.epochs}", enabled=progress)
        train_loss = train_epoch(s, bar)
        seconds = bar.close()
        test_loss, test_acc, _ = evaluate(s.model, s.test_set, s.num_classes)
        _step_epoch_scheduler(s, test_loss)
        row = dict(epoch=epoch, train_loss=round(train_loss, 6), test_loss=round(test_loss, 6),
                   test_acc=round(test_acc, 6), lr=lr, seconds=round(seconds, 3))
        history.append(row)
        printer(f"epoch {epoch:3d}/{cfg.epochs}  train loss {train_loss:.4f}  test loss {test_loss:.4f}  "
                f"test acc {100 * test_acc:6.2f}%  lr {lr:.3g}  {seconds:.1f}s")
        state = checkpoint_state(s, epoch, history, max(best_acc, test_acc)) if lead else None
        if test_acc > best_acc:
            best_acc = test_acc
            if lead:
                save(state, os.path.join(out_dir, "best.gs"))
        if lead:
            save(state, os.path.join(out_dir, "checkpoint.gs"))
            _write_metrics(os.path.join(out_dir, "metrics.csv"), history)
        if stop_after is not None and epoch >= stop_after:
            _finish_doctor(doctor, printer)
            return history
    _finish_doctor(doctor, printer)
    note = plot_curves(history, os.path.join(out_dir, "curves.png")) if lead else None
    if note:
        printer(note)
    best = max(history, key=lambda r: r["test_acc"]) if history else None
    if best:
        printer(f"done in {time.perf_counter() - t_run:.1f}s: best test accuracy {100 * best['test_acc']:.2f}% "
                f"at epoch {best['epoch']}; final {100 * history[-1]['test_acc']:.2f}%. "
                f"Wrote {out_dir}/ (config.json, metrics.csv, checkpoint.gs, best.gs"
                f"{'' if note else ', curves.png'})")
    return history


def _check_accumulation(s: Setup):
    """``--accumulate N``: one line, does N micro-batches x loss/N equal one N-times batch?"""
    from ..doctor import check_accumulation
    from ..ops.shape import stack

    ds, k = s.train_loader.dataset, s.cfg.accumulate
    n = min(len(ds), k * s.cfg.batch_size)
    items = [ds[i] for i in range(n)]  # the first samples, without drawing from the loader's RNG
    batch = (stack([x for x, _ in items]), stack([_as_tensor(y) for _, y in items]))
    return check_accumulation(s.model, nn.CrossEntropyLoss(), batch, micro_batches=k).verdict


def _as_tensor(y):
    return y if hasattr(y, "_data") else tensor(y)


def _start_doctor(s: Setup):
    """``--doctor``: watch the training loop (the report is printed when the run ends)."""
    from ..doctor import watch

    steps = -(-len(s.train_loader) // s.cfg.accumulate)
    return watch(s.model, s.optimizer, s.scheduler, steps_per_epoch=steps).start()


def _finish_doctor(doctor, printer):
    if doctor is not None:
        doctor.stop()
        printer(doctor.report())

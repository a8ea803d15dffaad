"""Run folders: reading ``config.json`` and checkpoints, and what ``--resume`` may change.

A resumed run continues with its own settings: the model, data, optimizer,
scheduler and every hyperparameter come from the run, and a flag that differs
from them is an error rather than being silently overridden by the loaded state.
Only ``--epochs``, ``--workers``, ``--doctor`` and ``--out`` may change.

``--epochs N`` past the run's planned epochs extends the run, with the schedule
it already has: a scheduler that goes on for any number of epochs (StepLR,
ExponentialLR, ReduceLROnPlateau, ..., none) keeps stepping. A schedule laid out
for a fixed number of steps (CosineAnnealingLR's T_max, OneCycleLR's
total_steps, PolynomialLR's total_iters) cannot be extended past its end, and
``--resume`` refuses rather than running past it.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os

from ..serialization import load
from .config import UsageError
from .factory import schedule_end, updates_per_epoch

CHECKPOINT_FORMAT = "gradstep-train/1"
MAY_CHANGE_ON_RESUME = ("epochs", "workers", "doctor", "out")
_CHECKPOINT_KEYS = {"model_name": str, "data": str, "in_shape": (list, tuple), "num_classes": int,
                    "config": dict, "epoch": int, "model": dict, "optimizer": dict, "history": list,
                    "best_acc": numbers.Real}


def check_train_checkpoint(obj, path=None):
    """``obj`` if it is a ``gradstep train`` checkpoint, else a UsageError (naming ``path`` if given)."""
    name = f"'{path}'" if path is not None else "the checkpoint"
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        hint = f"; 'gradstep info {path}' shows what it holds" if path is not None else ""
        raise UsageError(f"{name} is not a gradstep train checkpoint (no format '{CHECKPOINT_FORMAT}'){hint}")
    for key, types in _CHECKPOINT_KEYS.items():
        if not isinstance(obj.get(key), types):
            raise UsageError(f"{name} is a damaged gradstep train checkpoint: {key} is "
                             f"{type(obj.get(key)).__name__}")
    return obj


def load_run_checkpoint(run_dir, name="best.gs"):
    path = os.path.join(run_dir, name)
    if not os.path.isdir(run_dir):
        raise UsageError(f"run folder '{run_dir}' does not exist" if not os.path.exists(run_dir) else
                         f"'{run_dir}' is a file, not a run folder")
    if not os.path.isfile(path):
        if os.path.isfile(os.path.join(run_dir, "config.json")):
            raise UsageError(f"'{path}' does not exist: the run stopped before its first epoch ended; "
                             "train it again (without --resume)")
        raise UsageError(f"'{path}' does not exist; is '{run_dir}' a gradstep run folder "
                         "(config.json, checkpoint.gs, best.gs)?")
    return check_train_checkpoint(load(path), path)


def read_run_config(run_dir):
    """The dict in ``RUN_DIR/config.json`` (its keys and types are checked by ``resolve``)."""
    path = os.path.join(run_dir, "config.json")
    if not os.path.isdir(run_dir):
        raise UsageError(f"run folder '{run_dir}' does not exist" if not os.path.exists(run_dir) else
                         f"'{run_dir}' is a file, not a run folder")
    if not os.path.isfile(path):
        raise UsageError(f"'{path}' does not exist; is '{run_dir}' a gradstep run folder?")
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError, an int of 5000 digits,
        raise UsageError(f"cannot read '{path}': {e}") from None  # arrays nested 100000 deep
    if not isinstance(values, dict):
        raise UsageError(f"'{path}' must hold a JSON object of settings, got a {type(values).__name__}")
    return values


def _normal(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def check_same_settings(cfg, ckpt, skip=()):
    """A resumed run keeps the settings its checkpoint was trained with (see the module doc).

    ``skip``: keys not compared (yet), as ``opt_args`` before they are typed.
    """
    now, then = dataclasses.asdict(cfg), ckpt["config"]
    changed = [f"{k} {then.get(k)!r} -> {now[k]!r}" for k in now
               if k not in MAY_CHANGE_ON_RESUME and k not in skip and k in then
               and _normal(now[k]) != _normal(then[k])]
    if changed:
        raise UsageError(f"--resume continues a run with its own settings, but these differ from the run's: "
                         f"{'; '.join(changed)}. Only --epochs, --workers, --doctor and --out may change "
                         "on resume; start a new run to change the others")


def check_epochs(cfg, ckpt, scheduler, batches):
    """``--epochs`` on resume: more than done, and not past the end of a fixed-length schedule."""
    done, planned = ckpt["epoch"], ckpt["config"].get("epochs", ckpt["epoch"])
    if cfg.epochs <= done:
        if cfg.epochs == done == planned:
            raise UsageError(f"the run already finished its {done} epochs; to train longer, "
                             f"resume with --epochs N (N > {done})")
        raise UsageError(f"--epochs {cfg.epochs}: the run has already trained {done} epochs; "
                         f"pass --epochs N with N > {done}")
    end = schedule_end(scheduler, updates_per_epoch(cfg, batches)) if scheduler is not None else None
    limit = max(end[0], planned) if end is not None else None
    if limit is not None and cfg.epochs > limit:
        other = f", or resume with at most --epochs {limit}" if limit > done else ""
        raise UsageError(
            f"--epochs {cfg.epochs}: this run's {cfg.scheduler} schedule ends at epoch {end[0]} ({end[1]}) "
            f"and past it {end[2]}; a resumed run keeps its schedule, so it cannot be extended. "
            f"Start a new run with --epochs {cfg.epochs}{other}")

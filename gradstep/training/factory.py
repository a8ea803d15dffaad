"""Optimizers and schedulers by name, with their hyperparameters checked against the signature."""

from __future__ import annotations

import inspect

from .. import optim
from ..optim import lr_scheduler
from .config import UsageError

# hyperparameter flags shared by many optimizers; each is passed only if set
OPTIMIZER_FLAGS = ("lr", "momentum", "weight_decay", "nesterov", "betas", "eps", "alpha")
PER_BATCH_SCHEDULERS = ("OneCycleLR", "CyclicLR")


def _classes(module, base):
    return {n: c for n, c in vars(module).items()
            if isinstance(c, type) and issubclass(c, base) and c is not base and not n.startswith("_")}


def optimizer_names():
    return sorted(_classes(optim, optim.Optimizer))


def scheduler_names():
    names = _classes(lr_scheduler, lr_scheduler.LRScheduler)
    return sorted(n for n in names if n not in ("SequentialLR", "ChainedScheduler"))


def _accepted(cls, skip):
    return [p for p in inspect.signature(cls.__init__).parameters if p not in skip]


def build_optimizer(cfg, params):
    classes = _classes(optim, optim.Optimizer)
    if cfg.optimizer not in classes:
        raise UsageError(f"unknown optimizer '{cfg.optimizer}'; valid: {', '.join(sorted(classes))}")
    cls = classes[cfg.optimizer]
    accepted = _accepted(cls, ("self", "params"))
    kwargs = {k: getattr(cfg, k) for k in OPTIMIZER_FLAGS if getattr(cfg, k) is not None}
    kwargs.update(cfg.opt_args)
    bad = sorted(k for k in kwargs if k not in accepted)
    if bad:
        raise UsageError(f"{cfg.optimizer} does not take {', '.join(bad)}; it takes: {', '.join(accepted)}")
    try:
        return cls(params, **kwargs)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{cfg.optimizer}: {e}") from None


def build_scheduler(cfg, optimizer, steps_per_epoch):
    """The scheduler and whether it steps per batch (OneCycleLR, CyclicLR) or per epoch."""
    if not cfg.scheduler or cfg.scheduler.lower() == "none":
        return None, False
    classes = _classes(lr_scheduler, lr_scheduler.LRScheduler)
    if cfg.scheduler not in classes:
        raise UsageError(f"unknown scheduler '{cfg.scheduler}'; valid: {', '.join(scheduler_names())}")
    cls = classes[cfg.scheduler]
    kwargs = dict(cfg.sched_args)
    per_batch = cfg.scheduler in PER_BATCH_SCHEDULERS
    updates = max(1, steps_per_epoch // cfg.accumulate)
    defaults = {
        "CosineAnnealingLR": {"T_max": cfg.epochs},
        "StepLR": {"step_size": max(1, cfg.epochs // 3)},
        "ExponentialLR": {"gamma": 0.9},
        "OneCycleLR": {"max_lr": cfg.lr, "total_steps": cfg.epochs * updates},
        "CyclicLR": {"base_lr": cfg.lr / 10, "max_lr": cfg.lr, "step_size_up": 2 * updates},
        "CosineAnnealingWarmRestarts": {"T_0": max(1, cfg.epochs // 3)},
        "MultiStepLR": {"milestones": [cfg.epochs // 2, 3 * cfg.epochs // 4]},
        "PolynomialLR": {"total_iters": cfg.epochs},
    }.get(cfg.scheduler, {})
    for k, v in defaults.items():
        kwargs.setdefault(k, v)
    accepted = _accepted(cls, ("self", "optimizer"))
    bad = sorted(k for k in kwargs if k not in accepted)
    if bad:
        raise UsageError(f"{cfg.scheduler} does not take {', '.join(bad)}; it takes: {', '.join(accepted)}")
    try:
        return cls(optimizer, **kwargs), per_batch
    except (ValueError, TypeError, KeyError) as e:
        raise UsageError(f"{cfg.scheduler}: {e}") from None


def parse_kv(items, what):
    """``["gamma=0.5", "milestones=[3,6]"]`` -> dict, values parsed as Python literals."""
    import ast

    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} expects KEY=VALUE, got '{item}'")
        try:
            out[key.replace("-", "_")] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.replace("-", "_")] = value
    return out

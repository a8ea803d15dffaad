"""Optimizers and schedulers by name, their options typed and checked against the signature."""

from __future__ import annotations

from .. import optim
from ..optim import lr_scheduler
from .config import UsageError, suggest
from .options import option_type, signature_options, typed_options

# hyperparameter flags shared by many optimizers; each is passed only if set
OPTIMIZER_FLAGS = ("lr", "momentum", "weight_decay", "nesterov", "betas", "eps", "alpha")
PER_BATCH_SCHEDULERS = ("OneCycleLR", "CyclicLR")
# optimizers whose step() needs a closure that re-evaluates the loss, which the train loop does not give
CLOSURE_OPTIMIZERS = ("LBFGS",)
# optimizers that need sparse gradients, which the train loop's models (dense layers) never give
SPARSE_OPTIMIZERS = ("SparseAdam",)
# schedules laid out for a fixed number of steps: (the attribute holding it, what happens past it)
FINITE_SCHEDULES = {
    "CosineAnnealingLR": ("T_max", "the learning rate would rise again"),
    "PolynomialLR": ("total_iters", "the learning rate would stay at 0"),
    "OneCycleLR": ("total_steps", "OneCycleLR cannot step"),
}


# scheduler arguments torch takes as given and divides by at step time (0 is a ZeroDivisionError mid-run)
_POSITIVE_ARGS = {"StepLR": ("step_size",), "CosineAnnealingLR": ("T_max",)}


def _classes(module, base):
    return {n: c for n, c in vars(module).items()
            if isinstance(c, type) and issubclass(c, base) and c is not base and not n.startswith("_")}


def optimizer_names():
    """The optimizers the train loop can drive (not LBFGS, whose step needs a closure)."""
    return sorted(n for n in _classes(optim, optim.Optimizer) if n not in CLOSURE_OPTIMIZERS + SPARSE_OPTIMIZERS)


def _python_only(cls):
    """The required argument of a scheduler that only Python code can give (a function, schedulers)."""
    for name, param in signature_options(cls, ("self", "optimizer")).items():
        if param.default is param.empty and option_type(param).python_only:
            return name
    return None


def scheduler_names():
    """The schedulers the command line can build (not LambdaLR & co., which need Python objects)."""
    classes = _classes(lr_scheduler, lr_scheduler.LRScheduler)
    return sorted(n for n, c in classes.items() if _python_only(c) is None)


def _pick(kind, name, classes, valid):
    if name not in classes:
        raise UsageError(f"unknown {kind} '{name}'{suggest(name, valid)}; valid: {', '.join(valid)}")
    return classes[name]


def _check_flags(owner, kwargs, accepted):
    bad = sorted(k for k in kwargs if k not in accepted)
    if bad:
        raise UsageError(f"{owner} does not take {', '.join(bad)}; it takes: {', '.join(accepted)}")


def build_optimizer(cfg, params):
    """The optimizer; ``cfg.opt_args`` is replaced by its typed values (as config.json saves them)."""
    cls = _pick("optimizer", cfg.optimizer, _classes(optim, optim.Optimizer), optimizer_names())
    if cfg.optimizer in CLOSURE_OPTIMIZERS:
        raise UsageError(f"{cfg.optimizer}.step() needs a closure that re-evaluates the loss, which "
                         "gradstep train's loop does not give; use it from Python, or pick another optimizer")
    if cfg.optimizer in SPARSE_OPTIMIZERS:
        raise UsageError(f"{cfg.optimizer} needs sparse gradients (nn.Embedding(sparse=True)), which gradstep "
                         "train's models do not give; use it from Python, or pick Adam")
    accepted = list(signature_options(cls, ("self", "params")))
    kwargs = {k: getattr(cfg, k) for k in OPTIMIZER_FLAGS if getattr(cfg, k) is not None}
    _check_flags(cfg.optimizer, kwargs, accepted)
    cfg.opt_args = typed_options(cls, cfg.opt_args, ("self", "params"), cfg.optimizer, "--opt-arg")
    kwargs.update(cfg.opt_args)
    try:
        return cls(params, **kwargs)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{cfg.optimizer}: {e}") from None


def updates_per_epoch(cfg, batches):
    """Optimizer steps in an epoch of ``batches`` batches (a last partial accumulation steps too)."""
    return max(1, -(-batches // cfg.accumulate))


def _scheduler_defaults(cfg, updates):
    return {
        "CosineAnnealingLR": {"T_max": cfg.epochs},
        "StepLR": {"step_size": max(1, cfg.epochs // 3)},
        "ExponentialLR": {"gamma": 0.9},
        "OneCycleLR": {"max_lr": cfg.lr, "total_steps": cfg.epochs * updates},
        "CyclicLR": {"base_lr": cfg.lr / 10, "max_lr": cfg.lr, "step_size_up": 2 * updates},
        "CosineAnnealingWarmRestarts": {"T_0": max(1, cfg.epochs // 3)},
        "MultiStepLR": {"milestones": [cfg.epochs // 2, 3 * cfg.epochs // 4]},
        "PolynomialLR": {"total_iters": cfg.epochs},
    }.get(cfg.scheduler, {})


def build_scheduler(cfg, optimizer, steps_per_epoch):
    """The scheduler and whether it steps per batch (OneCycleLR, CyclicLR) or per epoch.

    ``cfg.sched_args`` is replaced by its typed values.
    """
    if not cfg.scheduler or cfg.scheduler.lower() == "none":
        return None, False
    classes = _classes(lr_scheduler, lr_scheduler.LRScheduler)
    cls = _pick("scheduler", cfg.scheduler, classes, scheduler_names() + ["none"])
    needs = _python_only(cls)
    if needs:
        raise UsageError(f"{cfg.scheduler} needs {needs}, a Python object, so it cannot be used from the "
                         f"command line or a config file; use it from Python, or pick one of: "
                         f"{', '.join(scheduler_names())}")
    cfg.sched_args = typed_options(cls, cfg.sched_args, ("self", "optimizer"), cfg.scheduler, "--sched-arg")
    updates = updates_per_epoch(cfg, steps_per_epoch)
    defaults = _scheduler_defaults(cfg, updates)
    if cfg.scheduler == "OneCycleLR" and ("epochs" in cfg.sched_args or "steps_per_epoch" in cfg.sched_args):
        defaults.pop("total_steps")  # torch prefers total_steps: the user's epochs would be ignored
    kwargs = {**defaults, **cfg.sched_args}
    missing = [n for n, p in signature_options(cls, ("self", "optimizer")).items()
               if p.default is p.empty and n not in kwargs]
    if missing:
        raise UsageError(f"{cfg.scheduler} needs {', '.join(missing)}: --sched-arg {missing[0]}=VALUE")
    for name in _POSITIVE_ARGS.get(cfg.scheduler, ()):
        if isinstance(kwargs.get(name), (int, float)) and not kwargs[name] > 0:
            # torch builds them and divides by zero at the first step: say so before training
            raise UsageError(f"{cfg.scheduler}: {name} must be positive, got {kwargs[name]}")
    try:
        scheduler = cls(optimizer, **kwargs)
    except (ValueError, TypeError, KeyError, ZeroDivisionError) as e:  # CyclicLR(step_size_up=0) divides
        raise UsageError(f"{cfg.scheduler}: {e}") from None
    if cfg.scheduler == "OneCycleLR" and scheduler.total_steps < cfg.epochs * updates:
        raise UsageError(f"OneCycleLR's {scheduler.total_steps} total steps are fewer than the run's "
                         f"{cfg.epochs * updates} ({cfg.epochs} epochs x {updates} optimizer steps), and it "
                         "cannot step past its end; leave total_steps/epochs/steps_per_epoch out to fit the run")
    return scheduler, cfg.scheduler in PER_BATCH_SCHEDULERS


def schedule_end(scheduler, updates):
    """``(epoch, attribute, what happens past it)``: where a fixed-length schedule ends, else None."""
    name = type(scheduler).__name__
    if name not in FINITE_SCHEDULES:
        return None
    attr, past = FINITE_SCHEDULES[name]
    steps = getattr(scheduler, attr)
    return (steps // updates if name in PER_BATCH_SCHEDULERS else steps), f"{attr}={steps}", past

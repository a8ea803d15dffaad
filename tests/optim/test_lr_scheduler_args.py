"""LR scheduler constructors validate their arguments as torch's do: a differential table.

Each case builds the same optimizer in both libraries and calls the scheduler's constructor:
gradstep must raise exactly when torch raises, with the same exception type, and accept what
torch accepts (torch 2.13 has no ``verbose`` any more: passing it is a TypeError in both).
"""

from __future__ import annotations

import pytest
import torch

import gradstep


def optimizer(lib, kind="sgd"):
    w = lib.zeros(3, requires_grad=True)
    if kind == "sgd":
        return lib.optim.SGD([w], lr=0.1, momentum=0.9)
    if kind == "sgd-2-groups":
        return lib.optim.SGD([{"params": [w]}, {"params": [lib.zeros(2, requires_grad=True)]}],
                             lr=0.1, momentum=0.9)
    if kind == "adam":
        return lib.optim.Adam([w], lr=0.1)
    if kind == "adagrad":  # neither momentum nor betas
        return lib.optim.Adagrad([w], lr=0.1)
    if kind == "not-an-optimizer":
        return [w]
    raise AssertionError(kind)


def sub(name, **kw):
    """A scheduler argument built on the same optimizer: ``(lib, opt) -> scheduler``."""
    return lambda lib, opt: getattr(lib.optim.lr_scheduler, name)(opt, **kw)


def other_opt_sub(name, **kw):
    return lambda lib, opt: getattr(lib.optim.lr_scheduler, name)(optimizer(lib), **kw)


# (scheduler, case id, kwargs, optimizer kind); a callable kwarg value is built per library
CASES = [
    ("StepLR", "ok", dict(step_size=2), "sgd"),
    ("StepLR", "step_size=0", dict(step_size=0), "sgd"),
    ("StepLR", "step_size<0", dict(step_size=-1), "sgd"),
    ("StepLR", "step_size=float", dict(step_size=2.5), "sgd"),
    ("StepLR", "gamma<0", dict(step_size=2, gamma=-0.1), "sgd"),
    ("StepLR", "gamma=0", dict(step_size=2, gamma=0.0), "sgd"),
    ("StepLR", "gamma>1", dict(step_size=2, gamma=2.0), "sgd"),
    ("StepLR", "last_epoch-without-initial_lr", dict(step_size=2, last_epoch=5), "sgd"),
    ("StepLR", "last_epoch=-2", dict(step_size=2, last_epoch=-2), "sgd"),
    ("StepLR", "verbose", dict(step_size=2, verbose=True), "sgd"),
    ("StepLR", "not-an-optimizer", dict(step_size=2), "not-an-optimizer"),
    ("StepLR", "adam", dict(step_size=2), "adam"),
    ("MultiStepLR", "ok", dict(milestones=[2, 5]), "sgd"),
    ("MultiStepLR", "unsorted", dict(milestones=[5, 2]), "sgd"),
    ("MultiStepLR", "duplicates", dict(milestones=[2, 2, 5]), "sgd"),
    ("MultiStepLR", "empty", dict(milestones=[]), "sgd"),
    ("MultiStepLR", "None", dict(milestones=None), "sgd"),
    ("MultiStepLR", "negative", dict(milestones=[-1, 2]), "sgd"),
    ("MultiStepLR", "gamma<0", dict(milestones=[2], gamma=-0.5), "sgd"),
    ("MultiStepLR", "not-an-optimizer", dict(milestones=[2]), "not-an-optimizer"),
    ("ConstantLR", "ok", dict(), "sgd"),
    ("ConstantLR", "factor>1", dict(factor=1.5), "sgd"),
    ("ConstantLR", "factor=1", dict(factor=1.0), "sgd"),
    ("ConstantLR", "factor<0", dict(factor=-0.5), "sgd"),
    ("ConstantLR", "factor=0", dict(factor=0.0), "sgd"),
    ("ConstantLR", "total_iters=0", dict(total_iters=0), "sgd"),
    ("ConstantLR", "total_iters<0", dict(total_iters=-1), "sgd"),
    ("LinearLR", "ok", dict(), "sgd"),
    ("LinearLR", "start_factor=0", dict(start_factor=0.0), "sgd"),
    ("LinearLR", "start_factor>1", dict(start_factor=1.5), "sgd"),
    ("LinearLR", "start_factor<0", dict(start_factor=-0.1), "sgd"),
    ("LinearLR", "end_factor<0", dict(end_factor=-0.1), "sgd"),
    ("LinearLR", "end_factor>1", dict(end_factor=1.5), "sgd"),
    ("LinearLR", "end_factor=0", dict(end_factor=0.0), "sgd"),
    ("LinearLR", "total_iters=0", dict(total_iters=0), "sgd"),
    ("ExponentialLR", "ok", dict(gamma=0.9), "sgd"),
    ("ExponentialLR", "gamma<0", dict(gamma=-0.9), "sgd"),
    ("ExponentialLR", "gamma=0", dict(gamma=0.0), "sgd"),
    ("ExponentialLR", "missing-gamma", dict(), "sgd"),
    ("CosineAnnealingLR", "ok", dict(T_max=10), "sgd"),
    ("CosineAnnealingLR", "T_max=0", dict(T_max=0), "sgd"),
    ("CosineAnnealingLR", "T_max<0", dict(T_max=-1), "sgd"),
    ("CosineAnnealingLR", "T_max=float", dict(T_max=2.5), "sgd"),
    ("CosineAnnealingLR", "eta_min<0", dict(T_max=10, eta_min=-0.1), "sgd"),
    ("CosineAnnealingLR", "eta_min>lr", dict(T_max=10, eta_min=1.0), "sgd"),
    ("CosineAnnealingWarmRestarts", "ok", dict(T_0=5), "sgd"),
    ("CosineAnnealingWarmRestarts", "T_0=0", dict(T_0=0), "sgd"),
    ("CosineAnnealingWarmRestarts", "T_0<0", dict(T_0=-1), "sgd"),
    ("CosineAnnealingWarmRestarts", "T_0=float", dict(T_0=2.5), "sgd"),
    ("CosineAnnealingWarmRestarts", "T_mult=0", dict(T_0=5, T_mult=0), "sgd"),
    ("CosineAnnealingWarmRestarts", "T_mult=float", dict(T_0=5, T_mult=1.5), "sgd"),
    ("CosineAnnealingWarmRestarts", "T_mult=2", dict(T_0=5, T_mult=2), "sgd"),
    ("CosineAnnealingWarmRestarts", "eta_min<0", dict(T_0=5, eta_min=-0.1), "sgd"),
    ("CosineAnnealingWarmRestarts", "eta_min=str", dict(T_0=5, eta_min="0"), "sgd"),
    ("CosineAnnealingWarmRestarts", "eta_min=int", dict(T_0=5, eta_min=0), "sgd"),
    ("PolynomialLR", "ok", dict(), "sgd"),
    ("PolynomialLR", "total_iters=0", dict(total_iters=0), "sgd"),
    ("PolynomialLR", "power<0", dict(power=-1.0), "sgd"),
    ("LambdaLR", "ok", dict(lr_lambda=lambda lib: (lambda e: 0.9 ** e)), "sgd"),
    ("LambdaLR", "list", dict(lr_lambda=lambda lib: [lambda e: 1.0, lambda e: 0.5]),
     "sgd-2-groups"),
    ("LambdaLR", "list-wrong-length", dict(lr_lambda=lambda lib: [lambda e: 1.0]),
     "sgd-2-groups"),
    ("LambdaLR", "not-callable", dict(lr_lambda=0.5), "sgd"),
    ("MultiplicativeLR", "ok", dict(lr_lambda=lambda lib: (lambda e: 0.9)), "sgd"),
    ("MultiplicativeLR", "list-wrong-length", dict(lr_lambda=lambda lib: [lambda e: 1.0] * 3),
     "sgd-2-groups"),
    ("MultiplicativeLR", "not-callable", dict(lr_lambda=0.5), "sgd"),
    ("CyclicLR", "ok", dict(base_lr=0.01, max_lr=0.1), "sgd"),
    ("CyclicLR", "mode=bad", dict(base_lr=0.01, max_lr=0.1, mode="cosine"), "sgd"),
    ("CyclicLR", "mode=triangular2", dict(base_lr=0.01, max_lr=0.1, mode="triangular2"), "sgd"),
    ("CyclicLR", "mode=exp_range", dict(base_lr=0.01, max_lr=0.1, mode="exp_range"), "sgd"),
    ("CyclicLR", "bad-mode-with-scale_fn", dict(base_lr=0.01, max_lr=0.1, mode="cosine",
                                                scale_fn=lambda lib: (lambda x: 1.0)), "sgd"),
    ("CyclicLR", "scale_mode=bad", dict(base_lr=0.01, max_lr=0.1, scale_mode="epoch",
                                        scale_fn=lambda lib: (lambda x: 1.0)), "sgd"),
    ("CyclicLR", "base_lr-list-wrong-length", dict(base_lr=[0.01, 0.02], max_lr=0.1), "sgd"),
    ("CyclicLR", "max_lr-list", dict(base_lr=0.01, max_lr=[0.1, 0.2]), "sgd-2-groups"),
    ("CyclicLR", "step_size_up=0", dict(base_lr=0.01, max_lr=0.1, step_size_up=0), "sgd"),
    ("CyclicLR", "step_size_up<0", dict(base_lr=0.01, max_lr=0.1, step_size_up=-2), "sgd"),
    ("CyclicLR", "base_lr>max_lr", dict(base_lr=0.2, max_lr=0.1), "sgd"),
    ("CyclicLR", "gamma<0", dict(base_lr=0.01, max_lr=0.1, gamma=-1.0), "sgd"),
    ("CyclicLR", "adam", dict(base_lr=0.01, max_lr=0.1), "adam"),
    ("CyclicLR", "no-momentum", dict(base_lr=0.01, max_lr=0.1), "adagrad"),
    ("CyclicLR", "no-momentum-no-cycle", dict(base_lr=0.01, max_lr=0.1, cycle_momentum=False),
     "adagrad"),
    ("CyclicLR", "base_momentum-list-wrong-length",
     dict(base_lr=0.01, max_lr=0.1, base_momentum=[0.8, 0.8]), "sgd"),
    ("OneCycleLR", "ok", dict(max_lr=0.1, total_steps=100), "sgd"),
    ("OneCycleLR", "no-total", dict(max_lr=0.1), "sgd"),
    ("OneCycleLR", "epochs-only", dict(max_lr=0.1, epochs=3), "sgd"),
    ("OneCycleLR", "epochs+steps", dict(max_lr=0.1, epochs=3, steps_per_epoch=10), "sgd"),
    ("OneCycleLR", "epochs=0", dict(max_lr=0.1, epochs=0, steps_per_epoch=10), "sgd"),
    ("OneCycleLR", "steps_per_epoch=0", dict(max_lr=0.1, epochs=3, steps_per_epoch=0), "sgd"),
    ("OneCycleLR", "epochs=float", dict(max_lr=0.1, epochs=2.5, steps_per_epoch=10), "sgd"),
    ("OneCycleLR", "total_steps=0", dict(max_lr=0.1, total_steps=0), "sgd"),
    ("OneCycleLR", "total_steps<0", dict(max_lr=0.1, total_steps=-5), "sgd"),
    ("OneCycleLR", "total_steps=float", dict(max_lr=0.1, total_steps=10.5), "sgd"),
    ("OneCycleLR", "total_steps+epochs", dict(max_lr=0.1, total_steps=50, epochs=3,
                                              steps_per_epoch=10), "sgd"),
    ("OneCycleLR", "pct_start<0", dict(max_lr=0.1, total_steps=100, pct_start=-0.1), "sgd"),
    ("OneCycleLR", "pct_start>1", dict(max_lr=0.1, total_steps=100, pct_start=1.1), "sgd"),
    ("OneCycleLR", "pct_start=1", dict(max_lr=0.1, total_steps=100, pct_start=1.0), "sgd"),
    ("OneCycleLR", "pct_start=0", dict(max_lr=0.1, total_steps=100, pct_start=0.0), "sgd"),
    ("OneCycleLR", "pct_start=str", dict(max_lr=0.1, total_steps=100, pct_start="0.3"), "sgd"),
    ("OneCycleLR", "anneal_strategy=bad", dict(max_lr=0.1, total_steps=100,
                                               anneal_strategy="exp"), "sgd"),
    ("OneCycleLR", "anneal_strategy=linear", dict(max_lr=0.1, total_steps=100,
                                                  anneal_strategy="linear"), "sgd"),
    ("OneCycleLR", "three_phase", dict(max_lr=0.1, total_steps=100, three_phase=True), "sgd"),
    ("OneCycleLR", "max_lr-list-wrong-length", dict(max_lr=[0.1, 0.2], total_steps=100), "sgd"),
    ("OneCycleLR", "div_factor=0", dict(max_lr=0.1, total_steps=100, div_factor=0.0), "sgd"),
    ("OneCycleLR", "final_div_factor=0", dict(max_lr=0.1, total_steps=100,
                                              final_div_factor=0.0), "sgd"),
    ("OneCycleLR", "adam", dict(max_lr=0.1, total_steps=100), "adam"),
    ("OneCycleLR", "no-momentum", dict(max_lr=0.1, total_steps=100), "adagrad"),
    ("OneCycleLR", "no-momentum-no-cycle", dict(max_lr=0.1, total_steps=100,
                                                cycle_momentum=False), "adagrad"),
    ("OneCycleLR", "not-an-optimizer", dict(max_lr=0.1, total_steps=100), "not-an-optimizer"),
    ("ReduceLROnPlateau", "ok", dict(), "sgd"),
    ("ReduceLROnPlateau", "mode=bad", dict(mode="minimum"), "sgd"),
    ("ReduceLROnPlateau", "mode=max", dict(mode="max"), "sgd"),
    ("ReduceLROnPlateau", "threshold_mode=bad", dict(threshold_mode="relative"), "sgd"),
    ("ReduceLROnPlateau", "threshold_mode=abs", dict(threshold_mode="abs"), "sgd"),
    ("ReduceLROnPlateau", "factor=1", dict(factor=1.0), "sgd"),
    ("ReduceLROnPlateau", "factor>1", dict(factor=1.5), "sgd"),
    ("ReduceLROnPlateau", "factor<0", dict(factor=-0.1), "sgd"),
    ("ReduceLROnPlateau", "factor=0", dict(factor=0.0), "sgd"),
    ("ReduceLROnPlateau", "min_lr-list", dict(min_lr=[0.0, 0.001]), "sgd-2-groups"),
    ("ReduceLROnPlateau", "min_lr-list-wrong-length", dict(min_lr=[0.0, 0.001]), "sgd"),
    ("ReduceLROnPlateau", "min_lr-tuple", dict(min_lr=(0.0, 0.001)), "sgd-2-groups"),
    ("ReduceLROnPlateau", "patience<0", dict(patience=-1), "sgd"),
    ("ReduceLROnPlateau", "threshold<0", dict(threshold=-0.1), "sgd"),
    ("ReduceLROnPlateau", "cooldown<0", dict(cooldown=-1), "sgd"),
    ("ReduceLROnPlateau", "eps<0", dict(eps=-1.0), "sgd"),
    ("ReduceLROnPlateau", "verbose", dict(verbose=True), "sgd"),
    ("ReduceLROnPlateau", "not-an-optimizer", dict(), "not-an-optimizer"),
    ("SequentialLR", "ok", dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o),
                                                          sub("ExponentialLR", gamma=0.9)(lib, o)],
                                milestones=[2]), "sgd"),
    ("SequentialLR", "milestones-wrong-length",
     dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o), sub("StepLR", step_size=2)(lib, o)],
          milestones=[2, 4]), "sgd"),
    ("SequentialLR", "other-optimizer",
     dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o), other_opt_sub("ConstantLR")(lib, o)],
          milestones=[2]), "sgd"),
    ("SequentialLR", "empty", dict(schedulers=lambda lib, o: [], milestones=[]), "sgd"),
    ("SequentialLR", "not-a-scheduler", dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o), 1],
                                             milestones=[2]), "sgd"),
    ("SequentialLR", "plateau-inside",
     dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o), sub("ReduceLROnPlateau")(lib, o)],
          milestones=[2]), "sgd"),
    ("SequentialLR", "unsorted-milestones",
     dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o)] * 3, milestones=[4, 2]), "sgd"),
    ("ChainedScheduler", "ok", dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o),
                                                              sub("StepLR", step_size=2)(lib, o)]),
     "sgd"),
    ("ChainedScheduler", "other-optimizer",
     dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o), other_opt_sub("ConstantLR")(lib, o)]),
     "sgd"),
    ("ChainedScheduler", "empty", dict(schedulers=lambda lib, o: []), "sgd"),
    ("ChainedScheduler", "plateau-inside",
     dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o), sub("ReduceLROnPlateau")(lib, o)]),
     "sgd"),
    ("ChainedScheduler", "optimizer-mismatch",
     dict(schedulers=lambda lib, o: [sub("ConstantLR")(lib, o)], optimizer=lambda lib, o: optimizer(lib)),
     "sgd"),
    ("SWALR", "ok", dict(swa_lr=0.05), "sgd"),
    ("SWALR", "swa_lr-list", dict(swa_lr=[0.05, 0.01]), "sgd-2-groups"),
    ("SWALR", "swa_lr-list-wrong-length", dict(swa_lr=[0.05, 0.01]), "sgd"),
    ("SWALR", "swa_lr<0", dict(swa_lr=-0.05), "sgd"),
    ("SWALR", "anneal_epochs=0", dict(swa_lr=0.05, anneal_epochs=0), "sgd"),
    ("SWALR", "anneal_epochs<0", dict(swa_lr=0.05, anneal_epochs=-1), "sgd"),
    ("SWALR", "anneal_epochs=float", dict(swa_lr=0.05, anneal_epochs=2.5), "sgd"),
    ("SWALR", "anneal_strategy=bad", dict(swa_lr=0.05, anneal_strategy="exp"), "sgd"),
    ("SWALR", "anneal_strategy=linear", dict(swa_lr=0.05, anneal_strategy="linear"), "sgd"),
    ("SWALR", "not-an-optimizer", dict(swa_lr=0.05), "not-an-optimizer"),
]


def scheduler_class(lib, name):
    if name == "SWALR":
        return lib.optim.swa_utils.SWALR
    return getattr(lib.optim.lr_scheduler, name)


def outcome(lib, name, kwargs, kind):
    """``None`` when the constructor succeeds, else the exception's type."""
    try:
        opt = optimizer(lib, kind)
        kw = {}
        for k, v in kwargs.items():
            if callable(v):
                n_args = v.__code__.co_argcount
                v = v(lib, opt) if n_args == 2 else v(lib)
            kw[k] = v
        if name in ("ChainedScheduler",):
            scheduler_class(lib, name)(**kw)
        else:
            scheduler_class(lib, name)(opt, **kw)
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e)
    return None


@pytest.mark.parametrize("name, kwargs, kind", [pytest.param(n, kw, k, id=f"{n}-{c}")
                                                for n, c, kw, k in CASES])
def test_scheduler_arguments_are_validated_like_torch(name, kwargs, kind):
    theirs = outcome(torch, name, kwargs, kind)
    ours = outcome(gradstep, name, kwargs, kind)
    assert ours is theirs, f"torch: {theirs and theirs.__name__}, gradstep: {ours and ours.__name__}"


@pytest.mark.parametrize("milestones", [[5, 2, 2], [3, 1], None])
def test_multistep_with_unsorted_repeated_or_no_milestones_steps_like_torch(milestones):
    """torch keeps milestones in a Counter: any order, a repeat scales by gamma**count."""
    lrs = {}
    for lib in (gradstep, torch):
        opt = optimizer(lib)
        sched = lib.optim.lr_scheduler.MultiStepLR(opt, milestones, gamma=0.5)
        seq = []
        for _ in range(8):
            opt.step()
            sched.step()
            seq.append(opt.param_groups[0]["lr"])
        lrs[lib.__name__] = seq
    assert lrs["gradstep"] == lrs["torch"]  # powers of 0.5 times 0.1: exact in both

"""Published LR schedulers and warmup wrappers, round 6: the same code on torch and gradstep.

Each case trains round 5's two-layer tanh network (two parameter groups) from the same initial
weights under a scheduler written as its authors wrote it (``published_schedulers6.py``) and
driven as their README drives it: ``step()``, ``step(epoch)`` (the deprecated form that
GradualWarmupScheduler and katsura-jp's restarts are built on), ``step(metrics=loss)``,
``with warmup.dampening(): scheduler.step()``. After every step the groups' ``lr``/``momentum``/
``betas`` and ``get_last_lr()`` (or the exception it raises) are compared, then the warnings
both libraries raised, the parameters, the state dict (nested schedulers by their own state
dicts), and a fresh scheduler loaded from it that must continue the same way.

Tolerances (round 5's): learning rates are Python floats from the same closed or recursive
formulas: rel 1e-12 covers a different association of a handful of float64 operations.
Parameters: float64 rtol=1e-9/atol=1e-11, three orders above the matmul/mean reordering error
after 20 steps.
"""

from __future__ import annotations

import copy
import math
import warnings
from bisect import bisect_right
from contextlib import contextmanager
from functools import partial

import numpy as np
import pytest
import torch

import gradstep

from .published_schedulers6 import (
    COSINE_WARMUP_RESTARTS,
    GRADUAL_WARMUP,
    LINEAR_WARMUP_COSINE,
    PLATEAU_PATCH,
    POLYNOMIAL_LR_DECAY,
    PYTORCH_WARMUP,
    TRANSFORMERS_SCHEDULES,
    WARMUP_MULTISTEP,
)
from .test_optimizer_subclass import _assert_same_structure, _normalize
from .test_published_optimizers5 import _data, _loss

TOL = dict(rtol=1e-9, atol=1e-11)
LR_TOL = dict(rel_tol=1e-12, abs_tol=1e-15)
STEPS = 20
SOURCES = (COSINE_WARMUP_RESTARTS + LINEAR_WARMUP_COSINE + TRANSFORMERS_SCHEDULES + GRADUAL_WARMUP
           + PYTORCH_WARMUP + PLATEAU_PATCH + WARMUP_MULTISTEP + POLYNOMIAL_LR_DECAY)


def _ns(lib):
    sched = lib.optim.lr_scheduler
    ns = {"torch": lib, "math": math, "warnings": warnings, "partial": partial,
          "contextmanager": contextmanager, "LambdaLR": sched.LambdaLR,
          "_LRScheduler": sched._LRScheduler, "ReduceLROnPlateau": sched.ReduceLROnPlateau,
          "Optimizer": lib.optim.Optimizer, "bisect_right": bisect_right}
    exec(compile(SOURCES, f"<schedulers 6 on {lib.__name__}>", "exec"), ns)  # noqa: S102
    return ns


def _groups(params, lr):
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr * 0.5}]


def _sgd(lib, params):
    return lib.optim.SGD(_groups(params, 0.1), lr=0.1, momentum=0.9)


def _adam(lib, params):
    return lib.optim.Adam(_groups(params, 0.01), lr=0.01, betas=(0.9, 0.8))


class WarmupPair:
    """pytorch_warmup's README: a torch scheduler stepped inside ``warmup.dampening()``."""

    def __init__(self, sched, warmup):
        self.sched, self.warmup = sched, warmup

    def step(self):
        with self.warmup.dampening():
            self.sched.step()

    def get_last_lr(self):
        return self.sched.get_last_lr()

    def state_dict(self):
        return {"lr_scheduler": self.sched.state_dict(), "warmup": self.warmup.state_dict()}

    def load_state_dict(self, sd):
        self.sched.load_state_dict(sd["lr_scheduler"])
        self.warmup.load_state_dict(sd["warmup"])


def _s(lib):
    return lib.optim.lr_scheduler


# name -> (optimizer factory, scheduler factory(lib, opt, ns), how the loop steps it)
CASES = {
    "cosine_warmup_restarts": (_sgd, lambda lib, o, ns: ns["CosineAnnealingWarmupRestarts"](
        o, first_cycle_steps=8, cycle_mult=1.5, max_lr=0.1, min_lr=0.001, warmup_steps=2,
        gamma=0.7), "plain"),
    "cosine_warmup_restarts_epoch": (_sgd, lambda lib, o, ns: ns["CosineAnnealingWarmupRestarts"](
        o, first_cycle_steps=4, cycle_mult=2.0, max_lr=0.08, min_lr=0.002, warmup_steps=1,
        gamma=0.5), "epoch"),
    "bolts_linear_warmup_cosine": (_adam, lambda lib, o, ns: ns["LinearWarmupCosineAnnealingLR"](
        o, warmup_epochs=4, max_epochs=15, warmup_start_lr=1e-3, eta_min=1e-4), "plain"),
    "bolts_closed_form_epoch": (_sgd, lambda lib, o, ns: ns["LinearWarmupCosineAnnealingLR"](
        o, warmup_epochs=3, max_epochs=12, warmup_start_lr=0.01), "epoch"),
    "hf_cosine_warmup": (_adam, lambda lib, o, ns: ns["get_cosine_schedule_with_warmup"](
        o, num_warmup_steps=4, num_training_steps=22), "plain"),
    "hf_hard_restarts": (_sgd, lambda lib, o, ns: ns[
        "get_cosine_with_hard_restarts_schedule_with_warmup"](o, 3, 20, num_cycles=3), "plain"),
    "hf_polynomial": (_sgd, lambda lib, o, ns: ns["get_polynomial_decay_schedule_with_warmup"](
        o, 3, 16, lr_end=1e-3, power=2.0), "plain"),
    "gradual_warmup_steplr_epoch": (_sgd, lambda lib, o, ns: ns["GradualWarmupScheduler"](
        o, multiplier=1, total_epoch=5, after_scheduler=_s(lib).StepLR(o, 4, gamma=0.5)),
        "epoch"),
    "gradual_warmup_cosine": (_adam, lambda lib, o, ns: ns["GradualWarmupScheduler"](
        o, multiplier=2, total_epoch=4, after_scheduler=_s(lib).CosineAnnealingLR(o, 15)),
        "plain"),
    "gradual_warmup_plateau": (_sgd, lambda lib, o, ns: ns["GradualWarmupScheduler"](
        o, multiplier=2, total_epoch=3, after_scheduler=_s(lib).ReduceLROnPlateau(
            o, patience=1, factor=0.5, threshold=0.02)), "metrics_kw"),
    "pytorch_warmup_untuned_cosine": (_adam, lambda lib, o, ns: WarmupPair(
        _s(lib).CosineAnnealingLR(o, T_max=25), ns["UntunedLinearWarmup"](o)), "plain"),
    "pytorch_warmup_exponential_multistep": (_sgd, lambda lib, o, ns: WarmupPair(
        _s(lib).MultiStepLR(o, [6, 12], gamma=0.3), ns["ExponentialWarmup"](o, [3, 5])),
        "plain"),
    "plateau_patch": (_sgd, lambda lib, o, ns: ns["ReduceLROnPlateauPatch"](
        o, "min", factor=0.5, patience=0, threshold=0.01), "metric"),
    "plateau_verbose_subclass": (_adam, lambda lib, o, ns: ns["VerboseReduceLROnPlateau"](
        o, "max", factor=0.7, patience=0, threshold=0.045, threshold_mode="abs", cooldown=1),
        "neg_metric"),
    "sequential_warmup_restarts": (_sgd, lambda lib, o, ns: _s(lib).SequentialLR(o, [
        _s(lib).LinearLR(o, start_factor=0.2, total_iters=3),
        _s(lib).CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=1e-3),
        _s(lib).ConstantLR(o, factor=0.5, total_iters=3)], milestones=[3, 12]), "plain"),
    "detectron_warmup_multistep": (_sgd, lambda lib, o, ns: ns["WarmupMultiStepLR"](
        o, milestones=[8, 14], gamma=0.3, warmup_factor=0.1, warmup_iters=5), "plain"),
    "detectron_warmup_constant_epoch": (_adam, lambda lib, o, ns: ns["WarmupMultiStepLR"](
        o, milestones=(6, 9), warmup_iters=4, warmup_method="constant"), "epoch"),
    "polynomial_lr_decay": (_sgd, lambda lib, o, ns: ns["PolynomialLRDecay"](
        o, max_decay_steps=15, end_learning_rate=1e-3, power=2.0), "plain"),
    "chained_partial_lambda": (_adam, lambda lib, o, ns: _s(lib).ChainedScheduler([
        ns["get_cosine_schedule_with_warmup"](o, 2, 30),
        _s(lib).MultiplicativeLR(o, lambda epoch: 0.97),
        _s(lib).StepLR(o, step_size=5, gamma=0.8)], optimizer=o), "plain"),
}


def _hyper(opt):
    keys = ("lr", "momentum", "betas")
    return [tuple(g.get(k) for k in keys) for g in opt.param_groups]


def _last_lr(sched):
    try:
        return list(sched.get_last_lr())
    except Exception as error:  # katsura-jp's step never sets _last_lr: the same error
        return type(error).__name__


class Run:
    def __init__(self, lib, case):
        make_opt, self.make_sched, self.mode = CASES[case]
        init, x, y = _data("float64")
        self.lib, self.ns = lib, _ns(lib)
        self.params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        self.x, self.y = lib.tensor(x), lib.tensor(y)
        self.opt = make_opt(lib, self.params)
        self.sched = self.make_sched(lib, self.opt, self.ns)

    def step(self, i):
        self.opt.zero_grad()
        loss = _loss(self.lib, self.params, self.x, self.y)
        loss.backward()
        self.opt.step()
        if self.mode == "metric":
            self.sched.step(loss.item())
        elif self.mode == "neg_metric":
            self.sched.step(-loss.detach())
        elif self.mode == "metrics_kw":
            self.sched.step(metrics=loss.item())
        elif self.mode == "epoch":
            self.sched.step(i + 1)
        else:
            self.sched.step()
        return _hyper(self.opt), _last_lr(self.sched)


def _same_floats(a, b, what):
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{what}: {a!r} != torch's {b!r}"
        for x, y in zip(a, b):
            _same_floats(x, y, what)
    elif isinstance(a, float):
        assert isinstance(b, float) and math.isclose(a, b, **LR_TOL), f"{what}: {a} != {b}"
    else:
        assert a == b, f"{what}: {a!r} != torch's {b!r}"


def _compare_params(ours, theirs, what):
    for i, (a, b) in enumerate(zip(ours.params, theirs.params)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(),
                                   err_msg=f"{what}: parameter {i}", **TOL)


def _messages(caught):
    return sorted({(w.category.__name__, str(w.message).split(" (Triggered internally")[0])
                   for w in caught})


def _plain(obj, lib):
    """A scheduler state dict as data: a nested scheduler (GradualWarmupScheduler keeps its
    ``after_scheduler``) by its own state dict, an exec'd function by its name."""
    if isinstance(obj, dict):
        return {k: _plain(v, lib) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v, lib) for v in obj)
    if isinstance(obj, lib.optim.lr_scheduler.LRScheduler):
        return ("scheduler", type(obj).__name__, _plain(obj.state_dict(), lib))
    if callable(obj) and hasattr(obj, "__name__"):
        return ("function", obj.__name__)
    return _normalize(obj, lib)


@pytest.mark.parametrize("case", sorted(CASES))
def test_scheduler_matches_torch(case):
    runs = {}
    for lib in (gradstep, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = Run(lib, case)
            run.trace = [run.step(i) for i in range(STEPS)]
        run.warnings = _messages(caught)
        runs[lib.__name__] = run
    ours, theirs = runs["gradstep"], runs["torch"]
    for i, (a, b) in enumerate(zip(ours.trace, theirs.trace)):
        _same_floats(a, b, f"{case} step {i}")
    lrs = {h[0][0] for h, _ in ours.trace}
    assert len(lrs) > 2, f"the learning rate hardly moved: {lrs}"
    _compare_params(ours, theirs, case)
    assert ours.warnings == theirs.warnings
    if case == "plateau_verbose_subclass":
        _same_floats(ours.sched.reductions, theirs.sched.reductions, "reductions")
        assert ours.sched.reductions

    sd_ours, sd_theirs = ours.sched.state_dict(), theirs.sched.state_dict()
    _assert_same_structure(_plain(sd_ours, gradstep), _plain(sd_theirs, torch),
                           dict(rtol=1e-12, atol=1e-15))
    for run, sd in ((ours, sd_ours), (theirs, sd_theirs)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run.sched = run.make_sched(run.lib, run.opt, run.ns)
            run.sched.load_state_dict(copy.copy(sd))
    for i in range(STEPS, STEPS + 4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _same_floats(ours.step(i), theirs.step(i), f"{case} after load_state_dict, step {i}")
    _compare_params(ours, theirs, f"{case} after load_state_dict")


def test_transformers_resume_without_initial_lr_raises_as_torch():
    """``get_cosine_schedule_with_warmup(..., last_epoch=5)`` on a fresh optimizer: torch's
    KeyError naming the missing ``initial_lr``; with it set, both resume at the same lr."""
    errors = []
    for lib in (gradstep, torch):
        opt = _sgd(lib, [lib.zeros(2, requires_grad=True) for _ in range(4)])
        with pytest.raises(KeyError) as info:
            _ns(lib)["get_cosine_schedule_with_warmup"](opt, 2, 10, last_epoch=5)
        errors.append(str(info.value))
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
        sched = _ns(lib)["get_cosine_schedule_with_warmup"](opt, 2, 10, last_epoch=5)
        errors.append(([g["lr"] for g in opt.param_groups], sched.last_epoch))
    assert errors[0] == errors[2] and "initial_lr" in errors[0]
    _same_floats(errors[1], errors[3], "resumed lr")


def test_polynomial_decay_refuses_lr_end_above_lr():
    for lib in (gradstep, torch):
        opt = _sgd(lib, [lib.zeros(2, requires_grad=True) for _ in range(4)])
        with pytest.raises(ValueError, match=r"lr_end \(0.5\) must be smaller than initial lr"):
            _ns(lib)["get_polynomial_decay_schedule_with_warmup"](opt, 2, 10, lr_end=0.5)


def test_warmup_refuses_what_is_not_an_optimizer():
    """pytorch_warmup checks ``isinstance(optimizer, Optimizer)``: a gradstep optimizer passes
    (the cases above), a wrapper that is not one is refused as by torch."""
    for lib in (gradstep, torch):
        with pytest.raises(TypeError, match=r"\(object\) is not an Optimizer"):
            _ns(lib)["BaseWarmup"](object(), [])

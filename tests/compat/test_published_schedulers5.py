"""Published LR schedulers and optimizer wrappers, round 5: the same code on torch and gradstep.

Each case trains the two-layer tanh network of ``test_published_optimizers5.py`` (two parameter
groups) from the same initial weights under a scheduler or wrapper written as its authors did
(``published_wrappers5.py``) or as torch 1.x-era code drove torch's own schedulers: momentum
cycling in OneCycleLR/CyclicLR (SGD ``momentum`` and Adam ``betas``), ReduceLROnPlateau stepped
with a 0-d loss tensor, chained and sequential schedulers, per-group lambdas, the deprecated
``scheduler.step(epoch)`` and fractional epochs in CosineAnnealingWarmRestarts. After every
step the groups' ``lr``/``momentum``/``betas``, ``get_last_lr()`` and all parameters are
compared; then the scheduler's state dict, reloaded into a fresh scheduler that continues the
same way; and the warnings both libraries raised.

Tolerances. Learning rates are Python floats computed by the same closed or recursive formulas:
rel 1e-12 covers a different association of a handful of float64 operations. Parameters: as in
``test_published_optimizers5.py`` (float64 rtol=1e-9/atol=1e-11; three orders above the
matmul/mean reordering error after 20 steps).
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import gradstep

from .published_wrappers5 import NOAM, PYTORCH_TRANSFORMERS_SCHEDULES, SAM
from .test_optimizer_subclass import _assert_same_structure, _normalize
from .test_published_optimizers5 import _data, _loss

TOL = dict(rtol=1e-9, atol=1e-11)
LR_TOL = dict(rel_tol=1e-12, abs_tol=1e-15)
STEPS = 20


def _ns(lib):
    ns = {"torch": lib, "math": math, "LambdaLR": lib.optim.lr_scheduler.LambdaLR}
    exec(compile(PYTORCH_TRANSFORMERS_SCHEDULES + SAM + NOAM, f"<5 on {lib.__name__}>",  # noqa: S102
                 "exec"), ns)
    return ns


def _groups(params, lr):
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr * 0.5}]


def _sgd(lib, params):
    return lib.optim.SGD(_groups(params, 0.1), lr=0.1, momentum=0.9, nesterov=True)


def _adam(lib, params):
    return lib.optim.Adam(_groups(params, 0.01), lr=0.01)


S = "lr_scheduler"
# name -> (optimizer factory, scheduler factory(lib, opt, ns), how to step the scheduler)
CASES = {
    "warmup_linear": (_sgd, lambda lib, o, ns: ns["WarmupLinearSchedule"](o, 3, 20), "plain"),
    "warmup_cosine_restarts": (
        _adam, lambda lib, o, ns: ns["WarmupCosineWithHardRestartsSchedule"](o, 3, 20, 2.),
        "plain"),
    "onecycle_sgd_cos": (_sgd, lambda lib, o, ns: getattr(lib.optim, S).OneCycleLR(
        o, max_lr=[0.1, 0.05], total_steps=25, pct_start=0.3, base_momentum=0.8,
        max_momentum=0.95, div_factor=10.0, final_div_factor=1e3), "plain"),
    "onecycle_adam_linear_3phase": (_adam, lambda lib, o, ns: getattr(lib.optim, S).OneCycleLR(
        o, max_lr=0.02, epochs=5, steps_per_epoch=5, anneal_strategy="linear",
        three_phase=True), "plain"),
    "cyclic_triangular2": (_sgd, lambda lib, o, ns: getattr(lib.optim, S).CyclicLR(
        o, base_lr=0.01, max_lr=[0.1, 0.05], step_size_up=3, mode="triangular2"), "plain"),
    "cyclic_exp_range": (_sgd, lambda lib, o, ns: getattr(lib.optim, S).CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2, mode="exp_range",
        gamma=0.9, base_momentum=0.7, max_momentum=0.9), "plain"),
    "cyclic_adam_betas": (_adam, lambda lib, o, ns: getattr(lib.optim, S).CyclicLR(
        o, base_lr=1e-3, max_lr=1e-2, step_size_up=4, base_momentum=0.8, max_momentum=0.9),
        "plain"),
    "plateau_tensor_metric": (_sgd, lambda lib, o, ns: getattr(lib.optim, S).ReduceLROnPlateau(
        o, "min", factor=0.5, patience=1, threshold=0.05, cooldown=1, min_lr=[1e-3, 2e-3]),
        "metric"),
    "chained": (_adam, lambda lib, o, ns: getattr(lib.optim, S).ChainedScheduler([
        getattr(lib.optim, S).LinearLR(o, start_factor=0.1, total_iters=4),
        getattr(lib.optim, S).ExponentialLR(o, gamma=0.9)]), "plain"),
    "sequential": (_sgd, lambda lib, o, ns: getattr(lib.optim, S).SequentialLR(o, [
        getattr(lib.optim, S).LinearLR(o, start_factor=0.1, total_iters=4),
        getattr(lib.optim, S).CosineAnnealingLR(o, T_max=10, eta_min=1e-3)], milestones=[4]),
        "plain"),
    "lambda_per_group": (_sgd, lambda lib, o, ns: getattr(lib.optim, S).LambdaLR(
        o, [lambda e: 0.95 ** e, lambda e: 1.0 / (1 + e)]), "plain"),
    "multistep_epoch_arg": (_sgd, lambda lib, o, ns: getattr(lib.optim, S).MultiStepLR(
        o, [3, 7], gamma=0.5), "epoch"),
    "warm_restarts_fractional": (_adam, lambda lib, o, ns: getattr(
        lib.optim, S).CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=1e-4), "fraction"),
}


def _hyper(opt):
    keys = ("lr", "momentum", "betas")
    return [tuple(g.get(k) for k in keys) for g in opt.param_groups]


class Run:
    def __init__(self, lib, case):
        make_opt, make_sched, self.mode = CASES[case]
        init, x, y = _data("float64")
        self.lib, self.ns = lib, _ns(lib)
        self.params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        self.x, self.y = lib.tensor(x), lib.tensor(y)
        self.opt = make_opt(lib, self.params)
        self.sched = make_sched(lib, self.opt, self.ns)
        self.make_sched = make_sched

    def step(self, i):
        self.opt.zero_grad()
        loss = _loss(self.lib, self.params, self.x, self.y)
        loss.backward()
        self.opt.step()
        if self.mode == "metric":
            self.sched.step(loss.detach())
        elif self.mode == "epoch":
            self.sched.step(i + 1)
        elif self.mode == "fraction":
            self.sched.step(i / 3)
        else:
            self.sched.step()
        return _hyper(self.opt), list(self.sched.get_last_lr())


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

    sd_ours, sd_theirs = ours.sched.state_dict(), theirs.sched.state_dict()
    _assert_same_structure(_normalize(sd_ours, gradstep), _normalize(sd_theirs, torch),
                           dict(rtol=1e-12, atol=1e-15))
    for run, sd in ((ours, sd_ours), (theirs, sd_theirs)):
        run.sched = run.make_sched(run.lib, run.opt, run.ns)
        run.sched.load_state_dict(copy.deepcopy(sd))
    for i in range(STEPS, STEPS + 4):
        _same_floats(ours.step(i), theirs.step(i), f"{case} after load_state_dict, step {i}")
    _compare_params(ours, theirs, f"{case} after load_state_dict")


class WrapperRun:
    """A SAM/ASAM or NoamOpt copy; ``drive`` is how the published README steps it."""

    def __init__(self, lib, kind):
        init, x, y = _data("float64")
        self.lib, self.kind, ns = lib, kind, _ns(lib)
        self.params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        self.x, self.y = lib.tensor(x), lib.tensor(y)
        if kind == "noam":
            adam = lib.optim.Adam(self.params, lr=0, betas=(0.9, 0.98), eps=1e-9)
            self.opt = ns["NoamOpt"](8, 2, 4, adam)
        else:
            self.opt = ns["SAM"](_groups(self.params, 0.05), lib.optim.SGD,
                                 rho=0.5 if kind == "asam" else 0.05,
                                 adaptive=kind == "asam", lr=0.05, momentum=0.9)

    def loss(self):
        return _loss(self.lib, self.params, self.x, self.y)

    def closure(self):
        loss = self.loss()
        loss.backward()
        return loss

    def step(self):
        if self.kind == "noam":
            self.opt.optimizer.zero_grad()
            self.closure()
            self.opt.step()
        elif self.kind == "sam":  # README: one backward, then step(closure), then zero_grad
            self.closure()
            self.opt.step(self.closure)
            self.opt.zero_grad()
        else:  # README's two-step form
            self.closure()
            self.opt.first_step(zero_grad=True)
            self.closure()
            self.opt.second_step(zero_grad=True)


@pytest.mark.parametrize("kind", ["sam", "asam", "noam"])
def test_published_wrapper_matches_torch(kind):
    ours, theirs = WrapperRun(gradstep, kind), WrapperRun(torch, kind)
    for i in range(STEPS):
        ours.step(), theirs.step()
        _compare_params(ours, theirs, f"{kind} step {i}")
    start = _data("float64")[0]
    assert not np.allclose(ours.params[0].detach().numpy(), start[0])
    if kind == "noam":
        assert math.isclose(ours.opt._rate, theirs.opt._rate, **LR_TOL)
        sd_ours, sd_theirs = ours.opt.optimizer.state_dict(), theirs.opt.optimizer.state_dict()
    else:
        assert all(p.grad is None for p in ours.params)  # zero_grad() sets to None, as torch's
        sd_ours, sd_theirs = ours.opt.state_dict(), theirs.opt.state_dict()
        assert ours.opt.base_optimizer.param_groups is ours.opt.param_groups
    _assert_same_structure(_normalize(sd_ours, gradstep), _normalize(sd_theirs, torch), TOL)
    if kind != "noam":  # SAM's own load_state_dict re-links the base optimizer's groups
        for run, sd in ((ours, sd_ours), (theirs, sd_theirs)):
            run.opt.load_state_dict(copy.deepcopy(sd))
        for i in range(4):
            ours.step(), theirs.step()
        _compare_params(ours, theirs, f"{kind} after load_state_dict")

"""Every scheduler's lr sequence equals torch's (300 steps, two param groups, 1e-12)."""

import math
import warnings

import numpy as np
import pytest
import torch

import gradstep as gs

STEPS = 300


def _optimizers(kind="sgd"):
    def groups(lib):
        p1 = lib.zeros(2, requires_grad=True)
        p2 = lib.zeros(3, requires_grad=True)
        return [{"params": [p1]}, {"params": [p2], "lr": 0.05}]

    if kind == "sgd":
        return gs.optim.SGD(groups(gs), lr=0.1, momentum=0.9), torch.optim.SGD(groups(torch), lr=0.1, momentum=0.9)
    return gs.optim.Adam(groups(gs), lr=0.1), torch.optim.Adam(groups(torch), lr=0.1)


def _assert_groups_equal(ours, theirs, step):
    for g, t in zip(ours.param_groups, theirs.param_groups):
        for key in ("lr", "momentum", "betas"):
            if key in t:
                a, b = np.asarray(g[key], dtype=float), np.asarray(t[key], dtype=float)
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"{key} at step {step}")


def _run(make, kind="sgd", steps=STEPS, metrics=None):
    opt, topt = _optimizers(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched, tsched = make(gs.optim.lr_scheduler, opt), make(torch.optim.lr_scheduler, topt)
    _assert_groups_equal(opt, topt, 0)
    for i in range(steps):
        opt.step()
        topt.step()
        if metrics is None:
            sched.step()
            tsched.step()
        else:
            sched.step(metrics[i])
            tsched.step(metrics[i])
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=1e-15,
                                   err_msg=f"get_last_lr at step {i + 1}")
        _assert_groups_equal(opt, topt, i + 1)
    return opt, sched


CASES = {
    "lambda": lambda L, o: L.LambdaLR(o, lambda e: 0.97**e),
    "lambda_list": lambda L, o: L.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.99**e]),
    "multiplicative": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.995),
    "step": lambda L, o: L.StepLR(o, step_size=30, gamma=0.5),
    "multistep": lambda L, o: L.MultiStepLR(o, milestones=[10, 50, 200], gamma=0.3),
    "constant": lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=40),
    "linear": lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=100),
    "linear_default": lambda L, o: L.LinearLR(o),
    "exponential": lambda L, o: L.ExponentialLR(o, gamma=0.99),
    "polynomial": lambda L, o: L.PolynomialLR(o, total_iters=150, power=2.0),
    "cosine": lambda L, o: L.CosineAnnealingLR(o, T_max=70, eta_min=0.001),
    "cosine_restarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=20, T_mult=2, eta_min=1e-4),
    "cosine_restarts_1": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=13),
    "cyclic_tri": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=17),
    "cyclic_tri2": lambda L, o: L.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.2, step_size_up=10,
                                           step_size_down=25, mode="triangular2"),
    "cyclic_exp": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=15,
                                          mode="exp_range", gamma=0.99),
    "cyclic_fn": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=9, scale_fn=lambda x: 0.5 ** x,
                                         scale_mode="iterations", cycle_momentum=False),
    "onecycle": lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=STEPS),
    "onecycle_linear_3phase": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.3], epochs=10, steps_per_epoch=30,
                                                        anneal_strategy="linear", three_phase=True, pct_start=0.2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_schedule_matches_torch(name):
    _run(CASES[name])


@pytest.mark.parametrize("name", ["cyclic_tri", "onecycle"])
def test_momentum_cycling_with_adam_betas(name):
    _run(CASES[name], kind="adam")


def test_stacked_schedulers_compose_like_torch():
    def two(L, o):
        a = L.StepLR(o, step_size=25, gamma=0.5)
        b = L.ExponentialLR(o, gamma=0.995)
        return L.ChainedScheduler([a, b])

    def three(L, o):
        return L.ChainedScheduler([L.LinearLR(o, 0.2, total_iters=30), L.MultiStepLR(o, [100, 200], 0.1),
                                   L.CosineAnnealingLR(o, T_max=50)])

    _run(two)
    _run(three)


def test_independently_stepped_schedulers_compose():
    opt, topt = _optimizers()
    a, b = gs.optim.lr_scheduler.StepLR(opt, 10, 0.5), gs.optim.lr_scheduler.ExponentialLR(opt, 0.98)
    ta, tb = torch.optim.lr_scheduler.StepLR(topt, 10, 0.5), torch.optim.lr_scheduler.ExponentialLR(topt, 0.98)
    for i in range(100):
        opt.step()
        topt.step()
        for s in (a, b, ta, tb):
            s.step()
        _assert_groups_equal(opt, topt, i)


def test_sequential_of_mixed_schedulers():
    def seq(L, o):
        warm = L.LinearLR(o, start_factor=0.1, total_iters=20)
        cos = L.CosineAnnealingLR(o, T_max=100)
        step = L.StepLR(o, 30, 0.5)
        return L.SequentialLR(o, [warm, cos, step], milestones=[20, 150])

    _run(seq)


def test_reduce_on_plateau_matches_torch():
    rng = np.random.default_rng(0)
    metric = list(np.concatenate([np.linspace(1.0, 0.5, 40), np.full(40, 0.5), np.linspace(0.5, 0.4, 20),
                                  0.4 + rng.uniform(0, 1e-5, 200)]))
    _run(lambda L, o: L.ReduceLROnPlateau(o, factor=0.5, patience=5, cooldown=3), metrics=metric)
    _run(lambda L, o: L.ReduceLROnPlateau(o, mode="max", threshold_mode="abs", threshold=0.01, patience=2,
                                          min_lr=[0.001, 0.002]), metrics=[-m for m in metric])


def test_state_dict_round_trip_mid_schedule():
    def make(opt):
        return gs.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.4, total_steps=STEPS)

    ref_opt, _ = _optimizers()
    ref = make(ref_opt)
    opt, _ = _optimizers()
    sched = make(opt)
    for i in range(STEPS):
        if i == 150:
            saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
            opt, _ = _optimizers()
            sched = make(opt)
            opt.load_state_dict(saved_opt)
            sched.load_state_dict(saved_sched)
        for o, s in ((opt, sched), (ref_opt, ref)):
            o.step()
            s.step()
        assert sched.get_last_lr() == ref.get_last_lr()


def test_lambda_state_dict_skips_plain_functions():
    opt, _ = _optimizers()
    sched = gs.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0)
    assert sched.state_dict()["lr_lambdas"] == [None, None]
    assert "optimizer" not in sched.state_dict()


def test_initial_lr_and_base_lrs_recorded():
    opt, _ = _optimizers()
    sched = gs.optim.lr_scheduler.StepLR(opt, 5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.base_lrs == [0.1, 0.05] and sched.last_epoch == 0


def test_warns_when_scheduler_steps_before_optimizer():
    opt, _ = _optimizers()
    sched = gs.optim.lr_scheduler.StepLR(opt, 5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2, _ = _optimizers()
    sched2 = gs.optim.lr_scheduler.StepLR(opt2, 5)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_bad_input():
    L = gs.optim.lr_scheduler
    opt, _ = _optimizers()
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(opt, factor=1.0)
    one = L.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    for _ in range(4):
        opt.step()
        one.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        one.step()
        one.step()
    opt_a, _ = _optimizers()
    opt_b, _ = _optimizers()
    with pytest.raises(ValueError, match="same optimizer"):
        L.SequentialLR(opt_a, [L.StepLR(opt_a, 5), L.StepLR(opt_b, 5)], milestones=[3])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), 5)


def test_closed_form_with_explicit_epoch_matches_torch():
    opt, topt = _optimizers()
    s = gs.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40)
    t = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 17, 40, 55):
            s.step(epoch)
            t.step(epoch)
            assert math.isclose(s.get_last_lr()[0], t.get_last_lr()[0], rel_tol=1e-12)


def _get_lr_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in caught if "get_last_lr()" in str(w.message)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_get_lr_called_directly_warns_as_torch(name):
    """Outside ``step()`` a built-in ``get_lr()`` warns (it computes the *next* lr); inside it, never."""
    opt, topt = _optimizers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched, tsched = CASES[name](gs.optim.lr_scheduler, opt), CASES[name](torch.optim.lr_scheduler, topt)
    for lib_opt, s in ((opt, sched), (topt, tsched)):
        lib_opt.step()
        _, inside = _get_lr_warnings(s.step)
        assert inside == []
    ours, ours_warned = _get_lr_warnings(sched.get_lr)
    theirs, theirs_warned = _get_lr_warnings(tsched.get_lr)
    assert ours_warned == theirs_warned and len(theirs_warned) == 1
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(theirs, float), rtol=1e-12)


def _warmup_wrapper(lib):
    """ildoonet's GradualWarmupScheduler shape: its own ``get_lr`` calls the wrapped scheduler's."""

    class Warmup(lib.optim.lr_scheduler._LRScheduler):
        def __init__(self, optimizer, total_epoch, after_scheduler):
            self.total_epoch, self.after_scheduler = total_epoch, after_scheduler
            super().__init__(optimizer)

        def get_lr(self):
            if self.last_epoch > self.total_epoch:
                return self.after_scheduler.get_lr()
            return [b * self.last_epoch / self.total_epoch for b in self.base_lrs]

    return Warmup


def test_user_get_lr_is_silent_but_a_nested_builtin_get_lr_warns():
    results = []
    for lib, opt in zip((gs, torch), _optimizers()):
        sched = _warmup_wrapper(lib)(opt, 2, lib.optim.lr_scheduler.StepLR(opt, 2, 0.5))
        record = []
        for _ in range(4):
            opt.step()
            _, warned = _get_lr_warnings(sched.step)
            record.append((len(warned), sched.get_last_lr()))
        results.append(record)
    assert results[0] == results[1]
    assert [n for n, _ in results[1]] == [0, 0, 1, 1]


def test_legacy_base_class_is_a_subclass_as_in_torch():
    """torch 1.x code checks ``isinstance(s, _LRScheduler)`` and prints its name."""
    for lib in (gs, torch):
        L = lib.optim.lr_scheduler
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        assert L._LRScheduler.__name__ == "_LRScheduler"
        assert issubclass(L._LRScheduler, L.LRScheduler)
        assert not isinstance(L.StepLR(opt, 2), L._LRScheduler)


def _first_step_warnings(lib, replace_step):
    opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
    sched = lib.optim.lr_scheduler.StepLR(opt, 2)
    if replace_step:
        opt.step = lambda *a, **k: None
    opt.step()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched.step()
    return [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("replace_step", [False, True])
def test_optimizer_step_replaced_after_the_scheduler_warns_as_torch(replace_step):
    ours, theirs = _first_step_warnings(gs, replace_step), _first_step_warnings(torch, replace_step)
    assert ours == theirs
    assert len(theirs) == replace_step and (not theirs or "has been overridden" in theirs[0][1])


def test_step_wrapper_keeps_the_method_name_and_returns_the_closure_loss():
    p = gs.zeros(1, requires_grad=True)
    opt = gs.optim.SGD([p], lr=0.1)
    gs.optim.lr_scheduler.StepLR(opt, 2)
    assert opt.step.__name__ == "step" and opt.step(lambda: 3.0) == 3.0 and opt._opt_called


GROW_AFTER = {  # their lrs come from per-group lists fixed at construction
    "lambda": lambda L, o: L.LambdaLR(o, lambda e: 0.5),
    "cyclic": lambda L, o: L.CyclicLR(o, 0.01, 0.1, cycle_momentum=False),
    "warm_restarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, 3),
}


@pytest.mark.parametrize("name", sorted(GROW_AFTER))
def test_param_group_added_after_the_scheduler_is_refused_as_torch(name):
    """torch zips the new lrs into the groups strictly: one lr short is a ValueError, not a
    group silently left unscheduled."""
    messages = []
    for lib in (gs, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        sched = GROW_AFTER[name](lib.optim.lr_scheduler, opt)
        opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.03})
        opt.step()
        with pytest.raises(ValueError) as info:
            sched.step()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def _vendored_polynomial(lib):
    """A scheduler copied from torch's source, importing torch's private helpers."""
    L = lib.optim.lr_scheduler

    class Poly(L.LRScheduler):
        def __init__(self, optimizer, total_iters=4, power=2.0):
            self.total_iters, self.power = total_iters, power
            super().__init__(optimizer)

        def get_lr(self):
            L._warn_get_lr_called_within_step(self)
            if self._is_initial or self.last_epoch > self.total_iters:
                return L._param_groups_val_list(self.optimizer, "lr")
            t, n = self.last_epoch, self.total_iters
            decay = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
            return [g["lr"] * decay for g in self.optimizer.param_groups]

    return Poly


def test_scheduler_vendored_from_torch_source_runs_on_its_private_helpers():
    runs = []
    for lib, opt in zip((gs, torch), _optimizers()):
        sched = _vendored_polynomial(lib)(opt)
        lrs = []
        for _ in range(6):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        _, warned = _get_lr_warnings(sched.get_lr)
        with lib.optim.lr_scheduler._enable_get_lr_call(sched):
            _, silent = _get_lr_warnings(sched.get_lr)
        groups = lib.optim.lr_scheduler._format_param("max_lr", opt, 0.5)
        runs.append((lrs, len(warned), silent, groups))
    assert runs[0] == runs[1]
    assert runs[1][1] == 1 and runs[1][3] == [0.5, 0.5]


def test_sequential_recursive_undo_is_public_as_in_torch():
    seen = []
    for lib, opt in zip((gs, torch), _optimizers()):
        L = lib.optim.lr_scheduler
        seq = L.SequentialLR(opt, [L.StepLR(opt, 2, 0.5), L.MultiStepLR(opt, [3, 4])], [3], last_epoch=2)
        before = [s.last_epoch for s in seq._schedulers]
        seq.recursive_undo(seq._schedulers[0])
        seen.append((seq.last_epoch, before, [s.last_epoch for s in seq._schedulers]))
    assert seen[0] == seen[1] == (3, [0, -1], [-1, -1])


@pytest.mark.parametrize("owner,name,args", [
    ("lr_scheduler.OneCycleLR", "_annealing_cos", (0.1, 0.001, 0.3)),
    ("lr_scheduler.OneCycleLR", "_annealing_linear", (0.1, 0.001, 0.3)),
    ("lr_scheduler.CyclicLR", "_triangular_scale_fn", (3,)),
    ("lr_scheduler.CyclicLR", "_triangular2_scale_fn", (3,)),
    ("lr_scheduler.CyclicLR", "_exp_range_scale_fn", (0.99, 7)),
    ("swa_utils.SWALR", "_cosine_anneal", (0.3,)),
    ("swa_utils.SWALR", "_linear_anneal", (0.3,)),
    ("swa_utils.SWALR", "_get_initial_lr", (0.05, 0.01, 0.25)),
])
def test_torch_private_static_helpers_give_torch_values(owner, name, args):
    """Recipes call these off the classes (fastai-style one-cycle by hand reuses
    ``OneCycleLR._annealing_cos``); the values must be torch's, bit for bit."""
    values = []
    for lib in (gs, torch):
        module, cls = owner.split(".")
        values.append(getattr(getattr(getattr(lib.optim, module), cls), name)(*args))
    assert values[0] == values[1]


def test_plateau_reduce_hook_overridden_with_torch_signature():
    """Subclasses log reductions by overriding ``_reduce_lr(self, epoch)``."""
    seen = []
    for lib, opt in zip((gs, torch), _optimizers()):
        class Logged(lib.optim.lr_scheduler.ReduceLROnPlateau):
            def _reduce_lr(self, epoch):
                self.log = [*getattr(self, "log", []), epoch]
                super()._reduce_lr(epoch)

        sched = Logged(opt, patience=0)
        for metric in (1.0, 2.0, 3.0, 0.5, 0.7):
            sched.step(metric)
        seen.append((sched.log, sched.get_last_lr()))
    assert seen[0] == seen[1] and seen[1][0] == [2, 3, 5]


def test_step_replaced_before_the_scheduler_by_another_objects_method_is_kept():
    """A wrapper that put its own bound method in ``optimizer.step`` still gets the call."""

    class Counter:
        calls = 0

        def step(self, closure=None):
            self.calls += 1

    p = gs.zeros(1, requires_grad=True)
    opt, counter = gs.optim.SGD([p], lr=0.1), Counter()
    opt.step = counter.step
    sched = gs.optim.lr_scheduler.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert counter.calls == 1 and opt._opt_called

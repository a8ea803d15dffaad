"""The Optimizer base class: validation, groups, zero_grad, closure, hooks, state_dict, fast path."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep.optim import _flat
from gradstep.optim.optimizer import (
    Optimizer,
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
    required,
)
from tests.optim.oracle import compare_all, compare_optimizers, make_params

OPTIMIZERS = [
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
]


def _leaf(*shape):
    return gradstep.zeros(*shape, requires_grad=True)


class _Plain(Optimizer):
    """A minimal optimizer with a required hyperparameter, to test the base class alone."""

    def __init__(self, params, lr=required, momentum=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        self.grad_mode_in_step = gradstep.is_grad_enabled()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p._data -= group["lr"] * p.grad._data
        return loss


# ---------------------------------------------------------------- validation
def test_lone_tensor_rejected():
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an "
                                        "iterable of Tensors or dicts, but got"):
        gradstep.optim.SGD(_leaf(2))
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        torch.optim.SGD(torch.zeros(2, requires_grad=True))


def test_empty_list_rejected():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        gradstep.optim.SGD([])


def test_group_set_rejected():
    with pytest.raises(TypeError, match="ordered collections"):
        gradstep.optim.SGD([{"params": {_leaf(2)}}])


def test_top_level_set_accepted_like_torch():
    p, tp = _leaf(2), torch.zeros(2, requires_grad=True)
    assert gradstep.optim.SGD({p}).param_groups[0]["params"] == [p]
    assert torch.optim.SGD({tp}).param_groups[0]["params"] == [tp]


def test_group_set_rejected_like_torch():
    with pytest.raises(TypeError, match="ordered collections"):
        torch.optim.SGD([{"params": {torch.zeros(2, requires_grad=True)}}])


def test_non_tensor_rejected():
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is int"):
        gradstep.optim.SGD([_leaf(2), 3])


def test_non_leaf_rejected():
    x = _leaf(2)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        gradstep.optim.SGD([x * 2])


def test_same_param_in_two_groups_rejected():
    x = _leaf(2)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        gradstep.optim.SGD([{"params": [x]}, {"params": [x], "lr": 0.1}])


def test_duplicate_in_group_warns():
    x = _leaf(2)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        gradstep.optim.SGD([x, x])


def test_missing_required_hyperparameter():
    with pytest.raises(ValueError, match="parameter group didn't specify a value of required "
                                         "optimization parameter lr"):
        _Plain([_leaf(2)])
    opt = _Plain([{"params": [_leaf(2)], "lr": 0.5}])
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["momentum"] == 0.0


def test_add_param_group_validates():
    x, y = _leaf(2), _leaf(3)
    opt = gradstep.optim.SGD([x], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([y])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [x]})
    opt.add_param_group({"params": y, "lr": 0.5})  # a lone tensor becomes a list
    assert opt.param_groups[1]["params"] == [y]
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0


def test_named_parameters():
    a, b = _leaf(2), _leaf(3)
    opt = gradstep.optim.SGD([("w", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.param_groups[0]["params"][0] is a
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [_leaf(1)]})


def test_param_groups_filled_with_defaults_like_torch():
    ours, theirs = make_params()
    opt = gradstep.optim.Adam([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.5}])
    topt = torch.optim.Adam([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.5}])
    for g, tg in zip(opt.param_groups, topt.param_groups):
        assert {k: v for k, v in g.items() if k != "params"} == \
               {k: v for k, v in tg.items() if k != "params"}
    assert repr(opt) == repr(topt)


# ---------------------------------------------------------------- zero_grad / closure
def test_zero_grad_set_to_none():
    x = _leaf(3)
    (x * 2).sum().backward()
    opt = gradstep.optim.SGD([x], lr=0.1)
    opt.zero_grad()
    assert x.grad is None


def test_zero_grad_in_place_keeps_object_and_accumulates():
    x = _leaf(3)
    (x * 2).sum().backward()
    g = x.grad
    opt = gradstep.optim.SGD([x], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert x.grad is g
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 0.0])
    (x * 3).sum().backward()
    assert x.grad is g
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0, 3.0])


def test_zero_grad_detaches_grad_with_graph():
    x = _leaf(3)
    x.grad = (gradstep.ones(3, requires_grad=True) * 2)
    assert x.grad.grad_fn is not None
    gradstep.optim.SGD([x], lr=0.1).zero_grad(set_to_none=False)
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_closure_runs_with_grad_and_step_without():
    x = gradstep.tensor([1.0, 2.0], requires_grad=True)
    opt = _Plain([x], lr=0.5)
    seen = {}

    def closure():
        opt.zero_grad()
        seen["grad_enabled"] = gradstep.is_grad_enabled()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with gradstep.no_grad():
        loss = opt.step(closure)
        assert gradstep.is_grad_enabled() is False  # the caller's mode is restored
    assert seen["grad_enabled"] is True
    assert opt.grad_mode_in_step is False
    assert loss.item() == 5.0
    np.testing.assert_allclose(x.detach().numpy(), [0.0, 0.0])
    assert opt.step() is None


def test_params_without_grad_are_skipped_and_keep_no_state():
    a, b = _leaf(2), _leaf(2)
    opt = gradstep.optim.Adam([a, b], lr=0.1)
    a.grad = gradstep.ones(2)
    opt.step()
    assert b not in opt.state and a in opt.state
    np.testing.assert_array_equal(b.detach().numpy(), [0.0, 0.0])


def test_step_bumps_version_counter():
    for foreach in (None, False):
        a = _leaf(2)
        opt = gradstep.optim.SGD([a], lr=0.1, foreach=foreach)
        a.grad = gradstep.ones(2)
        v = a._version
        opt.step()
        assert a._version > v


# ---------------------------------------------------------------- hooks
def test_step_hooks_order_and_removal():
    x = _leaf(2)
    x.grad = gradstep.ones(2)
    opt = gradstep.optim.SGD([x], lr=0.1)
    calls = []
    handles = [
        register_optimizer_step_pre_hook(lambda o, a, k: calls.append("global pre")),
        register_optimizer_step_post_hook(lambda o, a, k: calls.append("global post")),
        opt.register_step_pre_hook(lambda o, a, k: calls.append("pre")),
        opt.register_step_post_hook(lambda o, a, k: calls.append("post")),
    ]
    try:
        opt.step()
        assert calls == ["global pre", "pre", "post", "global post"]
    finally:
        for h in handles:
            h.remove()
    calls.clear()
    opt.step()
    assert calls == []


def test_step_pre_hook_can_replace_arguments():
    x = _leaf(2)
    x.grad = gradstep.ones(2)
    opt = gradstep.optim.SGD([x], lr=0.1)
    # torch's hooks get the optimizer as args[0] and must give it back
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: 42}))
    assert opt.step() == 42
    bad = opt.register_step_pre_hook(lambda o, args, kwargs: "nonsense")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step()
    bad.remove()


def test_state_dict_hooks_order_prepend_and_removal():
    x = _leaf(2)
    opt = gradstep.optim.SGD([x], lr=0.1)
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre1"))
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre0"), prepend=True)

    def post(o, sd):
        calls.append("post")
        sd["extra"] = 1
        return sd

    h = opt.register_state_dict_post_hook(post)
    sd = opt.state_dict()
    assert calls == ["pre0", "pre1", "post"] and sd["extra"] == 1
    h.remove()
    assert "extra" not in opt.state_dict()


def test_load_state_dict_hooks():
    x = _leaf(2)
    opt = gradstep.optim.SGD([x], lr=0.1)
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.7
    calls = []

    def pre(o, state_dict):
        calls.append("pre")
        state_dict = dict(state_dict)
        state_dict["param_groups"] = copy.deepcopy(state_dict["param_groups"])
        state_dict["param_groups"][0]["lr"] = 0.3
        return state_dict

    opt.register_load_state_dict_pre_hook(pre)
    opt.register_load_state_dict_post_hook(lambda o: calls.append(("post", o.param_groups[0]["lr"])))
    opt.load_state_dict(sd)
    assert calls == ["pre", ("post", 0.3)]
    assert sd["param_groups"][0]["lr"] == 0.7  # the caller's dict is untouched


# ---------------------------------------------------------------- state dict
def _grads(params, rng):
    for p in params:
        p.grad = gradstep.tensor(rng.standard_normal(tuple(p.shape)))


def test_state_dict_format_matches_torch():
    ours, theirs = make_params()
    opt = gradstep.optim.Adam([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.5}])
    topt = torch.optim.Adam([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.5}])
    for p, tp in zip(ours, theirs):
        p.grad = gradstep.ones(*p.shape, dtype=gradstep.float64)
        tp.grad = torch.ones_like(tp)
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sorted(sd["state"]) == sorted(tsd["state"]) == [0, 1, 2, 3]
    for i in tsd["state"]:
        assert list(sd["state"][i]) == list(tsd["state"][i])


def test_load_checks_group_count_and_sizes():
    a, b = _leaf(2), _leaf(3)
    one = gradstep.optim.SGD([a, b], lr=0.1)
    two = gradstep.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups: 2 saved, but "
                                         "the optimizer has 1"):
        one.load_state_dict(two.state_dict())
    other = gradstep.optim.SGD([{"params": [a, b]}, {"params": [_leaf(1)]}], lr=0.1)
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state dict but 2"):
        other.load_state_dict(two.state_dict())


def test_load_casts_state_to_param_dtype_but_not_step_and_copies():
    p32 = gradstep.zeros(3, requires_grad=True)  # float32
    p64 = gradstep.zeros(3, dtype=gradstep.float64, requires_grad=True)
    src = gradstep.optim.Adam([p64], lr=0.1)
    p64.grad = gradstep.ones(3, dtype=gradstep.float64)
    src.step()
    sd = src.state_dict()
    dst = gradstep.optim.Adam([p32], lr=0.1)
    dst.load_state_dict(sd)
    st = dst.state[p32]
    assert st["exp_avg"].dtype == gradstep.float32
    assert st["step"].dtype == gradstep.float32 and st["step"].item() == 1.0
    before = st["exp_avg"].numpy().copy()
    sd["state"][0]["exp_avg"].fill_(123.0)
    np.testing.assert_array_equal(st["exp_avg"].numpy(), before)


def test_state_dict_step_dtype_follows_default_dtype():
    prev = gradstep.get_default_dtype()
    gradstep.set_default_dtype(gradstep.float64)
    try:
        for fused, expected in ((None, gradstep.float64), (True, gradstep.float32)):
            p = _leaf(2)
            opt = gradstep.optim.Adam([p], fused=fused)
            p.grad = gradstep.ones(2)
            opt.step()
            assert opt.state[p]["step"].dtype == expected  # torch: fused keeps float32 steps
    finally:
        gradstep.set_default_dtype(prev)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
@pytest.mark.parametrize("foreach", [None, False])
def test_round_trip_at_20_continues_like_uninterrupted(name, kwargs, foreach):
    cls = getattr(gradstep.optim, name)
    rng_grads = [np.random.default_rng(s) for s in (7, 7)]
    runs = []
    for interrupted, rng in zip((False, True), rng_grads):
        params, _ = make_params()
        opt = cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], **kwargs,
                  foreach=foreach)
        for k in range(50):
            if interrupted and k == 20:
                sd = pickle.loads(pickle.dumps(opt.state_dict()))
                fresh_params = [gradstep.tensor(p.detach().numpy().copy(), requires_grad=True)
                                for p in params]
                params = fresh_params
                opt = cls([{"params": params[:2]}, {"params": params[2:]}], **kwargs,
                          foreach=foreach)
                opt.load_state_dict(sd)
            _grads(params, rng)
            opt.step()
        runs.append([p.detach().numpy() for p in params])
    for a, b in zip(*runs):
        if name == "NAdam":  # loading casts the float32 mu_product to float64, in torch too
            np.testing.assert_allclose(a, b, rtol=1e-12)
        else:
            np.testing.assert_array_equal(a, b)


def _to_torch_sd(sd):
    def conv(v):
        if isinstance(v, gradstep.Tensor):
            return torch.from_numpy(np.array(v.numpy()))
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return copy.deepcopy(v)
    return conv(sd)


def _to_gradstep_sd(sd):
    def conv(v):
        if isinstance(v, torch.Tensor):
            return gradstep.from_numpy(v.detach().numpy().copy())
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return copy.deepcopy(v)
    return conv(sd)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_cross_load_with_torch(name, kwargs, source):
    """Train 10 steps in one library; load its state dict (converted) into a fresh gradstep and a
    fresh torch optimizer: both continue on the same trajectory (the loaded side's dtype casts,
    e.g. NAdam's float32 ``mu_product`` becoming float64, happen identically in both)."""
    ours, theirs = make_params()
    first = (getattr(gradstep.optim, name)(ours, **kwargs) if source == "gradstep"
             else getattr(torch.optim, name)(theirs, **kwargs))
    params = ours if source == "gradstep" else theirs
    rng = np.random.default_rng(3)
    for _ in range(10):
        for p in params:
            g = rng.standard_normal(tuple(p.shape))
            p.grad = gradstep.tensor(g) if source == "gradstep" else torch.tensor(g)
        first.step()
    values = [np.array(p.detach().numpy()) for p in params]
    sd = first.state_dict()
    ours = [gradstep.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    opt = getattr(gradstep.optim, name)(ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    opt.load_state_dict(sd if source == "gradstep" else _to_gradstep_sd(sd))
    topt.load_state_dict(_to_torch_sd(sd) if source == "gradstep" else sd)
    compare_all(opt, topt, ours, theirs, "float64", "loaded")
    for k in range(10, 20):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(tuple(tp.shape))
            p.grad, tp.grad = gradstep.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        compare_all(opt, topt, ours, theirs, "float64", k)


# ---------------------------------------------------------------- groups
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
def test_several_groups_with_different_hyperparameters(name, kwargs):
    def groups(ps):
        return [{"params": ps[:2], "lr": 0.03}, {"params": ps[2:3], "weight_decay": 0.2},
                {"params": ps[3:], "lr": 0.001}]
    compare_optimizers(getattr(gradstep.optim, name), getattr(torch.optim, name), kwargs,
                       groups=groups, steps=20)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
def test_group_added_mid_training(name, kwargs):
    def on_step(k, opt, topt, ours, theirs):
        if k == 10:
            opt.add_param_group({"params": ours[2:], "lr": 0.002})
            topt.add_param_group({"params": theirs[2:], "lr": 0.002})

    compare_optimizers(getattr(gradstep.optim, name), getattr(torch.optim, name), kwargs,
                       groups=lambda ps: ps[:2], on_step=on_step, steps=20)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
@pytest.mark.parametrize("foreach", [None, False])
def test_params_without_grad(name, kwargs, foreach):
    compare_optimizers(getattr(gradstep.optim, name), getattr(torch.optim, name), kwargs,
                       no_grad=(1,), steps=15, ours_kwargs=dict(foreach=foreach), loss=True)


@pytest.mark.parametrize("max_rebuilds", [20, 2])
def test_frozen_params_and_grads_that_come_and_go(max_rebuilds, monkeypatch):
    monkeypatch.setattr(_flat, "MAX_REBUILDS", max_rebuilds)
    ours, theirs = make_params()
    ours[3].requires_grad_(False)
    theirs[3].requires_grad_(False)
    opt = gradstep.optim.Adam(ours, lr=0.01)
    topt = torch.optim.Adam(theirs, lr=0.01)
    rng = np.random.default_rng(0)
    for k in range(20):
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            if i == 3 or (i == 1 and k % 3 == 0):  # b1 gets no gradient every third step
                p.grad = tp.grad = None
                continue
            g = rng.standard_normal(tuple(tp.shape))
            p.grad, tp.grad = gradstep.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        compare_all(opt, topt, ours, theirs, "float64", k)
    if max_rebuilds == 2:  # the parameter set kept changing: the group fell back to the loop
        assert not opt._flat_groups


# ---------------------------------------------------------------- the flat (vectorised) path
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("threads", [1, 3])
def test_flat_path_bit_identical_to_per_parameter_path(name, kwargs, dtype, threads, monkeypatch):
    # small chunks so that chunks span several parameters and parameters span several chunks
    monkeypatch.setattr(_flat, "CHUNK", 1000)
    monkeypatch.setattr(_flat, "THREADS", threads)
    monkeypatch.setattr(_flat, "MIN_THREADED", 0)
    cls = getattr(gradstep.optim, name)
    shapes = [(7, 600), (600,), (3, 5), (1,), (), (2500,), (40,)]
    results = []
    for foreach in (None, False):
        rng = np.random.default_rng(0)
        params = [gradstep.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
                  for s in shapes]
        opt = cls(params, **kwargs, foreach=foreach)
        for _ in range(5):
            for p in params:
                p.grad = gradstep.tensor(rng.standard_normal(tuple(p.shape)).astype(dtype))
            opt.step()
        results.append((params, opt))
    flat_group = next(iter(results[0][1]._flat_groups.values()))
    assert max(len(pieces) for _, _, pieces in flat_group.chunks) > 1
    (pf, of), (pl, ol) = results
    assert getattr(of, "_flat_groups", None), "the default path should be the flat one"
    assert not getattr(ol, "_flat_groups", None)
    for a, b in zip(pf, pl):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        for key in ol.state[b]:
            np.testing.assert_array_equal(of.state[a][key].numpy(), ol.state[b][key].numpy())
            assert of.state[a][key].shape == ol.state[b][key].shape


@pytest.mark.parametrize("threads", [1, 3])
def test_flat_run_visits_every_chunk_once_and_raises_worker_errors(threads, monkeypatch):
    """Threads share the chunks: each chunk is updated exactly once, whichever thread takes it."""
    monkeypatch.setattr(_flat, "CHUNK", 1000)
    monkeypatch.setattr(_flat, "THREADS", threads)
    monkeypatch.setattr(_flat, "MIN_THREADED", 0)
    params = [gradstep.zeros(n, requires_grad=True) for n in (2500, 700, 3, 4000)]
    for p in params:
        p.grad = gradstep.ones(*p.shape)
    opt = gradstep.optim.SGD(params, lr=1.0)
    opt.step()
    fg = next(iter(opt._flat_groups.values()))
    assert len(fg.chunks) > threads
    assert np.array_equal(fg.param, np.full_like(fg.param, -1.0))

    def count(param, grad, scratch):
        param += grad  # a chunk updated twice (or never) would show as 2 (or 0)

    fg.run(count, (), {})
    assert np.array_equal(fg.param, np.zeros_like(fg.param))  # -1 from the step, +1 here

    def fail_on_last(param, grad, scratch):  # the last chunk fails, on whichever thread runs it
        if np.shares_memory(param, fg.param[-1:]):
            raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        fg.run(fail_on_last, (), {})


def test_flat_path_survives_data_assignment_and_load():
    """Replacing ``p.data`` or loading a state dict breaks the views; the buffers are rebuilt."""
    ours, theirs = make_params()
    opt = gradstep.optim.Adam(ours, lr=0.01)
    topt = torch.optim.Adam(theirs, lr=0.01)
    rng = np.random.default_rng(1)
    for k in range(12):
        if k == 4:
            new = rng.standard_normal(tuple(theirs[0].shape))
            ours[0].data = gradstep.tensor(new)
            with torch.no_grad():
                theirs[0].copy_(torch.tensor(new))
        if k == 8:
            opt.load_state_dict(opt.state_dict())
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(tuple(tp.shape))
            p.grad, tp.grad = gradstep.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        compare_all(opt, topt, ours, theirs, "float64", k)


def test_flat_path_keeps_params_tied_through_data():
    a = gradstep.ones(3, requires_grad=True)
    b = gradstep.zeros(3, requires_grad=True)
    b.data = a.data  # two parameters sharing one storage
    opt = gradstep.optim.SGD([a, b], lr=0.1)
    a.grad, b.grad = gradstep.ones(3), gradstep.ones(3)
    opt.step()
    # 1 - 0.1 - 0.1 in float32: two roundings of at most eps32/2 each on the way to 0.8
    np.testing.assert_allclose(a.detach().numpy(), [0.8, 0.8, 0.8],
                               rtol=2 * np.finfo(np.float32).eps)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_flat_path_keeps_tensor_assigned_to_data(name):
    """``p.data = t`` with ``t`` kept (SAM's ``p.data = state[p]["old_p"]``): torch's ``p`` and
    ``t`` share one storage from then on, so every later update shows in ``t`` too."""
    kept = {}
    for lib in (gradstep, torch):
        p = lib.ones(3, requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
        p.grad = lib.ones(3)
        opt.step()  # flattened by now
        t = lib.full((3,), 2.0)
        p.data = t
        for _ in range(2):
            p.grad = lib.ones(3)
            opt.step()
        np.testing.assert_array_equal(t.numpy(), p.detach().numpy())
        kept[lib.__name__] = t.numpy().copy()
    np.testing.assert_array_equal(kept["gradstep"], kept["torch"])  # same ops, same order


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
@pytest.mark.parametrize("case", ["data", "param_of_view", "view_of_weight"])
def test_flat_path_updates_the_array_a_parameter_views(name, case):
    """A parameter that views an array something else holds (``q.data = big[1:4]``,
    ``Parameter(big[1:4])``, ``Parameter(w.view(-1))`` beside ``w``): torch updates that array;
    the flat path must not move the parameter into a buffer of its own."""
    kept = {}
    for lib in (gradstep, torch):
        big = lib.zeros(6)
        if case == "data":
            q = lib.nn.Parameter(lib.ones(3))
            q.data = big[1:4]
        elif case == "param_of_view":
            q = lib.nn.Parameter(big[1:4])
        else:
            big = lib.ones(2, 3)
            q = lib.nn.Parameter(big.view(-1))
        other = lib.nn.Parameter(lib.ones(4))
        opt = getattr(lib.optim, name)([q, other], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
        for _ in range(2):
            q.grad, other.grad = lib.ones_like(q), lib.ones_like(other)
            opt.step()
        kept[lib.__name__] = big.numpy().copy()
    np.testing.assert_array_equal(kept["gradstep"], kept["torch"])  # same ops, same order


def test_flat_path_still_flattens_parameters_that_own_their_memory():
    model = gradstep.nn.Sequential(gradstep.nn.Linear(4, 3), gradstep.nn.Linear(3, 2))
    opt = gradstep.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        for p in model.parameters():
            p.grad = gradstep.ones_like(p)
        opt.step()
    assert opt._flat_groups


def test_deepcopy_and_pickle_of_optimizer():
    params, _ = make_params()
    opt = gradstep.optim.Adam(params, lr=0.1)
    _grads(params, np.random.default_rng(0))
    opt.step()
    clone = copy.deepcopy(opt)
    assert len(clone.state) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(opt))


@pytest.mark.parametrize("name", ["Adam", "NAdam"])
def test_old_state_dict_with_float_step_loads_like_torch(name):
    """Older torch state dicts store ``step`` (and NAdam's ``mu_product``) as plain floats."""
    ours, theirs = make_params()
    topt = getattr(torch.optim, name)(theirs, lr=0.01)
    for tp in theirs:
        tp.grad = torch.ones_like(tp)
    topt.step()
    sd = topt.state_dict()
    for st in sd["state"].values():
        st["step"] = float(st["step"])
        if "mu_product" in st:
            st["mu_product"] = float(st["mu_product"])
    ours = [gradstep.tensor(tp.detach().numpy().copy(), requires_grad=True) for tp in theirs]
    opt = getattr(gradstep.optim, name)(ours, lr=0.01)
    opt.load_state_dict(_to_gradstep_sd(sd))
    topt.load_state_dict(sd)
    for p in ours:
        assert isinstance(opt.state[p]["step"], gradstep.Tensor)
    for k in range(3):
        for p, tp in zip(ours, theirs):
            p.grad, tp.grad = gradstep.ones(*p.shape, dtype=gradstep.float64), torch.ones_like(tp)
        opt.step()
        topt.step()
        compare_all(opt, topt, ours, theirs, "float64", k)


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("AdamW", dict(lr=0.01))])
def test_nn_module_training_matches_torch(name, kwargs):
    """End to end through nn: the flat path's storage moves survive module.load_state_dict."""
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    model = gradstep.nn.Sequential(gradstep.nn.Linear(4, 8), gradstep.nn.Tanh(),
                                   gradstep.nn.Linear(8, 3)).double()
    model.load_state_dict({k: gradstep.tensor(v.detach().numpy().copy())
                           for k, v in tmodel.state_dict().items()})
    opt = getattr(gradstep.optim, name)(model.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    rng = np.random.default_rng(0)
    for k in range(15):
        x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 3))
        for m, o, lib in ((model, opt, gradstep), (tmodel, topt, torch)):
            o.zero_grad()
            lib.nn.functional.mse_loss(m(lib.tensor(x)), lib.tensor(y)).backward()
            o.step()
        if k == 7:  # reload the module's own weights mid-training
            model.load_state_dict({k2: v.detach().clone() for k2, v in model.state_dict().items()})
        compare_all(opt, topt, list(model.parameters()), list(tmodel.parameters()), "float64", k)
    assert opt._flat_groups  # the default (flat) path was the one exercised


def test_load_state_dict_keeps_same_dtype_state_tensors_like_torch():
    """torch casts state with ``value.to(param.dtype)``: a tensor already of that dtype is the
    optimizer's state from then on (no copy), and a float64 one is cast."""
    shared = []
    for L in (torch, gradstep):
        p = L.nn.Parameter(L.ones(3))
        opt = L.optim.SGD([p], lr=0.1, momentum=0.9)
        p.grad = L.ones(3)
        opt.step()
        sd = opt.state_dict()
        buf = L.zeros(3)
        sd["state"][0]["momentum_buffer"] = buf
        other = L.optim.SGD([L.nn.Parameter(L.ones(3))], lr=0.1, momentum=0.9)
        other.load_state_dict(sd)
        kept = next(iter(other.state.values()))["momentum_buffer"]
        sd["state"][0]["momentum_buffer"] = L.zeros(3, dtype=L.float64)
        other.load_state_dict(sd)
        cast = next(iter(other.state.values()))["momentum_buffer"]
        shared.append((kept is buf, str(cast.dtype).split(".")[-1]))
    assert shared[1] == shared[0] == (True, "float32")


def test_load_state_dict_never_expands_a_broadcast_view_of_another_shape():
    """A stride-0 view in a hostile file (2**33 elements on one stored float) must not be
    expanded into memory by load_state_dict (it was: 32 GiB)."""
    p = gradstep.nn.Parameter(gradstep.ones(3))
    opt = gradstep.optim.SGD([p], lr=0.1, momentum=0.9)
    huge = gradstep.Tensor._make(np.broadcast_to(np.zeros(1, np.float32), (2**33,)))
    opt.load_state_dict({"state": {0: {"momentum_buffer": huge}},
                         "param_groups": [dict(opt.param_groups[0], params=[0])]})
    assert opt.state[p]["momentum_buffer"]._data.strides == (0,)

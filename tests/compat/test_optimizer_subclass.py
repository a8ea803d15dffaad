"""Published-style optimizer subclasses run unchanged on gradstep and match torch step for step.

Each optimizer's source (``legacy_optimizers.py``) is exec'd twice, with ``torch`` bound to
real torch and to gradstep. Both copies train the same small two-layer network from the same
initial weights on the same data, in two parameter groups (the second with half the learning
rate and a parameter that never gets a gradient), and every parameter is compared after every
step. Then the state dicts are compared structurally (same keys, same Python types — an int
``step`` stays an int, a 0-d tensor stays one — same nested lists/dicts/tuples/None, values
close), reloaded into a fresh optimizer, and training continues identically.

Tolerances. float64: the two libraries run the same operations in the same order; they
differ only in the summation order inside matmul/mean (relative 1e-16 per element, times the
reduction length 16), and 25 steps of a contracting update do not amplify that beyond ~1e-12,
so rtol=1e-9/atol=1e-11 leaves three orders of margin. float32: the same argument with
eps32 = 1.2e-7 gives ~1e-5 relative after 25 steps through ~10 elementwise ops per step, plus
the ``sqrt(v) + eps`` denominators of the Adam family with v down to ~1e-8 (relative error of
the quotient ~ eps32 * grad / sqrt(v)); rtol=atol=2e-4 covers that. RAdam computes in
float32 whatever the parameter dtype (its source calls ``p.data.float()``, written for fp16
training), so it gets the float32 tolerance in both runs.
"""

from __future__ import annotations

import copy
import importlib
import math

import numpy as np
import pytest
import torch

import gradstep

from .legacy_optimizers import LOOKAHEAD, OPTIMIZERS, SGD_1X

TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-4)}
STEPS = 25
SHAPES = [(6, 5), (5,), (5, 2), (2,), (3,)]  # W1, b1, W2, b2, and one parameter never used


def _namespace(lib):
    required = importlib.import_module(lib.__name__ + ".optim.optimizer").required
    return {"torch": lib, "Optimizer": lib.optim.Optimizer, "required": required, "math": math}


def _load(lib, source, name):
    ns = _namespace(lib)
    exec(compile(source, f"<{name} on {lib.__name__}>", "exec"), ns)  # noqa: S102
    return ns


def _data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.normal(0, 0.5, s).astype(dtype) for s in SHAPES]
    x = rng.normal(size=(16, 6)).astype(dtype)
    y = rng.normal(size=(16, 2)).astype(dtype)
    return init, x, y


def _loss(lib, params, x, y):
    w1, b1, w2, b2, _ = params
    return ((lib.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()


def _groups(params, lr):
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr * 0.5}]


class Run:
    """One library's copy of the experiment: parameters, data, and an optimizer."""

    def __init__(self, lib, dtype, make_optimizer):
        self.lib = lib
        init, x, y = _data(dtype)
        self.params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        self.x, self.y = lib.tensor(x), lib.tensor(y)
        self.opt = make_optimizer(lib, self.params)

    def closure(self):
        self.opt.zero_grad()
        loss = _loss(self.lib, self.params, self.x, self.y)
        loss.backward()
        return loss

    def step(self, use_closure):
        if use_closure:
            return float(self.opt.step(self.closure))
        loss = self.closure()
        self.opt.step()
        return float(loss)

    def values(self):
        return [np.array(p.detach().numpy()) for p in self.params]


def _tol(name, dtype):
    return TOL["float32" if name.startswith("radam") else dtype]  # RAdam: see the docstring


def _compare_params(ours, theirs, tol, what):
    for i, (a, b) in enumerate(zip(ours.values(), theirs.values())):
        np.testing.assert_allclose(a, b, err_msg=f"{what}: parameter {i}", **tol)


def _normalize(obj, lib):
    """A state dict as plain data: tensors become (dtype, shape, array); containers keep types."""
    if isinstance(obj, lib.Tensor):
        return ("tensor", str(obj.dtype).split(".")[-1], tuple(obj.shape),
                np.array(obj.detach().numpy()))
    if isinstance(obj, dict):
        return {k: _normalize(v, lib) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_normalize(v, lib) for v in obj)
    return obj


def _assert_same_structure(a, b, tol, path="state_dict"):
    assert type(a) is type(b), f"{path}: {type(a).__name__} != torch's {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != torch's {list(b)}"
        for k in a:
            _assert_same_structure(a[k], b[k], tol, f"{path}[{k!r}]")
    elif isinstance(a, tuple) and a and a[0] == "tensor":
        assert a[:3] == b[:3], f"{path}: tensor {a[:3]} != torch's {b[:3]}"
        np.testing.assert_allclose(a[3], b[3], err_msg=path, **tol)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != torch's {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_structure(x, y, tol, f"{path}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=tol["rtol"], abs_tol=tol["atol"]), path
    else:
        assert a == b, f"{path}: {a!r} != torch's {b!r}"


def _factory(name):
    source, cls_name, kwargs = OPTIMIZERS[name]

    def make(lib, params):
        return _load(lib, source, name)[cls_name](_groups(params, kwargs["lr"]), **kwargs)

    return make


def _train_and_compare(make, dtype, name, steps=STEPS, use_closure=False):
    default = torch.get_default_dtype()
    ours, theirs = Run(gradstep, dtype, make), Run(torch, dtype, make)
    tol = _tol(name, dtype)
    for step in range(steps):
        loss_ours, loss_theirs = ours.step(use_closure), theirs.step(use_closure)
        assert math.isclose(loss_ours, loss_theirs, rel_tol=tol["rtol"] * 10,
                            abs_tol=tol["atol"]), f"{name}: loss at step {step}"
        _compare_params(ours, theirs, tol, f"{name} step {step}")
    assert torch.get_default_dtype() == default
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_matches_torch_every_step(name, dtype):
    use_closure = name == "closure_sgd"
    ours, theirs = _train_and_compare(_factory(name), dtype, name, use_closure=use_closure)
    # the trajectory moved: a test that compares two frozen copies would pass vacuously
    start = _data(dtype)[0]
    assert any(not np.allclose(a, b) for a, b in zip(ours.values()[:4], start[:4]))
    assert np.array_equal(ours.values()[4], start[4]), "the parameter without grad moved"

    sd_ours, sd_theirs = ours.opt.state_dict(), theirs.opt.state_dict()
    tol = _tol(name, dtype)
    _assert_same_structure(_normalize(sd_ours, gradstep), _normalize(sd_theirs, torch), tol)

    # a fresh optimizer loaded from the state dict continues exactly like torch's
    for run, sd in ((ours, sd_ours), (theirs, sd_theirs)):
        run.opt = _factory(name)(run.lib, run.params)
        run.opt.load_state_dict(copy.deepcopy(sd))
    for step in range(5):
        ours.step(use_closure), theirs.step(use_closure)
        _compare_params(ours, theirs, tol, f"{name} after load_state_dict, step {step}")


@pytest.mark.parametrize("base", ["legacy_sgd", "builtin_sgd", "builtin_adam"])
def test_lookahead_wrapper(base):
    """Lookahead never calls Optimizer.__init__ and shares its base optimizer's groups."""

    def make(lib, params):
        ns = _load(lib, SGD_1X + LOOKAHEAD, "lookahead")
        if base == "legacy_sgd":
            inner = ns["LegacySGD"](_groups(params, 0.05), lr=0.05, momentum=0.9)
        elif base == "builtin_sgd":
            inner = lib.optim.SGD(_groups(params, 0.05), lr=0.05, momentum=0.9)
        else:
            inner = lib.optim.Adam(_groups(params, 0.01), lr=0.01)
        return ns["Lookahead"](inner, alpha=0.5, k=3)

    ours, theirs = _train_and_compare(make, "float64", f"lookahead({base})")
    assert [g["step_counter"] for g in ours.opt.param_groups] == [STEPS, STEPS]


@pytest.mark.parametrize("builtin", ["SGD", "Adam"])
def test_subclass_after_builtin_on_same_params(builtin):
    """A built-in optimizer (flat fast path) for some steps, then the 1.x SGD subclass, with a
    ``p.data`` alias taken before either ran: the alias must keep seeing every update."""

    class Both:
        def __init__(self, lib, params):
            kw = dict(lr=0.05, momentum=0.9) if builtin == "SGD" else dict(lr=0.01)
            self.builtin = getattr(lib.optim, builtin)(params, **kw)
            self.legacy = _load(lib, SGD_1X, "sgd")["LegacySGD"](params, lr=0.05, momentum=0.5)
            self.aliases = [p.data for p in params]
            self.count = 0

        def zero_grad(self):
            self.builtin.zero_grad()

        def step(self):
            self.count += 1
            (self.builtin if self.count <= 10 else self.legacy).step()

    ours, theirs = _train_and_compare(Both, "float64", f"{builtin} then LegacySGD", steps=20)
    for run in (ours, theirs):
        for alias, p in zip(run.opt.aliases, run.params):
            np.testing.assert_array_equal(np.array(alias.numpy()), p.detach().numpy())


@pytest.mark.parametrize("lib", [gradstep, torch], ids=["gradstep", "torch"])
def test_grad_mode_inside_user_step(lib):
    """An undecorated user step runs in the caller's grad mode: ``p.data`` updates work, an
    in-place update of the leaf itself raises unless the caller disabled grad."""
    ns = _load(lib, OPTIMIZERS["closure_sgd"][0], "closure_sgd")
    w = lib.ones(3, requires_grad=True)
    seen = []

    class Direct(ns["ClosureSGD"]):
        def step(self, closure=None):
            seen.append(lib.is_grad_enabled())
            for p in self.param_groups[0]["params"]:
                p.add_(p.grad, alpha=-0.1)

    opt = Direct([w])
    (w * w).sum().backward()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        opt.step()
    with lib.no_grad():
        opt.step()
    assert seen == [True, False]
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 0.8, 0.8], rtol=1e-6)


@pytest.mark.parametrize("lib", [gradstep, torch], ids=["gradstep", "torch"])
def test_required_and_base_class_protocol(lib):
    ns = _load(lib, SGD_1X, "sgd")
    sgd = ns["LegacySGD"]
    w = lib.zeros(2, requires_grad=True)
    assert repr(ns["required"]) == "<required parameter>"
    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        sgd([w])
    opt = sgd([w], lr=0.1, momentum=0.9)
    assert isinstance(opt.state, __import__("collections").defaultdict)
    assert opt.defaults == {"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                            "nesterov": False}
    assert repr(opt).splitlines()[0] == "LegacySGD ("
    assert "    momentum: 0.9" in repr(opt)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))
    w.grad = lib.ones(2)
    opt.step()
    assert calls == [("pre", True), ("post", True)]
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and float(w.grad.abs().sum()) == 0.0
    opt.zero_grad()
    assert w.grad is None
    state = opt.__getstate__()
    opt.__setstate__({**state, "param_groups": [{k: v for k, v in g.items() if k != "nesterov"}
                                                for g in state["param_groups"]]})
    assert opt.param_groups[0]["nesterov"] is False  # the subclass's __setstate__ ran

"""Published optimizers, round 5: the authors' own code runs on gradstep and matches torch.

Each source (``published_optimizers5.py``/``5b.py``) is exec'd twice, with ``torch`` bound to
real torch and to gradstep. Both copies train the same two-layer tanh network from the same
initial weights on the same data, in two parameter groups (the second with half the learning
rate, the optimizer's alternative branch switched on through an extra group key, and a
parameter that never gets a gradient). Every parameter is compared after every step, then the
state dicts structurally (types too: an int ``step`` stays an int), then a fresh optimizer
loaded from the state dict continues like torch's.

Tolerances (as in ``test_optimizer_subclass.py``). float64: the libraries run the same ops in
the same order and differ only in the summation order inside matmul/mean/norm (relative 1e-16
per element times the reduction length 16); 20 steps of these updates stay below 1e-12, so
rtol=1e-9/atol=1e-11 leaves three orders of margin. float32: the same argument with
eps32 = 1.2e-7 through ~10-20 elementwise ops per step and the ``sqrt(v) + eps`` quotients gives
~1e-5 relative; rtol=atol=2e-4. RangerVA computes in float32 whatever the parameter dtype
(``p.data.float()``), so it gets the float32 tolerance in both runs. Shampoo raises an SVD's
singular values to a negative power; an SVD is backward stable (absolute error eps * ||A||), so
the relative error of the result grows as ||A|| / smallest singular value. Its test uses
``epsilon=0.1`` (the preconditioner's floor), keeping that ratio below ~100; with the published
default 1e-4 the ratio is ~1e4 and float32 runs of torch against itself on another LAPACK would
drift apart too (measured: 1e-3 relative after one step, chaotic after five).
"""

from __future__ import annotations

import copy
import importlib
import math

import numpy as np
import pytest
import torch

import gradstep

from .published_optimizers5b import OPTIMIZERS
from .test_optimizer_subclass import _assert_same_structure, _normalize

TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-4)}
FLOAT32_ONLY = {"ranger_va"}
STEPS = 20
SHAPES = [(6, 5), (5,), (5, 2), (2,), (3,)]  # W1, b1, W2, b2, and one parameter never used


def _load(lib, source, name):
    required = importlib.import_module(lib.__name__ + ".optim.optimizer").required
    ns = {"torch": lib, "Optimizer": lib.optim.Optimizer, "required": required,
          "math": math, "copy": copy}
    exec(compile(source, f"<{name} on {lib.__name__}>", "exec"), ns)  # noqa: S102
    return ns


def _data(dtype):
    rng = np.random.default_rng(0)
    init = [rng.normal(0, 0.5, s).astype(dtype) for s in SHAPES]
    return init, rng.normal(size=(16, 6)).astype(dtype), rng.normal(size=(16, 2)).astype(dtype)


def _loss(lib, params, x, y):
    w1, b1, w2, b2, _ = params
    return ((lib.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()


def _tol(name, dtype):
    return TOL["float32" if name in FLOAT32_ONLY else dtype]


def _factory(name):
    source, cls_name, kwargs, extra = OPTIMIZERS[name]

    def make(lib, params):
        second = {"params": params[2:], **extra}
        if kwargs.get("lr") is not None:
            second["lr"] = kwargs["lr"] * 0.5
        groups = [{"params": params[:2]}, second]
        return _load(lib, source, name)[cls_name](groups, **kwargs)

    return make


class Run:
    """One library's copy of the experiment."""

    def __init__(self, lib, dtype, make):
        self.lib = lib
        init, x, y = _data(dtype)
        self.params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        self.x, self.y = lib.tensor(x), lib.tensor(y)
        self.opt = make(lib, self.params)

    def step(self):
        self.opt.zero_grad()
        loss = _loss(self.lib, self.params, self.x, self.y)
        loss.backward()
        self.opt.step()
        return float(loss.detach())

    def values(self):
        return [np.array(p.detach().numpy()) for p in self.params]


def _compare(ours, theirs, tol, what):
    for i, (a, b) in enumerate(zip(ours.values(), theirs.values())):
        np.testing.assert_allclose(a, b, err_msg=f"{what}: parameter {i}", **tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_published_optimizer_matches_torch(name, dtype):
    tol = _tol(name, dtype)
    ours, theirs = Run(gradstep, dtype, _factory(name)), Run(torch, dtype, _factory(name))
    for step in range(STEPS):
        loss_ours, loss_theirs = ours.step(), theirs.step()
        assert math.isclose(loss_ours, loss_theirs, rel_tol=tol["rtol"] * 10,
                            abs_tol=tol["atol"]), f"{name}: loss at step {step}"
        _compare(ours, theirs, tol, f"{name} step {step}")
    start = _data(dtype)[0]
    for i in range(4):  # every trained parameter moved: two frozen copies would pass vacuously
        assert not np.allclose(ours.values()[i], start[i]), f"parameter {i} did not move"
    assert np.array_equal(ours.values()[4], start[4]), "the parameter without grad moved"

    sd_ours, sd_theirs = ours.opt.state_dict(), theirs.opt.state_dict()
    _assert_same_structure(_normalize(sd_ours, gradstep), _normalize(sd_theirs, torch), tol)
    for run, sd in ((ours, sd_ours), (theirs, sd_theirs)):
        run.opt = _factory(name)(run.lib, run.params)
        run.opt.load_state_dict(copy.deepcopy(sd))
    for step in range(4):
        ours.step(), theirs.step()
        _compare(ours, theirs, tol, f"{name} after load_state_dict, step {step}")

"""gradstep.optim.SGD against torch.optim.SGD, step for step."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import gradstep
from tests.optim.oracle import compare_optimizers, make_params

GRID = [
    dict(momentum=m, dampening=d, nesterov=n, weight_decay=wd, maximize=mx)
    for m, d, n, wd, mx in itertools.product((0, 0.9), (0, 0.5), (False, True), (0, 0.1),
                                             (False, True))
    if not (n and (m == 0 or d != 0))
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=lambda hp: "-".join(f"{k}={v}" for k, v in hp.items()))
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.SGD, torch.optim.SGD, dict(lr=0.05, **hp), dtype=dtype)


@pytest.mark.parametrize("foreach", [False, None])
def test_real_loss_both_paths(foreach):
    compare_optimizers(gradstep.optim.SGD, torch.optim.SGD,
                       dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
                       loss=True, ours_kwargs=dict(foreach=foreach))


def test_closure_loss_returned():
    compare_optimizers(gradstep.optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.5),
                       loss=True, closure=True, steps=10)


def test_tensor_lr():
    ours, theirs = make_params()
    opt = gradstep.optim.SGD(ours, lr=gradstep.tensor([0.1]), momentum=0.9)
    topt = torch.optim.SGD(theirs, lr=torch.tensor([0.1]), momentum=0.9)
    for _ in range(3):
        for p, tp in zip(ours, theirs):
            g = np.ones(tuple(tp.shape))
            p.grad, tp.grad = gradstep.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-12)


def test_first_step_buffer_is_grad_without_dampening():
    p = gradstep.tensor([1.0, 2.0], requires_grad=True)
    opt = gradstep.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    p.grad = gradstep.tensor([3.0, 4.0])
    opt.step()
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"].numpy(), [3.0, 4.0])
    assert opt.state[p]["momentum_buffer"]._data is not p.grad._data  # a copy, not the grad


def test_no_momentum_keeps_no_state():
    p = gradstep.tensor([1.0], requires_grad=True)
    opt = gradstep.optim.SGD([p], lr=0.1)
    p.grad = gradstep.tensor([1.0])
    opt.step()
    assert len(opt.state) == 0
    assert opt.state_dict()["state"] == {}


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(lr=-1), ValueError, "Invalid learning rate: -1"),
    (dict(lr=0.1, momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (dict(lr=0.1, weight_decay=-1e-3), ValueError, "Invalid weight_decay value: -0.001"),
    (dict(lr=0.1, nesterov=True), ValueError, "Nesterov momentum requires a momentum and zero dampening"),
    (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "zero dampening"),
    (dict(lr=gradstep.tensor([0.1, 0.2])), ValueError, "Tensor lr must be 1-element"),
    (dict(lr=0.1, fused=True, foreach=True), RuntimeError, "cannot be `True` together"),
    (dict(lr=0.1, differentiable=True), NotImplementedError, "differentiable=True"),
])
def test_validation(kwargs, exc, msg):
    p = gradstep.zeros(2, requires_grad=True)
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace("[", r"\[")):
        gradstep.optim.SGD([p], **kwargs)
    if exc is not NotImplementedError:
        with pytest.raises(exc):
            torch.optim.SGD([torch.zeros(2, requires_grad=True)],
                            **{k: torch.tensor(v.numpy()) if isinstance(v, gradstep.Tensor) else v
                               for k, v in kwargs.items()})


def test_defaults_and_repr_match_torch():
    p = gradstep.zeros(2, requires_grad=True)
    tp = torch.zeros(2, requires_grad=True)
    ours, theirs = gradstep.optim.SGD([p]), torch.optim.SGD([tp])
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)

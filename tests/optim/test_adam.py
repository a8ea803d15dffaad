"""gradstep.optim.Adam against torch.optim.Adam, step for step."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import gradstep
from tests.optim.oracle import compare_optimizers, make_params

GRID = [
    dict(amsgrad=a, maximize=m, weight_decay=wd, decoupled_weight_decay=d)
    for a, m, wd, d in itertools.product((False, True), (False, True), (0, 0.1), (False, True))
    if not (wd == 0 and d)
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=lambda hp: "-".join(f"{k}={v}" for k, v in hp.items()))
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.Adam, torch.optim.Adam, dict(lr=0.01, **hp), dtype=dtype)


@pytest.mark.parametrize("foreach", [False, None])
def test_real_loss_both_paths(foreach):
    compare_optimizers(gradstep.optim.Adam, torch.optim.Adam,
                       dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, amsgrad=True),
                       loss=True, ours_kwargs=dict(foreach=foreach))


def test_beta1_below_half_uses_other_lerp_branch():
    compare_optimizers(gradstep.optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.3, 0.9)),
                       dtype="float32", steps=20)


def test_state_keys_shapes_and_step_dtype():
    ours, theirs = make_params()
    opt = gradstep.optim.Adam(ours, amsgrad=True)
    topt = torch.optim.Adam(theirs, amsgrad=True)
    for p, tp in zip(ours, theirs):
        p.grad = gradstep.ones(*p.shape, dtype=gradstep.float64)
        tp.grad = torch.ones_like(tp)
    opt.step()
    topt.step()
    for p, tp in zip(ours, theirs):
        assert list(opt.state[p]) == list(topt.state[tp])
        assert opt.state[p]["step"].shape == () and opt.state[p]["step"].dtype == gradstep.float32
        assert opt.state[p]["step"].item() == 1.0


def test_tensor_lr_and_betas():
    ours, theirs = make_params()
    opt = gradstep.optim.Adam(ours, lr=gradstep.tensor(0.01),
                              betas=(gradstep.tensor(0.9), gradstep.tensor(0.99)))
    topt = torch.optim.Adam(theirs, lr=torch.tensor(0.01), betas=(torch.tensor(0.9), torch.tensor(0.99)))
    rng = np.random.default_rng(0)
    for _ in range(5):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(tuple(tp.shape))
            p.grad, tp.grad = gradstep.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(lr=-1), ValueError, "Invalid learning rate: -1"),
    (dict(eps=-1e-8), ValueError, "Invalid epsilon value"),
    (dict(betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (dict(betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (dict(weight_decay=-1.0), ValueError, "Invalid weight_decay value: -1.0"),
    (dict(betas=(0, 0.9)), ValueError, "betas must be either both floats or both Tensors"),
    (dict(fused=True, foreach=True), RuntimeError, "cannot be `True` together"),
])
def test_validation(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        gradstep.optim.Adam([gradstep.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(exc, match=msg):
        torch.optim.Adam([torch.zeros(2, requires_grad=True)], **kwargs)


def test_tensor_lr_with_foreach_rejected_like_torch():
    msg = "lr as a Tensor is not supported for capturable=False and foreach=True"
    with pytest.raises(ValueError, match=msg):
        gradstep.optim.Adam([gradstep.zeros(2, requires_grad=True)], lr=gradstep.tensor(0.1),
                            foreach=True)


def test_differentiable_refused():
    with pytest.raises(NotImplementedError, match="differentiable"):
        gradstep.optim.Adam([gradstep.zeros(2, requires_grad=True)], differentiable=True)


def test_defaults_and_repr_match_torch():
    ours = gradstep.optim.Adam([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.Adam([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)

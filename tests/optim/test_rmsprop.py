"""gradstep.optim.RMSprop against torch.optim.RMSprop, step for step."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import gradstep
from gradstep.optim.rmsprop import rmsprop_update
from tests.optim.oracle import check_cross_load, compare_optimizers

GRID = [dict(centered=c, momentum=m, weight_decay=wd, maximize=mx)
        for c, m, wd, mx in itertools.product((False, True), (0, 0.9), (0, 0.1), (False, True))]


def _id(hp):
    return "-".join(f"{k}={v}" for k, v in hp.items())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=_id)
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-2, **hp),
                       dtype=dtype)


def test_real_loss_and_hyperparameters_matches_torch():
    compare_optimizers(gradstep.optim.RMSprop, torch.optim.RMSprop,
                       dict(lr=3e-3, alpha=0.9, eps=1e-6, momentum=0.5, centered=True,
                            weight_decay=1e-2), loss=True)


def test_update_function_is_the_algorithm_box():
    """One step from zero state, written out: v = (1-a) g^2, theta -= lr g / (sqrt(v) + eps)."""
    p, g = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    sq = np.zeros(2)
    rmsprop_update(p, g, sq, None, None, lr=0.1, alpha=0.9, eps=1e-8, weight_decay=0,
                   momentum=0, centered=False, maximize=False)
    np.testing.assert_allclose(sq, 0.1 * g**2)
    np.testing.assert_allclose(p, [1.0, -2.0] - 0.1 * g / (np.sqrt(0.1 * g**2) + 1e-8))


def assert_same_error(ours_cls, theirs_cls, kwargs):
    """Constructing both optimizers with ``kwargs`` fails with torch's type and message."""
    with pytest.raises(Exception) as theirs:
        theirs_cls([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        ours_cls([gradstep.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(eps=-1e-3), dict(momentum=-0.1),
                                    dict(weight_decay=-1), dict(alpha=-0.5)], ids=str)
def test_validation_matches_torch(kwargs):
    assert_same_error(gradstep.optim.RMSprop, torch.optim.RMSprop, kwargs)


def test_defaults_match_torch():
    ours = gradstep.optim.RMSprop([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.RMSprop([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults


def test_differentiable_is_refused():
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        gradstep.optim.RMSprop([gradstep.zeros(2, requires_grad=True)], differentiable=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tensor_lr_matches_torch(dtype):
    """A one-element float32 tensor lr: torch does the lr arithmetic in float32; so must we."""
    compare_optimizers(
        lambda ps, **kw: gradstep.optim.RMSprop(ps, lr=gradstep.tensor([0.1]), **kw),
        lambda ps, **kw: torch.optim.RMSprop(ps, lr=torch.tensor([0.1]), **kw),
        dict(momentum=0.9), dtype=dtype, steps=20)


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """State dicts convert one to one: either library's, loaded into both, continues identically."""
    check_cross_load(gradstep.optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True), source)


def test_groups_added_group_and_missing_grads_match_torch():
    """Two groups with different hyperparameters, a third added at step 5, one parameter that
    never gets a gradient (it gets no state)."""
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, dict(params=ps[1:3], **{"alpha": 0.9, "momentum": 0.5, "centered": True})]

    def on_step(k, opt, topt, ours, theirs):
        if k == 5:
            opt.add_param_group({"params": ours[3:], "lr": 0.002})
            topt.add_param_group({"params": theirs[3:], "lr": 0.002})

    opt, _, params, _ = compare_optimizers(gradstep.optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01),
                                           groups=groups, on_step=on_step, no_grad=(1,),
                                           steps=15)
    assert params[1] not in opt.state

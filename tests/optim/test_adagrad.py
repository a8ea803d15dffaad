"""gradstep.optim.Adagrad against torch.optim.Adagrad, step for step."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import gradstep
from tests.optim.oracle import check_cross_load, compare_optimizers, make_params

GRID = [dict(lr_decay=d, initial_accumulator_value=a, weight_decay=wd, maximize=mx)
        for d, a, wd, mx in itertools.product((0, 0.05), (0, 0.1), (0, 0.1), (False, True))]


def _id(hp):
    return "-".join(f"{k}={v}" for k, v in hp.items())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=_id)
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.Adagrad, torch.optim.Adagrad, dict(lr=0.05, **hp), dtype=dtype)


def test_real_loss_matches_torch():
    compare_optimizers(gradstep.optim.Adagrad, torch.optim.Adagrad,
                       dict(lr=0.1, lr_decay=0.01, eps=1e-6, initial_accumulator_value=0.5),
                       loss=True)


def test_state_is_created_in_the_constructor_like_torch():
    (p,), (tp,) = make_params([(3, 2)])
    ours = gradstep.optim.Adagrad([p], initial_accumulator_value=0.25)
    theirs = torch.optim.Adagrad([tp], initial_accumulator_value=0.25)
    assert set(ours.state[p]) == set(theirs.state[tp]) == {"step", "sum"}
    np.testing.assert_array_equal(ours.state[p]["sum"].numpy(), theirs.state[tp]["sum"].numpy())
    assert ours.state[p]["step"].dtype == gradstep.float32


def test_group_initial_accumulator_value_is_ignored_like_torch():
    """torch fills ``sum`` with the constructor's value even for a group that sets its own."""
    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "initial_accumulator_value": 3.0}]

    compare_optimizers(gradstep.optim.Adagrad, torch.optim.Adagrad,
                       dict(lr=0.1, initial_accumulator_value=0.5), groups=groups, steps=5)


def assert_same_error(ours_cls, theirs_cls, kwargs):
    """Constructing both optimizers with ``kwargs`` fails with torch's type and message."""
    with pytest.raises(Exception) as theirs:
        theirs_cls([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        ours_cls([gradstep.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(lr_decay=-1), dict(weight_decay=-1),
                                    dict(initial_accumulator_value=-1), dict(eps=-1),
                                    dict(fused=True, foreach=True),
                                    dict(fused=True, differentiable=True)], ids=str)
def test_validation_matches_torch(kwargs):
    assert_same_error(gradstep.optim.Adagrad, torch.optim.Adagrad, kwargs)


def test_defaults_match_torch():
    ours = gradstep.optim.Adagrad([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.Adagrad([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tensor_lr_matches_torch(dtype):
    """A one-element float32 tensor lr: torch does the lr arithmetic in float32; so must we."""
    compare_optimizers(
        lambda ps, **kw: gradstep.optim.Adagrad(ps, lr=gradstep.tensor([0.1]), **kw),
        lambda ps, **kw: torch.optim.Adagrad(ps, lr=torch.tensor([0.1]), **kw),
        dict(lr_decay=0.05, weight_decay=0.1), dtype=dtype, steps=20)


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """State dicts convert one to one: either library's, loaded into both, continues identically."""
    check_cross_load(gradstep.optim.Adagrad, torch.optim.Adagrad, dict(lr=0.05, lr_decay=0.01), source)


def test_groups_added_group_and_missing_grads_match_torch():
    """Two groups with different hyperparameters, a third added at step 5, one parameter that
    never gets a gradient (it gets no state)."""
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, dict(params=ps[1:3], **{"lr_decay": 0.1, "weight_decay": 0.01})]

    def on_step(k, opt, topt, ours, theirs):
        if k == 5:
            opt.add_param_group({"params": ours[3:], "lr": 0.002})
            topt.add_param_group({"params": theirs[3:], "lr": 0.002})

    opt, _, params, _ = compare_optimizers(gradstep.optim.Adagrad, torch.optim.Adagrad, dict(lr=0.05),
                                           groups=groups, on_step=on_step, no_grad=(1,),
                                           steps=15)
    assert float(opt.state[params[1]]["step"]) == 0  # created in the constructor, never stepped


def test_differentiable_is_refused():
    """Our update runs on raw arrays outside the graph, so a differentiable step is refused."""
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        gradstep.optim.Adagrad([gradstep.zeros(2, requires_grad=True)], differentiable=True)

"""gradstep.optim.ASGD against torch.optim.ASGD, step for step."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import gradstep
from tests.optim.oracle import check_cross_load, compare_optimizers

GRID = [dict(lambd=la, t0=t0, weight_decay=wd, maximize=mx)
        for la, t0, wd, mx in itertools.product((1e-4, 0.05), (1e6, 10), (0, 0.1), (False, True))]
GRID += [dict(lambd=0.05, alpha=0.5, t0=10), dict(lambd=0.05, alpha=1.0, weight_decay=0.1)]


def _id(hp):
    return "-".join(f"{k}={v}" for k, v in hp.items())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=_id)
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.ASGD, torch.optim.ASGD, dict(lr=0.05, **hp), dtype=dtype)


def test_real_loss_matches_torch():
    compare_optimizers(gradstep.optim.ASGD, torch.optim.ASGD,
                       dict(lr=0.1, lambd=1e-3, t0=5), loss=True)


def test_averaging_starts_after_t0():
    """Until t0 ``ax`` is a copy of the iterate; after it, a running average that lags behind."""
    ours, _, params, _ = compare_optimizers(gradstep.optim.ASGD, torch.optim.ASGD,
                                            dict(lr=0.1, t0=3), steps=3)
    p = params[0]
    np.testing.assert_array_equal(ours.state[p]["ax"].numpy(), p.detach().numpy())
    ours, _, params, _ = compare_optimizers(gradstep.optim.ASGD, torch.optim.ASGD,
                                            dict(lr=0.1, t0=3), steps=8)
    p = params[0]
    assert not np.allclose(ours.state[p]["ax"].numpy(), p.detach().numpy())
    assert float(ours.state[p]["mu"]) == pytest.approx(1 / 5)


def test_scalar_state_is_float32_like_torch():
    ours, theirs, params, tparams = compare_optimizers(gradstep.optim.ASGD, torch.optim.ASGD,
                                                       dict(), steps=2)
    for key in ("step", "eta", "mu"):
        assert ours.state[params[0]][key].dtype == gradstep.float32
        assert ours.state[params[0]][key].shape == ()


def assert_same_error(ours_cls, theirs_cls, kwargs):
    """Constructing both optimizers with ``kwargs`` fails with torch's type and message."""
    with pytest.raises(Exception) as theirs:
        theirs_cls([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        ours_cls([gradstep.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(weight_decay=-1)], ids=str)
def test_validation_matches_torch(kwargs):
    assert_same_error(gradstep.optim.ASGD, torch.optim.ASGD, kwargs)


def test_defaults_match_torch():
    ours = gradstep.optim.ASGD([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.ASGD([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tensor_lr_matches_torch(dtype):
    """A one-element float32 tensor lr: torch does the lr arithmetic in float32; so must we."""
    compare_optimizers(
        lambda ps, **kw: gradstep.optim.ASGD(ps, lr=gradstep.tensor([0.1]), **kw),
        lambda ps, **kw: torch.optim.ASGD(ps, lr=torch.tensor([0.1]), **kw),
        dict(lambd=0.05, t0=5), dtype=dtype, steps=20)


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """State dicts convert one to one: either library's, loaded into both, continues identically."""
    check_cross_load(gradstep.optim.ASGD, torch.optim.ASGD, dict(lr=0.05, t0=5), source)


def test_groups_added_group_and_missing_grads_match_torch():
    """Two groups with different hyperparameters, a third added at step 5, one parameter that
    never gets a gradient (it gets no state)."""
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, dict(params=ps[1:3], **{"t0": 3, "lambd": 0.01})]

    def on_step(k, opt, topt, ours, theirs):
        if k == 5:
            opt.add_param_group({"params": ours[3:], "lr": 0.002})
            topt.add_param_group({"params": theirs[3:], "lr": 0.002})

    opt, _, params, _ = compare_optimizers(gradstep.optim.ASGD, torch.optim.ASGD, dict(lr=0.05),
                                           groups=groups, on_step=on_step, no_grad=(1,),
                                           steps=15)
    assert params[1] not in opt.state


def test_scalar_state_follows_a_float64_default_dtype_like_torch():
    prev, tprev = gradstep.get_default_dtype(), torch.get_default_dtype()
    gradstep.set_default_dtype(gradstep.float64)
    torch.set_default_dtype(torch.float64)
    try:
        ours, _, params, _ = compare_optimizers(gradstep.optim.ASGD, torch.optim.ASGD,
                                                dict(lr=0.05, lambd=0.05, t0=5), steps=10)
    finally:
        gradstep.set_default_dtype(prev)
        torch.set_default_dtype(tprev)
    for key in ("step", "eta", "mu"):
        assert ours.state[params[0]][key].dtype == gradstep.float64


def test_differentiable_is_refused():
    """Our update runs on raw arrays outside the graph, so a differentiable step is refused."""
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        gradstep.optim.ASGD([gradstep.zeros(2, requires_grad=True)], differentiable=True)

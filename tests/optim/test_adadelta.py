"""gradstep.optim.Adadelta against torch.optim.Adadelta, step for step."""

from __future__ import annotations

import itertools
import re

import pytest
import torch

import gradstep
from tests.optim.oracle import check_cross_load, compare_optimizers

GRID = [dict(rho=r, eps=e, weight_decay=wd, maximize=mx)
        for r, e, wd, mx in itertools.product((0.9, 0.5), (1e-6, 1e-3), (0, 0.1), (False, True))]


def _id(hp):
    return "-".join(f"{k}={v}" for k, v in hp.items())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=_id)
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.Adadelta, torch.optim.Adadelta, dict(lr=1.0, **hp), dtype=dtype)


def test_real_loss_matches_torch():
    compare_optimizers(gradstep.optim.Adadelta, torch.optim.Adadelta,
                       dict(lr=0.5, rho=0.95, weight_decay=1e-2), loss=True)


def test_state_keys_and_shapes():
    ours, _, params, _ = compare_optimizers(gradstep.optim.Adadelta, torch.optim.Adadelta,
                                            dict(), steps=1)
    for p in params:
        st = ours.state[p]
        assert set(st) == {"step", "square_avg", "acc_delta"}
        assert st["square_avg"].shape == st["acc_delta"].shape == p.shape


def assert_same_error(ours_cls, theirs_cls, kwargs):
    """Constructing both optimizers with ``kwargs`` fails with torch's type and message."""
    with pytest.raises(Exception) as theirs:
        theirs_cls([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        ours_cls([gradstep.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(rho=1.5), dict(rho=-0.1), dict(eps=-1),
                                    dict(weight_decay=-1)], ids=str)
def test_validation_matches_torch(kwargs):
    assert_same_error(gradstep.optim.Adadelta, torch.optim.Adadelta, kwargs)


def test_defaults_match_torch():
    ours = gradstep.optim.Adadelta([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.Adadelta([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tensor_lr_matches_torch(dtype):
    """A one-element float32 tensor lr: torch does the lr arithmetic in float32; so must we."""
    compare_optimizers(
        lambda ps, **kw: gradstep.optim.Adadelta(ps, lr=gradstep.tensor([0.1]), **kw),
        lambda ps, **kw: torch.optim.Adadelta(ps, lr=torch.tensor([0.1]), **kw),
        dict(weight_decay=0.1), dtype=dtype, steps=20)


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """State dicts convert one to one: either library's, loaded into both, continues identically."""
    check_cross_load(gradstep.optim.Adadelta, torch.optim.Adadelta, dict(weight_decay=0.1), source)


def test_groups_added_group_and_missing_grads_match_torch():
    """Two groups with different hyperparameters, a third added at step 5, one parameter that
    never gets a gradient (it gets no state)."""
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, dict(params=ps[1:3], **{"rho": 0.5, "maximize": True})]

    def on_step(k, opt, topt, ours, theirs):
        if k == 5:
            opt.add_param_group({"params": ours[3:], "lr": 0.002})
            topt.add_param_group({"params": theirs[3:], "lr": 0.002})

    opt, _, params, _ = compare_optimizers(gradstep.optim.Adadelta, torch.optim.Adadelta, dict(),
                                           groups=groups, on_step=on_step, no_grad=(1,),
                                           steps=15)
    assert params[1] not in opt.state


def test_differentiable_is_refused():
    """Our update runs on raw arrays outside the graph, so a differentiable step is refused."""
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        gradstep.optim.Adadelta([gradstep.zeros(2, requires_grad=True)], differentiable=True)

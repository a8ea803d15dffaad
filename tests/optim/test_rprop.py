"""gradstep.optim.Rprop against torch.optim.Rprop, step for step."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import gradstep
from tests.optim.oracle import check_cross_load, compare_optimizers

GRID = [dict(etas=e, step_sizes=s, maximize=mx)
        for e, s, mx in itertools.product(((0.5, 1.2), (0.3, 1.5)), ((1e-6, 50), (1e-3, 0.05)),
                                          (False, True))]


def _id(hp):
    return "-".join(f"{k}={v}" for k, v in hp.items())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=_id)
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.Rprop, torch.optim.Rprop, dict(lr=0.01, **hp), dtype=dtype)


def test_real_loss_matches_torch():
    compare_optimizers(gradstep.optim.Rprop, torch.optim.Rprop, dict(lr=0.05), loss=True)


def test_sign_flip_shrinks_step_and_skips_update():
    """A gradient that flips sign shrinks the step size and leaves that weight in place once."""
    p = gradstep.tensor([1.0, 1.0], requires_grad=True)
    opt = gradstep.optim.Rprop([p], lr=0.1, etas=(0.5, 2.0))
    for g in ([1.0, 1.0], [1.0, -1.0]):
        p.grad = gradstep.tensor(g)
        opt.step()
    np.testing.assert_allclose(opt.state[p]["step_size"].numpy(), [0.2, 0.05])
    np.testing.assert_allclose(p.detach().numpy(), [1.0 - 0.1 - 0.2, 1.0 - 0.1])
    np.testing.assert_array_equal(opt.state[p]["prev"].numpy(), [1.0, 0.0])


def assert_same_error(ours_cls, theirs_cls, kwargs):
    """Constructing both optimizers with ``kwargs`` fails with torch's type and message."""
    with pytest.raises(Exception) as theirs:
        theirs_cls([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        ours_cls([gradstep.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(etas=(1.1, 1.2)), dict(etas=(0.5, 0.9)),
                                    dict(etas=(0.0, 1.2))], ids=str)
def test_validation_matches_torch(kwargs):
    assert_same_error(gradstep.optim.Rprop, torch.optim.Rprop, kwargs)


def test_defaults_match_torch():
    ours = gradstep.optim.Rprop([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.Rprop([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tensor_lr_matches_torch(dtype):
    """A one-element float32 tensor lr: torch does the lr arithmetic in float32; so must we."""
    compare_optimizers(
        lambda ps, **kw: gradstep.optim.Rprop(ps, lr=gradstep.tensor([0.1]), **kw),
        lambda ps, **kw: torch.optim.Rprop(ps, lr=torch.tensor([0.1]), **kw),
        dict(), dtype=dtype, steps=20)


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """State dicts convert one to one: either library's, loaded into both, continues identically."""
    check_cross_load(gradstep.optim.Rprop, torch.optim.Rprop, dict(lr=0.01), source)


def test_groups_added_group_and_missing_grads_match_torch():
    """Two groups with different hyperparameters, a third added at step 5, one parameter that
    never gets a gradient (it gets no state)."""
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, dict(params=ps[1:3], **{"etas": (0.3, 1.5), "step_sizes": (1e-4, 0.02)})]

    def on_step(k, opt, topt, ours, theirs):
        if k == 5:
            opt.add_param_group({"params": ours[3:], "lr": 0.002})
            topt.add_param_group({"params": theirs[3:], "lr": 0.002})

    opt, _, params, _ = compare_optimizers(gradstep.optim.Rprop, torch.optim.Rprop, dict(lr=0.01),
                                           groups=groups, on_step=on_step, no_grad=(1,),
                                           steps=15)
    assert params[1] not in opt.state


def test_differentiable_is_refused():
    """Our update runs on raw arrays outside the graph, so a differentiable step is refused."""
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        gradstep.optim.Rprop([gradstep.zeros(2, requires_grad=True)], differentiable=True)

"""gradstep.optim.Adafactor against torch.optim.Adafactor, step for step."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import gradstep
from tests.optim.oracle import SHAPES, check_cross_load, compare_optimizers

# every combination of beta2_decay, eps, d and weight_decay; maximize on half of them; a larger
# lr (which caps the relative step and scales the weight decay) on two
GRID = [dict(lr=1e-2, beta2_decay=b, eps=e, d=d, weight_decay=wd, maximize=(d == 1.5) != (wd == 0))
        for b, e, d, wd in itertools.product((-0.8, -0.5), ((None, 1e-3), (0.5, 1e-2)), (1.0, 1.5),
                                             (0, 0.1))]
GRID += [dict(lr=0.1, weight_decay=0.1), dict(lr=0.1, eps=(None, 1e-2), maximize=True)]

# a 3-D parameter: its variance is factored over the last two dimensions, per leading index
SHAPES_3D = SHAPES + [(2, 3, 4)]


def _id(hp):
    return "-".join(f"{k}={v}" for k, v in hp.items())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=_id)
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.Adafactor, torch.optim.Adafactor, hp, dtype=dtype,
                       shapes=SHAPES_3D)


def test_real_loss_matches_torch():
    compare_optimizers(gradstep.optim.Adafactor, torch.optim.Adafactor,
                       dict(lr=0.05, weight_decay=1e-2), loss=True)


def test_factored_state_shapes():
    ours, _, params, _ = compare_optimizers(gradstep.optim.Adafactor, torch.optim.Adafactor,
                                            dict(), steps=1, shapes=SHAPES_3D)
    w, b, _, _, cube = params
    assert set(ours.state[w]) == {"step", "row_var", "col_var"}
    assert ours.state[w]["row_var"].shape == (5, 1)
    assert ours.state[w]["col_var"].shape == (1, 4)
    assert set(ours.state[b]) == {"step", "variance"}
    assert ours.state[b]["variance"].shape == (5,)
    assert ours.state[cube]["row_var"].shape == (2, 3, 1)
    assert ours.state[cube]["col_var"].shape == (2, 1, 4)


def test_first_step_is_clipped_sign_update():
    """At t=1 (beta2_1 = 0) a vector's update is g/|g|, clipped to RMS 1, times max(eps2, RMS)*lr."""
    p = gradstep.tensor([3.0, -4.0], requires_grad=True)
    opt = gradstep.optim.Adafactor([p], lr=0.01)
    p.grad = gradstep.tensor([0.5, 2.0])
    opt.step()
    rms = np.sqrt((9 + 16) / 2)
    # float32 arithmetic: the RMS (squares, mean, sqrt), the clipped sign update (a division, a
    # square root, a product) and the step, about 8 roundings of eps32/2 each
    np.testing.assert_allclose(p.detach().numpy(), [3.0 - 0.01 * rms, -4.0 - 0.01 * rms],
                               rtol=4 * np.finfo(np.float32).eps)


def assert_same_error(ours_cls, theirs_cls, kwargs):
    """Constructing both optimizers with ``kwargs`` fails with torch's type and message."""
    with pytest.raises(Exception) as theirs:
        theirs_cls([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        ours_cls([gradstep.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(beta2_decay=0.1), dict(eps=(-1, 1e-3)),
                                    dict(eps=(None, -1)), dict(d=0.5), dict(weight_decay=-1)],
                         ids=str)
def test_validation_matches_torch(kwargs):
    assert_same_error(gradstep.optim.Adafactor, torch.optim.Adafactor, kwargs)


def test_defaults_match_torch():
    ours = gradstep.optim.Adafactor([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.Adafactor([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tensor_lr_matches_torch(dtype):
    """A one-element float32 tensor lr: torch does the lr arithmetic in float32; so must we."""
    compare_optimizers(
        lambda ps, **kw: gradstep.optim.Adafactor(ps, lr=gradstep.tensor([0.1]), **kw),
        lambda ps, **kw: torch.optim.Adafactor(ps, lr=torch.tensor([0.1]), **kw),
        dict(weight_decay=0.1), dtype=dtype, steps=20)


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """State dicts convert one to one: either library's, loaded into both, continues identically."""
    check_cross_load(gradstep.optim.Adafactor, torch.optim.Adafactor, dict(lr=0.05, weight_decay=0.01), source)


def test_groups_added_group_and_missing_grads_match_torch():
    """Two groups with different hyperparameters, a third added at step 5, one parameter that
    never gets a gradient (it gets no state)."""
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, dict(params=ps[1:3], **{"d": 1.5, "beta2_decay": -0.5})]

    def on_step(k, opt, topt, ours, theirs):
        if k == 5:
            opt.add_param_group({"params": ours[3:], "lr": 0.002})
            topt.add_param_group({"params": theirs[3:], "lr": 0.002})

    opt, _, params, _ = compare_optimizers(gradstep.optim.Adafactor, torch.optim.Adafactor, dict(),
                                           groups=groups, on_step=on_step, no_grad=(1,),
                                           steps=15)
    assert params[1] not in opt.state

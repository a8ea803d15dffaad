"""gradstep.optim.Adamax against torch.optim.Adamax, step for step."""

from __future__ import annotations

import itertools

import pytest
import torch

import gradstep
from tests.optim.oracle import compare_optimizers

GRID = [dict(maximize=m, weight_decay=wd, betas=b)
        for m, wd, b in itertools.product((False, True), (0, 0.1), ((0.9, 0.999), (0.3, 0.9)))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=lambda hp: "-".join(f"{k}={v}" for k, v in hp.items()))
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.Adamax, torch.optim.Adamax, dict(lr=0.01, **hp), dtype=dtype)


@pytest.mark.parametrize("foreach", [False, None])
def test_real_loss_both_paths(foreach):
    compare_optimizers(gradstep.optim.Adamax, torch.optim.Adamax, dict(lr=0.02), loss=True,
                       ours_kwargs=dict(foreach=foreach))


@pytest.mark.parametrize("kwargs, msg", [
    (dict(lr=-1), "Invalid learning rate: -1"),
    (dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    (dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
])
def test_validation(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        gradstep.optim.Adamax([gradstep.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=msg):
        torch.optim.Adamax([torch.zeros(2, requires_grad=True)], **kwargs)


def test_defaults_and_repr_match_torch():
    ours = gradstep.optim.Adamax([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.Adamax([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)

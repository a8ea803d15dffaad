"""gradstep.optim.AdamW against torch.optim.AdamW, step for step."""

from __future__ import annotations

import itertools

import pytest
import torch

import gradstep
from tests.optim.oracle import compare_optimizers

GRID = [dict(amsgrad=a, maximize=m, weight_decay=wd)
        for a, m, wd in itertools.product((False, True), (False, True), (0, 0.1))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=lambda hp: "-".join(f"{k}={v}" for k, v in hp.items()))
def test_grid_matches_torch(hp, dtype):
    compare_optimizers(gradstep.optim.AdamW, torch.optim.AdamW, dict(lr=0.01, **hp), dtype=dtype)


def test_default_weight_decay_and_real_loss():
    compare_optimizers(gradstep.optim.AdamW, torch.optim.AdamW, dict(lr=0.05), loss=True)


def test_defaults_and_repr_match_torch():
    ours = gradstep.optim.AdamW([gradstep.zeros(2, requires_grad=True)])
    theirs = torch.optim.AdamW([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)
    assert ours.param_groups[0]["decoupled_weight_decay"] is True


def test_invalid_lr():
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        gradstep.optim.AdamW([gradstep.zeros(2, requires_grad=True)], lr=-1)

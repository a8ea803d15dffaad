"""SparseAdam: torch's constructor (defaults, validation, groups, state dict) and torch's error
at a step with a dense gradient. Its steps with sparse gradients (``nn.Embedding(sparse=True)``)
are compared with torch's in ``test_sparse_grad_steps.py``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


def _param(lib):
    return lib.nn.Parameter(lib.tensor(np.arange(4.0, dtype=np.float32)))


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.0), dict(lr=-1.0), dict(eps=0.0), dict(eps=-1e-8), dict(betas=(1.0, 0.5)),
    dict(betas=(0.5, -0.1)), dict(betas=(0.9, 1.0)),
], ids=str)
def test_validation_matches_torch(kwargs):
    ours = _error(lambda: gradstep.optim.SparseAdam([_param(gradstep)], **kwargs))
    theirs = _error(lambda: torch.optim.SparseAdam([_param(torch)], **kwargs))
    assert theirs is not None and ours == theirs


def test_tensor_lr_must_have_one_element_as_in_torch():
    ours = _error(lambda: gradstep.optim.SparseAdam([_param(gradstep)], lr=gradstep.ones(2)))
    theirs = _error(lambda: torch.optim.SparseAdam([_param(torch)], lr=torch.ones(2)))
    assert theirs is not None and ours == theirs


def test_defaults_groups_repr_and_state_dict_match_torch():
    def build(lib):
        a, b = _param(lib), _param(lib)
        return lib.optim.SparseAdam([{"params": [a]}, {"params": [b], "lr": 0.1}],
                                    betas=(0.8, 0.9), maximize=True)

    ours, theirs = build(gradstep), build(torch)
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == theirs.state_dict()


def test_step_without_gradients_returns_the_closure_loss():
    for lib in (gradstep, torch):
        p = _param(lib)
        opt = lib.optim.SparseAdam([p])
        assert opt.step(lambda: 3.5) == 3.5
        np.testing.assert_array_equal(p.detach().numpy(), np.arange(4.0))
        assert len(opt.state) == 0


def test_dense_gradient_is_torchs_error_and_changes_nothing():
    outcomes = []
    for lib in (gradstep, torch):
        p = _param(lib)
        opt = lib.optim.SparseAdam([p])
        (p * p).sum().backward()
        outcomes.append(_error(opt.step))
        np.testing.assert_array_equal(p.detach().numpy(), np.arange(4.0))
        assert len(opt.state) == 0
    assert outcomes[0] == outcomes[1] == (
        RuntimeError, "SparseAdam does not support dense gradients, please consider Adam instead")


@pytest.mark.parametrize("lib", [gradstep, torch], ids=["gradstep", "torch"])
def test_step_hooks_run_around_the_step_as_in_torch(lib):
    opt = lib.optim.SparseAdam([_param(lib)])
    seen = []
    opt.register_step_pre_hook(lambda *a: seen.append("pre"))
    opt.register_step_post_hook(lambda *a: seen.append("post"))
    opt.step()
    assert seen == ["pre", "post"]

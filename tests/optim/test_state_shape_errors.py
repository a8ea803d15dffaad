"""A state tensor of the wrong shape (a bad ``load_state_dict``) fails ``step()`` with torch's
RuntimeError about broadcasting, never NumPy's ValueError."""

from __future__ import annotations

import pytest
import torch

import gradstep

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
              "RAdam", "ASGD", "Rprop"]


def _step_with_bad_state(lib, name, foreach):
    p = lib.nn.Parameter(lib.ones(3, 4))
    kw = {"momentum": 0.9} if name == "SGD" else {}
    opt = getattr(lib.optim, name)([p], lr=0.1, foreach=foreach, **kw)
    p.grad = lib.ones(3, 4)
    opt.step()
    sd = opt.state_dict()
    for key, value in sd["state"][0].items():
        if lib.is_tensor(value) and value.dim() > 0:
            sd["state"][0][key] = lib.ones(2, 4)
    fresh = getattr(lib.optim, name)([p], lr=0.1, foreach=foreach, **kw)
    fresh.load_state_dict(sd)
    p.grad = lib.ones(3, 4)
    with pytest.raises(Exception) as info:
        fresh.step()
    return info.value


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_wrong_state_shape_is_torchs_runtime_error(name, foreach):
    theirs = _step_with_bad_state(torch, name, foreach)
    ours = _step_with_bad_state(gradstep, name, foreach)
    assert type(theirs) is RuntimeError
    assert type(ours) is RuntimeError, f"{type(ours).__name__}: {ours}"
    # the same clash of sizes (which operand torch calls ``a`` depends on its kernel's order)
    assert "must match the size of tensor b" in str(ours)
    assert {"(2)", "(3)"} <= set(str(ours).split()) and "dimension 0" in str(ours)


def test_other_value_errors_still_propagate():
    class Broken(gradstep.optim.SGD):
        def step(self, closure=None):
            raise ValueError("not about shapes")

    opt = Broken([gradstep.nn.Parameter(gradstep.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="not about shapes"):
        opt.step()

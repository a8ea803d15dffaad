"""nn.utils.prune against torch: masks, pruned weights, state_dict layout, gradients through
``weight_orig``, iterative pruning (PruningContainer), global pruning and removal.

Deterministic methods are compared exactly (masks are 0/1 and the pruned weight is one product);
random ones are checked for the pruned count and the mask's structure.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune

import gradstep
import gradstep.nn.utils.prune as gprune


def _pair(dtype="float64"):
    tm = torch.nn.Conv2d(3, 6, 3).to(getattr(torch, dtype))
    gm = gradstep.nn.Conv2d(3, 6, 3).to(getattr(gradstep, dtype))
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return tm, gm


def _same(gm, tm):
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(gm.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    np.testing.assert_array_equal(gm.weight.detach().numpy(), tm.weight.detach().numpy())


STEPS = [
    ("l1_unstructured", dict(amount=0.3)),
    ("l1_unstructured", dict(amount=7)),
    ("ln_structured", dict(amount=2, n=2, dim=0)),
    ("ln_structured", dict(amount=0.5, n=1, dim=1)),
    ("ln_structured", dict(amount=1, n=float("inf"), dim=-1)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_iterative_deterministic_pruning_matches_torch(dtype):
    tm, gm = _pair(dtype)
    for name, kw in STEPS:
        getattr(tprune, name)(tm, "weight", **kw)
        getattr(gprune, name)(gm, "weight", **kw)
        _same(gm, tm)
    assert gprune.is_pruned(gm)
    hook = [h for h in gm._forward_pre_hooks.values()][0]
    assert isinstance(hook, gprune.PruningContainer) and len(hook) == len(STEPS)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(dtype)
    gm(gradstep.tensor(x)).sum().backward()
    tm(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(gm.weight_orig.grad.numpy(), tm.weight_orig.grad.numpy(),
                               rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)
    gprune.remove(gm, "weight")
    tprune.remove(tm, "weight")
    _same(gm, tm)
    assert not gprune.is_pruned(gm) and isinstance(gm.weight, gradstep.nn.Parameter)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        gprune.remove(gm, "weight")


def test_custom_mask_importance_scores_and_global():
    tm, gm = _pair()
    mask = (np.random.default_rng(1).random((6,)) > 0.5).astype("float64")
    tprune.custom_from_mask(tm, "bias", torch.tensor(mask))
    gprune.custom_from_mask(gm, "bias", gradstep.tensor(mask))
    scores = np.random.default_rng(2).random((6, 3, 3, 3))
    tprune.l1_unstructured(tm, "weight", 0.4, importance_scores=torch.tensor(scores))
    gprune.l1_unstructured(gm, "weight", 0.4, importance_scores=gradstep.tensor(scores))
    _same(gm, tm)
    t2, g2 = _pair()
    t3, g3 = torch.nn.Linear(4, 5).double(), gradstep.nn.Linear(4, 5).double()
    g3.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in t3.state_dict().items()})
    tprune.global_unstructured([(t2, "weight"), (t3, "weight")], tprune.L1Unstructured,
                               amount=30)
    gprune.global_unstructured([(g2, "weight"), (g3, "weight")], gprune.L1Unstructured,
                               amount=30)
    _same(g2, t2)
    _same(g3, t3)


def test_random_methods_prune_the_requested_amount():
    m = gradstep.nn.Linear(10, 8)
    gprune.random_unstructured(m, "weight", amount=0.25)
    assert int((m.weight_mask.numpy() == 0).sum()) == 20
    gprune.random_structured(m, "weight", amount=3, dim=0)
    rows = m.weight_mask.numpy().sum(axis=1)
    assert int((rows == 0).sum()) >= 3  # 3 rows more (some may have been empty already)
    gprune.identity(m, "bias")
    assert m.bias_mask.numpy().all()
    fresh = gradstep.nn.Linear(10, 8)
    with pytest.raises(ValueError, match="should either be a float in the range"):
        gprune.l1_unstructured(fresh, "bias", amount=1.5)
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        gprune.L1Unstructured(20).prune(gradstep.ones(5))
    with pytest.raises(ValueError, match="Structured pruning can only be applied"):
        gprune.ln_structured(fresh, "bias", amount=1, n=2, dim=0)
    # the failed attempt put the parameter back
    assert sorted(dict(fresh.named_parameters())) == ["bias", "weight"]
    assert not gprune.is_pruned(fresh)

"""multilabel_margin_loss, triplet_margin_with_distance_loss and their modules against torch.

Tolerance: helpers.TOL x10 — sums of up to C*C hinges of differences of inputs in [-2, 2].
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check
from tests.nn.bad_input import assert_same_outcome, rand


def _targets(shape, seed):
    """Rows of distinct labels, ended by -1 at a random place (some rows full, some empty)."""
    rng = np.random.default_rng(seed)
    rows = np.atleast_2d(np.zeros(shape, np.int64))
    c = rows.shape[1]
    for r in rows:
        k = rng.integers(0, c + 1)
        r[:] = -1
        r[:k] = rng.permutation(c)[:k]
        if k < c - 1:
            r[k + 1:] = rng.integers(0, c, c - k - 1)  # ignored after the -1
    return rows.reshape(shape)


@pytest.mark.parametrize("shape,reduction", [
    (s, r) for s in ((4, 5), (6,), (3, 1), (0, 3)) for r in ("mean", "sum", "none")
    if not (s[0] == 0 and r != "none")])  # torch reduces an empty batch from uninitialised memory
def test_multilabel_margin_loss(shape, reduction):
    t = _targets(shape, 1)

    def inputs(dt):
        x = np.random.default_rng(0).uniform(-2, 2, shape).astype(dt)
        return [gradstep.tensor(x, requires_grad=True), gradstep.tensor(t)]

    check(lambda L, x, y: L.nn.functional.multilabel_margin_loss(x, y, reduction=reduction),
          inputs=inputs, scale=10)
    check(lambda L, x, y: (gradstep.nn.MultiLabelMarginLoss(reduction=reduction) if L is gradstep
                           else torch.nn.MultiLabelMarginLoss(reduction=reduction))(x, y),
          inputs=inputs, scale=10)


@pytest.mark.parametrize("dist", [None, "cos", "l1"])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_triplet_margin_with_distance_loss(dist, swap, reduction):
    def fn(L, a, p, n):
        d = {None: None, "cos": lambda x, y: 1 - L.nn.functional.cosine_similarity(x, y),
             "l1": lambda x, y: (x - y).abs().sum(-1)}[dist]
        return L.nn.functional.triplet_margin_with_distance_loss(
            a, p, n, distance_function=d, margin=0.7, swap=swap, reduction=reduction)

    check(fn, [(5, 4), (5, 4), (5, 4)], scale=10)
    mod = {L: L.nn.TripletMarginWithDistanceLoss(margin=0.5, swap=swap) for L in (gradstep, torch)}
    check(lambda L, a, p, n: mod[L](a, p, n), [(3, 6), (3, 6), (3, 6)], scale=10)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_errors_and_alias():
    for L in (torch, gradstep):
        with pytest.raises(ValueError):
            L.nn.TripletMarginWithDistanceLoss(margin=0)
        with pytest.raises(RuntimeError):
            L.nn.functional.triplet_margin_with_distance_loss(L.zeros(2, 3), L.zeros(3),
                                                              L.zeros(2, 3))
        with pytest.raises(RuntimeError):
            L.nn.functional.multilabel_margin_loss(L.zeros(2, 3), L.zeros(2, 2).long())
    assert issubclass(gradstep.nn.NLLLoss2d, gradstep.nn.NLLLoss)
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        gradstep.nn.NLLLoss2d()
    check(lambda L, x: L.nn.NLLLoss2d()(x.log_softmax(1), L.tensor([[[0, 2], [1, 1]]])),
          [(1, 3, 2, 2)])


# ---- found by tests/nn/test_functional_differential.py
def test_multilabel_margin_loss_at_hinge_ties_and_inf_in_unlabelled_rows():
    # torch counts only pairs with 1 - x[y] + x[i] > 0 (no gradient at exactly 0), and a row
    # without labels adds nothing even where it holds an inf
    from tests.ops.fuzz_ops import disagreement
    x = np.array([[-0.5532574, -1.0, 0.0, -0.21394722], [-0.5532574, -1.0, 0.0, -0.21394722],
                  [-np.inf, 0.66679642, -0.28116378, 1.0]])
    t = np.array([[2, 3, 0, 1], [0, 2, -1, -1], [-1, -1, -1, -1]])
    for red in ("none", "sum", "mean"):
        assert disagreement(lambda L, a, b, r=red: L.nn.functional.multilabel_margin_loss(
            a, b, reduction=r), x, t, tol="sum", n=32) is None


@pytest.mark.parametrize("margin,reduction,exc", [(0.0, "mean", ValueError), (-2, "sum", ValueError),
                                                  (0.0, "bad", ValueError)])
def test_functional_triplet_margin_loss_refuses_non_positive_margin(margin, reduction, exc):
    """nn.functional checks the reduction, then the margin; torch.triplet_margin_loss (the
    ATen op) takes any margin."""
    messages = []
    for lib in (torch, gradstep):
        a = lib.ones(2, 3)
        with pytest.raises(exc) as info:
            lib.nn.functional.triplet_margin_loss(a, a, a, margin=margin, reduction=reduction)
        messages.append(str(info.value))
        assert lib.triplet_margin_loss(a, a, a, 0.0, 2.0, 1e-6, False, 1).item() == 0.0
    assert messages[1] == messages[0]


# (an empty batch is left out: torch's mean of it reads uninitialized memory)
@pytest.mark.parametrize("x_shape", [(), (3,), (2, 3), (2, 3, 4), (2, 0)])
@pytest.mark.parametrize("t_shape", ["same", (), (1,), (2,), (0,)])
@pytest.mark.parametrize("t_dtype", ["int64", "float32", "int32"])
def test_multilabel_margin_target_shape_and_dtype_as_torch(x_shape, t_shape, t_dtype):
    """A float target is torch's dtype error (no NumPy indexing error), checked after sizes."""
    def build(L):
        shape = x_shape if t_shape == "same" else t_shape
        return L.nn.functional.multilabel_margin_loss(rand(L, x_shape),
                                                      L.zeros(shape, dtype=getattr(L, t_dtype)))
    assert_same_outcome(build)


def test_multilabel_margin_out_of_range_target_as_torch():
    assert_same_outcome(lambda L: L.nn.functional.multilabel_margin_loss(
        rand(L, (2, 3)), L.tensor([[0, 3, -1], [1, -1, 0]])))

"""check_accumulation: planted mistakes are named, a correct recipe agrees to rounding."""

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn
from gradstep.doctor import check_accumulation


def _model(dtype):
    gs.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4)).to(dtype)


def _batch(n, dtype):
    gs.manual_seed(1)
    return gs.randn(n, 6, dtype=dtype), gs.randint(0, 4, (n,))


@pytest.mark.parametrize("dtype", [gs.float32, gs.float64])
def test_correct_recipe_agrees_to_rounding(dtype):
    model = _model(dtype)
    before = [p.detach().clone() for p in model.parameters()]
    r = check_accumulation(model, nn.CrossEntropyLoss(), _batch(32, dtype), micro_batches=4)
    assert r.agree and r.cause == "agree"
    # tolerance 64*k*eps of the dtype: k partial means, each a few ulps from the whole batch's
    assert r.max_rel <= r.tolerance == 64 * 4 * np.finfo(np.dtype(str(dtype).split(".")[1])).eps
    assert r.ratio == pytest.approx(1.0, abs=r.tolerance)
    assert r.counts == [8, 8, 8, 8]
    assert "matches the whole batch" in r.verdict and "verdict" in str(r)
    # the model is untouched: same values, no .grad
    assert all(p.grad is None for p in model.parameters())
    assert all(gs.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("dtype", [gs.float32, gs.float64])
@pytest.mark.parametrize("k", [2, 4])
def test_loss_not_divided_by_k(dtype, k):
    r = check_accumulation(_model(dtype), nn.CrossEntropyLoss(), _batch(32, dtype), micro_batches=k,
                           scale=1.0)
    assert r.cause == "not-divided" and not r.agree
    assert r.ratio == pytest.approx(k, rel=1e-4)  # k means summed = k x the whole-batch mean
    assert f"not divided by {k}" in r.explanation
    assert f"loss / {k}" in r.fix and "MISMATCH" in r.verdict


@pytest.mark.parametrize("dtype", [gs.float32, gs.float64])
def test_uneven_token_counts_with_a_mean_loss(dtype):
    # a sequence batch: 4 rows of 5 tokens, padding (-100) uneven across the two micro-batches
    gs.manual_seed(2)
    model = nn.Linear(3, 4).to(dtype)
    x = gs.randn(4, 5, 3, dtype=dtype)
    y = gs.randint(0, 4, (4, 5))
    y[0, 1:] = -100  # micro-batch 0 (rows 0, 1) keeps 1 + 5 = 6 tokens, micro-batch 1 keeps 10
    ce = nn.CrossEntropyLoss()

    def loss_fn(out, t):
        return ce(out.reshape(-1, 4), t.reshape(-1))

    r = check_accumulation(model, loss_fn, (x, y), micro_batches=2)
    assert r.counts == [6, 10]
    assert r.cause == "uneven-mean"
    assert "different numbers" in r.explanation and "total count 16" in r.fix
    # the same loss with even padding agrees
    y2 = gs.randint(0, 4, (4, 5))
    assert check_accumulation(model, loss_fn, (x, y2), micro_batches=2).agree


def test_sum_loss_with_one_over_k_is_a_scale_mismatch():
    r = check_accumulation(_model(gs.float64), nn.CrossEntropyLoss(reduction="sum"),
                           _batch(24, gs.float64), micro_batches=3)
    assert r.cause == "not-divided"
    assert r.ratio == pytest.approx(1 / 3, rel=1e-10)  # sum of parts = whole sum; x 1/3


def test_batch_dependent_layer_is_other():
    gs.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Linear(8, 4)).double()
    batch = _batch(32, gs.float64)
    r = check_accumulation(model, nn.CrossEntropyLoss(), batch, micro_batches=4, train=True)
    assert r.cause == "other" and "BatchNorm" in r.explanation
    assert model.training  # the model's own mode is left alone
    # in eval mode (the default) BatchNorm uses running statistics: per-sample, so they agree
    assert check_accumulation(model, nn.CrossEntropyLoss(), batch, micro_batches=4).agree


def test_dropout_is_off_by_default():
    gs.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 4)).double()
    batch = _batch(32, gs.float64)
    assert check_accumulation(model, nn.CrossEntropyLoss(), batch, micro_batches=4).agree
    state = gs.get_rng_state()
    r = check_accumulation(model, nn.CrossEntropyLoss(), batch, micro_batches=4, train=True)
    assert r.cause == "other"  # different dropout masks
    assert gs.equal(gs.get_rng_state(), state)  # the generator is restored

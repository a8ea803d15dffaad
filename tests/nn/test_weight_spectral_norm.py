"""Old-API nn.utils.weight_norm / spectral_norm and the parametrizations versions, against torch.

Each test copies torch's parameters and power-iteration buffers into gradstep, then compares the
normalized weight, the module output and the gradients of the underlying parameters. Tolerance:
the oracle's (float64 1e-10, float32 1e-5 relative): a norm, a division and at most a few
matrix-vector products separate the inputs from the outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.nn import utils as gu
from tests.helpers import assert_close

DT = ["float32", "float64"]


def _load(gm, tm):
    gm.load_state_dict({k: gradstep.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})


def _run_both(gm, tm, dtype, shape, scale=1.0):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    gy, ty = gm(gradstep.tensor(x)), tm(torch.tensor(x))
    assert_close(gy, ty, dtype, scale=scale, what="output")
    w = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    (gy * gradstep.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    tparams = dict(tm.named_parameters())
    names = [n for n, _ in gm.named_parameters()]
    assert sorted(names) == sorted(tparams)
    for n, p in gm.named_parameters():
        assert_close(p.grad, tparams[n].grad, dtype, scale=scale, what=f"grad {n}")


def _iterate_power_method(tm, shape, training):
    """Before an eval-mode comparison, let torch's power method run, so the stored u and v
    estimate the top singular vectors. Fresh ones are random: sigma = u . W v is then a sum
    of terms ~0.1 that can cancel to ~1e-5 (about 5 seeds in 150), and W / sigma amplifies
    float32 rounding past any fair tolerance (0.1% relative) without either library being wrong."""
    if training:
        return
    with torch.no_grad():
        for _ in range(5):
            tm(torch.zeros(shape, dtype=next(tm.parameters()).dtype))


def _conv(L, dtype):
    return L.nn.Conv2d(3, 4, 3).to(getattr(L, dtype))


def _linear(L, dtype):
    return L.nn.Linear(5, 4).to(getattr(L, dtype))


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_old_weight_norm_matches_torch(dtype, dim):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        tm = torch.nn.utils.weight_norm(_conv(torch, dtype), dim=dim)
        gm = gu.weight_norm(_conv(gradstep, dtype), dim=dim)
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())  # weight_g, weight_v, bias
    _load(gm, tm)
    _run_both(gm, tm, dtype, (2, 3, 6, 6))
    gu.remove_weight_norm(gm)
    torch.nn.utils.remove_weight_norm(tm)
    assert sorted(gm.state_dict()) == ["bias", "weight"]
    assert_close(gm.weight, tm.weight, dtype)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        gu.remove_weight_norm(gm)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("make,shape", [(_linear, (3, 5)), (_conv, (2, 3, 6, 6))])
@pytest.mark.parametrize("training", [True, False])
def test_old_spectral_norm_matches_torch(dtype, make, shape, training):
    tm = torch.nn.utils.spectral_norm(make(torch, dtype), n_power_iterations=2)
    gm = gu.spectral_norm(make(gradstep, dtype), n_power_iterations=2)
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())  # weight_orig, weight_u, _v
    _iterate_power_method(tm, shape, training)
    _load(gm, tm)  # copies weight_u and weight_v, the power-iteration state
    tm.train(training)
    gm.train(training)
    _run_both(gm, tm, dtype, shape)
    assert_close(gm.weight_u, tm.weight_u, dtype, what="u after the step")
    gu.remove_spectral_norm(gm)
    torch.nn.utils.remove_spectral_norm(tm)
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())
    assert_close(gm.weight, tm.weight, dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("dim", [0, None])
def test_parametrizations_weight_norm_matches_torch(dtype, dim):
    tm = torch.nn.utils.parametrizations.weight_norm(_conv(torch, dtype), dim=dim)
    gm = gu.parametrizations.weight_norm(_conv(gradstep, dtype), dim=dim)
    keys = sorted(tm.state_dict())
    assert sorted(gm.state_dict()) == keys  # parametrizations.weight.original0/1
    _load(gm, tm)
    assert_close(gm.weight, tm.weight, dtype)
    _run_both(gm, tm, dtype, (2, 3, 6, 6))


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("training", [True, False])
def test_parametrizations_spectral_norm_matches_torch(dtype, training):
    tm = torch.nn.utils.parametrizations.spectral_norm(_conv(torch, dtype))
    gm = gu.parametrizations.spectral_norm(_conv(gradstep, dtype))
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())
    _iterate_power_method(tm, (2, 3, 6, 6), training)
    _load(gm, tm)
    tm.train(training)
    gm.train(training)
    _run_both(gm, tm, dtype, (2, 3, 6, 6))
    tp = tm.parametrizations.weight[0]
    gp = gm.parametrizations.weight[0]
    assert_close(gp._u, tp._u, dtype)
    assert_close(gp._v, tp._v, dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("shape,orth_map", [((4, 4), None), ((5, 3), None), ((3, 5), None),
                                            ((4, 4), "cayley"), ((5, 3), "matrix_exp")])
def test_orthogonal_matches_torch(dtype, shape, orth_map):
    def make(L):
        m = L.nn.Linear(shape[1], shape[0]).to(getattr(L, dtype))
        return L.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orth_map)

    tm, gm = make(torch), make(gradstep)
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())
    _load(gm, tm)  # original and the base point
    with torch.no_grad():  # move off the base point; householder reads the diagonal's signs
        orig = tm.parametrizations.weight.original
        off_diagonal = 1 - torch.eye(*orig.shape, dtype=orig.dtype)
        orig.add_(0.3 * torch.randn_like(orig) * off_diagonal)
    _load(gm, tm)
    assert_close(gm.weight, tm.weight, dtype, scale=10)  # matrix_exp/solve/QR, ~10 ulps
    W = gm.weight.detach().numpy()
    small = min(shape)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5 if dtype == "float32" else 1e-12)
    _run_both(gm, tm, dtype, (2, shape[1]), scale=10)  # the weight's ~10 ulps carry through


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_householder_without_trivialization_matches_torch(dtype, shape):
    """use_trivialization=False stores the weight's compact QR (geqrf) with R's diagonal
    replaced by its signs; gradstep used to keep the raw weight there, whose diagonal
    truncates to 0 in the forward: an all-zero weight. The QR is a few reflections of a small
    matrix: ~10 ulps (scale=10), carried through the forward and the gradients."""
    def make(L):
        L.manual_seed(0)
        m = L.nn.Linear(shape[1], shape[0]).to(getattr(L, dtype))
        return L.nn.utils.parametrizations.orthogonal(m, orthogonal_map="householder",
                                                      use_trivialization=False)

    tm, gm = make(torch), make(gradstep)
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())  # no base buffer
    assert_close(gm.parametrizations.weight.original, tm.parametrizations.weight.original,
                 dtype, scale=10)
    assert_close(gm.weight, tm.weight, dtype, scale=10)
    _load(gm, tm)
    _run_both(gm, tm, dtype, (2, shape[1]), scale=10)
    with pytest.raises(NotImplementedError, match="matrix exponential"):
        lin = gradstep.nn.Linear(3, 3)
        gu.parametrizations.orthogonal(lin, orthogonal_map="cayley", use_trivialization=False)
        lin.weight = gradstep.eye(3)

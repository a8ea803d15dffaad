"""LKJCholesky against torch: log_prob and its gradients w.r.t. the concentration and the
value (tests/helpers.check scaled by 10 in float32, as lgamma/mvlgamma enter: torch evaluates
them in float32, gradstep in float64 rounded once), seeded onion-method draws and where the
generator ends, support, expand, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.distributions.draw_helpers import assert_same_draws, error_message
from tests.helpers import check


def _corr_cholesky(dim, n, seed, dt):
    """n random Cholesky factors of correlation matrices (normalised rows of a random
    lower-triangular matrix with a positive diagonal)."""
    rng = np.random.default_rng(seed)
    a = np.tril(rng.normal(size=(n, dim, dim)))
    idx = np.arange(dim)
    a[:, idx, idx] = np.abs(a[:, idx, idx]) + 0.5
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(dt)


@pytest.mark.parametrize("dim", [2, 4])
def test_log_prob_and_gradients_match_torch(dim):
    def fn(lib, conc, value):
        return lib.distributions.LKJCholesky(dim, conc).log_prob(value)

    def inputs(dt):
        return [gradstep.tensor(np.array([0.5, 1.0, 3.0], dtype=dt), requires_grad=True),
                gradstep.tensor(_corr_cholesky(dim, 3, dim, dt), requires_grad=True)]

    check(fn, inputs=inputs, scale=10)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_seeded_draws_match_torch(dt):
    """The diagonal is sqrt(1 - s), s the row's squared off-diagonal norm, often close to 1:
    a few ulps of difference in s (a short sum) are a large relative difference in 1 - s.
    So the strict lower triangles are compared as draws, the diagonals through
    diag^2 = 1 - s, to 4 ulps of 1."""
    def fn(lib):
        d = lib.distributions.LKJCholesky(4, lib.tensor(np.array([0.5, 2.0], dtype=dt)))
        e = lib.distributions.LKJCholesky(3, 1.5)  # a scalar concentration, default dtype
        return [d.sample((3,)), d.sample(), e.sample((2,))]

    assert_same_draws(lambda lib: [x.tril(-1) for x in fn(lib)])  # and the generator
    diag2 = {}
    for lib in (gradstep, torch):
        lib.manual_seed(0)
        diag2[lib] = [x.diagonal(dim1=-2, dim2=-1).numpy() ** 2 for x in fn(lib)]
    for a, b in zip(diag2[gradstep], diag2[torch]):
        np.testing.assert_allclose(a, b, rtol=0, atol=4 * np.finfo(b.dtype).eps)
    gradstep.manual_seed(0)
    c = gradstep.distributions.constraints.corr_cholesky
    assert all(bool(c.check(x).all()) for x in fn(gradstep))


def test_draws_follow_the_lkj_law():
    """For dim = 2, r = L[1, 0] has density proportional to (1 - r^2)^(eta - 1), so at
    eta = 2 E[r^2] = 1 / (2 eta + 1) = 0.2 and E[r^4] = 3 / 35 (sd of r^2 0.214): the mean of
    2000 draws within 5 standard errors, 5 * 0.25 / sqrt(2000)."""
    gradstep.manual_seed(0)
    r = gradstep.distributions.LKJCholesky(2, 2.0).sample((2000,))[:, 1, 0].numpy()
    assert abs((r ** 2).mean() - 0.2) < 5 * 0.25 / np.sqrt(2000)


def test_shapes_expand_and_constraints():
    for lib in (gradstep, torch):
        D = lib.distributions
        d = D.LKJCholesky(3, lib.tensor([[1.0], [2.0]]))
        assert tuple(d.batch_shape) == (2, 1) and tuple(d.event_shape) == (3, 3)
        e = d.expand((2, 5))
        assert tuple(e.batch_shape) == (2, 5) and e.dim == 3
        assert tuple(e._beta.batch_shape) == (2, 5, 3)
        assert tuple(e.sample((4,)).shape) == (4, 2, 5, 3, 3)
        assert tuple(e.log_prob(e.sample()).shape) == (2, 5)
        assert repr(D.LKJCholesky.support) == "CorrCholesky()"
        assert not D.LKJCholesky.has_rsample
    ours = gradstep.distributions.LKJCholesky(3, gradstep.tensor([1.0, 2.0])).expand((4, 2))
    theirs = torch.distributions.LKJCholesky(3, torch.tensor([1.0, 2.0])).expand((4, 2))
    v = _corr_cholesky(3, 1, 0, "float32")[0]
    np.testing.assert_allclose(ours.log_prob(gradstep.tensor(v)).numpy(),
                               theirs.log_prob(torch.tensor(v)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.LKJCholesky(1, 1.0),
    lambda lib: lib.distributions.LKJCholesky(3, lib.tensor([0.0])),
    lambda lib: lib.distributions.LKJCholesky(2, 1.0).log_prob(lib.tensor([[1.0, 0.5],
                                                                           [0.0, 1.0]])),
])
def test_validation_errors_match_torch(build):
    with pytest.raises(ValueError) as theirs:
        build(torch)
    with pytest.raises(ValueError) as ours:
        build(gradstep)
    assert error_message(ours.value) == error_message(theirs.value)

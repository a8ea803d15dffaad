"""MultivariateNormal against torch: log_prob, entropy, the derived matrices, moments and KL,
with gradients through a random factor A (covariance A A^T + I, so the matrix is positive
definite and the gradient does not depend on how cholesky's backward symmetrises).
Tolerances: tests/helpers.check (float64 rtol 1e-10; float32 rtol 1e-5 scaled by 10 here, as
a Cholesky and a triangular solve of a 3x3 matrix with condition number below ~50 lose up to
cond * eps ~ 6e-6 relative)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check

KINDS = ["covariance_matrix", "precision_matrix", "scale_tril"]


def _inputs(dt, seed=0, batch=(2,)):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch + (3, 3)) * 0.5
    loc = rng.standard_normal((3,))
    x = rng.standard_normal((4,) + batch + (3,))
    return [gradstep.tensor(v.astype(dt), requires_grad=g) for v, g in
            ((loc, True), (a, True), (x, False))]


def _mvn(lib, kind, loc, a):
    eye = lib.eye(3, dtype=a.dtype)
    cov = a @ a.mT + eye
    mat = lib.linalg.cholesky(cov) if kind == "scale_tril" else cov
    return lib.distributions.MultivariateNormal(loc, **{kind: mat})


@pytest.mark.parametrize("kind", KINDS)
def test_log_prob_entropy_moments_match_torch(kind):
    def fn(lib, loc, a, x):
        d = _mvn(lib, kind, loc, a)
        assert tuple(d.batch_shape) == (2,) and tuple(d.event_shape) == (3,)
        return (d.log_prob(x), d.entropy(), d.mean, d.variance, d.covariance_matrix,
                d.precision_matrix, d.scale_tril)

    check(fn, inputs=_inputs, scale=10)


@pytest.mark.parametrize("kp,kq", [("covariance_matrix", "scale_tril"),
                                   ("precision_matrix", "covariance_matrix")])
def test_kl_matches_torch(kp, kq):
    def inputs(dt):
        p = _inputs(dt, seed=1)[:2]
        q = _inputs(dt, seed=2, batch=())[:2]
        return p + q

    def fn(lib, l1, a1, l2, a2):
        return lib.distributions.kl_divergence(_mvn(lib, kp, l1, a1), _mvn(lib, kq, l2, a2))

    check(fn, inputs=inputs, scale=10)


def test_rsample_statistics_and_gradient():
    """40000 draws: the mean within 5 standard errors, the sample covariance entries within
    5 * sqrt((S_ii S_jj + S_ij^2) / n) of the covariance; d rsample / d loc is the identity."""
    gradstep.manual_seed(0)
    loc = gradstep.tensor([1.0, -2.0], dtype=gradstep.float64, requires_grad=True)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    d = gradstep.distributions.MultivariateNormal(loc, covariance_matrix=gradstep.tensor(cov))
    n = 40000
    x = d.rsample((n,))
    xs = x.detach().numpy()
    assert xs.shape == (n, 2)
    assert (np.abs(xs.mean(0) - [1.0, -2.0]) < 5 * np.sqrt(np.diag(cov) / n)).all()
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / n)
    assert (np.abs(np.cov(xs.T) - cov) < 5 * se).all()
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [n, n])


def test_errors_match_torch():
    for lib in (torch, gradstep):
        with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
            lib.distributions.MultivariateNormal(lib.zeros(2))
        with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
            lib.distributions.MultivariateNormal(lib.tensor(0.0), lib.eye(1))
        with pytest.raises(ValueError, match="positive_definite|PositiveDefinite"):
            lib.distributions.MultivariateNormal(lib.zeros(2), -lib.eye(2))
    mvn = gradstep.distributions.MultivariateNormal(gradstep.zeros(2), gradstep.eye(2))
    assert mvn.expand((3,)).log_prob(gradstep.zeros(3, 2)).shape == (3,)
    np.testing.assert_allclose(mvn.log_prob(gradstep.zeros(2)).item(), -math.log(2 * math.pi),
                               rtol=1e-6)


def _lowrank_inputs(dt, seed=0, batch=(2,)):
    rng = np.random.default_rng(seed)
    vals = [(rng.standard_normal((3,)), True), (rng.standard_normal(batch + (3, 2)) * 0.7, True),
            (rng.uniform(0.5, 2.0, batch + (3,)), True),
            (rng.standard_normal((4,) + batch + (3,)), False)]
    return [gradstep.tensor(v.astype(dt), requires_grad=g) for v, g in vals]


def test_lowrank_matches_torch():
    def fn(lib, loc, w, d, x):
        m = lib.distributions.LowRankMultivariateNormal(loc, w, d)
        assert tuple(m.batch_shape) == (2,) and tuple(m.event_shape) == (3,)
        return (m.log_prob(x), m.entropy(), m.variance, m.covariance_matrix,
                m.precision_matrix, m.scale_tril, m.mean)

    check(fn, inputs=_lowrank_inputs, scale=10)


def test_lowrank_sampling_and_errors():
    """40000 draws: sample covariance entries within 5 standard errors of W W^T + D."""
    gradstep.manual_seed(0)
    w = np.array([[1.0], [0.5]])
    d = np.array([0.5, 1.0])
    m = gradstep.distributions.LowRankMultivariateNormal(
        gradstep.tensor([0.0, 1.0], dtype=gradstep.float64), gradstep.tensor(w),
        gradstep.tensor(d))
    x = m.rsample((40000,)).numpy()
    cov = w @ w.T + np.diag(d)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / 40000)
    assert x.shape == (40000, 2) and (np.abs(np.cov(x.T) - cov) < 5 * se).all()
    for lib in (torch, gradstep):
        with pytest.raises(ValueError, match="cov_factor must be a batch of matrices"):
            lib.distributions.LowRankMultivariateNormal(lib.zeros(3), lib.ones(2, 1),
                                                        lib.ones(3))
        with pytest.raises(ValueError, match="cov_diag must be a batch of vectors"):
            lib.distributions.LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1),
                                                        lib.ones(2))


@pytest.mark.parametrize("pair", ["lr-lr", "mvn-lr", "lr-mvn"])
def test_lowrank_kl_matches_torch(pair):
    def inputs(dt):
        return _lowrank_inputs(dt, seed=1)[:3] + _lowrank_inputs(dt, seed=2, batch=())[:3]

    def fn(lib, l1, w1, d1, l2, w2, d2):
        D = lib.distributions
        lr_p = D.LowRankMultivariateNormal(l1, w1, d1)
        lr_q = D.LowRankMultivariateNormal(l2, w2, d2)
        eye = lib.eye(3, dtype=w1.dtype)
        mvn_p = D.MultivariateNormal(l1, w1 @ w1.mT + eye)
        mvn_q = D.MultivariateNormal(l2, w2 @ w2.mT + eye)
        p, q = {"lr-lr": (lr_p, lr_q), "mvn-lr": (mvn_p, lr_q), "lr-mvn": (lr_p, mvn_q)}[pair]
        return D.kl_divergence(p, q)

    check(fn, inputs=inputs, scale=10)

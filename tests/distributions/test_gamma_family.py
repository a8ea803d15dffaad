"""Gamma, Beta, Dirichlet and Poisson against torch (log_prob, entropy, moments, KL and
their gradients; tests/helpers.check tolerances: float64 rtol 1e-10, float32 rtol 1e-5 scaled
by 10 where lgamma/digamma enter, as torch evaluates those in float32 (a few ulps, ~1e-6
relative, and a difference of lgamma terms loses up to one more digit), while gradstep rounds
a float64 evaluation once); the implicit reparameterisation gradient of Gamma draws against
a finite difference of the quantile function and against torch's approximation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradstep
from gradstep.backend import xp
from gradstep.distributions._math import standard_gamma_grad
from gradstep.ops.special import igamma_array
from tests.helpers import check

SHAPE = (3, 4)


def _t(arr, dt, grad=False):
    return gradstep.tensor(np.asarray(arr, dtype=dt), requires_grad=grad)


def _inputs(kind, dt, seed=0):
    rng = np.random.default_rng(seed)
    pos = lambda: rng.uniform(0.3, 4.0, SHAPE)  # noqa: E731
    if kind == "Gamma":
        return [_t(pos(), dt, True), _t(pos(), dt, True), _t(pos(), dt)]
    if kind == "Beta":
        return [_t(pos(), dt, True), _t(pos(), dt, True), _t(rng.uniform(0.05, 0.95, SHAPE), dt)]
    if kind == "Dirichlet":
        x = rng.uniform(0.1, 1.0, SHAPE)
        return [_t(pos(), dt, True), _t(x / x.sum(-1, keepdims=True), dt)]
    if kind == "Poisson":
        return [_t(pos(), dt, True), _t(rng.integers(0, 6, SHAPE), dt)]
    raise KeyError(kind)


def _make(lib, kind, *ps):
    return getattr(lib.distributions, kind)(*ps)


KINDS = ["Gamma", "Beta", "Dirichlet", "Poisson"]


@pytest.mark.parametrize("kind", KINDS)
def test_log_prob_entropy_moments_match_torch(kind):
    def fn(lib, *args):
        d = _make(lib, kind, *args[:-1])
        out = [d.log_prob(args[-1]), d.mean, d.variance, d.mode]
        if kind != "Poisson":
            out.append(d.entropy())
        return out

    check(fn, inputs=lambda dt: _inputs(kind, dt), scale=10)


@pytest.mark.parametrize("kind", KINDS)
def test_kl_matches_torch(kind):
    n = len(_inputs(kind, "float64")) - 1

    def inputs(dt):
        return _inputs(kind, dt, 1)[:n] + _inputs(kind, dt, 2)[:n]

    def fn(lib, *ps):
        return lib.distributions.kl_divergence(_make(lib, kind, *ps[:n]),
                                               _make(lib, kind, *ps[n:]))

    check(fn, inputs=inputs, scale=10)


def test_gamma_cdf_matches_torch():
    def fn(lib, c, r, x):
        return lib.distributions.Gamma(c, r).cdf(x)

    def inputs(dt):
        c, r, x = _inputs("Gamma", dt)
        return [c.detach(), r.detach(), x.requires_grad_()]

    check(fn, inputs=inputs, scale=10)


def test_dirichlet_mode_corner_and_shapes():
    for lib in (torch, gradstep):
        c = lib.tensor([[0.5, 0.2, 0.7], [2.0, 3.0, 1.0]])
        d = lib.distributions.Dirichlet(c)
        assert tuple(d.batch_shape) == (2,) and tuple(d.event_shape) == (3,)
        assert tuple(d.rsample((5,)).shape) == (5, 2, 3)
    ours = gradstep.distributions.Dirichlet(gradstep.tensor([[0.5, 0.2, 0.7], [2.0, 3.0, 1.0]]))
    theirs = torch.distributions.Dirichlet(torch.tensor([[0.5, 0.2, 0.7], [2.0, 3.0, 1.0]]))
    np.testing.assert_allclose(ours.mode.numpy(), theirs.mode.numpy(), rtol=1e-6)


def _quantile(a, u):
    """x with P(a, x) = u, by Newton's method on the regularised incomplete gamma."""
    x = np.maximum(a, 1e-3)
    for _ in range(200):
        dens = np.exp((a - 1) * np.log(x) - x - np.vectorize(math.lgamma)(a))
        x = np.clip(x - (igamma_array(a, x) - u) / dens, x / 10, x * 10)
    return x


@pytest.mark.parametrize("a", [0.3, 1.0, 2.5, 20.0, 300.0])
def test_standard_gamma_grad_is_the_quantile_derivative(a):
    """dx/da at fixed CDF level u, by a central difference of the quantile with step
    h = 1e-5 a (truncation ~h^2 x''' ~ 1e-10 relative, rounding ~1e-16 x / h ~ 1e-11),
    at u in the bulk and both tails; then torch's approximation within its stated 1e-3."""
    u = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 0.999])
    av = np.full_like(u, a)
    x = _quantile(av, u)
    h = 1e-5 * a
    fd = (_quantile(av + h, u) - _quantile(av - h, u)) / (2 * h)
    ours = standard_gamma_grad(av, x)
    np.testing.assert_allclose(ours, fd, rtol=1e-6)
    theirs = torch._standard_gamma_grad(torch.tensor(av), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)


def test_gamma_rsample_statistics_and_gradient():
    """40000 draws: mean within 5 standard errors sqrt(var / n); the gradient of the draws'
    mean w.r.t. concentration is an unbiased estimate of d mean / d c = 1 / rate, within
    5 standard errors estimated from the per-draw gradients."""
    gradstep.manual_seed(0)
    c = gradstep.tensor([0.4, 3.0], dtype=gradstep.float64, requires_grad=True)
    r = gradstep.tensor([2.0, 0.5], dtype=gradstep.float64)
    n = 40000
    x = gradstep.distributions.Gamma(c, r).rsample((n,))
    xs = x.detach().numpy()
    cv, rv = np.array([0.4, 3.0]), np.array([2.0, 0.5])
    assert (np.abs(xs.mean(0) - cv / rv) < 5 * np.sqrt(cv / rv ** 2 / n)).all()
    x.mean().backward()  # mean over both columns: grad = sum over draws of dx/dc / (2n)
    per_draw = standard_gamma_grad(np.broadcast_to(cv, xs.shape), xs * rv) / rv
    se = per_draw.std(0) / np.sqrt(n) / 2
    assert (np.abs(c.grad.numpy() - 0.5 / rv) < 5 * se).all()


def test_beta_dirichlet_poisson_sample_statistics():
    """Means of 40000 draws within 5 standard errors (sqrt(variance / n))."""
    gradstep.manual_seed(0)
    D = gradstep.distributions
    n = 40000
    for d, mean, var in [(D.Beta(2.0, 5.0), 2 / 7, 10 / (49 * 8)),
                         (D.Poisson(gradstep.tensor(3.5)), 3.5, 3.5)]:
        x = d.sample((n,)).numpy()
        assert x.shape == (n,) and abs(x.mean() - mean) < 5 * np.sqrt(var / n)
    c = np.array([1.0, 2.0, 3.0])
    x = D.Dirichlet(gradstep.tensor(c)).sample((n,)).numpy()
    m = c / 6
    assert np.allclose(x.sum(-1), 1.0)
    assert (np.abs(x.mean(0) - m) < 5 * np.sqrt(m * (1 - m) / 7 / n)).all()  # var m(1-m)/(1+6)
    assert xp.issubdtype(D.Poisson(gradstep.tensor(1.0)).sample().numpy().dtype, xp.floating)


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.Gamma(lib.tensor([1.0]), lib.tensor([0.0])),
    lambda lib: lib.distributions.Beta(lib.tensor([-1.0]), lib.tensor([1.0])),
    lambda lib: lib.distributions.Dirichlet(lib.tensor(1.0)),
    lambda lib: lib.distributions.Poisson(lib.tensor([-1.0])),
    lambda lib: lib.distributions.Poisson(lib.tensor([1.0])).log_prob(lib.tensor([0.5])),
    lambda lib: lib.distributions.Dirichlet(lib.ones(3)).log_prob(lib.tensor([0.5, 0.5, 0.5])),
])
def test_validation_errors_match_torch(build):
    with pytest.raises(ValueError) as theirs:
        build(torch)
    with pytest.raises(ValueError) as ours:
        build(gradstep)
    msg = lambda e: str(e).replace("torch.", "gradstep.")  # noqa: E731
    assert msg(ours.value) == msg(theirs.value)


@pytest.mark.parametrize("kind", ["Normal", "Gamma", "Exponential", "Bernoulli"])
def test_exponential_family_bregman_entropy_and_kl_match_torch(kind):
    """The generic (autograd) entropy and KL of ExponentialFamily, called on families that
    also have closed forms, against torch's generic ones."""
    args = {"Normal": (0.3, 1.7), "Gamma": (2.0, 3.0), "Exponential": (1.5,),
            "Bernoulli": (0.3,)}[kind]
    other = {"Normal": (-0.5, 0.8), "Gamma": (1.5, 0.7), "Exponential": (0.4,),
             "Bernoulli": (0.6,)}[kind]
    from torch.distributions import kl as tkl
    from torch.distributions.exp_family import ExponentialFamily as TE

    from gradstep.distributions import kl as gkl
    from gradstep.distributions.exp_family import ExponentialFamily as GE

    def build(lib, vals):
        return getattr(lib.distributions, kind)(*[lib.tensor(v, dtype=lib.float64)
                                                  for v in vals])

    p, q = build(gradstep, args), build(gradstep, other)
    tp, tq = build(torch, args), build(torch, other)
    np.testing.assert_allclose(GE.entropy(p).detach().numpy(), TE.entropy(tp).detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(gkl._kl_expfamily_expfamily(p, q).detach().numpy(),
                               tkl._kl_expfamily_expfamily(tp, tq).detach().numpy(), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="cross KL"):
        other_family = "Gamma" if kind == "Normal" else "Normal"
        gkl._kl_expfamily_expfamily(p, getattr(gradstep.distributions, other_family)(1.0, 1.0))

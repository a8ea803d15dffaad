"""Normal, Uniform, Laplace, Exponential, Bernoulli, Categorical, OneHotCategorical and
Independent against torch.distributions: log_prob, entropy, moments, cdf/icdf and their
gradients w.r.t. the parameters (tests/helpers.check: float64 rtol 1e-10; float32 rtol 1e-5,
since each quantity is a handful of elementwise ops, each within an ulp (6e-8) of torch's,
so the float32 results agree to a few 1e-7 relative), then sampling by statistics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check

SHAPE = (3, 4)


def _t(arr, dt, grad=False):
    return gradstep.tensor(np.asarray(arr, dtype=dt), requires_grad=grad)


def _params(kind, dt, seed=0):
    """Parameters (requiring grad) in the domain and a value (no grad) in the support."""
    rng = np.random.default_rng(seed)
    pos = lambda: rng.uniform(0.5, 2.0, SHAPE)  # noqa: E731
    real = lambda: rng.uniform(-2.0, 2.0, SHAPE)  # noqa: E731
    if kind in ("Normal", "Laplace"):
        return [_t(real(), dt, True), _t(pos(), dt, True), _t(real(), dt)]
    if kind == "Uniform":
        lo = real()
        return [_t(lo, dt, True), _t(lo + pos(), dt, True), _t(lo + 0.3, dt)]
    if kind == "Exponential":
        return [_t(pos(), dt, True), _t(pos(), dt)]
    if kind in ("Bernoulli", "BernoulliLogits"):
        p = rng.uniform(0.05, 0.95, SHAPE) if kind == "Bernoulli" else real()
        return [_t(p, dt, True), _t(rng.integers(0, 2, SHAPE), dt)]
    if kind in ("Categorical", "CategoricalLogits", "OneHotCategorical"):
        p = pos() if kind != "CategoricalLogits" else real()
        idx = rng.integers(0, SHAPE[-1], SHAPE[:-1])
        if kind == "OneHotCategorical":
            return [_t(p, dt, True), _t(np.eye(SHAPE[-1])[idx], dt)]
        return [_t(p, dt, True), gradstep.tensor(idx)]
    raise KeyError(kind)


def _make(lib, kind, *ps):
    D = lib.distributions
    if kind == "Bernoulli":
        return D.Bernoulli(probs=ps[0])
    if kind == "BernoulliLogits":
        return D.Bernoulli(logits=ps[0])
    if kind == "Categorical":
        return D.Categorical(probs=ps[0])
    if kind == "CategoricalLogits":
        return D.Categorical(logits=ps[0])
    if kind == "OneHotCategorical":
        return D.OneHotCategorical(probs=ps[0])
    return getattr(D, kind)(*ps)


KINDS = ["Normal", "Laplace", "Uniform", "Exponential", "Bernoulli", "BernoulliLogits",
         "Categorical", "CategoricalLogits", "OneHotCategorical"]
CONTINUOUS = ["Normal", "Laplace", "Uniform", "Exponential"]


@pytest.mark.parametrize("kind", KINDS)
def test_log_prob_and_entropy_match_torch(kind):
    def fn(lib, *args):
        d = _make(lib, kind, *args[:-1])
        return d.log_prob(args[-1]), d.entropy()

    check(fn, inputs=lambda dt: _params(kind, dt))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("prop", ["mean", "variance", "stddev", "mode"])
def test_moments_match_torch(kind, prop):
    if kind.startswith("Categorical") and prop in ("mean", "variance", "stddev"):
        pytest.skip("torch gives nan for these")

    def fn(lib, *args):
        return getattr(_make(lib, kind, *args[:-1]), prop)

    check(fn, inputs=lambda dt: _params(kind, dt), grad=prop != "mode")


@pytest.mark.parametrize("kind", CONTINUOUS)
def test_cdf_icdf_match_torch(kind):
    def fn(lib, *args):
        d = _make(lib, kind, *args[:-1])
        q = lib.full_like(args[-1], 0.3) + 0.4 * lib.arange(4, dtype=args[-1].dtype) / 4
        return d.cdf(args[-1]), d.icdf(q)

    check(fn, inputs=lambda dt: _params(kind, dt))


def test_categorical_nan_moments_and_shapes():
    probs = gradstep.tensor([[1.0, 3.0], [2.0, 2.0]])
    d = gradstep.distributions.Categorical(probs)
    td = torch.distributions.Categorical(torch.tensor([[1.0, 3.0], [2.0, 2.0]]))
    np.testing.assert_allclose(d.probs.numpy(), td.probs.numpy(), rtol=1e-7)
    assert np.isnan(d.mean.numpy()).all() and d.mean.shape == td.mean.shape
    assert d.batch_shape == tuple(td.batch_shape) and d.event_shape == tuple(td.event_shape)
    assert d.enumerate_support().tolist() == td.enumerate_support().tolist()
    assert d.enumerate_support(False).tolist() == td.enumerate_support(False).tolist()
    assert d.mode.dtype == gradstep.int64 and d.mode.tolist() == td.mode.tolist()


@pytest.mark.parametrize("pair", [("Normal", "Normal"), ("Laplace", "Laplace"),
                                  ("Exponential", "Exponential"), ("Bernoulli", "Bernoulli"),
                                  ("BernoulliLogits", "Bernoulli"),
                                  ("Categorical", "CategoricalLogits"),
                                  ("OneHotCategorical", "OneHotCategorical")])
def test_kl_divergence_matches_torch(pair):
    a, b = pair

    def inputs(dt):
        p = _params(a, dt, seed=1)[:-1]
        q = _params(b, dt, seed=2)[:-1]
        return p + q

    n = len(_params(a, "float64")) - 1

    def fn(lib, *ps):
        return lib.distributions.kl_divergence(_make(lib, a, *ps[:n]), _make(lib, b, *ps[n:]))

    check(fn, inputs=inputs)


def test_kl_uniform_inf_and_independent():
    def fn(lib, lo1, hi1, lo2, hi2):
        D = lib.distributions
        p, q = D.Uniform(lo1, hi1), D.Uniform(lo2, hi2)
        kl_ind = D.kl_divergence(D.Independent(D.Normal(lo1, hi1), 1),
                                 D.Independent(D.Normal(lo2, hi2), 1))
        return D.kl_divergence(p, q), kl_ind

    def inputs(dt):
        lo1, hi1 = np.array([0.0, 0.0, 0.5]), np.array([1.0, 1.0, 1.0])
        lo2, hi2 = np.array([-1.0, 0.5, 0.0]), np.array([2.0, 3.0, 1.5])  # middle one: inf
        return [_t(x, dt, True) for x in (lo1, hi1, lo2, hi2)]

    check(fn, inputs=inputs)


def test_kl_unregistered_pair_raises():
    """No registered pair: torch's message; two exponential families: the Bregman fallback
    refuses a cross-family pair, as torch's does."""
    for lib in (torch, gradstep):
        D = lib.distributions
        with pytest.raises(NotImplementedError, match="No KL"):
            D.kl_divergence(D.Laplace(0.0, 1.0), D.Categorical(lib.ones(2)))
        with pytest.raises(NotImplementedError, match="cross KL"):
            D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(0.5))


def test_independent_shapes_and_log_prob():
    def fn(lib, loc, scale, x):
        d = lib.distributions.Independent(lib.distributions.Normal(loc, scale), 1)
        assert tuple(d.batch_shape) == (3,) and tuple(d.event_shape) == (4,)
        return d.log_prob(x), d.entropy()

    check(fn, inputs=lambda dt: _params("Normal", dt))
    d = gradstep.distributions.Independent(gradstep.distributions.Normal(0.0, 1.0), 0)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        gradstep.distributions.Independent(gradstep.distributions.Normal(0.0, 1.0), 1)
    assert repr(d.support) == "Real()"


def _msg(e):
    return str(e).replace("torch.", "gradstep.").replace("torch", "gradstep")


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.Normal(lib.zeros(2), -lib.ones(2)),
    lambda lib: lib.distributions.Bernoulli(lib.tensor([0.5, 1.5])),
    lambda lib: lib.distributions.Uniform(lib.ones(2), lib.zeros(2)),
    lambda lib: lib.distributions.Exponential(lib.tensor([0.0])),
    lambda lib: lib.distributions.Categorical(lib.tensor([[0.5, -0.5]])),
    lambda lib: lib.distributions.Normal(lib.zeros(2), lib.ones(2)).log_prob(
        lib.tensor([float("nan"), 0.0])),
    lambda lib: lib.distributions.Exponential(lib.ones(2)).log_prob(lib.tensor([-1.0, 0.0])),
    lambda lib: lib.distributions.Categorical(logits=lib.zeros(3)).log_prob(lib.tensor(3)),
    lambda lib: lib.distributions.Normal(lib.zeros(2), lib.ones(2)).log_prob(lib.zeros(3)),
    lambda lib: lib.distributions.Bernoulli(),
])
def test_validation_errors_match_torch(build):
    with pytest.raises(ValueError) as theirs:
        build(torch)
    with pytest.raises(ValueError) as ours:
        build(gradstep)
    assert _msg(ours.value) == _msg(theirs.value)


def test_validation_can_be_switched_off():
    D = gradstep.distributions
    d = D.Normal(gradstep.zeros(1), -gradstep.ones(1), validate_args=False)
    assert d.scale.item() == -1.0
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(gradstep.zeros(1), -gradstep.ones(1))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args(2)


@pytest.mark.parametrize("kind,mean,var", [
    ("Normal", lambda a, b: a, lambda a, b: b * b),
    ("Laplace", lambda a, b: a, lambda a, b: 2 * b * b),
    ("Uniform", lambda a, b: (a + b) / 2, lambda a, b: (b - a) ** 2 / 12),
    ("Exponential", lambda r: 1 / r, lambda r: 1 / r ** 2),
])
def test_sample_statistics(kind, mean, var):
    """n = 40000 draws: the sample mean is within 5 standard errors sqrt(var / n) of the mean;
    the sample variance within 5 of its standard error (about var * sqrt(k / n), k <= 6
    for these distributions' kurtosis), so a failure is a 1-in-a-million event at worst."""
    gradstep.manual_seed(0)
    params = [gradstep.tensor(p) for p in ([0.5, 2.0] if kind != "Exponential" else [1.5])]
    d = getattr(gradstep.distributions, kind)(*params)
    n = 40000
    x = d.sample((n, 2)).numpy().astype(np.float64)
    assert x.shape == (n, 2) and d.sample().shape == ()
    p = [float(v) for v in params]
    m, v = float(mean(*p)), float(var(*p))
    assert abs(x.mean() - m) < 5 * math.sqrt(v / (2 * n))
    assert abs(x.var() - v) < 5 * v * math.sqrt(6 / (2 * n))


def test_discrete_sample_frequencies():
    """Frequencies of 40000 draws within 5 binomial standard errors of the probabilities."""
    gradstep.manual_seed(0)
    D = gradstep.distributions
    p = np.array([0.1, 0.2, 0.3, 0.4])
    n = 40000
    se = 5 * np.sqrt(p * (1 - p) / n)
    c = D.Categorical(gradstep.tensor(p)).sample((n,))
    assert c.dtype == gradstep.int64 and c.shape == (n,)
    assert (np.abs(np.bincount(c.numpy(), minlength=4) / n - p) < se).all()
    oh = D.OneHotCategorical(gradstep.tensor(p)).sample((n,))
    assert oh.shape == (n, 4) and (oh.numpy().sum(-1) == 1).all()
    assert (np.abs(oh.numpy().mean(0) - p) < se).all()
    b = D.Bernoulli(gradstep.tensor(p)).sample((n,))
    assert b.shape == (n, 4) and (np.abs(b.numpy().mean(0) - p) < se).all()


@pytest.mark.parametrize("kind", CONTINUOUS)
def test_rsample_reparameterised_gradient(kind):
    """d rsample / d params equals the derivative of the sampling transform at the drawn
    noise, which is recovered from the sample itself."""
    gradstep.manual_seed(0)
    a, b, _ = (_params(kind, "float64") + [None])[:3]
    ps = [a, b] if kind != "Exponential" else [a]
    d = getattr(gradstep.distributions, kind)(*ps)
    x = d.rsample((5,))
    assert x.requires_grad and x.shape == (5,) + SHAPE
    x.sum().backward()
    xs = x.detach().numpy()
    if kind in ("Normal", "Laplace"):
        np.testing.assert_allclose(a.grad.numpy(), np.full(SHAPE, 5.0), rtol=1e-12)
        expect = ((xs - a.detach().numpy()) / b.detach().numpy()).sum(0)
    elif kind == "Uniform":
        u = (xs - a.detach().numpy()) / (b - a).detach().numpy()
        np.testing.assert_allclose(b.grad.numpy(), u.sum(0), rtol=1e-10)
        return
    else:
        expect = (-xs / a.detach().numpy()).sum(0)
        b = a
    np.testing.assert_allclose(b.grad.numpy(), expect, rtol=1e-10, atol=1e-12)


def test_expand_matches_torch():
    def fn(lib, loc, scale, x):
        d = lib.distributions.Normal(loc[0], scale[0]).expand((2, 3, 4))
        assert tuple(d.batch_shape) == (2, 3, 4)
        c = lib.distributions.Categorical(logits=loc).expand((2, 3))
        return d.log_prob(x), c.log_prob(lib.zeros(2, 3, dtype=lib.long))

    check(fn, inputs=lambda dt: _params("Normal", dt))

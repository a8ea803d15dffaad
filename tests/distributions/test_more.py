"""Cauchy, Gumbel, Geometric, HalfNormal, StudentT, Chi2, Binomial, (Logit)RelaxedBernoulli
and MixtureSameFamily against torch: log_prob, entropy, moments, cdf/icdf and their gradients
(tests/helpers.check: float64 rtol 1e-10; float32 rtol 1e-5 scaled by 10 where lgamma/digamma
enter, which torch evaluates in float32 and gradstep in float64 rounded once), then shapes and
sampling statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check

SHAPE = (3, 4)


def _t(arr, dt, grad=False):
    return gradstep.tensor(np.asarray(arr, dtype=dt), requires_grad=grad)


def _inputs(kind, dt, seed=0):
    rng = np.random.default_rng(seed)
    pos = lambda: rng.uniform(0.5, 2.0, SHAPE)  # noqa: E731
    real = lambda: rng.uniform(-2.0, 2.0, SHAPE)  # noqa: E731
    if kind in ("Cauchy", "Gumbel"):
        return [_t(real(), dt, True), _t(pos(), dt, True), _t(real(), dt)]
    if kind in ("HalfNormal", "Chi2"):
        return [_t(pos(), dt, True), _t(pos(), dt)]
    if kind == "Geometric":
        return [_t(rng.uniform(0.1, 0.9, SHAPE), dt, True),
                _t(rng.integers(0, 5, SHAPE), dt)]
    if kind == "StudentT":
        return [_t(pos() * 3, dt, True), _t(real(), dt, True), _t(pos(), dt, True),
                _t(real(), dt)]
    if kind == "Binomial":
        return [_t(real(), dt, True), _t(rng.integers(0, 6, SHAPE), dt)]
    if kind == "LogitRelaxedBernoulli":
        return [_t(pos(), dt, True), _t(real(), dt, True), _t(real(), dt)]
    if kind == "RelaxedBernoulli":
        return [_t(pos(), dt, True), _t(real(), dt, True), _t(rng.uniform(0.1, 0.9, SHAPE), dt)]
    raise KeyError(kind)


def _make(lib, kind, *ps):
    D = lib.distributions
    if kind == "Binomial":
        return D.Binomial(5, logits=ps[0])
    if kind == "LogitRelaxedBernoulli":  # not exported at the top, as in torch
        return D.relaxed_bernoulli.LogitRelaxedBernoulli(ps[0], logits=ps[1])
    if kind == "RelaxedBernoulli":
        return D.RelaxedBernoulli(ps[0], logits=ps[1])
    return getattr(D, kind)(*ps)


KINDS = {
    "Cauchy": ("cdf", "icdf", "entropy", "mode"),
    "Gumbel": ("cdf", "icdf", "entropy", "mean", "variance", "mode"),
    "Geometric": ("entropy", "mean", "variance", "mode"),
    "HalfNormal": ("cdf", "icdf", "entropy", "mean", "variance", "mode"),
    "StudentT": ("entropy", "mean", "variance", "mode"),
    "Chi2": ("entropy", "mean", "variance", "mode"),
    "Binomial": ("entropy", "mean", "variance", "mode"),
    "LogitRelaxedBernoulli": (),
    "RelaxedBernoulli": (),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_matches_torch(kind):
    def fn(lib, *args):
        d = _make(lib, kind, *args[:-1])
        x = args[-1]
        out = [d.log_prob(x)]
        for what in KINDS[kind]:
            if what == "cdf":
                out.append(d.cdf(x))
            elif what == "icdf":
                out.append(d.icdf(lib.full_like(x, 0.3) + 0.1 * lib.arange(4, dtype=x.dtype)))
            elif what == "entropy":
                out.append(d.entropy())
            else:
                out.append(getattr(d, what))
        return out

    check(fn, inputs=lambda dt: _inputs(kind, dt), scale=10)


def test_studentt_moment_edges_match_torch():
    def fn(lib, df, loc, scale):
        d = lib.distributions.StudentT(df, loc, scale)
        return d.mean, d.variance

    def inputs(dt):
        return [_t([0.5, 1.5, 2.5, 4.0], dt, True), _t([1.0, 2.0, 3.0, 4.0], dt, True),
                _t([1.0, 2.0, 0.5, 1.5], dt, True)]

    check(fn, inputs=inputs)


def test_mixture_same_family_matches_torch():
    def fn(lib, logits, loc, scale, x):
        D = lib.distributions
        m = D.MixtureSameFamily(D.Categorical(logits=logits), D.Normal(loc, scale))
        assert tuple(m.batch_shape) == (3,) and tuple(m.event_shape) == ()
        mv = D.MixtureSameFamily(D.Categorical(logits=logits),
                                 D.Independent(D.Normal(loc.unsqueeze(-1).expand(3, 4, 2),
                                                        scale.unsqueeze(-1).expand(3, 4, 2)), 1))
        return (m.log_prob(x[:, 0]), m.mean, m.variance, m.cdf(x[:, 1]),
                mv.log_prob(x[:, :2]), mv.mean, mv.variance)

    def inputs(dt):
        rng = np.random.default_rng(0)
        return [_t(rng.uniform(-1, 1, SHAPE), dt, True), _t(rng.uniform(-2, 2, SHAPE), dt, True),
                _t(rng.uniform(0.5, 2, SHAPE), dt, True), _t(rng.uniform(-2, 2, SHAPE), dt)]

    check(fn, inputs=inputs)
    D = gradstep.distributions
    with pytest.raises(ValueError, match="does not equal"):
        D.MixtureSameFamily(D.Categorical(logits=gradstep.zeros(3)),
                            D.Normal(gradstep.zeros(4), gradstep.ones(4)))
    gradstep.manual_seed(0)
    m = D.MixtureSameFamily(D.Categorical(probs=gradstep.tensor([0.3, 0.7])),
                            D.Normal(gradstep.tensor([-2.0, 3.0]), gradstep.tensor([0.5, 1.0])))
    x = m.sample((40000,)).numpy()
    mean, var = float(m.mean), float(m.variance)
    assert x.shape == (40000,) and abs(x.mean() - mean) < 5 * np.sqrt(var / 40000)


@pytest.mark.parametrize("build,mean,var", [
    (lambda D: D.Geometric(gradstep.tensor(0.3)), 0.7 / 0.3, 0.7 / 0.09),
    (lambda D: D.Binomial(10, gradstep.tensor(0.3)), 3.0, 2.1),
    (lambda D: D.Gumbel(gradstep.tensor(1.0), gradstep.tensor(2.0)), 1 + 2 * 0.5772156649,
     (np.pi * 2) ** 2 / 6),
    (lambda D: D.HalfNormal(gradstep.tensor(2.0)), 2 * np.sqrt(2 / np.pi), 4 * (1 - 2 / np.pi)),
    (lambda D: D.StudentT(gradstep.tensor(6.0)), 0.0, 1.5),
    (lambda D: D.Chi2(gradstep.tensor(3.0)), 3.0, 6.0),
    (lambda D: D.RelaxedBernoulli(gradstep.tensor(0.5), gradstep.tensor(0.3)), None, None),
])
def test_sample_statistics(build, mean, var):
    """Means of 40000 draws within 5 standard errors sqrt(var / n) of the mean."""
    gradstep.manual_seed(0)
    d = build(gradstep.distributions)
    x = d.sample((40000,)).numpy().astype(np.float64)
    assert x.shape == (40000,)
    if mean is None:
        assert ((x > 0) & (x < 1)).all()
        return
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / 40000)


def test_geometric_validation_and_binomial_support_match_torch():
    for lib in (torch, gradstep):
        with pytest.raises(ValueError, match="to be positive but found invalid values"):
            lib.distributions.Geometric(lib.tensor([0.0, 0.5]))
        b = lib.distributions.Binomial(4, lib.tensor([0.2, 0.5]))
        assert b.enumerate_support().shape == (5, 2)
        with pytest.raises(ValueError, match="support"):
            b.log_prob(lib.tensor([5.0, 1.0]))


def test_relaxed_one_hot_and_multinomial_match_torch():
    def fn(lib, temp, logits, x, counts):
        D = lib.distributions
        r = D.RelaxedOneHotCategorical(temp, logits=logits)
        e = D.relaxed_categorical.ExpRelaxedCategorical(temp, logits=logits)
        m = D.Multinomial(6, logits=logits)
        return (r.log_prob(x), e.log_prob(x.log()), m.log_prob(counts), m.entropy(), m.mean,
                m.variance)

    def inputs(dt):
        rng = np.random.default_rng(0)
        x = rng.uniform(0.1, 1.0, SHAPE)
        counts = np.stack([rng.multinomial(6, [0.1, 0.2, 0.3, 0.4]) for _ in range(3)])
        return [_t(1.5, dt, True), _t(rng.uniform(-1, 1, SHAPE), dt, True),
                _t(x / x.sum(-1, keepdims=True), dt), _t(counts, dt)]

    check(fn, inputs=inputs, scale=10)


def test_relaxed_one_hot_and_multinomial_sampling():
    """Shapes, the simplex, and Multinomial count means within 5 standard errors."""
    gradstep.manual_seed(0)
    D = gradstep.distributions
    logits = gradstep.tensor([0.1, 0.5, -0.3], requires_grad=True)
    r = D.RelaxedOneHotCategorical(gradstep.tensor(0.7), logits=logits)
    x = r.rsample((5, 2))
    assert x.shape == (5, 2, 3) and np.allclose(x.detach().numpy().sum(-1), 1.0)
    x[..., 0].sum().backward()
    assert logits.grad is not None and np.isfinite(logits.grad.numpy()).all()
    p = np.array([0.2, 0.3, 0.5])
    m = D.Multinomial(10, gradstep.tensor(p))
    c = m.sample((20000,)).numpy()
    assert c.shape == (20000, 3) and (c.sum(-1) == 10).all()
    assert (np.abs(c.mean(0) - 10 * p) < 5 * np.sqrt(10 * p * (1 - p) / 20000)).all()


@pytest.mark.parametrize("kind", ["Cauchy", "Gumbel", "Geometric", "HalfNormal", "Binomial"])
def test_kl_matches_torch(kind):
    n = len(_inputs(kind, "float64")) - 1

    def inputs(dt):
        return _inputs(kind, dt, 1)[:n] + _inputs(kind, dt, 2)[:n]

    def fn(lib, *ps):
        return lib.distributions.kl_divergence(_make(lib, kind, *ps[:n]),
                                               _make(lib, kind, *ps[n:]))

    check(fn, inputs=inputs, scale=10)


def test_kl_binomial_counts_match_torch():
    for lib in (torch, gradstep):
        D = lib.distributions
        kl = D.kl_divergence(D.Binomial(lib.tensor([5.0, 6.0]), lib.tensor([0.3, 0.3])),
                             D.Binomial(lib.tensor([5.0, 5.0]), lib.tensor([0.4, 0.4])))
        assert np.isinf(kl.numpy()[1]) and np.isfinite(kl.numpy()[0])
        with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
            D.kl_divergence(D.Binomial(3, lib.tensor(0.5)), D.Binomial(4, lib.tensor(0.5)))


def _pos(dt, seed, low=0.5, high=2.0, grad=True):
    rng = np.random.default_rng(seed)
    return _t(rng.uniform(low, high, SHAPE), dt, grad)


EXTRA = {
    "HalfCauchy": (lambda D, a, b: D.HalfCauchy(a), ("cdf", "icdf", "entropy", "mean", "mode")),
    "Pareto": (lambda D, a, b: D.Pareto(a, b + 1.0), ("entropy", "mean", "variance", "mode")),
    "Weibull": (lambda D, a, b: D.Weibull(a, b), ("entropy", "mean", "variance", "mode")),
    "InverseGamma": (lambda D, a, b: D.InverseGamma(a * 2, b),
                     ("entropy", "mean", "variance", "mode")),
    "NegativeBinomial": (lambda D, a, b: D.NegativeBinomial(a * 3, logits=b - 1.2),
                         ("mean", "variance", "mode")),
}


@pytest.mark.parametrize("kind", sorted(EXTRA))
def test_extra_match_torch(kind):
    build, props = EXTRA[kind]

    def fn(lib, a, b, x):
        d = build(lib.distributions, a, b)
        if kind == "Pareto":
            x = x + d.scale.detach()  # in the support
        if kind == "NegativeBinomial":
            x = x.floor()
        out = [d.log_prob(x)]
        for p in props:
            if p == "cdf":
                out.append(d.cdf(x))
            elif p == "icdf":
                out.append(d.icdf(lib.full_like(x, 0.35)))
            elif p == "entropy":
                out.append(d.entropy())
            else:
                out.append(getattr(d, p))
        return out

    check(fn, inputs=lambda dt: [_pos(dt, 1), _pos(dt, 2), _pos(dt, 3, 0.2, 4.0, False)],
          scale=10)
    gradstep.manual_seed(0)
    d = build(gradstep.distributions, _pos("float64", 1, grad=False), _pos("float64", 2,
                                                                         grad=False))
    s = d.sample((2,))
    assert s.shape == (2,) + SHAPE and bool(d.support.check(s).all())


EXTRA2 = {
    "Kumaraswamy": (lambda D, a, b: D.Kumaraswamy(a, b), ("entropy", "mean", "variance", "mode")),
    "FisherSnedecor": (lambda D, a, b: D.FisherSnedecor(a * 2, b * 3),
                       ("mean", "variance", "mode")),
    "LogisticNormal": (lambda D, a, b: D.LogisticNormal(a - 1, b), ()),
}


@pytest.mark.parametrize("kind", sorted(EXTRA2))
def test_extra2_match_torch(kind):
    build, props = EXTRA2[kind]

    def fn(lib, a, b, x):
        d = build(lib.distributions, a, b)
        if kind == "Kumaraswamy":
            x = x / 4.5
        if kind == "LogisticNormal":
            x = lib.cat([x, lib.ones_like(x[..., :1])], -1)
            x = x / x.sum(-1, keepdim=True)
        out = [d.log_prob(x)] + [d.entropy() if p == "entropy" else getattr(d, p)
                                 for p in props]
        return out

    check(fn, inputs=lambda dt: [_pos(dt, 1), _pos(dt, 2), _pos(dt, 3, 0.2, 4.0, False)],
          scale=10)
    gradstep.manual_seed(0)
    d = build(gradstep.distributions, _pos("float64", 1, grad=False),
              _pos("float64", 2, grad=False))
    s = d.sample((2,))
    assert tuple(s.shape) == (2,) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert bool(d.support.check(s).all())


def test_cumulative_distribution_transform_matches_torch():
    def fn(lib, loc, scale, x):
        T = lib.distributions.transforms
        t = T.CumulativeDistributionTransform(lib.distributions.Normal(loc, scale))
        y = t(x)
        return y, t.inv(y), t.log_abs_det_jacobian(x, y)

    check(fn, inputs=lambda dt: [_pos(dt, 1), _pos(dt, 2), _pos(dt, 3, -1.0, 3.0, False)])

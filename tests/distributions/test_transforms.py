"""Transforms and TransformedDistribution/LogNormal against torch: forward, inverse and
log|det J| with gradients (tests/helpers.check: float64 rtol 1e-10; float32 rtol 1e-5, a few
elementwise ops each within an ulp of torch's), shapes, constraints, caching and KL."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def _x(dt, shape=(3, 4), low=-2.0, high=2.0, seed=0, grad=True):
    rng = np.random.default_rng(seed)
    return gradstep.tensor(rng.uniform(low, high, shape).astype(dt), requires_grad=grad)


TRANSFORMS = {
    "Exp": lambda T, lib: T.ExpTransform(),
    "Sigmoid": lambda T, lib: T.SigmoidTransform(),
    "Tanh": lambda T, lib: T.TanhTransform(),
    "Softplus": lambda T, lib: T.SoftplusTransform(),
    "Affine": lambda T, lib: T.AffineTransform(0.5, -2.0),
    "AffineTensor": lambda T, lib: T.AffineTransform(lib.tensor([1.0, 2.0, 3.0, 4.0]),
                                                     lib.tensor([0.5, -1.0, 2.0, 3.0]),
                                                     event_dim=1),
    "Power": lambda T, lib: T.PowerTransform(lib.tensor(2.5, dtype=lib.float64)),  # see NOTE below
    "StickBreaking": lambda T, lib: T.StickBreakingTransform(),
    "Compose": lambda T, lib: T.ComposeTransform([T.AffineTransform(1.0, 2.0),
                                                  T.TanhTransform()]),
    "Independent": lambda T, lib: T.IndependentTransform(T.SigmoidTransform(), 1),
    "LowerCholesky": lambda T, lib: T.LowerCholeskyTransform(),
    "InvExp": lambda T, lib: T.ExpTransform().inv,
}
POSITIVE_DOMAIN = {"Power", "InvExp"}
# NOTE: a float64 exponent: with a float32 0-dim exponent on float64 x, torch's pow backward
# forms exponent - 1 in float32 (5e-8 relative off gradstep's); a core pow quirk, not this one.


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_matches_torch(name):
    shape = (3, 4, 4) if name == "LowerCholesky" else (3, 4)

    def fn(lib, x):
        t = TRANSFORMS[name](lib.distributions.transforms, lib)
        y = t(x)
        out = [y, t.inv(y)]
        if name != "LowerCholesky":
            out.append(t.log_abs_det_jacobian(x, y))
        assert tuple(t.forward_shape(x.shape)) == tuple(y.shape)
        assert tuple(t.inverse_shape(y.shape)) == tuple(x.shape)
        assert repr(t.domain).replace("gradstep", "torch") == repr(t.domain)
        return out

    low = 0.2 if name in POSITIVE_DOMAIN else -2.0
    check(fn, inputs=lambda dt: [_x(dt, shape, low=low)])
    ours = TRANSFORMS[name](gradstep.distributions.transforms, gradstep)
    theirs = TRANSFORMS[name](torch.distributions.transforms, torch)
    assert repr(ours.domain) == repr(theirs.domain)
    assert repr(ours.codomain) == repr(theirs.codomain)
    assert repr(ours).split("(")[0] == repr(theirs).split("(")[0]
    assert ours.bijective == theirs.bijective


def test_softmax_transform_and_equality():
    check(lambda lib, x: lib.distributions.transforms.SoftmaxTransform()(x),
          inputs=lambda dt: [_x(dt)])
    T = gradstep.distributions.transforms
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.SigmoidTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.ExpTransform().inv == T.ExpTransform().inv
    assert T.ComposeTransform([T.ExpTransform()]).inv.inv.parts == [T.ExpTransform()]
    with pytest.raises(TypeError):
        hash(T.ExpTransform())  # as torch: __eq__ without __hash__
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)


def test_cache_returns_the_same_objects():
    T = gradstep.distributions.transforms
    t = T.ExpTransform(cache_size=1)
    x = gradstep.randn(3)
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    assert T.ExpTransform().with_cache(1)._cache_size == 1


DISTS = {
    "TanhNormal": lambda D, T, lo, sc: D.TransformedDistribution(
        D.Normal(lo, sc), [T.AffineTransform(0.0, 0.5), T.TanhTransform()]),
    "Logistic": lambda D, T, lo, sc: D.TransformedDistribution(
        D.Uniform(lo.detach() * 0 + 0.0, 1.0 + lo.detach() * 0),
        [T.SigmoidTransform().inv, T.AffineTransform(lo, sc)]),
    "LogNormal": lambda D, T, lo, sc: D.LogNormal(lo, sc),
    "IndependentExp": lambda D, T, lo, sc: D.TransformedDistribution(
        D.Normal(lo, sc), T.IndependentTransform(T.ExpTransform(), 1)),
}


@pytest.mark.parametrize("name", sorted(DISTS))
def test_transformed_distribution_matches_torch(name):
    def fn(lib, lo, sc, x):
        d = DISTS[name](lib.distributions, lib.distributions.transforms, lo, sc)
        if name == "TanhNormal":
            x = lib.tanh(x)
        elif name in ("LogNormal", "IndependentExp"):
            x = lib.exp(x)
        out = [d.log_prob(x)]
        if name != "IndependentExp":
            out += [d.cdf(x), d.icdf(lib.full_like(x, 0.3))]
        if name == "LogNormal":
            out += [d.mean, d.variance, d.mode, d.entropy()]
        assert tuple(d.batch_shape) + tuple(d.event_shape) == tuple(x.shape)
        return out

    def inputs(dt):
        return [_x(dt, seed=1), _x(dt, low=0.5, high=2.0, seed=2), _x(dt, seed=3, grad=False)]

    check(fn, inputs=inputs)


def test_transformed_distribution_shapes_support_and_sampling():
    D, T = gradstep.distributions, gradstep.distributions.transforms
    d = D.TransformedDistribution(D.Normal(gradstep.zeros(5), gradstep.ones(5)),
                                  [T.StickBreakingTransform()])
    td = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(torch.zeros(5), torch.ones(5)),
        [torch.distributions.transforms.StickBreakingTransform()])
    assert tuple(d.batch_shape) == tuple(td.batch_shape) and tuple(d.event_shape) == (6,)
    assert repr(d.support) == repr(td.support)
    gradstep.manual_seed(0)
    s = d.sample((7,))
    assert s.shape == (7, 6) and np.allclose(s.numpy().sum(-1), 1.0)
    ln = D.LogNormal(gradstep.tensor(0.2), gradstep.tensor(0.5))
    x = ln.sample((40000,)).numpy()
    mean, var = float(ln.mean), float(ln.variance)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / 40000)  # 5 standard errors
    assert ln.expand((3,)).sample().shape == (3,)
    loc = gradstep.tensor([0.0, 1.0], requires_grad=True)
    r = D.TransformedDistribution(D.Normal(loc, 1.0), [T.ExpTransform()]).rsample()
    r.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), r.detach().numpy(), rtol=1e-6)  # d e^y/dloc


def test_kl_lognormal_pair_matches_torch():
    def fn(lib, a, b, c, d):
        D = lib.distributions
        return D.kl_divergence(D.LogNormal(a, b), D.LogNormal(c, d))

    check(fn, inputs=lambda dt: [_x(dt, seed=4), _x(dt, low=0.5, seed=5), _x(dt, seed=6),
                                 _x(dt, low=0.5, seed=7)])
    D, T = gradstep.distributions, gradstep.distributions.transforms
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.TransformedDistribution(D.Normal(0.0, 1.0), [T.ExpTransform()]),
                        D.TransformedDistribution(D.Normal(0.0, 1.0), [T.TanhTransform()]))

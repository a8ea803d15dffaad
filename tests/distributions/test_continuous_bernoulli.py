"""ContinuousBernoulli against torch: log_prob, cdf, icdf, moments and entropy (both
parameterisations, inside and outside the Taylor window around probs = 1/2) with gradients
(tests/helpers.check: float64 rtol 1e-10; float32 rtol 1e-5, as every op is elementwise and
within an ulp or two of torch's kernels), seeded draws, rsample gradients, its KL pairs,
expand, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.distributions.draw_helpers import assert_same_draws, error_message
from tests.helpers import check

# 0.4995 and 0.5005 are inside the (0.499, 0.501) window where torch switches to Taylor forms
PROBS = [0.05, 0.3, 0.4995, 0.5005, 0.8, 0.97]
VALUES = [0.1, 0.5, 0.999, 0.02, 0.7, 0.3]


def _inputs(dt, logits=False):
    p = np.array(PROBS)
    par = np.log(p) - np.log1p(-p) if logits else p
    return [gradstep.tensor(par.astype(dt), requires_grad=True),
            gradstep.tensor(np.array(VALUES, dtype=dt), requires_grad=True)]


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_values_and_gradients_match_torch(param):
    def fn(lib, par, x):
        d = lib.distributions.ContinuousBernoulli(**{param: par})
        return [d.log_prob(x), d.cdf(x), d.icdf(x), d.mean, d.variance, d.stddev, d.entropy(),
                d.probs, d.logits]

    check(fn, inputs=lambda dt: _inputs(dt, param == "logits"))


def test_exponential_family_entropy_and_log_normalizer_match_torch():
    """The generic Bregman entropy (through _natural_params and _log_normalizer)."""
    from torch.distributions.exp_family import ExponentialFamily as TE

    from gradstep.distributions.exp_family import ExponentialFamily as GE

    def fn(lib, logits, _):
        d = lib.distributions.ContinuousBernoulli(logits=logits)
        base = GE if lib is gradstep else TE
        return [base.entropy(d), d._log_normalizer(logits)]

    check(fn, inputs=lambda dt: _inputs(dt, logits=True))


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_seeded_draws_match_torch(dt):
    def fn(lib):
        d = lib.distributions.ContinuousBernoulli(lib.tensor(np.array(PROBS, dtype=dt)))
        return [d.sample((3,)), d.rsample((2,)), d.sample()]

    assert_same_draws(fn)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_rsample_gradient_matches_torch(dt):
    res = {}
    for lib in (gradstep, torch):
        lib.manual_seed(3)
        p = lib.tensor(np.array(PROBS, dtype=dt), requires_grad=True)
        x = lib.distributions.ContinuousBernoulli(p).rsample((4,))
        (x * x).sum().backward()
        res[lib] = p.grad.numpy()
    np.testing.assert_allclose(res[gradstep], res[torch], rtol=1e-5 if dt == "float32" else 1e-12)


def _kl_pairs(lib, dt):
    D = lib.distributions
    t = lambda v: lib.tensor(np.array(v, dtype=dt))  # noqa: E731
    cb = D.ContinuousBernoulli(t([0.2, 0.4995, 0.9]))
    return cb, [
        (cb, D.ContinuousBernoulli(logits=t([1.0, -0.5, 0.0]))),
        (D.Beta(t([0.5, 2.0, 3.0]), t([1.5, 2.0, 0.7])), cb),
        (cb, D.Exponential(t([0.5, 2.0, 1.0]))),
        (cb, D.Normal(t([0.1, 0.5, -1.0]), t([1.0, 0.3, 2.0]))),
        (cb, D.Uniform(t([-0.5, 0.1, -1.0]), t([1.5, 2.0, 0.9]))),
        (cb, D.Pareto(t([1.0, 2.0, 1.0]), t([1.0, 2.0, 3.0]))),
        (D.Uniform(t([0.1, 0.0, 0.2]), t([0.9, 0.5, 1.0])), cb),
        (D.Exponential(t([1.0, 2.0, 3.0])), cb),
        (D.Gamma(t([1.0, 2.0, 3.0]), t([1.0, 2.0, 3.0])), cb),
        (D.Gumbel(t([0.0, 1.0, 2.0]), t([1.0, 2.0, 3.0])), cb),
        (D.Laplace(t([0.0, 1.0, 2.0]), t([1.0, 2.0, 3.0])), cb),
        (D.Normal(t([0.0, 1.0, 2.0]), t([1.0, 2.0, 3.0])), cb),
        (D.Pareto(t([1.0, 2.0, 1.0]), t([1.0, 2.0, 3.0])), cb),
    ]


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_kl_pairs_match_torch(dt):
    """torch's KL registrations involving ContinuousBernoulli (inf where p's support leaves
    [0, 1] or q's covers less than p's).  Beta entropy enters through lgamma/digamma, which
    torch evaluates in float32 and gradstep in float64 rounded once: float32 rtol 1e-5 * 10."""
    _, ours = _kl_pairs(gradstep, dt)
    _, theirs = _kl_pairs(torch, dt)
    tol = dict(rtol=1e-4, atol=1e-5) if dt == "float32" else dict(rtol=1e-10, atol=1e-12)
    for (p, q), (tp, tq) in zip(ours, theirs):
        a = gradstep.distributions.kl_divergence(p, q).numpy()
        b = torch.distributions.kl_divergence(tp, tq).numpy()
        np.testing.assert_allclose(a, b, err_msg=f"{type(p).__name__}-{type(q).__name__}", **tol)
    with pytest.raises(NotImplementedError):  # no closed form, as in torch
        D = gradstep.distributions
        D.kl_divergence(D.ContinuousBernoulli(0.3), D.Beta(1.0, 2.0))


def test_shapes_constraints_and_expand():
    for lib in (gradstep, torch):
        D = lib.distributions
        d = D.ContinuousBernoulli(logits=lib.tensor([[0.3], [-1.0]]))
        assert tuple(d.batch_shape) == (2, 1) and tuple(d.event_shape) == ()
        e = d.expand((2, 3))
        assert tuple(e.batch_shape) == (2, 3) and tuple(e.sample((4,)).shape) == (4, 2, 3)
        assert tuple(e.param_shape) == (2, 3) and e._lims == d._lims
        assert tuple(D.ContinuousBernoulli(0.3).batch_shape) == ()
        assert D.ContinuousBernoulli.has_rsample
        assert repr(D.ContinuousBernoulli.support) == "Interval(lower_bound=0.0, upper_bound=1.0)"
        assert sorted(D.ContinuousBernoulli.arg_constraints) == ["logits", "probs"]
    ours = gradstep.distributions.ContinuousBernoulli(gradstep.tensor([0.2, 0.7])).expand((3, 2))
    theirs = torch.distributions.ContinuousBernoulli(torch.tensor([0.2, 0.7])).expand((3, 2))
    np.testing.assert_allclose(ours.log_prob(gradstep.full((3, 2), 0.4)).numpy(),
                               theirs.log_prob(torch.full((3, 2), 0.4)).numpy(),
                               rtol=1e-5, atol=1e-6)  # helpers' float32 tolerance
    with pytest.raises(NotImplementedError):
        _ = ours.mode


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.ContinuousBernoulli(lib.tensor([1.5]), validate_args=True),
    lambda lib: lib.distributions.ContinuousBernoulli(),
    lambda lib: lib.distributions.ContinuousBernoulli(0.3, logits=0.1),
    lambda lib: lib.distributions.ContinuousBernoulli(lib.tensor([0.3])).log_prob(
        lib.tensor([1.5])),
])
def test_validation_errors_match_torch(build):
    with pytest.raises(ValueError) as theirs:
        build(torch)
    with pytest.raises(ValueError) as ours:
        build(gradstep)
    assert error_message(ours.value) == error_message(theirs.value)

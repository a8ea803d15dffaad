"""gradcheck (float64 finite differences) of log_prob / entropy / KL w.r.t. the parameters."""

from __future__ import annotations

import numpy as np
import pytest

import gradstep
from gradstep.autograd import gradcheck

D = gradstep.distributions
T = gradstep.distributions.transforms


def _p(seed, shape=(2, 3), low=0.5, high=2.0):
    rng = np.random.default_rng(seed)
    return gradstep.tensor(rng.uniform(low, high, shape), dtype=gradstep.float64,
                           requires_grad=True)


CASES = {
    "Normal": (lambda a, b: D.Normal(a - 1, b).log_prob(gradstep.full((2, 3), 0.3,
                                                                      dtype=gradstep.float64))),
    "Categorical": (lambda a, b: D.Categorical(logits=a * b).entropy()
                    + D.Categorical(probs=a).log_prob(gradstep.tensor([0, 2]))),
    "Bernoulli": (lambda a, b: D.Bernoulli(logits=a - b).entropy()),
    "Beta": (lambda a, b: D.Beta(a, b).log_prob(gradstep.full((2, 3), 0.4, dtype=gradstep.float64))
             + D.Beta(a, b).entropy()),
    "Gamma": (lambda a, b: D.Gamma(a, b).log_prob(b) + D.Gamma(a, b).entropy()),
    "Dirichlet": (lambda a, b: D.Dirichlet(a).log_prob(b / b.sum(-1, keepdim=True))),
    "MVN": (lambda a, b: D.MultivariateNormal(a[0], scale_tril=gradstep.diag_embed(b[0])
                                              + gradstep.tril(a[1:].T @ a[1:], -1)
                                              ).log_prob(b[1])),
    "KLNormal": (lambda a, b: D.kl_divergence(D.Normal(a, b), D.Normal(b, a))),
    "KLGamma": (lambda a, b: D.kl_divergence(D.Gamma(a, b), D.Gamma(b, a))),
    "TanhNormal": (lambda a, b: D.TransformedDistribution(
        D.Normal(a - 1, b), [T.TanhTransform()]).log_prob(gradstep.full(
            (2, 3), 0.2, dtype=gradstep.float64))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    assert gradcheck(CASES[name], (_p(0), _p(1)))

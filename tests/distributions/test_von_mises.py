"""VonMises against torch: log_prob, circular mean/variance, mode, gradients
(tests/helpers.check: float64 rtol 1e-10, float32 rtol 1e-5; polynomial Bessel fits and
elementwise ops only), seeded draws from the float64 rejection loop (tiny to large kappa,
including the kappa < 1e-5 Taylor branch) and where the generator ends, expand, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.distributions.draw_helpers import assert_same_draws, error_message
from tests.helpers import check

LOC = [0.3, -2.0, 1.0, 3.0, -0.5]
KAPPA = [0.5, 4.0, 1e-6, 3.74, 50.0]  # both sides of the 3.75 switch in the Bessel fits


def _inputs(dt):
    t = lambda v, g=True: gradstep.tensor(np.array(v, dtype=dt), requires_grad=g)  # noqa: E731
    return [t(LOC), t(KAPPA), t([0.1, 0.2, 3.0, -7.0, 12.0])]


def test_values_and_gradients_match_torch():
    def fn(lib, loc, kappa, x):
        d = lib.distributions.VonMises(loc, kappa)
        return [d.log_prob(x), d.mean, d.mode, d.variance, d.stddev]

    check(fn, inputs=_inputs)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_seeded_draws_match_torch(dt):
    def fn(lib):
        d = lib.distributions.VonMises(lib.tensor(np.array(LOC, dtype=dt)),
                                       lib.tensor(np.array(KAPPA, dtype=dt)))
        return [d.sample((50,)), d.sample()]

    ours = assert_same_draws(fn)
    assert ours[0].dtype == getattr(gradstep, dt)
    assert np.all(np.abs(ours[0].numpy()) <= np.pi)


def test_sample_statistics():
    """4000 draws at kappa = 2: the mean resultant length E[cos(x - loc)] = I1/I0(2) =
    0.697775 within 5 standard errors (its sd is below 0.5, so 5 * 0.5 / sqrt(4000))."""
    gradstep.manual_seed(1)
    d = gradstep.distributions.VonMises(gradstep.tensor(1.0), gradstep.tensor(2.0))
    x = d.sample((4000,)).numpy()
    assert abs(np.cos(x - 1.0).mean() - 0.697775) < 5 * 0.5 / np.sqrt(4000)
    assert abs(1 - d.variance.item() - 0.697775) < 1e-5


def test_shapes_expand_and_constraints():
    for lib in (gradstep, torch):
        D = lib.distributions
        d = D.VonMises(lib.tensor([[0.0], [1.0]]), lib.tensor([1.0, 2.0, 3.0]))
        assert tuple(d.batch_shape) == (2, 3) and tuple(d.event_shape) == ()
        e = d.expand((4, 2, 3))
        assert type(e) is D.VonMises and tuple(e.batch_shape) == (4, 2, 3)
        assert tuple(e.sample((2,)).shape) == (2, 4, 2, 3)
        assert not D.VonMises.has_rsample and repr(D.VonMises.support) == "Real()"
        assert sorted(D.VonMises.arg_constraints) == ["concentration", "loc"]
        with pytest.raises(NotImplementedError):
            d.rsample()


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.VonMises(lib.tensor([0.0]), lib.tensor([0.0])),
    lambda lib: lib.distributions.VonMises(lib.tensor([0.0]), lib.tensor([1.0])).log_prob(
        lib.tensor([float("nan")])),
])
def test_validation_errors_match_torch(build):
    with pytest.raises(ValueError) as theirs:
        build(torch)
    with pytest.raises(ValueError) as ours:
        build(gradstep)
    assert error_message(ours.value) == error_message(theirs.value)

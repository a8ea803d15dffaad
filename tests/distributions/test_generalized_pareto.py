"""GeneralizedPareto against torch: log_prob, cdf, icdf, log survival, moments, entropy and
support (concentration positive, zero and negative) with gradients (tests/helpers.check:
float64 rtol 1e-10, float32 rtol 1e-5; every op is elementwise), seeded draws, rsample
gradients, expand, validation.

torch 2.13's log_prob/cdf compare the concentration with a default-dtype zero and raise
"Double did not match Float" for float64 parameters; the oracle runs those in torch with
float64 as its default dtype (``torch_default_dtype``), where the same formulas go through.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.distributions.draw_helpers import (
    assert_same_draws,
    error_message,
    torch_default_dtype,
)
from tests.helpers import check

LOC = [0.1, 0.0, -1.0, 2.0]
SCALE = [2.0, 1.0, 0.5, 1.5]
CONC = [0.4, 0.0, -0.3, 1.2]  # heavy tail, exponential limit, bounded, infinite variance
VALUES = [0.5, 3.0, -0.2, 2.5]  # each inside its support
U = [0.2, 0.5, 0.9, 0.999]


def _inputs(dt):
    t = lambda v, g=True: gradstep.tensor(np.array(v, dtype=dt), requires_grad=g)  # noqa: E731
    return [t(LOC), t(SCALE), t(CONC), t(VALUES), t(U)]


def test_values_and_gradients_match_torch():
    def fn(lib, loc, scale, conc, x, u):
        d = lib.distributions.GeneralizedPareto(loc, scale, conc)
        return [d.log_prob(x), d.cdf(x), d.log_cdf(x), d.log_survival_function(x), d.icdf(u),
                d.mean, d.variance, d.entropy(), d.mode, d.support.upper_bound]

    for dt in ("float32", "float64"):
        with torch_default_dtype(dt):
            check(fn, inputs=_inputs, dtypes=(dt,))


def test_float64_needs_no_default_dtype_change():
    """gradstep computes the float64 log_prob under a float32 default dtype (torch raises);
    the values are the ones torch gives with a float64 default."""
    d = gradstep.distributions.GeneralizedPareto(*[gradstep.tensor(v, dtype=gradstep.float64)
                                                   for v in (LOC, SCALE, CONC)])
    x = gradstep.tensor(VALUES, dtype=gradstep.float64)
    with torch_default_dtype("float64"):
        td = torch.distributions.GeneralizedPareto(*[torch.tensor(v) for v in (LOC, SCALE, CONC)])
        want = td.log_prob(torch.tensor(VALUES)).numpy()
    np.testing.assert_allclose(d.log_prob(x).numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_seeded_draws_and_rsample_gradient_match_torch(dt):
    def fn(lib):
        ps = [lib.tensor(np.array(v, dtype=dt), requires_grad=True) for v in (LOC, SCALE, CONC)]
        x = lib.distributions.GeneralizedPareto(*ps).rsample((3,))
        (x * x).sum().backward()
        return [x] + [p.grad for p in ps]

    assert_same_draws(fn)


def test_support_shapes_and_expand():
    for lib in (gradstep, torch):
        D = lib.distributions
        d = D.GeneralizedPareto(lib.tensor([0.0, 1.0]), 2.0, lib.tensor([-0.5, 0.5]))
        assert tuple(d.batch_shape) == (2,) and tuple(d.event_shape) == ()
        s = d.support
        assert s.event_dim == 0 and not s.is_discrete
        np.testing.assert_array_equal(s.upper_bound.numpy(), [4.0, np.inf])
        assert D.GeneralizedPareto.support.event_dim == 0
        assert tuple(D.GeneralizedPareto(0.0, 1.0, 0.1).batch_shape) == ()
        e = d.expand((3, 2))
        assert tuple(e.batch_shape) == (3, 2) and tuple(e.rsample((4,)).shape) == (4, 3, 2)
        assert tuple(e.concentration.shape) == (3, 2)
        assert sorted(D.GeneralizedPareto.arg_constraints) == ["concentration", "loc", "scale"]


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.GeneralizedPareto(lib.tensor([0.0]), lib.tensor([-1.0]),
                                                    lib.tensor([0.1])),
    lambda lib: lib.distributions.GeneralizedPareto(lib.tensor([0.0]), lib.tensor([1.0]),
                                                    lib.tensor([-0.5])).log_prob(
        lib.tensor([3.0])),
])
def test_validation_errors_match_torch(build):
    with pytest.raises(ValueError) as theirs:
        build(torch)
    with pytest.raises(ValueError) as ours:
        build(gradstep)
    assert error_message(ours.value) == error_message(theirs.value)

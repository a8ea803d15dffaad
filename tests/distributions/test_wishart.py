"""Wishart against torch: log_prob, entropy, mean, mode, variance and the three
parameterisations, with gradients (tests/helpers.check scaled by 10 in float32: torch
evaluates mvlgamma/digamma in float32, gradstep in float64 rounded once, and slogdet /
cholesky_solve of 3x3 matrices round differently by a few ulps); the generic Bregman KL;
seeded Bartlett draws with torch 2.13's correction round (its warning and its second draw)
and where the generator ends; rsample gradients; expand; validation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.distributions.draw_helpers import assert_same_draws, error_message
from tests.helpers import check

COV = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]])
DF = [4.0, 6.5]


def _inputs(dt, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2, 3, 3))
    value = a @ a.transpose(0, 2, 1) + 3 * np.eye(3)
    return [gradstep.tensor(np.array(DF, dtype=dt), requires_grad=True),
            gradstep.tensor(COV.astype(dt), requires_grad=True),
            gradstep.tensor(value.astype(dt), requires_grad=True)]


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_values_and_gradients_match_torch(param):
    def fn(lib, df, cov, value):
        m = {"covariance_matrix": cov, "precision_matrix": lib.linalg.inv(cov),
             "scale_tril": lib.linalg.cholesky(cov)}[param]
        d = lib.distributions.Wishart(df, **{param: m})
        return [d.log_prob(value), d.entropy(), d.mean, d.variance, d.scale_tril,
                d.covariance_matrix, d.precision_matrix]

    check(fn, inputs=_inputs, scale=10)


def test_mode_matches_torch():
    for dt in ("float32", "float64"):
        df, cov, _ = _inputs(dt)
        df = gradstep.tensor(np.array([3.5, 6.5], dtype=dt))  # mode undefined (nan) at 3.5
        ours = gradstep.distributions.Wishart(df, covariance_matrix=cov).mode.detach().numpy()
        theirs = torch.distributions.Wishart(torch.tensor(df.numpy()),
                                             covariance_matrix=torch.tensor(cov.detach().numpy()))
        np.testing.assert_allclose(ours, theirs.mode.numpy(), rtol=1e-6)
        assert np.isnan(ours[0]).all() and not np.isnan(ours[1]).any()


def test_bregman_kl_matches_torch():
    """KL(Wishart || Wishart) goes through the exponential-family Bregman divergence
    (_natural_params, _log_normalizer and its autograd gradient), as in torch."""
    def fn(lib, df, cov, value):
        p = lib.distributions.Wishart(df, covariance_matrix=cov)
        q = lib.distributions.Wishart(df + 1.5, covariance_matrix=value)
        return lib.distributions.kl_divergence(p, q)

    check(fn, inputs=_inputs, scale=10, dtypes=("float64",))


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("sample_shape", [(), (3,)])
def test_seeded_draws_match_torch(dt, sample_shape):
    """torch 2.13 flags every positive-definite draw as singular, warns and redraws once;
    the values, the warning and the generator position afterwards must be torch's."""
    def fn(lib):
        df = lib.tensor(np.array(DF, dtype=dt))
        cov = lib.tensor(COV.astype(dt))
        a = lib.distributions.Wishart(df, covariance_matrix=cov).sample(sample_shape)
        b = lib.distributions.Wishart(5.0, scale_tril=lib.linalg.cholesky(cov)).sample((2,))
        return [a, b]

    ours = assert_same_draws(fn, products=True)
    assert gradstep.distributions.constraints.positive_definite.check(ours[0]).all()


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_rsample_gradient_matches_torch(dt):
    """torch's own backward through its correction round fails (it writes into the mask the
    graph still holds: "modified by an inplace operation"); gradstep differentiates the draw it
    returns, which is the second Bartlett draw.  The oracle is torch with the first draw
    consumed and no correction round, which gives the same values through the same graph.
    The df gradient passes through the Gamma draws' implicit gradient, where torch uses an
    approximation good to ~1e-3 relative (see test_gamma_family)."""
    res = {}
    for lib in (gradstep, torch):
        lib.manual_seed(7)
        df = lib.tensor(np.array(DF, dtype=dt), requires_grad=True)
        tril = lib.tensor(np.linalg.cholesky(COV).astype(dt), requires_grad=True)
        w = lib.distributions.Wishart(df, scale_tril=tril)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if lib is torch:
                w._bartlett_sampling(torch.Size((3,)))
                x = w.rsample((3,), max_try_correction=0)
            else:
                x = w.rsample((3,))
        (x * x.detach().sin()).sum().backward()
        res[lib] = [x.detach().numpy(), df.grad.numpy(), tril.grad.numpy()]
    rtol = 1e-5 if dt == "float32" else 1e-12
    np.testing.assert_allclose(res[gradstep][0], res[torch][0], rtol=rtol)
    np.testing.assert_allclose(res[gradstep][1], res[torch][1], rtol=2e-3)
    np.testing.assert_allclose(res[gradstep][2], res[torch][2], rtol=rtol * 10)


def test_shapes_expand_and_constraints():
    for lib in (gradstep, torch):
        D = lib.distributions
        cov = lib.tensor(COV, dtype=lib.float32)
        d = D.Wishart(lib.tensor([[4.0], [5.0]]), covariance_matrix=cov)
        assert tuple(d.batch_shape) == (2, 1) and tuple(d.event_shape) == (3, 3)
        e = d.expand((2, 4))
        assert tuple(e.batch_shape) == (2, 4) and tuple(e.df.shape) == (2, 4)
        assert tuple(e.covariance_matrix.shape) == (2, 4, 3, 3)
        assert tuple(e._dist_chi2.batch_shape) == (2, 4, 3) and e._batch_dims == [-1, -2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert tuple(e.rsample((5,)).shape) == (5, 2, 4, 3, 3)
        assert repr(D.Wishart.support) == "PositiveDefinite()"
        ac = d.arg_constraints
        assert sorted(ac) == ["covariance_matrix", "df", "precision_matrix", "scale_tril"]
        assert repr(ac["df"]) == "GreaterThan(lower_bound=2)"
        assert tuple(D.Wishart(4.0, covariance_matrix=cov).batch_shape) == ()


def _errors(build, kind):
    with pytest.raises(kind) as theirs:
        build(torch)
    with pytest.raises(kind) as ours:
        build(gradstep)
    assert error_message(ours.value) == error_message(theirs.value)


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.Wishart(lib.tensor([1.5]), covariance_matrix=lib.eye(3)),
    lambda lib: lib.distributions.Wishart(2.0, covariance_matrix=lib.eye(3)),
    lambda lib: lib.distributions.Wishart(4.0, covariance_matrix=lib.ones(3)),
    lambda lib: lib.distributions.Wishart(4.0, covariance_matrix=-lib.eye(3)),
    lambda lib: lib.distributions.Wishart(4.0, scale_tril=lib.ones(3, 3)),
    lambda lib: lib.distributions.Wishart(4.0, covariance_matrix=lib.eye(2)).log_prob(
        -lib.eye(2)),
])
def test_validation_errors_match_torch(build):
    _errors(build, ValueError)


def test_parameter_count_error_and_low_df_warning():
    _errors(lambda lib: lib.distributions.Wishart(4.0), AssertionError)
    _errors(lambda lib: lib.distributions.Wishart(4.0, covariance_matrix=lib.eye(2),
                                                  scale_tril=lib.eye(2)), AssertionError)
    for lib in (gradstep, torch):
        with pytest.warns(UserWarning, match="Low df values detected"):
            lib.distributions.Wishart(2.5, covariance_matrix=lib.eye(3))

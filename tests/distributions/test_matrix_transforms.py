"""CorrCholeskyTransform and PositiveDefiniteTransform against torch: forward, inverse and
log|det J| with gradients (tests/helpers.check: float64 rtol 1e-10; float32 rtol 1e-5 scaled
by 10: tanh, cumprod and a 3x3 to 4x4 Cholesky or matmul round differently by a few ulps
and the inverse's atanh amplifies them near +-1), shapes, constraints, equality, registries
and use inside TransformedDistribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def _x(dt, shape, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return gradstep.tensor((scale * rng.normal(size=shape)).astype(dt), requires_grad=True)


@pytest.mark.parametrize("shape", [(6,), (2, 3, 6), (1,)])
def test_corr_cholesky_matches_torch(shape):
    def fn(lib, x):
        t = lib.distributions.transforms.CorrCholeskyTransform()
        y = t(x)
        assert bool(lib.distributions.constraints.corr_cholesky.check(y).all())
        assert tuple(t.forward_shape(x.shape)) == tuple(y.shape)
        assert tuple(t.inverse_shape(y.shape)) == tuple(x.shape)
        return [y, t.inv(y), t.log_abs_det_jacobian(x, y)]

    check(fn, inputs=lambda dt: [_x(dt, shape)], scale=10)


def test_corr_cholesky_properties_and_shape_errors():
    for lib in (gradstep, torch):
        T = lib.distributions.transforms
        t = T.CorrCholeskyTransform()
        assert t.bijective and t.domain.event_dim == 1 and t.codomain.event_dim == 2
        assert repr(t.codomain) == "CorrCholesky()"
        assert t != T.CorrCholeskyTransform() and t == t  # no __eq__ of its own in torch
        with pytest.raises(ValueError, match="Please use either .domain.event_dim"):
            _ = t.event_dim
        with pytest.raises(NotImplementedError):
            _ = t.sign
        with pytest.raises(ValueError, match="Input is not a flattened lower-diagonal number"):
            t.forward_shape((2, 4))
        with pytest.raises(ValueError, match="Input is not square"):
            t.inverse_shape((3, 4))
        with pytest.raises(ValueError, match="Too few dimensions on input"):
            t.forward_shape(())
        assert t.with_cache(1)._cache_size == 1
    x = gradstep.zeros(3)
    y = gradstep.distributions.transforms.CorrCholeskyTransform()(x)
    np.testing.assert_array_equal(y.numpy(), np.eye(3, dtype=np.float32))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_positive_definite_matches_torch(shape):
    def fn(lib, x):
        t = lib.distributions.transforms.PositiveDefiniteTransform()
        y = t(x)
        assert bool(lib.distributions.constraints.positive_definite.check(y).all())
        return [y, t.inv(y)]

    check(fn, inputs=lambda dt: [_x(dt, shape, scale=0.5)], scale=10)


def test_positive_definite_properties():
    for lib in (gradstep, torch):
        T = lib.distributions.transforms
        t = T.PositiveDefiniteTransform()
        assert t == T.PositiveDefiniteTransform() and t != T.LowerCholeskyTransform()
        assert not t.bijective and t.event_dim == 2
        assert repr(t.domain) == "IndependentConstraint(Real(), 2)"
        assert repr(t.codomain) == "PositiveDefinite()"
        with pytest.raises(NotImplementedError):
            t.log_abs_det_jacobian(lib.eye(2), lib.eye(2))


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", ["corr_cholesky", "positive_definite", "positive_semidefinite"])
def test_registries_match_torch(registry, name):
    kinds = []
    for lib in (gradstep, torch):
        D = lib.distributions
        c = getattr(D.constraints, name)
        if registry == "biject_to" and name != "corr_cholesky":
            with pytest.raises(NotImplementedError, match="Cannot transform"):
                D.biject_to(c)
            continue
        kinds.append(type(getattr(D, registry)(c)).__name__)
    assert len(set(kinds)) <= 1


def test_lkj_prior_through_transformed_distribution_matches_torch():
    """A Normal vector pushed onto Cholesky factors: log_prob of its own draws (float64)."""
    def fn(lib, loc, y):
        D = lib.distributions
        base = D.Independent(D.Normal(loc, lib.ones_like(loc)), 1)
        d = D.TransformedDistribution(base, [D.transforms.CorrCholeskyTransform()])
        assert tuple(d.event_shape) == (4, 4) and tuple(d.batch_shape) == (2,)
        return d.log_prob(y)

    def inputs(dt):
        loc = _x(dt, (2, 6), seed=1, scale=0.3)
        t = gradstep.distributions.transforms.CorrCholeskyTransform()
        y = t(_x(dt, (2, 6), seed=2)).detach()
        return [loc, y]

    check(fn, inputs=inputs, scale=10, dtypes=("float64",))


def test_exports_match_torch():
    """The package's and transforms' ``__all__`` (names and order) and the new modules."""
    assert gradstep.distributions.__all__ == torch.distributions.__all__
    assert (gradstep.distributions.transforms.__all__
            == torch.distributions.transforms.__all__)
    for mod in ("continuous_bernoulli", "generalized_pareto", "lkj_cholesky", "von_mises",
                "wishart"):
        ours, theirs = (getattr(lib.distributions, mod) for lib in (gradstep, torch))
        assert ours.__all__ == theirs.__all__
    for name in ("tril_matrix_to_vec", "vec_to_tril_matrix"):
        x = np.arange(16.0).reshape(4, 4)
        a = getattr(gradstep.distributions.utils, name)
        b = getattr(torch.distributions.utils, name)
        arg = x if name.startswith("tril") else np.arange(6.0)
        np.testing.assert_array_equal(a(gradstep.tensor(arg), -1).numpy(),
                                      b(torch.tensor(arg), -1).numpy())

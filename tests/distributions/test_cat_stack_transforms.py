"""CatTransform and StackTransform against torch: forward, inverse and log|det J| with
gradients (tests/helpers.check: float64 rtol 1e-10, float32 rtol 1e-5; the parts are
elementwise), domain/codomain, event_dim, bijectivity, caching, errors, the registries for
cat/stack constraints and use inside TransformedDistribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def _x(dt, shape, seed=0):
    rng = np.random.default_rng(seed)
    return gradstep.tensor(rng.uniform(-1.5, 1.5, shape).astype(dt), requires_grad=True)


CASES = {
    # name: (builder, input shape)
    "cat_dim0": (lambda T, lib: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, -2.0)],
                                               dim=0, lengths=[2, 3]), (5, 4)),
    "cat_last_default_lengths": (lambda T, lib: T.CatTransform(
        [T.SigmoidTransform(), T.TanhTransform(), T.ExpTransform()], dim=-1), (2, 3)),
    # dim is an event dim of one part: the pieces' log|det J| add up instead of concatenating
    "cat_event_dim": (lambda T, lib: T.CatTransform(
        [T.IndependentTransform(T.ExpTransform(), 1), T.SigmoidTransform()], dim=-1,
        lengths=[3, 2]), (2, 5)),
    "cat_nested": (lambda T, lib: T.CatTransform(
        [T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1, lengths=[1, 2]),
         T.SoftplusTransform()], dim=1, lengths=[3, 1]), (2, 4)),
    "stack_dim1": (lambda T, lib: T.StackTransform(
        [T.ExpTransform(), T.SigmoidTransform(), T.AffineTransform(0.5, 3.0)], dim=1), (4, 3)),
    "stack_last": (lambda T, lib: T.StackTransform([T.TanhTransform(), T.SoftplusTransform()],
                                                   dim=-1), (3, 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_matches_torch(name):
    build, shape = CASES[name]

    def fn(lib, x):
        t = build(lib.distributions.transforms, lib)
        y = t(x)
        if name != "cat_event_dim":  # cat of an event-dim check and a scalar one: no shape
            assert bool(t.codomain.check(y).all()) and bool(t.domain.check(x).all())
        return [y, t.inv(y), t.log_abs_det_jacobian(x, y)]

    check(fn, inputs=lambda dt: [_x(dt, shape)])


@pytest.mark.parametrize("name", sorted(CASES))
def test_properties_match_torch(name):
    build = CASES[name][0]
    seen = []
    for lib in (gradstep, torch):
        t = build(lib.distributions.transforms, lib)
        c = t.with_cache(1)
        assert c._cache_size == 1 and all(p._cache_size == 1 for p in c.transforms)
        assert t.with_cache(0) is t
        seen.append((t.event_dim, t.bijective, repr(t.domain), repr(t.codomain),
                     t.domain.event_dim, t.codomain.event_dim, t == build(
                         lib.distributions.transforms, lib), type(t.inv).__name__))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("call", [
    lambda T, lib: T.CatTransform([T.ExpTransform()], dim=0, lengths=[2])(lib.ones(3)),
    lambda T, lib: T.CatTransform([T.ExpTransform()], dim=2, lengths=[1])(lib.ones(1)),
    lambda T, lib: T.CatTransform([T.ExpTransform()], dim=0, lengths=[2]).inv(lib.ones(3)),
    lambda T, lib: T.CatTransform([T.ExpTransform()], lengths=[1]).log_abs_det_jacobian(
        lib.ones(2), lib.ones(1)),
    lambda T, lib: T.CatTransform([T.ExpTransform()], lengths=[1, 2]),
    lambda T, lib: T.CatTransform([lib.ones(1)]),
    lambda T, lib: T.StackTransform([T.ExpTransform()])(lib.ones(2)),
    lambda T, lib: T.StackTransform([T.ExpTransform()], dim=-3)(lib.ones(1, 2)),
    lambda T, lib: T.StackTransform([T.ExpTransform()]).log_abs_det_jacobian(lib.ones(1),
                                                                             lib.ones(2)),
    lambda T, lib: T.StackTransform([3]),
])
def test_errors_match_torch(call):
    with pytest.raises(AssertionError) as theirs:
        call(torch.distributions.transforms, torch)
    with pytest.raises(AssertionError) as ours:
        call(gradstep.distributions.transforms, gradstep)
    assert str(ours.value) == str(theirs.value)


def _kinds(t):
    parts = getattr(t, "transforms", None) or getattr(t, "parts", None)
    if parts is not None:
        return [type(t).__name__, [_kinds(p) for p in parts]]
    return type(t).__name__


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_registries_for_cat_and_stack_match_torch(registry):
    def constraints(C):
        return [C.cat([C.positive, C.interval(-1.0, 2.0), C.real], dim=-1, lengths=[1, 2, 1]),
                C.stack([C.unit_interval, C.greater_than(3.0)], dim=-1)]

    ours = [getattr(gradstep.distributions, registry)(c)
            for c in constraints(gradstep.distributions.constraints)]
    theirs = [getattr(torch.distributions, registry)(c)
              for c in constraints(torch.distributions.constraints)]
    assert [_kinds(t) for t in ours] == [_kinds(t) for t in theirs]

    def fn(lib, x, z):
        ts = [getattr(lib.distributions, registry)(c)
              for c in constraints(lib.distributions.constraints)]
        out = []
        for t, v in zip(ts, (x, z)):
            y = t(v)
            out += [y, t.inv(y), t.log_abs_det_jacobian(v, y)]
        return out

    check(fn, inputs=lambda dt: [_x(dt, (3, 4)), _x(dt, (3, 2), seed=1)])


def test_stack_inside_transformed_distribution_matches_torch():
    """Stacking along dim 0 keeps it a batch dim (a non-negative dim never becomes an event
    dim under the stack constraint's rule; along -1 torch's own log_prob fails to broadcast)."""
    def fn(lib, loc, y):
        D = lib.distributions
        T = D.transforms
        base = D.Normal(loc, lib.ones_like(loc))
        t = T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], dim=0)
        d = D.TransformedDistribution(base, [t])
        assert tuple(d.batch_shape) == (2, 3) and tuple(d.event_shape) == ()
        return d.log_prob(y)

    def inputs(dt):
        rng = np.random.default_rng(3)
        y = np.stack([rng.uniform(0.5, 2.0, 3), rng.uniform(0.1, 0.9, 3)])
        return [_x(dt, (2, 3), seed=2), gradstep.tensor(y.astype(dt))]

    check(fn, inputs=inputs)

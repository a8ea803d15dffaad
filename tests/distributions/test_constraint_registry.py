"""biject_to / transform_to against torch: the transform each constraint maps to (by its
composition of transform types) and its values, inverse and log|det J| on random inputs
(tests/helpers.check tolerances), and that outputs satisfy the constraint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check

CONSTRAINTS = {
    "real": lambda c, lib: c.real,
    "positive": lambda c, lib: c.positive,
    "nonnegative": lambda c, lib: c.nonnegative,
    "greater_than": lambda c, lib: c.greater_than(1.5),
    "less_than": lambda c, lib: c.less_than(-1.0),
    "unit_interval": lambda c, lib: c.unit_interval,
    "interval": lambda c, lib: c.interval(-2.0, 3.0),
    "half_open_interval": lambda c, lib: c.half_open_interval(0.0, 2.0),
    "simplex": lambda c, lib: c.simplex,
    "real_vector": lambda c, lib: c.real_vector,
    "independent_positive": lambda c, lib: c.independent(c.positive, 1),
    "lower_cholesky": lambda c, lib: c.lower_cholesky,
}
TRANSFORM_ONLY = {"lower_cholesky"}


def _kinds(t):
    parts = getattr(t, "parts", None)
    if parts is not None:
        return [type(p).__name__ for p in parts]
    inner = getattr(t, "base_transform", None)
    return [type(t).__name__] + (_kinds(inner) if inner is not None else [])


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_registry_matches_torch(registry, name):
    if registry == "biject_to" and name in TRANSFORM_ONLY:
        for lib in (torch, gradstep):
            with pytest.raises(NotImplementedError, match="Cannot transform"):
                lib.distributions.biject_to(CONSTRAINTS[name](lib.distributions.constraints, lib))
        return
    ours = getattr(gradstep.distributions, registry)(
        CONSTRAINTS[name](gradstep.distributions.constraints, gradstep))
    theirs = getattr(torch.distributions, registry)(
        CONSTRAINTS[name](torch.distributions.constraints, torch))
    assert _kinds(ours) == _kinds(theirs)
    shape = (3, 4, 4) if name == "lower_cholesky" else (3, 4)

    def fn(lib, x):
        c = CONSTRAINTS[name](lib.distributions.constraints, lib)
        t = getattr(lib.distributions, registry)(c)
        y = t(x)
        assert bool(c.check(y).all())
        out = [y]
        if name not in TRANSFORM_ONLY and not (registry == "transform_to" and name == "simplex"):
            out += [t.inv(y), t.log_abs_det_jacobian(x, y)]
        return out

    rng = np.random.default_rng(0)
    check(fn, inputs=lambda dt: [gradstep.tensor(rng.uniform(-1.5, 1.5, shape).astype(dt),
                                                 requires_grad=True)])


def test_register_custom_and_errors():
    D = gradstep.distributions
    reg = D.constraint_registry.ConstraintRegistry()
    reg.register(D.constraints.positive, lambda c: D.transforms.ExpTransform())
    assert isinstance(reg(D.constraints.greater_than(0.0)), D.transforms.ExpTransform)
    with pytest.raises(TypeError, match="Constraint subclass or instance"):
        reg.register(3, lambda c: None)
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        reg(D.constraints.boolean)

"""The generalized Pareto distribution (``loc``, ``scale``, ``concentration``).

A concentration of (nearly) zero is the exponential limit; every formula takes the
``where`` of both branches with a safe stand-in concentration, so neither branch divides by
zero (nor gives nan gradients).
"""

from __future__ import annotations

import math
from numbers import Number, Real

import gradstep
from gradstep._tensor import Size

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """Generalized Pareto; ``rsample`` inverts the CDF of a uniform draw."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        if all(isinstance(v, Number) for v in (loc, scale, concentration)):
            batch_shape = Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(GeneralizedPareto, batch_shape,
                              ("loc", "scale", "concentration"), _instance)

    def rsample(self, sample_shape=_EMPTY):
        u = gradstep.rand(tuple(self._extended_shape(sample_shape)), dtype=self.loc.dtype)
        return self.icdf(u)

    def _safe_concentration(self, eq_zero):
        return gradstep.where(eq_zero, gradstep.ones_like(self.concentration),
                              self.concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        # torch compares with a default-dtype zero here (and in log_survival_function), which
        # its isclose refuses for float64: gradstep compares in the dtype of the parameters
        eq_zero = gradstep.isclose(self.concentration, gradstep.tensor(0.0, dtype=self.concentration.dtype))
        safe = self._safe_concentration(eq_zero)
        y = 1 / safe + gradstep.ones_like(z)
        nonzero = gradstep.where(y == 0, y, y * gradstep.log1p(safe * z))
        log_scale = math.log(self.scale) if isinstance(self.scale, Real) else self.scale.log()
        return -log_scale - gradstep.where(eq_zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero = gradstep.isclose(self.concentration, gradstep.tensor(0.0, dtype=self.concentration.dtype))
        safe = self._safe_concentration(eq_zero)
        return gradstep.where(eq_zero, -z, -gradstep.log1p(safe * z) / safe)

    def log_cdf(self, value):
        return gradstep.log1p(-gradstep.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return gradstep.exp(self.log_cdf(value))

    def icdf(self, value):
        conc = self.concentration
        eq_zero = gradstep.isclose(conc, gradstep.zeros_like(conc))
        safe = gradstep.where(eq_zero, gradstep.ones_like(conc), conc)
        logu = gradstep.log1p(-value)
        nonzero = self.loc + self.scale / safe * gradstep.expm1(-safe * logu)
        return gradstep.where(eq_zero, self.loc - self.scale * logu, nonzero)

    def _z(self, x):
        return (x - self.loc) / self.scale

    @property
    def mean(self):
        valid = self.concentration < 1
        safe = gradstep.where(valid, self.concentration, 0.5)
        return gradstep.where(valid, self.loc + self.scale / (1 - safe), math.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe = gradstep.where(valid, self.concentration, 0.25)
        result = self.scale ** 2 / ((1 - safe) ** 2 * (1 - 2 * safe))
        return gradstep.where(valid, result, math.nan)

    def entropy(self):
        ans = gradstep.log(self.scale) + self.concentration + 1
        return gradstep.broadcast_to(ans, tuple(self._batch_shape))

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower = self.loc
        upper = gradstep.where(self.concentration < 0, lower - self.scale / self.concentration,
                               math.inf)
        return constraints.interval(lower, upper)

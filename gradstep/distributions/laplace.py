"""The Laplace distribution."""

from __future__ import annotations

from numbers import Number

import gradstep
from gradstep._tensor import Size

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY, broadcast_all

__all__ = ["Laplace"]


class Laplace(Distribution):
    """Laplace distribution with location ``loc`` and scale ``scale``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        both_num = isinstance(loc, Number) and isinstance(scale, Number)
        super().__init__(Size() if both_num else self.loc.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Laplace, batch_shape, ("loc", "scale"), _instance)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=_EMPTY):
        shape = self._extended_shape(sample_shape)
        lo = float(gradstep.finfo(self.loc.dtype).eps) - 1
        u = gradstep.empty(tuple(shape), dtype=self.loc.dtype).uniform_(lo, 1.0)  # torch's draw
        return self.loc - self.scale * u.sign() * gradstep.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -gradstep.log(2 * self.scale) - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * gradstep.expm1(-d.abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * gradstep.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + gradstep.log(2 * self.scale)

"""The Gamma distribution (shape ``concentration``, inverse scale ``rate``)."""

from __future__ import annotations

from numbers import Number

import gradstep
from gradstep._tensor import Size

from . import constraints
from ._math import standard_gamma
from .exp_family import ExponentialFamily
from .utils import _EMPTY, broadcast_all

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    """Gamma distribution; ``rsample`` is reparameterised (implicit gradient, see _math)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        both_num = isinstance(concentration, Number) and isinstance(rate, Number)
        batch_shape = Size() if both_num else self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Gamma, batch_shape, ("concentration", "rate"), _instance)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=_EMPTY):
        shape = tuple(self._extended_shape(sample_shape))
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        tiny = gradstep.finfo(value.dtype).tiny
        return gradstep.where(value.detach() < tiny, value - value.detach() + tiny, value)

    def log_prob(self, value):
        value = gradstep.as_tensor(value, dtype=self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return (gradstep.xlogy(c, r) + gradstep.xlogy(c - 1, value) - r * value
                - gradstep.lgamma(c))

    def entropy(self):
        c = self.concentration
        return c - gradstep.log(self.rate) + gradstep.lgamma(c) + (1.0 - c) * gradstep.digamma(c)

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return gradstep.lgamma(x + 1) + (x + 1) * gradstep.log(-y.reciprocal())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return gradstep.special.gammainc(self.concentration, self.rate * value)

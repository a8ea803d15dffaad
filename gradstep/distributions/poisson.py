"""The Poisson distribution."""

from __future__ import annotations

from numbers import Number

import gradstep
from gradstep._tensor import Size

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _EMPTY, broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """Poisson distribution with mean ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = Size() if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Poisson, batch_shape, ("rate",), _instance)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=_EMPTY):
        shape = self._extended_shape(sample_shape)
        with gradstep.no_grad():
            return gradstep.poisson(self.rate.expand(tuple(shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return gradstep.xlogy(value, rate) - rate - gradstep.lgamma(value + 1)

    @property
    def _natural_params(self):
        return (gradstep.log(self.rate),)

    def _log_normalizer(self, x):
        return gradstep.exp(x)

"""Student's t distribution."""

from __future__ import annotations

import math

import gradstep
from gradstep._tensor import Size

from . import constraints
from .chi2 import Chi2
from .distribution import Distribution
from .utils import _EMPTY, _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, location ``loc`` and scale ``scale``."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expanded(StudentT, batch_shape, ("df", "loc", "scale"), _instance)
        new._chi2 = self._chi2.expand(Size(batch_shape))
        return new

    @property
    def mean(self):
        return gradstep.where(self.df <= 1, math.nan, self.loc)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        big = self.df > 2
        df = gradstep.where(big, self.df, 3.0)  # keeps the unused branch's gradient finite
        finite = self.scale.pow(2) * df / (df - 2)
        other = gradstep.where(self.df > 1, math.inf, math.nan)
        return gradstep.where(big, finite, other.to(finite.dtype))

    def rsample(self, sample_shape=_EMPTY):
        shape = self._extended_shape(sample_shape)
        X = _standard_normal(shape, self.df.dtype)
        Z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * X * gradstep.rsqrt(Z / self.df)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        df = self.df
        Z = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
             + gradstep.lgamma(0.5 * df) - gradstep.lgamma(0.5 * (df + 1.0)))
        return -0.5 * (df + 1.0) * gradstep.log1p(y ** 2.0 / df) - Z

    def entropy(self):
        df = self.df
        lbeta = gradstep.lgamma(0.5 * df) + math.lgamma(0.5) - gradstep.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (gradstep.digamma(0.5 * (df + 1))
                                                     - gradstep.digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)

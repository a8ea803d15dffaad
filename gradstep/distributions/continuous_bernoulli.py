"""The continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem & Cunningham, 2019).

Its normaliser, mean and variance have a removable singularity at probs = 1/2; inside
``lims`` (default (0.499, 0.501)) they are replaced by Taylor expansions about 1/2, and the
closed forms are evaluated at a "cut" probability outside that window so that neither branch
of a ``where`` produces nan gradients.
"""

from __future__ import annotations

import math
from numbers import Number

import gradstep
import gradstep.nn.functional as F
from gradstep._tensor import Size

from . import constraints
from .exp_family import ExponentialFamily
from .utils import (
    _EMPTY,
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    """Continuous Bernoulli given by ``probs`` in (0, 1) or real ``logits`` (one of them);
    ``rsample`` inverts the CDF of a uniform draw."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
            # checked before the clamp below, which would otherwise hide invalid values
            if validate_args is not None:
                if not bool(self.arg_constraints["probs"].check(self.probs).all()):
                    raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = Size() if is_scalar else self._param.size()
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expanded(ContinuousBernoulli, batch_shape, ("probs", "logits"), _instance)
        new._lims = self._lims
        new._param = new.logits if "logits" in self.__dict__ else new.probs
        return new

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return gradstep.where(self._outside_unstable_region(), self.probs,
                              self._lims[0] * gradstep.ones_like(self.probs))

    def _cont_bern_log_norm(self):
        """The log normaliser as a function of ``probs``."""
        cut = self._cut_probs()
        below = gradstep.where(cut <= 0.5, cut, gradstep.zeros_like(cut))
        above = gradstep.where(cut >= 0.5, cut, gradstep.ones_like(cut))
        log_norm = (gradstep.log(gradstep.abs(gradstep.log1p(-cut) - gradstep.log(cut)))
                    - gradstep.where(cut <= 0.5, gradstep.log1p(-2.0 * below),
                                     gradstep.log(2.0 * above - 1.0)))
        x = gradstep.pow(self.probs - 0.5, 2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return gradstep.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / (gradstep.log1p(-cut) - gradstep.log(cut))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * gradstep.pow(x, 2)) * x
        return gradstep.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self):
        return gradstep.sqrt(self.variance)

    @property
    def variance(self):
        cut = self._cut_probs()
        var = (cut * (cut - 1.0) / gradstep.pow(1.0 - 2.0 * cut, 2)
               + 1.0 / gradstep.pow(gradstep.log1p(-cut) - gradstep.log(cut), 2))
        x = gradstep.pow(self.probs - 0.5, 2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return gradstep.where(self._outside_unstable_region(), var, taylor)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self._param.size()

    def sample(self, sample_shape=_EMPTY):
        u = gradstep.rand(tuple(self._extended_shape(sample_shape)), dtype=self.probs.dtype)
        with gradstep.no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape=_EMPTY):
        u = gradstep.rand(tuple(self._extended_shape(sample_shape)), dtype=self.probs.dtype)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return (-F.binary_cross_entropy_with_logits(logits, value, reduction="none")
                + self._cont_bern_log_norm())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        cut = self._cut_probs()
        cdfs = ((gradstep.pow(cut, value) * gradstep.pow(1.0 - cut, 1.0 - value) + cut - 1.0)
                / (2.0 * cut - 1.0))
        unbounded = gradstep.where(self._outside_unstable_region(), cdfs, value)
        return gradstep.where(value <= 0.0, gradstep.zeros_like(value),
                              gradstep.where(value >= 1.0, gradstep.ones_like(value), unbounded))

    def icdf(self, value):
        cut = self._cut_probs()
        inv = ((gradstep.log1p(-cut + value * (2.0 * cut - 1.0)) - gradstep.log1p(-cut))
               / (gradstep.log(cut) - gradstep.log1p(-cut)))
        return gradstep.where(self._outside_unstable_region(), inv, value)

    def entropy(self):
        log_p0 = gradstep.log1p(-self.probs)
        log_p1 = gradstep.log(self.probs)
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """The log normaliser as a function of the natural parameter (the logits)."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        outside = (x <= lo) | (x > hi)
        cut = gradstep.where(outside, x, lo * gradstep.ones_like(x))
        log_norm = (gradstep.log(gradstep.abs(gradstep.special.expm1(cut)))
                    - gradstep.log(gradstep.abs(cut)))
        taylor = 0.5 * x + gradstep.pow(x, 2) / 24.0 - gradstep.pow(x, 4) / 2880.0
        return gradstep.where(outside, log_norm, taylor)

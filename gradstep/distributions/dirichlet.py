"""The Dirichlet distribution over the probability simplex."""

from __future__ import annotations

import gradstep
import gradstep.nn.functional as F
from gradstep._tensor import Size

from . import constraints
from ._math import standard_gamma
from .exp_family import ExponentialFamily
from .utils import _EMPTY

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """Dirichlet distribution with ``concentration`` over the last dimension; ``rsample``
    normalises reparameterised Gamma draws."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = tuple(concentration.shape)
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        ExponentialFamily.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=_EMPTY):
        shape = tuple(self._extended_shape(sample_shape))
        conc = self.concentration.expand(shape)
        # torch's _sample_dirichlet: Gamma draws and their normalisation in float64 (a
        # sequential sum, as torch's reduction runs over a short last dim), then the cast,
        # kept in [tiny, the float below 1]
        g = standard_gamma(conc.double())
        x = (g / g.cumsum(-1)[..., -1:]).to(conc.dtype)
        fi = gradstep.finfo(conc.dtype)
        return x.clamp(min=fi.tiny, max=1 - fi.eps / 2)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return (gradstep.xlogy(c - 1.0, value).sum(-1) + gradstep.lgamma(c.sum(-1))
                - gradstep.lgamma(c).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        cm1 = (self.concentration - 1).clamp(min=0.0)
        all_small = (self.concentration < 1).all(dim=-1, keepdim=True)
        total = cm1.sum(-1, True)
        mode = cm1 / gradstep.where(all_small, 1.0, total)  # no 0/0 (nor its nan gradient)
        corner = F.one_hot(mode.argmax(dim=-1), cm1.shape[-1]).to(mode.dtype)
        return gradstep.where(all_small, corner, mode)

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def entropy(self):
        c = self.concentration
        k = c.shape[-1]
        a0 = c.sum(-1)
        return (gradstep.lgamma(c).sum(-1) - gradstep.lgamma(a0)
                - (k - a0) * gradstep.digamma(a0) - ((c - 1.0) * gradstep.digamma(c)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - gradstep.lgamma(x.sum(-1))

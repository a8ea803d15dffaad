"""LKJ distribution over lower Cholesky factors of correlation matrices.

L ~ LKJCholesky(dim, eta) makes L L^T ~ LKJCorr(dim, eta), with density proportional to
det(L L^T)^(eta - 1).  Sampling is the onion method of Lewandowski, Kurowicka & Joe (2009,
section 3.2), vectorised over rows as torch (after NumPyro) does it: one Beta draw per row
for its squared off-diagonal norm, one normal draw per entry for its direction, in that order.
"""

from __future__ import annotations

import math

import gradstep
from gradstep._tensor import Size

from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import _EMPTY, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJ over Cholesky factors of ``dim`` x ``dim`` correlation matrices, with
    ``concentration`` eta (1 is uniform over correlation matrices)."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError("Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        # the Beta of section 3.2 of the paper, one per row (row 0's is never used)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = gradstep.arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = gradstep.cat([offset.new_zeros((1,)), offset])
        beta_conc1 = offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(Size(tuple(batch_shape) + (self.dim,)))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=_EMPTY):
        with gradstep.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = gradstep.randn(tuple(self._extended_shape(sample_shape)),
                                      dtype=y.dtype).tril(-1)
            u_hypersphere = u_normal / u_normal.norm(dim=-1, keepdim=True)
            u_hypersphere[..., 0, :] = 0.0  # row 0 is 0/0 above; it has no off-diagonal
            w = gradstep.sqrt(y) * u_hypersphere
            tiny = gradstep.finfo(w.dtype).tiny
            diag = gradstep.clamp(1 - gradstep.sum(w ** 2, dim=-1), min=tiny).sqrt()
            return w + gradstep.diag_embed(diag)

    def log_prob(self, value):
        # density of L is prod_i L_ii ^ (2 (eta - 1) + D - i) (the det(LL^T)^(eta-1) term times
        # the Jacobian of L -> LL^T), normalised as on page 1999 of the paper
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = gradstep.arange(2, self.dim + 1)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = gradstep.sum(order * diag_elems.log(), dim=-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = gradstep.lgamma(alpha) * dm1
        numerator = gradstep.mvlgamma(alpha - 0.5, dm1)
        # the paper's pi term is D (D - 1) / 4 log(pi), mvlgamma's (D - 1)(D - 2) / 4 log(pi)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized - (pi_constant + numerator - denominator)

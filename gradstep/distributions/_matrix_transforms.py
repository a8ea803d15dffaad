"""Matrix-valued transforms of torch.distributions.transforms: unconstrained vectors to
Cholesky factors of correlation matrices, and unconstrained matrices to positive-definite
ones.  (Re-exported by ``transforms``, where torch defines them.)"""

from __future__ import annotations

import math

import gradstep
import gradstep.nn.functional as F

from . import constraints
from .transforms import LowerCholeskyTransform, Transform
from .utils import tril_matrix_to_vec, vec_to_tril_matrix

__all__ = ["CorrCholeskyTransform", "PositiveDefiniteTransform"]


class CorrCholeskyTransform(Transform):
    """R^(D(D-1)/2) -> Cholesky factors of D x D correlation matrices (unit-norm rows).

    The vector fills the strict lower triangle row by row; each row then goes through tanh
    into (-1, 1) and a signed stick-breaking of its squares (Stan's construction), so that
    y_ij = r_ij sqrt(prod_{k<j} (1 - r_ik^2)) and the diagonal takes the remaining length.
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        x = gradstep.tanh(x)
        eps = gradstep.finfo(x.dtype).eps
        x = x.clamp(min=-1 + eps, max=1 - eps)
        r = vec_to_tril_matrix(x, diag=-1)
        # sign(r) sqrt(z * prod(1 - z)) with z = r^2 is r * sqrt(prod(1 - z))
        z = r ** 2
        z1m_cumprod_sqrt = (1 - z).sqrt().cumprod(-1)
        r = r + gradstep.eye(r.shape[-1], dtype=r.dtype)
        return r * F.pad(z1m_cumprod_sqrt[..., :-1], [1, 0], value=1)

    def _inverse(self, y):
        y_cumsum = 1 - gradstep.cumsum(y * y, dim=-1)
        y_cumsum_shifted = F.pad(y_cumsum[..., :-1], [1, 0], value=1)
        y_vec = tril_matrix_to_vec(y, diag=-1)
        y_cumsum_vec = tril_matrix_to_vec(y_cumsum_shifted, diag=-1)
        t = y_vec / y_cumsum_vec.sqrt()
        return (t.log1p() - t.neg().log1p()) / 2  # atanh

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        """Of x -> the flattened strict lower triangle of y (the spaces' dimensions differ)."""
        y1m_cumsum = 1 - (y * y).cumsum(dim=-1)
        # diag=-2 picks the stick lengths left before each entry, with no shift needed
        y1m_cumsum_tril = tril_matrix_to_vec(y1m_cumsum, diag=-2)
        stick_breaking_logdet = 0.5 * y1m_cumsum_tril.log().sum(-1)
        tanh_logdet = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(dim=-1)
        return stick_breaking_logdet + tanh_logdet

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return shape[:-1] + (d, d)

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return shape[:-2] + (d * (d - 1) // 2,)


class PositiveDefiniteTransform(Transform):
    """Unconstrained square matrices -> positive-definite ones: L L^T of the
    ``LowerCholeskyTransform`` of the input (not bijective; no Jacobian)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteTransform)

    def _call(self, x):
        x = LowerCholeskyTransform()(x)
        return x @ x.mT

    def _inverse(self, y):
        y = gradstep.linalg.cholesky(y)
        return LowerCholeskyTransform().inv(y)

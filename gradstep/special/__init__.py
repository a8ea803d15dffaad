"""``torch.special``: special functions; those shared with ``torch.*`` are the same objects."""

from __future__ import annotations

from ..ops.explog import exp2, logit, sinc, xlog1py, xlogy
from ..ops.reduce import log_softmax, logsumexp, softmax
from ..ops.special import (
    digamma,
    entr,
    erfc,
    erfcx,
    erfinv,
    i0,
    i0e,
    i1,
    i1e,
    log_ndtr,
    ndtr,
    ndtri,
    polygamma,
    zeta,
)
from ..ops.special import igamma as gammainc
from ..ops.special import igammac as gammaincc
from ..ops.special import lgamma as gammaln
from ..ops.special import mvlgamma as multigammaln
from ..ops.special_cephes import FUNCTIONS as _CEPHES
from ..ops.unary import erf, expm1, log1p, round, sigmoid  # noqa: A004 - torch's names

expit = sigmoid
psi = digamma

# bessel_j0 ... airy_ai and the orthogonal polynomials (chebyshev_polynomial_t, ...)
globals().update(_CEPHES)

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
    "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
    "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py",
    "xlogy", "zeta", *sorted(_CEPHES),
]

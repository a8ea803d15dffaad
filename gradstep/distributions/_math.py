"""Sampling nodes the distributions share: standard Gamma draws with implicit
reparameterisation gradients (also what Dirichlet and Beta sample through).

d x / d alpha for x ~ Gamma(alpha, 1) follows from holding the CDF fixed:
dx/da = -(dP(a, x)/da) / p(x; a).  Below x = a + 1 the power series of P is differentiated
term by term: with S = sum_k c_k, c_k = prod_{j<=k} x / (a + j) and S' = dS/da,
dx/da = -(x / a) (S (log x - psi(a + 1)) + S'), with no exponentials of extreme arguments.
Above it, dQ/da = Q d(log Q)/da, log Q from Legendre's continued fraction (the one
``gradstep.special.gammaincc`` uses) and its a-derivative by a 5-point central difference
(step 1e-3 a: truncation ~1e-12 relative, rounding ~1e-13 / 1e-3).  torch instead fits
approximations (``_standard_gamma_grad``); the two agree to its approximation error.
"""

from __future__ import annotations

from gradstep.autograd.function import Node
from gradstep.backend import xp
from gradstep.ops.special import _igamc_cf, digamma_array

__all__ = ["standard_gamma", "standard_gamma_grad"]

_EPS = 2.220446049250313e-16


def _grad_series(a, x):
    lx = xp.log(x)
    r, c, h = a.copy(), xp.ones_like(a), xp.zeros_like(a)
    s, ds = xp.ones_like(a), xp.zeros_like(a)
    done = xp.zeros(a.shape, bool)
    for _ in range(100000):
        r = r + 1.0
        h = h + 1.0 / r
        c = xp.where(done, 0.0, c * x / r)
        s = s + c
        ds = ds - c * h
        done = done | (c <= _EPS * 1e-3 * s)
        if done.all():
            break
    return -(x / a) * (s * (lx - digamma_array(a + 1.0)) + ds)


def _log_q(a, x):
    return xp.log(_igamc_cf(a, x))


def _grad_cf(a, x):
    d = 1e-3 * a
    dlogq = (-_log_q(a + 2 * d, x) + 8 * _log_q(a + d, x) - 8 * _log_q(a - d, x)
             + _log_q(a - 2 * d, x)) / (12 * d)
    # Q / p(x) = x * h where Q = exp(a log x - x - lgamma(a)) h and p = that exp / x
    q_over_p = x * _igamc_cf(a, x) / xp.exp(a * xp.log(x) - x - _lgamma(a))
    return q_over_p * dlogq


def _lgamma(a):
    from gradstep.ops.special import lgamma_array

    return lgamma_array(a)


def standard_gamma_grad(alpha, x):
    """d x / d alpha of a Gamma(alpha, 1) draw x (arrays, computed in float64)."""
    a, x = xp.broadcast_arrays(xp.asarray(alpha, dtype=xp.float64),
                               xp.asarray(x, dtype=xp.float64))
    out = xp.zeros(a.shape)
    with xp.errstate(all="ignore"):
        lower = x < a + 1.0
        if lower.any():
            out[lower] = _grad_series(a[lower], x[lower])
        if (~lower).any():
            out[~lower] = _grad_cf(a[~lower], x[~lower])
    return out


class _StandardGamma(Node):
    """Gamma(alpha, 1) draws (clamped to the dtype's tiny) with the implicit gradient."""

    saves = (0,)
    saves_output = True

    def forward(self, alpha):
        from gradstep import _mt19937

        # torch's serial sampler, element by element (so the same seed gives its values)
        single = alpha.dtype == xp.float32
        draw = _mt19937.gamma(self.gen, alpha.reshape(-1), single).reshape(alpha.shape)
        tiny = xp.finfo(alpha.dtype).tiny
        return xp.maximum(draw.astype(alpha.dtype), tiny)

    def backward(self, g):
        (alpha,) = self.saved_tensors
        x = self._out_data
        grad = standard_gamma_grad(alpha._data, x).astype(x.dtype)
        return g * type(g)._make(grad)


def standard_gamma(alpha, generator=None):
    """x ~ Gamma(alpha, 1) elementwise, differentiable w.r.t. ``alpha``."""
    from gradstep._torch_random import generator_of

    return _StandardGamma.apply(alpha, gen=generator_of(generator), _name="StandardGammaBackward0")

"""torch's CPU Poisson and binomial samplers on its mt19937 stream (see ``_mt19937``).

``torch.poisson`` and ``torch.binomial`` run a serial kernel: one element after the other in
memory order, each drawing float64 uniforms (``random64()``, 53 bits) from the generator
until its rejection loop accepts. The algorithms are the ones torch's CPU kernels use:
for Poisson, the product of uniforms below a rate of 10 and Hörmann's transformed rejection
(PTRS) from 10 on; for the binomial (``ATen/native/Distributions.h``), inversion by
geometric jumps below a mean of 10 and BTRS from 10 on, with the smaller of ``p`` and
``1 - p``. Their arithmetic is float64 except where torch's binomial kernel computes in the
tensor's type (a float32 tensor: ``count * prob``, ``sqrt``, ``log1p`` of the probability,
``floor((count + 1) * prob)``), which ``_BinomialF32`` follows. ``log``/``log1p`` are
glibc's (``math`` calls libm); ``lgamma`` is CPython's, which can differ from glibc's in the
last bit and so could flip a comparison that lands within an ulp (none in the tests).

The number of uniforms an element takes is only known when it is done, so they come in
blocks from a snapshot of the engine, which is rewound at the end to just past the last one
used: the generator ends where torch's ends.
"""

from __future__ import annotations

import math

import numpy as np

from . import _mt19937 as mt

_F32 = np.float32


class _Uniforms:
    """float64 uniforms in ``[0, 1)`` from the generator, one at a time, drawn in blocks."""

    def __init__(self, gen, expected: int):
        self._bg = gen._bg
        self._block = max(64, int(expected))
        self._snapshot = self._bg.state
        self._values = mt.uniform(gen, self._block, np.dtype(np.float64)).tolist()
        self._gen = gen
        self._used_before = 0  # uniforms of earlier blocks, all used
        self._next = 0

    def __call__(self) -> float:
        if self._next == len(self._values):
            self._used_before += len(self._values)
            self._values = mt.uniform(self._gen, self._block, np.dtype(np.float64)).tolist()
            self._next = 0
        self._next += 1
        return self._values[self._next - 1]

    def finish(self) -> None:
        """Leave the engine just past the last uniform taken."""
        self._bg.state = self._snapshot
        mt.raw32(self._bg, 2 * (self._used_before + self._next))


# ---------------------------------------------------------------- Poisson
def poisson(gen, rates: np.ndarray) -> np.ndarray:
    """Draws for the flat float64 ``rates`` (non-negative, finite), in order."""
    flat = rates.reshape(-1).tolist()
    uniform = _Uniforms(gen, sum(min(r, 10.0) for r in flat) + 2 * len(flat))
    try:
        return np.array([_poisson_one(r, uniform) for r in flat], dtype=np.float64)
    finally:
        uniform.finish()


def _poisson_one(lam: float, uniform) -> float:
    if lam >= 10:
        return _poisson_ptrs(lam, uniform)
    if lam == 0:
        return 0.0
    enlam, count, prod = math.exp(-lam), 0, 1.0
    while True:
        prod *= uniform()
        if prod <= enlam:
            return float(count)
        count += 1


def _rejection_pairs(uniform):
    """The transformed-rejection loops' draws, forever: ``u`` in ``[-1/2, 1/2)``, ``v`` in
    ``[0, 1)`` and ``us = 1/2 - |u|``. ``us == 0`` (``u = -1/2``) is skipped: there C's
    candidate is ``floor(-inf)``, rejected as negative by both samplers."""
    while True:
        u = uniform() - 0.5
        v = uniform()
        us = 0.5 - abs(u)
        if us != 0:
            yield u, v, us


def _poisson_ptrs(lam: float, uniform) -> float:
    """Hörmann's transformed rejection with squeeze, as torch's ``sample_poisson``."""
    slam, loglam = math.sqrt(lam), math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    for u, v, us in _rejection_pairs(uniform):
        k = math.floor((2 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return float(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return float(k)


# ---------------------------------------------------------------- binomial
_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                  0.0118967099458917, 0.0104112652619720, 0.00925546218271273,
                  0.00833056343336287)


def _stirling_tail(k: float) -> float:
    if k < len(_STIRLING_TAIL):
        return _STIRLING_TAIL[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


class _BinomialF64:
    """The kernel's arithmetic for float64 tensors: every step in float64."""

    @staticmethod
    def t(x):  # a value of the tensor's type
        return float(x)

    mul = staticmethod(lambda a, b: a * b)
    sqrt = staticmethod(math.sqrt)
    log1p = staticmethod(math.log1p)


class _BinomialF32(_BinomialF64):
    """float32 tensors: products, ``sqrt``, ``log1p`` and ``floor`` of the tensor's values in
    float32 (``std::log1pf``, here log1p in float64 rounded once), the rest in float64."""

    @staticmethod
    def t(x):
        return float(_F32(x))

    mul = staticmethod(lambda a, b: float(_F32(a) * _F32(b)))
    sqrt = staticmethod(lambda x: float(np.sqrt(_F32(x))))
    log1p = staticmethod(lambda x: float(_F32(math.log1p(x))))


def binomial(gen, counts: np.ndarray, probs: np.ndarray, single: bool) -> np.ndarray:
    """Draws for the flat float64 ``counts``/``probs`` (values of the tensors' type), in order."""
    arith = _BinomialF32 if single else _BinomialF64
    c, p = counts.reshape(-1).tolist(), probs.reshape(-1).tolist()
    means = (min(n * min(q, 1 - q), 10.0) for n, q in zip(c, p))
    uniform = _Uniforms(gen, 4 * len(c) + sum(m for m in means if math.isfinite(m)))
    try:
        return np.array([_binomial_one(n, q, uniform, arith) for n, q in zip(c, p)],
                        dtype=np.float64)
    finally:
        uniform.finish()


def _binomial_one(count, prob, uniform, ar):
    if count <= 0.0 or prob <= 0.0:
        return 0.0
    if prob >= 1.0:
        return count
    if prob <= 0.5:
        if ar.mul(count, prob) >= 10.0:
            return _btrs(count, prob, uniform, ar)
        return _inversion(count, prob, uniform, ar)
    if prob > 0.5:
        qprob = ar.t(1.0 - prob)
        if ar.mul(count, qprob) >= 10.0:
            return ar.t(count - _btrs(count, qprob, uniform, ar))
        return ar.t(count - _inversion(count, qprob, uniform, ar))
    return math.nan  # a NaN probability


def _inversion(count, prob, uniform, ar):
    """Successes counted by geometric jumps until their sum passes ``count``."""
    logprob = ar.log1p(-prob)
    geom_sum, successes = 0.0, 0.0
    while True:
        geom_sum += _ceil(_log(uniform()) / logprob)
        if geom_sum > count:
            return successes
        successes += 1


def _log(x):
    """C's ``log``: -inf at 0, NaN below (``math.log`` raises)."""
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _floor(x):
    """C's ``floor`` on a double: infinities and NaN pass (``math.floor`` raises)."""
    return float(math.floor(x)) if math.isfinite(x) else x


def _ceil(x):
    return float(math.ceil(x)) if math.isfinite(x) else x


def _btrs(count, prob, uniform, ar):
    """Hörmann's BTRS, with torch's (TensorFlow's) transformed-reject bound."""
    stddev = ar.sqrt(ar.mul(ar.mul(count, prob), ar.t(1 - prob)))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = ar.mul(count, prob) + 0.5
    v_r = 0.92 - 4.2 / b
    r = ar.t(prob / ar.t(1 - prob)) if ar is _BinomialF32 else prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = _floor(ar.mul(ar.t(count + 1), prob))
    for u, v, us in _rejection_pairs(uniform):
        k = ar.t(_floor((2 * a / us + b) * u + c))
        if k < 0 or k > count:
            continue
        if us >= 0.07 and v <= v_r:
            return k
        v = _log(v * alpha / (a / (us * us) + b))
        n_k1 = ar.t(count - k + 1)
        upperbound = ((m + 0.5) * _log((m + 1) / (r * (count - m + 1)))
                      + ar.t(count + 1) * _log((count - m + 1) / n_k1)
                      + (k + 0.5) * _log(r * n_k1 / ar.t(k + 1))
                      + _stirling_tail(m) + _stirling_tail(count - m)
                      - _stirling_tail(k) - _stirling_tail(ar.t(count - k)))
        if v <= upperbound:
            return k

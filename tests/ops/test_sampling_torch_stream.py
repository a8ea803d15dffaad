"""``torch.poisson`` and ``torch.binomial`` draw torch's numbers from torch's stream.

gradstep runs torch's CPU samplers (``gradstep._mt_discrete``) on its mt19937 engine, so after
the same ``manual_seed`` the draws are equal to the bit, element by element, and the engine
ends at the same place (the next ``rand`` is equal too). Rates and probabilities cover every
branch of torch's samplers: Poisson's product of uniforms (rate < 10) and transformed
rejection (>= 10); the binomial's inversion (mean < 10) and BTRS (>= 10), with ``p`` and
``1 - p``, fractional and huge counts, and the edge values 0, 1 and NaN.
"""

import itertools

import numpy as np
import pytest
import torch

import gradstep

RATES = [0.0, 1e-3, 0.3, 2.0, 9.99, 10.0, 10.5, 37.0, 1e3, 1e6, 1e12]
COUNTS = [0.0, 1.0, 5.0, 5.5, 10.0, 33.0, 100.0, 1e4, 1e6, float("inf")]
PROBS = [0.0, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.97, 1.0, float("nan")]


def _both(fn, seed=0):
    """``fn(lib)`` after ``manual_seed(seed)`` in each library, and the next ``rand(3)``."""
    out = []
    for lib in (torch, gradstep):
        lib.manual_seed(seed)
        value = fn(lib)
        out.append((np.asarray(value.tolist(), dtype=np.float64), lib.rand(3).tolist()))
    return out


def _assert_equal(fn, seed=0):
    (theirs, t_next), (ours, g_next) = _both(fn, seed)
    np.testing.assert_array_equal(ours, theirs)
    assert g_next == t_next  # the engine advanced by exactly torch's draws


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_draws_are_torchs(dtype, seed):
    rates = np.random.default_rng(seed).permutation(np.repeat(RATES, 6)).reshape(6, 11)
    _assert_equal(lambda L: L.poisson(L.tensor(rates, dtype=getattr(L, dtype))), seed)
    # non-contiguous and expanded rates: drawn in the order of the (contiguous) result
    _assert_equal(lambda L: L.poisson(L.tensor(rates, dtype=getattr(L, dtype)).t()), seed)
    _assert_equal(lambda L: L.poisson(L.tensor([[3.0], [40.0]]).expand(2, 5)), seed)


def test_poisson_with_a_generator():
    rates = np.linspace(0, 60, 25)
    draws = []
    for lib in (torch, gradstep):
        g = lib.Generator().manual_seed(7)
        draws.append(lib.poisson(lib.tensor(rates), generator=g).tolist())
        draws.append(lib.rand(2, generator=g).tolist())
    assert draws[:2] == draws[2:]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binomial_draws_are_torchs(dtype):
    pairs = list(itertools.product(COUNTS, PROBS))
    count = [c for c, _ in pairs] * 3
    prob = [p for _, p in pairs] * 3
    _assert_equal(lambda L: L.binomial(L.tensor(count, dtype=getattr(L, dtype)),
                                       L.tensor(prob, dtype=getattr(L, dtype))))


@pytest.mark.parametrize("seed", [3, 4])
def test_binomial_random_parameters(seed):
    rng = np.random.default_rng(seed)
    count = np.floor(rng.uniform(0, 400, 300))
    prob = rng.uniform(0, 1, 300)
    for dtype in ("float32", "float64"):
        _assert_equal(lambda L, dt=dtype: L.binomial(L.tensor(count, dtype=getattr(L, dt)),
                                                     L.tensor(prob, dtype=getattr(L, dt))), seed)


def test_distributions_sample_torchs_draws():
    _assert_equal(lambda L: L.distributions.Poisson(L.tensor([0.5, 4.0, 25.0])).sample((4,)))
    _assert_equal(lambda L: L.distributions.Binomial(
        L.tensor([10.0, 50.0]), probs=L.tensor([0.3, 0.8])).sample((5,)))
    _assert_equal(lambda L: L.distributions.NegativeBinomial(
        L.tensor([3.0, 12.0]), probs=L.tensor([0.4, 0.6])).sample((6,)))

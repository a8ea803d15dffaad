"""torch.special's orthogonal polynomials against torch: tensor or scalar degree,
broadcasting, negative, fractional, NaN and huge degrees, the end points, the Hermite
limits, dtypes, out= and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.special._oracle import assert_matches_torch

NAMES = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
         "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
         "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
         "laguerre_polynomial_l", "legendre_polynomial_p")

# where torch's loop never runs for a NaN x it returns an uninitialised variable (the
# previous element's value): those give NaN here, and are compared as such
_UNINIT_R = {"chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
             "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
             "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
             "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"}


def _samples(dtype, seed):
    rng = np.random.default_rng(seed)
    n_pts = 3000
    x = np.concatenate([rng.uniform(-1.2, 1.2, n_pts), rng.uniform(-0.1, 1.1, n_pts),
                        rng.uniform(-8, 8, n_pts),
                        np.array([0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, 1e30, 1e-30] * 6)])
    n = np.concatenate([rng.integers(-2, 30, 3 * n_pts),
                        np.array([0, 1, 2, 3, 5, 7, 9, 11] * 6)]).astype(np.float64)
    n[:40] += 0.7  # truncated toward zero
    n[40:50] = -0.5
    n[50:60] = rng.integers(100, 700, 10)  # past the Hermite limits for float32 / float64
    return x.astype(dtype), n.astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_match_torch(name, dtype):
    x, n = _samples(dtype, sum(map(ord, name)))
    with np.errstate(all="ignore"):
        ours = getattr(gradstep.special, name)(gradstep.tensor(x), gradstep.tensor(n))
    theirs = getattr(torch.special, name)(torch.from_numpy(x), torch.from_numpy(n))
    assert_matches_torch(ours, theirs, f"{name} {dtype}")


@pytest.mark.parametrize("name", NAMES)
def test_degree_edge_cases(name):
    # NaN, infinite and out-of-range degrees convert to INT64_MIN (a negative degree: 0)
    x = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 2.0])
    n = np.array([np.nan, np.inf, -np.inf, 1e30, -3.0, 4.0])
    ours = getattr(gradstep.special, name)(gradstep.tensor(x), gradstep.tensor(n))
    theirs = getattr(torch.special, name)(torch.from_numpy(x), torch.from_numpy(n))
    assert_matches_torch(ours, theirs, name, exact_share=1.0)


@pytest.mark.parametrize("name", NAMES)
def test_nan_input(name):
    x = np.array([np.nan] * 4)
    n = np.array([0.0, 1.0, 3.0, 9.0])
    ours = getattr(gradstep.special, name)(gradstep.tensor(x), gradstep.tensor(n)).numpy()
    theirs = getattr(torch.special, name)(torch.from_numpy(x), torch.from_numpy(n)).numpy()
    assert ours[0] == theirs[0] == 1.0
    assert np.isnan(ours[1:]).all()
    if name not in _UNINIT_R:
        assert np.isnan(theirs[1:]).all()


@pytest.mark.parametrize("name", NAMES)
def test_scalar_degree_scalar_x_and_broadcasting(name):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.5, 1.5, (4, 1)).astype(np.float32)
    n = rng.integers(0, 12, (1, 5))
    f, g = getattr(gradstep.special, name), getattr(torch.special, name)
    assert_matches_torch(f(gradstep.tensor(x), gradstep.tensor(n)),
                         g(torch.from_numpy(x), torch.from_numpy(n)), f"{name} broadcast")
    assert_matches_torch(f(gradstep.tensor(x), 7), g(torch.from_numpy(x), 7), f"{name} n=7")
    assert_matches_torch(f(gradstep.tensor(x), 3.9), g(torch.from_numpy(x), 3.9), f"{name} 3.9")
    assert_matches_torch(f(0.25, gradstep.tensor(n)), g(0.25, torch.from_numpy(n)),
                         f"{name} x=0.25")
    assert_matches_torch(f(gradstep.tensor(x), gradstep.tensor(n, dtype=gradstep.float64)),
                         g(torch.from_numpy(x), torch.from_numpy(n).double()),
                         f"{name} float64 degree")
    ints = f(gradstep.tensor([1, 2, 3]), 2)
    assert ints.dtype == gradstep.float32
    assert_matches_torch(ints, g(torch.tensor([1, 2, 3]), 2), f"{name} integer x")


def test_keywords_out_and_no_gradient():
    x = gradstep.tensor([0.1, 0.7], requires_grad=True)
    y = gradstep.special.legendre_polynomial_p(x=x, n=5)
    assert not y.requires_grad and y.grad_fn is None
    o = gradstep.empty(2, dtype=gradstep.float64)
    to = torch.empty(2, dtype=torch.float64)
    r = gradstep.special.hermite_polynomial_h(gradstep.tensor([0.1, 0.7]), 6, out=o)
    torch.special.hermite_polynomial_h(torch.tensor([0.1, 0.7]), 6, out=to)
    assert r is o
    np.testing.assert_array_equal(o.numpy(), to.numpy())


@pytest.mark.parametrize(("call", "exc"), [
    (lambda lib: lib.special.chebyshev_polynomial_t(lib.ones(2, dtype=lib.float16), 2),
     NotImplementedError),
    (lambda lib: lib.special.laguerre_polynomial_l(lib.ones(2, dtype=lib.bfloat16), 2),
     NotImplementedError),
    (lambda lib: lib.special.legendre_polynomial_p(lib.ones(2, 3), lib.ones(4)), RuntimeError),
    (lambda lib: lib.special.hermite_polynomial_h(lib.ones(2), 2,
                                                  out=lib.empty(2, dtype=lib.int64)),
     RuntimeError),
])
def test_errors_match_torch(call, exc):
    with pytest.raises(exc) as ours:
        call(gradstep)
    with pytest.raises(exc) as theirs:
        call(torch)
    assert str(ours.value) == str(theirs.value)


def test_two_scalars_refused():
    with pytest.raises(TypeError):
        torch.special.chebyshev_polynomial_t(0.5, 3)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        gradstep.special.chebyshev_polynomial_t(0.5, 3)


@pytest.mark.parametrize("name", NAMES[:10])
def test_huge_degrees(name):
    # Chebyshev: the trigonometric form inside (-1, 1), the closed form at the end points,
    # and outside a recurrence that overflows to NaN within a few hundred steps; Hermite:
    # NaN past its limit. (Laguerre and Legendre have no shortcut: torch loops n times.)
    x = np.array([0.3, -0.99, 1.0, -1.0, 0.0, 0.75, 2.0, -1.5, 3.0])
    for n in (10 ** 6, 2 ** 40):
        ours = getattr(gradstep.special, name)(gradstep.tensor(x), n)
        theirs = getattr(torch.special, name)(torch.from_numpy(x), n)
        assert_matches_torch(ours, theirs, f"{name} n={n}", ulps=0, exact_share=1.0)

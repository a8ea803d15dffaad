"""digamma/polygamma at and near their poles (0, -1, -2, ...) against torch, float32 and
float64. torch's float32 trigamma computes in float32 throughout (``sinf(pi_f * x)``), so
near a pole its value is decided by that rounding: gradstep follows the same operations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


def _near_poles(dtype):
    vals = [0.0, -0.0, 0.5, 1.0, 1e-30]
    for k in range(0, 25):
        for eps in (0.0, 0.1, 1e-3, 1e-5, 1e-7, 1e-9, 1e-12):
            vals += [-k + eps, -k - eps]
    rng = np.random.default_rng(0)
    vals += list(rng.uniform(-20, 20, 400))
    return np.array(vals, dtype=dtype)


# float64: the same Cephes operations in double (a few ulps apart where libm's tan/sin
# differ); float32: sinf against NumPy's float32 sin, each within an ulp, amplified by
# 1/sin^2 near a pole to a few float32 ulps (measured max 5e-7 relative)
RTOL = {"float32": 4e-6, "float64": 1e-12}


@pytest.mark.parametrize("n", [1, 2, 3])  # n = 0 is digamma, below
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_polygamma_near_poles_matches_torch(n, dtype):
    a = _near_poles(dtype)
    theirs = torch.polygamma(n, torch.from_numpy(a)).numpy()
    ours = gradstep.polygamma(n, gradstep.tensor(a)).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    inf = np.isinf(theirs)
    np.testing.assert_array_equal(ours[inf], theirs[inf])
    fin = np.isfinite(theirs)
    np.testing.assert_allclose(ours[fin], theirs[fin], rtol=RTOL[dtype], atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_digamma_near_poles_matches_torch(dtype):
    a = _near_poles(dtype)
    theirs = torch.digamma(torch.from_numpy(a)).numpy()
    ours = gradstep.digamma(gradstep.tensor(a)).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    fin = np.isfinite(theirs)
    np.testing.assert_array_equal(ours[~fin & ~np.isnan(theirs)], theirs[~fin & ~np.isnan(theirs)])
    # torch's float kernel rounds each step in float32; gradstep rounds once from float64. Near
    # digamma's roots the terms (log(x) ~ 3, pi / tan(pi x)) cancel, leaving a few float32
    # ulps of those terms as an absolute difference
    atol = 0 if dtype == "float64" else 8 * np.finfo(np.float32).eps
    np.testing.assert_allclose(ours[fin], theirs[fin], rtol=RTOL[dtype], atol=atol)


def test_float32_trigamma_at_a_negative_integer_is_torchs_finite_value():
    """At x = -1.0f torch's sinf(pi_f * -1) is 8.7e-08, not 0: a large finite value."""
    x = np.array([-1.0, -2.0, -3.0], dtype=np.float32)
    theirs = torch.polygamma(1, torch.from_numpy(x)).numpy()
    ours = gradstep.polygamma(1, gradstep.tensor(x)).numpy()
    assert np.isfinite(theirs).all()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL["float32"])


def test_polygamma_far_below_zero_is_inf_at_once():
    """Every double below -2**52 is an integer, a pole: torch returns inf without summing;
    gradstep once sized its recurrence by the smallest input (-1e20: 1e20 steps)."""
    x = [-1e20, -2.0 ** 53, float("-inf"), -3.5]
    theirs = torch.polygamma(2, torch.tensor(x, dtype=torch.float64)).numpy()
    ours = gradstep.polygamma(2, gradstep.tensor(x, dtype=gradstep.float64)).numpy()
    np.testing.assert_array_equal(ours[:3], theirs[:3])
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-12)


def test_multigammaln_gradient_at_negative_zero_is_torchs():
    """torch shifts x by [-0.5, +0.0]: -0.0 + 0.0 is +0.0, whose digamma is -inf."""
    grads = []
    for lib in (torch, gradstep):
        x = lib.tensor(-0.0, requires_grad=True)
        lib.special.multigammaln(x, 2).backward()
        grads.append(x.grad.item())
    assert grads[0] == grads[1] == float("-inf")

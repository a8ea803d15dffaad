"""Complex ``sgn`` and ``pow`` as torch's kernels compute them.

``sgn(z)`` divides each part by the real ``|z|`` (so ``inf + 0j`` gives ``nan + 0j``, not a
complex division's ``nan + nanj``); complex ``pow`` is C's ``cpow``, ``exp(b * log(a))``, also
for integer exponents (``1j ** 1`` is ``-4.4e-08 + 1j`` in complex64, ``0 ** 0`` NaN), with
torch's special cases for number exponents (0, 1, +-0.5, 2, 3, -1, -2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

INF, NAN = float("inf"), float("nan")
PARTS = [0.0, -0.0, 1.0, -2.0, INF, -INF, NAN, 1e30]
REAL = {"complex64": np.float32, "complex128": np.float64}


def _bits(z):
    """Both parts as floats, NaNs made equal, signed zeros kept apart."""
    parts = np.stack([z.real, z.imag], -1)
    return np.where(np.isnan(parts), 7.0, parts), np.signbit(parts) & ~np.isnan(parts)


def _assert_same(ours, theirs):
    (a, sa), (b, sb) = _bits(ours), _bits(theirs)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_sgn_of_infinities_nans_and_zeros_is_torchs(dtype):
    z = np.array([complex(a, b) for a in PARTS for b in PARTS], dtype=dtype)
    _assert_same(gradstep.sgn(gradstep.tensor(z)).numpy(), torch.sgn(torch.from_numpy(z)).numpy())


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_sgn_of_finite_values_within_an_ulp(dtype):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal(2000) + 1j * rng.standard_normal(2000)).astype(dtype)
    ours = gradstep.sgn(gradstep.tensor(z)).numpy()
    theirs = torch.sgn(torch.from_numpy(z)).numpy()
    # each part is one division by hypot(re, im): torch's vectorized hypot and libm's differ
    # by at most an ulp, so the quotients by at most ~2 ulps
    eps = np.finfo(REAL[dtype]).eps
    np.testing.assert_allclose(ours, theirs, rtol=2 * eps, atol=0)


@pytest.mark.parametrize("exp_dtype", ["uint8", "int8", "int64", "float32", "bool", "complex"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_pow_tensor_exponent_is_torchs_cpow(dtype, exp_dtype):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal(500) * 2 + 1j * rng.standard_normal(500) * 2).astype(dtype)
    a[:4] = [0, 1j, -1, 0]
    if exp_dtype == "complex":
        b = (rng.standard_normal(500) + 1j * rng.standard_normal(500)).astype(dtype)
    else:
        b = rng.integers(0, 6, 500).astype(exp_dtype)
        b[:4] = [0, 1, 1, 1] if exp_dtype != "bool" else [False, True, True, True]
    ours = gradstep.pow(gradstep.tensor(a), gradstep.tensor(b)).numpy()
    theirs = torch.pow(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    _assert_same(ours, theirs)  # the same libm operations: bit for bit


@pytest.mark.parametrize("p", [0, 1, 0.5, 1.5, 4, 7, -3, 2.5 + 1j, 1 + 0j, True])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_pow_number_exponent_is_torchs(dtype, p):
    rng = np.random.default_rng(2)
    a = (rng.standard_normal(500) * 2 + 1j * rng.standard_normal(500) * 2).astype(dtype)
    ours = (gradstep.tensor(a) ** p).numpy()
    theirs = (torch.from_numpy(a) ** p).numpy()
    # sqrt, copies, fills and cpow are the same libm operations: bit for bit
    _assert_same(ours, theirs)


@pytest.mark.parametrize("p", [2, 3, -1, -2, -0.5, 2 + 0j])
def test_pow_product_exponents_within_ulps(p):
    """torch's vectorized complex products/reciprocals round a few values differently."""
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(500) * 2 + 1j * rng.standard_normal(500) * 2).astype("complex128")
    ours = (gradstep.tensor(a) ** p).numpy()
    theirs = (torch.from_numpy(a) ** p).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)


def test_complex_number_exponent_of_a_real_tensor_records_the_scalar_node():
    for lib in (torch, gradstep):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        assert (t ** (2 + 1j)).grad_fn.name() == "PowBackward0"

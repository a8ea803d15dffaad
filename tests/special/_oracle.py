"""Shared comparison for the Cephes-style special functions against torch."""

from __future__ import annotations

import numpy as np


def assert_matches_torch(ours, theirs, what, ulps=4, exact_share=0.99):
    """Same NaN and infinity positions, every finite value within ``ulps`` ulps (relative
    to the value, or absolute near a zero of the function, where the ulp of the terms being
    cancelled is the scale), and nearly all of them bit-identical.

    The computation is torch's own, op for op (the same Cephes coefficient tables, branch
    points, fused multiply-adds and C library calls), so the values are identical on the
    machine the tests run on; the ulps allowance covers a C library or a CPU without FMA
    rounding a last bit differently, and ``exact_share`` still catches any change of
    algorithm or operation order (those move far more than 1% of the values)."""
    a = ours.numpy() if hasattr(ours, "numpy") else np.asarray(ours)
    b = theirs.numpy()
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != torch's {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: NaN positions")
    inf = np.isinf(b)
    np.testing.assert_array_equal(a[inf], b[inf], err_msg=f"{what}: infinities")
    fin = np.isfinite(b)
    eps = float(np.finfo(a.dtype).eps)
    np.testing.assert_allclose(a[fin], b[fin], rtol=ulps * eps, atol=ulps * eps, err_msg=what)
    if fin.sum():
        share = float(np.mean(a[fin] == b[fin]))
        assert share >= exact_share, f"{what}: only {share:.4f} of the values bit-identical"

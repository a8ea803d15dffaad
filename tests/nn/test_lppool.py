"""lp_pool1d/2d/3d and LPPool modules against torch (values and gradients).

Tolerance: helpers.TOL x10 — an average of |x|**p over <= 27 inputs, times the window
size, to the power 1/p: the same operations as torch's composition.
"""

from __future__ import annotations

import pytest

import gradstep
from tests.helpers import check

CASES = [(1, (2, 3, 9), dict(kernel_size=3)), (1, (3, 8), dict(kernel_size=2, stride=1)),
         (2, (2, 3, 6, 5), dict(kernel_size=2)),
         (2, (2, 3, 7, 6), dict(kernel_size=(3, 2), stride=2, ceil_mode=True)),
         (3, (2, 2, 4, 5, 6), dict(kernel_size=2)), (3, (2, 4, 4, 5), dict(kernel_size=(2, 3, 2)))]


@pytest.mark.parametrize("nd,shape,kw", CASES)
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_lp_pool(nd, shape, kw, p):
    # positive inputs: x**p of a negative base with fractional 1/p is NaN in both libraries
    check(lambda L, x: getattr(L.nn.functional, f"lp_pool{nd}d")(x, p, **kw), [shape],
          low=0.1, high=2.0, scale=10)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_modules(nd):
    import torch

    ours = getattr(gradstep.nn, f"LPPool{nd}d")(2, 2)
    theirs = getattr(torch.nn, f"LPPool{nd}d")(2, 2)
    assert repr(ours) == repr(theirs)
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [(2, 3) + (4,) * nd], low=0.1,
          scale=10)


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("p", [1, 2, 3, 0.5, 1.5, float("inf")])
def test_lp_pool_gradient_at_zero_inf_and_nan_windows(p, nd):
    # torch's sign(s) * relu(|s|) before the root: 0 where a window's sum is 0 (not the
    # root's inf slope times 0), NaN where it is NaN
    import numpy as np

    from tests.ops.fuzz_ops import disagreement
    x = np.random.default_rng(0).standard_normal((2, 3) + (6,) * nd)
    x[0, 0] = 0
    x[1, 1, :2] = 0
    x[0, 2, 1] = np.inf
    x[1, 2, 2] = np.nan
    for k, s, ceil in ((2, None, False), (3, 1, True), (2, 3, True)):
        assert disagreement(lambda L, a, k=k, s=s, ceil=ceil: getattr(
            L.nn.functional, f"lp_pool{nd}d")(a, p, k, s, ceil), x, tol="sum", n=64) is None

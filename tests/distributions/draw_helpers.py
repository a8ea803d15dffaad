"""Shared checks for the seeded-draw tests: the same function runs on both libraries after
``manual_seed``; the draws must agree and both generators must end at the same place.

Tolerances for the draws: the underlying uniform, normal and Gamma bits are torch's exactly
(``_mt19937``), so any difference comes from the few elementwise transcendental ops applied
after them (log1p, sqrt, cos, ...; NumPy's libm and torch's SLEEF kernels each round within
an ulp or so) and from the summation order of short reductions (norms, matmuls of 3x3 to 4x4
matrices).  That is a few ulps: float64 rtol 1e-14, float32 rtol 1e-6 (about 8 ulps), with
atol of the same order for values near zero.  A different accept/reject decision or a
shifted stream would be off by O(1), and the generator position is checked exactly.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch

import gradstep

DRAW_TOL = {"float64": dict(rtol=1e-14, atol=1e-15), "float32": dict(rtol=1e-6, atol=1e-7)}


@contextlib.contextmanager
def torch_default_dtype(dtype_name):
    """Run torch with ``dtype_name`` as its default dtype (where torch code builds a
    default-dtype constant that would otherwise clash with float64 parameters)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype_name))
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def _run(lib, fn, seed):
    lib.manual_seed(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(lib)
    after = lib.rand(3, dtype=lib.float64)
    return out, after, [str(w.message) for w in caught]


def assert_same_draws(fn, seed=0, products=False):
    """``fn(lib)`` returns a tensor or a list of them; compare values (with the tolerance of
    each one's dtype), the generator position afterwards and the warnings raised.

    ``products``: the draws are matrix products, whose entries carry rounding errors of the
    size of the products' terms (up to the largest entry), not of the entry itself: atol is
    scaled by the largest magnitude."""
    ours, ours_after, ours_warn = _run(gradstep, fn, seed)
    theirs, theirs_after, theirs_warn = _run(torch, fn, seed)
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    for a, b in zip(ours, theirs, strict=True):
        a, b = a.detach().numpy(), b.detach().numpy()
        assert a.shape == b.shape and a.dtype == b.dtype
        tol = dict(DRAW_TOL[b.dtype.name])
        if products and b.size:
            tol["atol"] = tol["rtol"] * float(np.abs(b).max())
        np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_array_equal(ours_after.numpy(), theirs_after.numpy())
    assert ours_warn == theirs_warn
    return ours


def error_message(exc):
    return str(exc).replace("torch.", "gradstep.")

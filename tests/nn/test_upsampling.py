"""interpolate / Upsample against torch: every mode, sizes and scales, values and gradients.

Tolerances: helpers.TOL (float32 rtol 1e-5, float64 rtol 1e-10). Each output is a
weighted sum of at most 2**d (linear) or 4**d (cubic) inputs with weights that sum
to 1 (cubic: |w| sum <= 1.5), computed in the input's dtype as torch does; only the
summation order differs, a few ulps of |x| <= 2, far inside those tolerances.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import assert_close, check

SIZES = [dict(size=7), dict(size=3), dict(scale_factor=2), dict(scale_factor=0.5),
         dict(scale_factor=1.7), dict(scale_factor=1.7, recompute_scale_factor=True),
         dict(scale_factor=(1.5, 3.0))]
CASES = [("nearest", 1), ("nearest", 2), ("nearest", 3), ("nearest-exact", 1),
         ("nearest-exact", 2), ("nearest-exact", 3), ("linear", 1), ("bilinear", 2),
         ("bicubic", 2), ("trilinear", 3), ("area", 1), ("area", 2)]


def _shape(nd):
    return {1: (2, 3, 5), 2: (2, 3, 5, 4), 3: (1, 2, 4, 5, 3)}[nd]


def _kw(kw, nd):
    kw = dict(kw)
    sf = kw.get("scale_factor")
    if isinstance(sf, tuple):
        kw["scale_factor"] = (sf * 2)[:nd]
    return kw


@pytest.mark.parametrize("mode,nd", CASES)
@pytest.mark.parametrize("kw", SIZES)
def test_interpolate_matches_torch(mode, nd, kw):
    kw = _kw(kw, nd)
    corners = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
    for ac in corners:
        extra = {} if ac is None else {"align_corners": ac}
        check(lambda L, x, e=extra: L.nn.functional.interpolate(x, mode=mode, **kw, **e),
              [_shape(nd)])


@pytest.mark.parametrize("mode,nd", [("bilinear", 2), ("bicubic", 2), ("trilinear", 3),
                                     ("nearest", 2)])
def test_interpolate_gradcheck(mode, nd):
    x = gradstep.tensor(np.random.default_rng(0).standard_normal(_shape(nd)[:2] + (3,) * nd),
                        requires_grad=True)
    extra = {} if mode == "nearest" else {"align_corners": False}
    assert gradcheck(lambda t: gradstep.nn.functional.interpolate(t, scale_factor=1.5,
                                                                   mode=mode, **extra), (x,))


def test_nearest_integer_input():
    x = np.arange(24, dtype=np.uint8).reshape(1, 2, 3, 4)
    ours = gradstep.nn.functional.interpolate(gradstep.tensor(x), size=(5, 7))
    theirs = torch.nn.functional.interpolate(torch.tensor(x), size=(5, 7))
    assert ours.dtype.name == "uint8"
    assert_close(ours, theirs, "float32")
    with pytest.raises(NotImplementedError):
        torch.nn.functional.interpolate(torch.tensor(x.astype(np.int64)), size=(5, 7))
    with pytest.raises(NotImplementedError):
        gradstep.nn.functional.interpolate(gradstep.tensor(x.astype(np.int64)), size=(5, 7))


@pytest.mark.parametrize("call", [
    lambda L, x: L.nn.functional.interpolate(x, size=3, scale_factor=2),
    lambda L, x: L.nn.functional.interpolate(x),
    lambda L, x: L.nn.functional.interpolate(x, size=(3, 3)),
    lambda L, x: L.nn.functional.interpolate(x, size=3, mode="nearest", align_corners=True),
    lambda L, x: L.nn.functional.interpolate(x, size=3, recompute_scale_factor=True),
    lambda L, x: L.nn.functional.interpolate(x, size=3, mode="bilinear"),
    lambda L, x: L.nn.functional.interpolate(x, size=3, mode="bogus"),
    lambda L, x: L.nn.functional.interpolate(x, size=3, mode="linear", antialias=True),
    lambda L, x: L.nn.functional.interpolate(x, size=[2.5]),
])
def test_interpolate_errors(call):
    x = np.zeros((1, 2, 4), np.float32)
    with pytest.raises(Exception) as theirs:
        call(torch, torch.tensor(x))
    with pytest.raises(type(theirs.value)):
        call(gradstep, gradstep.tensor(x))


def test_deprecated_spellings():
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, kw in (("upsample", dict(scale_factor=2, mode="bilinear")),
                         ("upsample_nearest", dict(size=(5, 6))),
                         ("upsample_bilinear", dict(scale_factor=2))):
            ours = getattr(gradstep.nn.functional, name)(gradstep.tensor(x), **kw)
            theirs = getattr(torch.nn.functional, name)(torch.tensor(x), **kw)
            assert_close(ours, theirs, "float32", what=name)


@pytest.mark.parametrize("name,args", [
    ("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(3, 5), mode="bilinear")),
    ("Upsample", dict(scale_factor=(2, 1.5), mode="bicubic", align_corners=True)),
    ("UpsamplingNearest2d", dict(scale_factor=2)), ("UpsamplingBilinear2d", dict(size=6)),
])
def test_upsample_modules(name, args):
    ours, theirs = getattr(gradstep.nn, name)(**args), getattr(torch.nn, name)(**args)
    assert repr(ours) == repr(theirs)
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [(2, 3, 4, 5)])


# ---- found by tests/nn/test_functional_differential.py
def test_area_interpolation_to_an_empty_output_is_adaptive_pooling():
    from tests.ops.fuzz_ops import disagreement
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 1))
    for kw in ({"scale_factor": 0.7}, {"size": (0, 2)}, {"scale_factor": [3, 0.5]}):
        assert disagreement(lambda L, a, k=kw: L.nn.functional.interpolate(
            a, mode="area", **k), x, rg=False) is None
    x3 = np.random.default_rng(1).standard_normal((2, 2, 5, 5, 1))
    assert disagreement(lambda L, a: L.nn.functional.interpolate(
        a, mode="area", scale_factor=[2, 0.7, 0.7]), x3, rg=False) is None


@pytest.mark.parametrize("mode,shape", [("linear", (1, 2, 3)), ("bilinear", (2, 1, 3, 1)),
                                        ("bilinear", (1, 2, 2, 3)), ("trilinear", (1, 1, 2, 3, 2))])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("with_inf", [False, True])
def test_linear_modes_copy_a_dim_whose_size_is_kept(mode, shape, align_corners, with_inf):
    # torch's linear kernels take an unchanged size as a copy (the same tap twice, weights 1
    # and 0), whatever the scale factor: 1.2 keeps a size of 2 or 3 and must not interpolate;
    # an inf meets only its own 0 weight (NaN there, not in its neighbours)
    from tests.ops.fuzz_ops import disagreement

    x = np.random.default_rng(0).standard_normal(shape)
    if with_inf:
        x.flat[0], x.flat[-1] = np.inf, -np.inf
    nd = len(shape) - 2
    for kw in ({"scale_factor": 1.2}, {"scale_factor": (1.2,) * (nd - 1) + (2.0,)},
               {"size": tuple(shape[2:-1]) + (2 * shape[-1],)}):
        assert disagreement(lambda L, a, k=kw: L.nn.functional.interpolate(
            a, mode=mode, align_corners=align_corners, **k), x, tol="sum", n=32) is None

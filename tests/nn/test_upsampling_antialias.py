"""interpolate(..., antialias=True) against torch: values, gradients, shapes and errors.

Tolerances. Along a dim an output is a running sum, in the input's dtype, of at most
``T = 2 * ceil(support) + 1`` taps (support = 1 or 2 upsampling, scaled by the step when
downsampling) with normalized weights (sum of |w| <= 1.2 for the cubic). Our weights are
torch's, bit for bit in float32 (asserted below); float64 weights may differ in the last bit
(torch's cubic filter uses fused multiply-adds that NumPy cannot do in float64). Only the
order/fusing of the sums differs, so each pass is off by at most ~T roundings of a partial
sum bounded by 1.2 * max|x|: ``atol = 2 * (T_h + T_w) * eps * max|x|`` covers both passes
with a factor 2 to spare. torch's backward adds ``wx * wy * g`` per (output, input) pair,
so gradients get ``T_h * T_w`` in place of ``T_h + T_w``. Upsampling float32, the forward
is asserted bit-exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck

MODES = ("bilinear", "bicubic")
DTYPES = ("float32", "float64")
RESIZES = [  # (input H, W), interpolate kwargs
    ((17, 23), dict(size=(5, 7))),  # downsampling
    ((9, 11), dict(size=(20, 25))),  # upsampling
    ((12, 10), dict(size=(5, 19))),  # down in H, up in W
    ((30, 40), dict(scale_factor=0.3)),
    ((30, 40), dict(scale_factor=0.3, recompute_scale_factor=True)),
    ((7, 9), dict(scale_factor=(2.5, 1.7))),
    ((16, 16), dict(scale_factor=(0.5, 0.25))),
    ((1, 6), dict(size=(3, 2))),  # a single input row
    ((8, 8), dict(size=(1, 1))),
    ((6, 5), dict(size=(6, 2))),  # H unchanged: torch skips that pass
]


def _taps(n_in, n_out, mode, align_corners, scale):
    """torch's tap bound along one dim (the same scale rule as the kernel)."""
    if n_in == n_out:
        return 0
    if align_corners:
        step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        step = 1.0 / scale if scale else n_in / n_out
    half = {"bilinear": 1.0, "bicubic": 2.0}[mode]
    support = half * step if step >= 1.0 else half
    return 2 * math.ceil(support) + 1


def _pass_taps(shape, out_shape, mode, align_corners, kw):
    sf = kw.get("scale_factor") if not kw.get("recompute_scale_factor") else None
    sf = sf if isinstance(sf, tuple) or sf is None else (sf, sf)
    return [_taps(n, o, mode, align_corners, None if sf is None else s)
            for n, o, s in zip(shape[2:], out_shape[2:], sf or (None, None))]


def _run(lib, x, mode, align_corners, kw, grad_out=None):
    out = lib.nn.functional.interpolate(x, mode=mode, antialias=True,
                                        align_corners=align_corners, **kw)
    if grad_out is None:
        return out, None
    (g,) = lib.autograd.grad(out, x, grad_out)
    return out, g


def _pair(arr, requires_grad=False):
    return (gradstep.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("hw,kw", RESIZES)
def test_values_and_gradients_match_torch(hw, kw, align_corners, mode, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3) + hw).astype(dtype)
    ours_x, torch_x = _pair(x, requires_grad=True)
    theirs, _ = _run(torch, torch_x, mode, align_corners, kw)
    g = rng.standard_normal(tuple(theirs.shape)).astype(dtype)
    theirs, theirs_g = _run(torch, torch_x, mode, align_corners, kw, torch.tensor(g))
    ours, ours_g = _run(gradstep, ours_x, mode, align_corners, kw, gradstep.tensor(g))
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == dtype and ours_g.dtype.name == dtype
    t_h, t_w = _pass_taps(x.shape, theirs.shape, mode, align_corners, kw)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=0,
                               atol=2 * (t_h + t_w) * eps * np.abs(x).max())
    np.testing.assert_allclose(ours_g.numpy(), theirs_g.numpy(), rtol=0,
                               atol=2 * max(t_h, 1) * max(t_w, 1) * eps * np.abs(g).max())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(20, 25), (9, 30), (18, 11)])
def test_float32_upsampling_is_bit_exact(size, align_corners, mode):
    # torch's kernel fuses the multiply-adds of the tap sum; we emulate that when upsampling
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 11)).astype(np.float32)
    ours = gradstep.nn.functional.interpolate(gradstep.tensor(x), size=size, mode=mode,
                                              antialias=True, align_corners=align_corners)
    theirs = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode=mode,
                                             antialias=True, align_corners=align_corners)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n_in,n_out", [(23, 7), (11, 25), (40, 13), (64, 21), (5, 4)])
def test_weights_are_torchs(n_in, n_out, mode, dtype):
    # one-hot rows read the weights out exactly (w * 1 plus zeros) in both libraries
    eye = np.eye(n_in, dtype=dtype).reshape(n_in, 1, 1, n_in)
    kw = dict(size=(1, n_out), mode=mode, antialias=True)
    ours = gradstep.nn.functional.interpolate(gradstep.tensor(eye), **kw).numpy()
    theirs = torch.nn.functional.interpolate(torch.tensor(eye), **kw).numpy()
    if dtype == "float32":
        np.testing.assert_array_equal(ours, theirs)
    else:  # torch's float64 cubic filter fuses multiply-adds: the last bit may differ
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=4 * np.finfo(dtype).eps)
    # each output's weights sum to 1 (they are normalized)
    np.testing.assert_allclose(ours.reshape(n_in, n_out).sum(0), 1.0, rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", [dict(size=(4, 9)), dict(size=(11, 3)),
                                dict(scale_factor=0.45), dict(size=(5, 5))])
def test_gradcheck_and_gradgradcheck(kw, mode):
    x = gradstep.tensor(np.random.default_rng(2).standard_normal((1, 2, 7, 6)),
                        requires_grad=True)

    def fn(t):
        return gradstep.nn.functional.interpolate(t, mode=mode, antialias=True, **kw)

    assert gradcheck(fn, (x,), eps=1e-6, atol=1e-8)
    assert gradgradcheck(fn, (x,), eps=1e-6, atol=1e-8)


def test_double_backward_matches_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 9, 8))
    g = rng.standard_normal((1, 2, 4, 13))
    v = rng.standard_normal(x.shape)
    res = []
    for lib in (gradstep, torch):
        xt, gt = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        y = lib.nn.functional.interpolate(xt, size=(4, 13), mode="bicubic", antialias=True)
        (gx,) = lib.autograd.grad(y, xt, gt, create_graph=True)
        (gg,) = lib.autograd.grad((gx * lib.tensor(v)).sum(), gt)
        res.append(gg.detach().numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=0, atol=1e-13 * np.abs(v).max() * 25)


def test_unchanged_size_with_scale_factor_is_the_identity():
    # floor(5 * 1.1) == 5: torch's forward skips the pass (output == input), but its backward
    # still spreads the gradient with the 1/1.1 step's weights, which is not the adjoint of
    # that forward. We keep forward and backward consistent: the identity both ways.
    x = np.random.default_rng(4).standard_normal((1, 1, 5, 5))
    ours_x, torch_x = _pair(x, requires_grad=True)
    theirs = torch.nn.functional.interpolate(torch_x, scale_factor=1.1, mode="bilinear",
                                             antialias=True)
    ours = gradstep.nn.functional.interpolate(ours_x, scale_factor=1.1, mode="bilinear",
                                              antialias=True)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    np.testing.assert_array_equal(ours.detach().numpy(), x)
    (g,) = gradstep.autograd.grad(ours, ours_x, gradstep.ones_like(ours))
    np.testing.assert_array_equal(g.numpy(), np.ones_like(x))
    assert not np.shares_memory(ours.detach().numpy(), ours_x.detach().numpy())  # a copy


@pytest.mark.parametrize("mode", MODES)
def test_non_finite_input_spreads_like_torch(mode):
    x = np.random.default_rng(5).standard_normal((1, 1, 12, 12)).astype(np.float32)
    x[0, 0, 3, 4] = np.inf
    x[0, 0, 9, 1] = np.nan
    for size in ((4, 5), (20, 17)):
        ours = gradstep.nn.functional.interpolate(gradstep.tensor(x), size=size, mode=mode,
                                                  antialias=True)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode=mode,
                                                 antialias=True)
        o, t = ours.numpy(), theirs.numpy()
        np.testing.assert_array_equal(np.isnan(o), np.isnan(t))
        np.testing.assert_array_equal(np.isinf(o), np.isinf(t))
        assert np.isfinite(o).any()  # a bad pixel taints only the outputs that read it


def test_grad_fn_names_empty_batch_and_strided_input():
    x = np.random.default_rng(6).standard_normal((2, 8, 6, 3)).astype(np.float32)
    for mode, name in (("bilinear", "UpsampleBilinear2DAaBackward0"),
                       ("bicubic", "UpsampleBicubic2DAaBackward0")):
        out = gradstep.nn.functional.interpolate(
            gradstep.tensor(x, requires_grad=True), size=3, mode=mode, antialias=True)
        assert out.grad_fn.name() == name == type(torch.nn.functional.interpolate(
            torch.tensor(x, requires_grad=True), size=3, mode=mode,
            antialias=True).grad_fn).__name__
    empty = gradstep.nn.functional.interpolate(gradstep.zeros(0, 3, 8, 8), size=(2, 5),
                                               mode="bilinear", antialias=True)
    assert tuple(empty.shape) == (0, 3, 2, 5)
    # a channels-last-like permuted input resizes as its contiguous copy does
    ours = gradstep.nn.functional.interpolate(gradstep.tensor(x).permute(0, 3, 1, 2),
                                              size=(3, 4), mode="bicubic", antialias=True)
    theirs = torch.nn.functional.interpolate(torch.tensor(x).permute(0, 3, 1, 2),
                                             size=(3, 4), mode="bicubic", antialias=True)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0,
                               atol=2 * 14 * np.finfo(np.float32).eps * np.abs(x).max())


@pytest.mark.parametrize("shape,kw,exc", [
    ((1, 2, 8), dict(size=4, mode="linear"), ValueError),  # 3-D: antialias is 4-D only
    ((1, 2, 8), dict(size=4, mode="bilinear"), ValueError),
    ((1, 1, 4, 4, 4), dict(size=2, mode="bilinear"), ValueError),
    ((1, 1, 4, 4, 4), dict(size=2, mode="trilinear"), ValueError),
    ((1, 1, 4, 4), dict(size=2, mode="nearest"), ValueError),
    ((1, 1, 4, 4), dict(size=2, mode="area"), ValueError),
    ((1, 1, 4, 4), dict(size=0, mode="bilinear"), RuntimeError),
    ((1, 1, 0, 4), dict(size=2, mode="bicubic"), RuntimeError),
    ((1, 1, 4, 4), dict(size=2, scale_factor=0.5, mode="bilinear"), ValueError),
])
def test_errors_match_torch(shape, kw, exc):
    x = np.zeros(shape, np.float32)
    with pytest.raises(exc) as theirs:
        torch.nn.functional.interpolate(torch.tensor(x), antialias=True, **kw)
    with pytest.raises(exc) as ours:
        gradstep.nn.functional.interpolate(gradstep.tensor(x), antialias=True, **kw)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int64", "int32"])
def test_unsupported_dtypes_match_torch(dtype):
    t = torch.zeros(1, 1, 4, 4, dtype=getattr(torch, dtype))
    g = gradstep.zeros(1, 1, 4, 4, dtype=getattr(gradstep, dtype))
    with pytest.raises(NotImplementedError) as theirs:
        torch.nn.functional.interpolate(t, size=2, mode="bilinear", antialias=True)
    with pytest.raises(NotImplementedError) as ours:
        gradstep.nn.functional.interpolate(g, size=2, mode="bilinear", antialias=True)
    assert str(ours.value) == str(theirs.value)

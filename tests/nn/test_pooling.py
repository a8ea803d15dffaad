"""Pooling (functional and modules) against torch: values, indices, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_close, check
from tests.nn.bad_input import assert_same_outcome, rand


def F(L):
    return L.nn.functional


MAX2D = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 10, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1))),
    ((2, 3, 7, 7), dict(kernel_size=2, stride=2, ceil_mode=True)),
    ((2, 3, 7, 8), dict(kernel_size=3, stride=1, dilation=2, padding=1, ceil_mode=True)),
    ((3, 7, 8), dict(kernel_size=2, stride=1)),  # unbatched, overlapping windows
]


@pytest.mark.parametrize("x_shape,kw", MAX2D)
def test_max_pool2d_values_indices_and_grads(x_shape, kw):
    check(lambda L, x: F(L).max_pool2d(x, **kw, return_indices=True), [x_shape])


MAX1D = [
    ((2, 3, 9), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    ((2, 3, 10), dict(kernel_size=2)),
    ((3, 9), dict(kernel_size=3, stride=1, padding=1)),
]


@pytest.mark.parametrize("x_shape,kw", MAX1D)
def test_max_pool1d_values_indices_and_grads(x_shape, kw):
    check(lambda L, x: F(L).max_pool1d(x, **kw, return_indices=True), [x_shape])


def test_padding_beyond_half_kernel_is_rejected_even_with_dilation():
    # torch's autograd kernel checks pad <= kernel_size / 2, ignoring the dilation
    kw = dict(kernel_size=3, stride=2, dilation=2, padding=2)
    _both_raise(lambda L: F(L).max_pool2d(L.zeros(1, 1, 9, 8, requires_grad=True), **kw),
                RuntimeError, "pad should be smaller than or equal to half of kernel size")


def test_max_pool_ties_and_nan_pick_torchs_index():
    x = np.array([[[[1.0, 1.0, 2.0, 2.0], [0.0, 1.0, 2.0, 0.0],
                    [np.nan, 3.0, 5.0, np.nan], [np.nan, 0.0, np.nan, 1.0]]]], dtype="float32")
    for L in (gradstep, torch):
        out, idx = F(L).max_pool2d(L.tensor(x), 2, return_indices=True)
        if L is gradstep:
            ours = (out.numpy(), idx.numpy())
        else:
            theirs = (out.numpy(), idx.numpy())
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_array_equal(ours[0], theirs[0])


AVG2D = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ((2, 3, 9, 8), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), divisor_override=5)),
    ((3, 7, 6), dict(kernel_size=2, stride=1)),
]


@pytest.mark.parametrize("x_shape,kw", AVG2D)
def test_avg_pool2d_matches_torch(x_shape, kw):
    check(lambda L, x: F(L).avg_pool2d(x, **kw), [x_shape])


@pytest.mark.parametrize("kw", [dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
                                dict(kernel_size=4, stride=3, padding=2, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=3)])
def test_avg_pool1d_matches_torch(kw):
    check(lambda L, x: F(L).avg_pool1d(x, **kw), [(2, 3, 10)])


@pytest.mark.parametrize("x_shape,size", [((2, 3, 9, 8), (4, 3)), ((3, 9, 8), (None, 5)),
                                          ((2, 3, 5, 7), 1), ((2, 3, 5, 7), (7, 9)),
                                          ((2, 3, 6, 6), 3)])
def test_adaptive_avg_pool2d_matches_torch(x_shape, size):
    check(lambda L, x: F(L).adaptive_avg_pool2d(x, size), [x_shape])


@pytest.mark.parametrize("x_shape,size", [((2, 3, 9, 8), (4, 3)), ((3, 5, 7), (3, 4)),
                                          ((2, 3, 5, 7), (7, 9)), ((2, 3, 6, 6), 1)])
def test_adaptive_max_pool2d_matches_torch(x_shape, size):
    check(lambda L, x: F(L).adaptive_max_pool2d(x, size, return_indices=True), [x_shape])


@pytest.mark.parametrize("x_shape,size", [((2, 3, 9), 4), ((3, 7), (10,)), ((2, 3, 8), 1)])
def test_adaptive_pool1d_matches_torch(x_shape, size):
    check(lambda L, x: F(L).adaptive_avg_pool1d(x, size), [x_shape])
    check(lambda L, x: F(L).adaptive_max_pool1d(x, size, return_indices=True), [x_shape])


def test_gradcheck_and_double_backward():
    rng = np.random.default_rng(0)
    x = gradstep.tensor(rng.standard_normal((1, 2, 5, 6)), requires_grad=True)
    for fn in (lambda x: F(gradstep).max_pool2d(x, 3, 2, 1, ceil_mode=True),
               lambda x: F(gradstep).avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                count_include_pad=False),
               lambda x: F(gradstep).adaptive_avg_pool2d(x, (3, 4)),
               lambda x: F(gradstep).adaptive_max_pool2d(x, (2, 4))):
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


# ---------------------------------------------------------------- modules

MODULES = [
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 9, 8)),
    ("MaxPool2d", (2,), dict(return_indices=True), (2, 3, 8, 8)),
    ("MaxPool1d", (3, 2, 1), dict(dilation=2, return_indices=True), (2, 3, 11)),
    ("AvgPool2d", ((3, 2),), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9, 8)),
    ("AvgPool2d", (2,), dict(divisor_override=3), (3, 8, 8)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 10)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}, (2, 3, 7, 8)),
    ("AdaptiveMaxPool2d", (3,), dict(return_indices=True), (2, 3, 7, 8)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveMaxPool1d", (3, True), {}, (3, 7)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kw,x_shape", MODULES)
def test_module_matches_torch(name, args, kw, x_shape, dtype):
    ours, theirs = getattr(gradstep.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    x = gradstep.tensor(np.random.default_rng(2).standard_normal(x_shape).astype(dtype),
                        requires_grad=True)
    check(lambda L, x: (ours if L is gradstep else theirs)(x), inputs=[x], dtypes=(dtype,))


# ---------------------------------------------------------------- errors


def _both_raise(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(gradstep)


def test_pooling_errors():
    _both_raise(lambda L: L.nn.MaxPool2d(3)(L.zeros(1, 1, 2, 2)), RuntimeError,
                r"Given input size: \(1x2x2\). Calculated output size: \(1x0x0\). Output size is "
                "too small")
    _both_raise(lambda L: L.nn.MaxPool2d(3, padding=2)(L.zeros(1, 1, 8, 8)), RuntimeError,
                "pad should be at most half of effective kernel size, but got pad=2, "
                "kernel_size=3 and dilation=1")
    _both_raise(lambda L: L.nn.AvgPool2d(3, padding=2)(L.zeros(1, 1, 8, 8)), RuntimeError,
                "pad should be at most half of effective kernel size")
    _both_raise(lambda L: F(L).max_pool2d(L.zeros(1, 4, 8, 8), 2, stride=0), RuntimeError,
                "stride should not be zero")
    _both_raise(lambda L: L.nn.MaxPool1d(3)(L.zeros(1, 1, 2, 2, 2)), RuntimeError,
                r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with optional 0 dim batch "
                r"size for input, but got:\[1, 1, 2, 2, 2\]")
    _both_raise(lambda L: F(L).max_pool2d(L.zeros(2, 0, 8, 8), 2), RuntimeError,
                r"Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for "
                r"input, but got:\[2, 0, 8, 8\]")
    _both_raise(lambda L: L.nn.AdaptiveAvgPool2d(3)(L.zeros(2, 2)), RuntimeError,
                r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[2, 2\]")
    _both_raise(lambda L: F(L).avg_pool2d(L.zeros(1, 4, 8, 8), 2, divisor_override=0),
                RuntimeError, "divisor must be not zero")
    _both_raise(lambda L: L.nn.AdaptiveMaxPool1d(2)(L.zeros(2, 3, 4, 5)), RuntimeError,
                r"Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 "
                r"'self' \(while checking arguments for adaptive_max_pool1d\)")


def test_empty_batch_is_allowed():
    out, idx = F(gradstep).max_pool2d(gradstep.zeros(0, 4, 8, 8), 2, return_indices=True)
    assert tuple(out.shape) == (0, 4, 4, 4) and tuple(idx.shape) == (0, 4, 4, 4)
    assert tuple(F(gradstep).avg_pool2d(gradstep.zeros(0, 4, 8, 8), 2).shape) == (0, 4, 4, 4)
    assert_close(F(gradstep).adaptive_avg_pool2d(gradstep.ones(1, 2, 3, 3), (0, 2)),
                 F(torch).adaptive_avg_pool2d(torch.ones(1, 2, 3, 3), (0, 2)), "float32")


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1),
                                dict(kernel_size=3, stride=2, padding=1)])
@pytest.mark.parametrize("size", [8, 9])  # 8: kernel 2 tiles the image (one-pass scatter)
def test_max_pool_grad_after_relu_ties_matches_torch(kw, size):
    # ReLU leaves whole windows of zeros: the gradient must go to torch's (first) maximum
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((2, 3, size, size)), 0).astype("float32")
    x[0, 0, :4, :4] = 0.0
    out_shape = tuple(F(torch).max_pool2d(torch.tensor(x), **kw).shape)
    g = rng.standard_normal(out_shape).astype("float32")
    res = []
    for L in (gradstep, torch):
        t = L.tensor(x, requires_grad=True)
        out = F(L).max_pool2d(t, **kw)
        out.backward(L.tensor(g))
        res.append((out.detach().numpy(), t.grad.numpy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1] != 0, res[1][1] != 0)  # same receiving pixels
    assert_close(res[0][1], res[1][1], "float32")


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=2, stride=1)])
def test_max_pool_nonfinite_upstream_gradient_matches_torch(kw):
    # inf/nan gradients reach only the argmax: no inf * 0 = nan leaks into other pixels
    x = np.arange(2 * 16, dtype="float32").reshape(1, 2, 4, 4) % 7
    res = []
    for L in (gradstep, torch):
        t = L.tensor(x, requires_grad=True)
        out = F(L).max_pool2d(t, **kw)
        g = np.ones(tuple(out.shape), "float32")
        g[0, 0, 0, 0], g[0, 1, 0, 1] = np.inf, np.nan
        out.backward(L.tensor(g))
        res.append(t.grad.numpy())
    np.testing.assert_array_equal(res[0], res[1])


def test_max_pool_signed_zero_ties_keep_the_first_like_torch():
    x = np.array([[[[-0.0, 0.0, 0.0, -0.0], [0.0, 0.0, -0.0, -0.0]]]], dtype="float32")
    ours = F(gradstep).max_pool2d(gradstep.tensor(x), 2).numpy()
    theirs = F(torch).max_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


def test_max_pool_integer_input_matches_torch():
    x = np.random.default_rng(0).integers(-5, 5, (2, 3, 6, 6))
    out, idx = F(gradstep).max_pool2d(gradstep.tensor(x), 2, return_indices=True)
    t_out, t_idx = F(torch).max_pool2d(torch.tensor(x).double(), 2, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy().astype(x.dtype))
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_adaptive_avg_pool_keeps_inf_and_nan_in_their_own_windows(nd, dt):
    # the averaging-matrix product would spread them into every window (0 * inf = NaN)
    from tests.ops.fuzz_ops import disagreement

    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7)[-nd - 2:]).astype(dt)
    x.flat[3], x.flat[11], x.flat[17] = np.inf, -np.inf, np.nan
    for out in ([(3,), (7,), (10,), (1,)] if nd == 1 else [(3, 4), (1, 2), (5, 9), (2, 7)]):
        assert disagreement(lambda L, a, o=out: getattr(L.nn.functional, f"adaptive_avg_pool{nd}d")(
            a, o if nd == 2 else o[0]), x, tol="sum", n=16) is None


# windows that no value beats: wholly in the padding (a dilation stepping over the input, or
# ceil mode), or -inf values beside padding; torch reports them at the flat position of their
# first non-negative taps (in no window at times) and sends their gradient there
PADDING_WINDOWS = [  # (nd, shape, kwargs, whether the first column is -inf)
    (1, (2, 2, 3), dict(kernel_size=2, stride=1, padding=1), True),
    (2, (1, 2, 3, 1), dict(kernel_size=2, stride=1, padding=1, dilation=2), False),
    (2, (1, 2, 3, 1), dict(kernel_size=2, stride=1, padding=1, dilation=2), True),
    (2, (2, 1, 3, 1), dict(kernel_size=2, stride=2, padding=1, dilation=2, ceil_mode=True),
     False),
    (2, (2, 3, 3, 2), dict(kernel_size=2, stride=1, padding=1), True),
    (3, (1, 2, 2, 3, 1), dict(kernel_size=2, stride=1, padding=1, dilation=2), False),
    (3, (2, 1, 2, 3, 2), dict(kernel_size=2, stride=1, padding=1, dilation=(1, 2, 1)), True),
]


def _padding_window_input(shape, dt, with_neg_inf):
    x = (np.random.default_rng(1).permutation(int(np.prod(shape))) - 4.0).reshape(shape)
    if with_neg_inf:
        x[..., 0] = -np.inf  # -inf beside the padding: torch's start index, not a padded tap
    return x.astype(dt)


@pytest.mark.parametrize("nd,shape,kw,with_neg_inf", PADDING_WINDOWS)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_max_pool_windows_no_value_beats_match_torch(nd, shape, kw, with_neg_inf, dt):
    x = _padding_window_input(shape, dt, with_neg_inf)
    pool = f"max_pool{nd}d"
    t_out, t_idx = getattr(F(torch), pool)(torch.tensor(x), **kw, return_indices=True)
    plane = int(np.prod(shape[2:]))
    assert torch.isinf(t_out).any() and 0 <= t_idx.min() and t_idx.max() < plane  # the case
    check(lambda L, a: getattr(F(L), pool)(a, **kw, return_indices=True),
          inputs=lambda d: [gradstep.tensor(x, requires_grad=True)], dtypes=(dt,))
    # max_unpool with these indices: the same output, or the same error (an output_size
    # out of its allowed range, or an index past it)
    outs = []
    for L in (gradstep, torch):
        pooled = getattr(F(L), pool)(L.tensor(x), **kw, return_indices=True)
        try:
            outs.append(getattr(F(L), f"max_unpool{nd}d")(
                *pooled, kw["kernel_size"], kw.get("stride"), kw["padding"],
                output_size=shape[2:]))
        except (RuntimeError, ValueError) as e:
            outs.append(type(e))
    if isinstance(outs[1], type):
        assert outs[0] is outs[1]
    else:
        assert_close(outs[0], outs[1], dt)


def test_max_pool_windows_no_value_beats_double_backward():
    nd, shape, kw, with_neg_inf = PADDING_WINDOWS[2]
    x = _padding_window_input(shape, "float64", with_neg_inf)
    grads = []
    for L in (gradstep, torch):
        a = L.tensor(x, requires_grad=True)
        g = L.tensor(np.arange(1.0, 7.0).reshape(1, 2, 3, 1), requires_grad=True)
        (gx,) = L.autograd.grad(F(L).max_pool2d(a, **kw), a, g, create_graph=True)
        gx.mul(L.arange(6.0).reshape(shape)).sum().backward()
        grads.append((gx.detach(), g.grad))
    for ours, theirs in zip(*grads):
        assert_close(ours, theirs, "float64")


def test_max_pool_index_past_the_plane_matches_torch_forward():
    # torch's index for a window wholly in the padding can lie past the plane: its backward
    # writes that gradient out of bounds (heap corruption), so gradstep's gradient there is
    # only checked to be dropped, not against torch
    x = np.arange(1.0, 4.0).reshape(1, 3, 1)
    kw = dict(kernel_size=2, stride=1, padding=1, dilation=2, ceil_mode=True)
    t_out, t_idx = F(torch).max_pool1d(torch.tensor(x), **kw, return_indices=True)
    a = gradstep.tensor(x, requires_grad=True)
    out, idx = F(gradstep).max_pool1d(a, **kw, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    np.testing.assert_array_equal(out.detach().numpy(), t_out.numpy())
    assert (t_idx >= 1).all()  # every window's index is past the 1-long plane
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros_like(x))


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "uint8"])
@pytest.mark.parametrize("call", [
    lambda L, x: L.nn.functional.avg_pool2d(x, 2),
    lambda L, x: L.nn.functional.avg_pool2d(x, 3, 1, 1),
    lambda L, x: L.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda L, x: L.nn.functional.avg_pool2d(x, 2, divisor_override=3),
    lambda L, x: L.nn.functional.avg_pool1d(x[0], 3, 2, 1),
    lambda L, x: L.nn.AvgPool2d(2)(x[0]),
], ids=["k2", "k3_pad", "ceil_no_pad_count", "divisor", "1d", "module_unbatched"])
def test_avg_pool_of_integers_matches_torch(call, dtype):
    """torch's CPU kernel takes int64 (the window sum divided toward zero, as C++ integer
    division); other integer types and bool have no kernel."""
    def build(L):
        x = L.tensor(np.random.default_rng(0).integers(-20, 20, (2, 3, 7, 6)))
        return call(L, x if dtype == "int64" else x.abs().to(getattr(L, dtype)))
    assert_same_outcome(build)


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 5), (0, 3, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32"])
@pytest.mark.parametrize("fn,kw", [("max_pool1d", {}), ("max_pool1d", {"return_indices": True}),
                                   ("max_pool2d", {}), ("max_pool2d", {"return_indices": True})])
def test_max_pool_kernel_dtypes_as_torch(shape, dtype, fn, kw):
    """torch's 1-D kernel without indices takes floats only; no max pooling takes bool."""
    assert_same_outcome(lambda L: getattr(L.nn.functional, fn)(rand(L, shape, dtype), 2, **kw))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 3), (1, 2, 3, 4, 4), (2, 3, 1, 1),
                                   (2, 0, 4)])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_avg_pool2d_rank_errors_before_dtype_as_torch(shape, dtype):
    """torch reads dim -3 first (IndexError) and checks the kernel dtype after the shapes."""
    assert_same_outcome(lambda L: L.nn.functional.avg_pool2d(rand(L, shape, dtype), 2))

"""``torch.nn.grad`` (``F.grad``): conv1d/2d/3d gradients with respect to input and weight,
against torch's on random inputs (float32 and float64, strides, padding, dilation, groups)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

# (nd, input shape, weight shape, stride, padding, dilation, groups)
GEOMETRIES = [
    (1, (2, 4, 9), (6, 2, 3), 2, 1, 1, 2),
    (2, (2, 3, 7, 6), (4, 3, 3, 2), 1, (1, 0), 2, 1),
    (2, (1, 4, 8, 8), (4, 1, 3, 3), (2, 1), 2, 1, 4),
    (3, (1, 2, 5, 4, 5), (3, 2, 2, 3, 2), 2, 1, 1, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv_input_and_weight_grads_match_torch(dtype, geometry):
    nd, xs, ws, stride, padding, dilation, groups = geometry
    rng = np.random.default_rng(nd)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    conv = getattr(torch.nn.functional, f"conv{nd}d")
    out_shape = conv(torch.tensor(x), torch.tensor(w), None, stride, padding, dilation,
                     groups).shape
    go = rng.standard_normal(tuple(out_shape)).astype(dtype)
    args = (stride, padding, dilation, groups)
    for lib_grad, lib in ((torch.nn.grad, torch), (gradstep.nn.grad, gradstep)):
        gi = getattr(lib_grad, f"conv{nd}d_input")(xs, lib.tensor(w), lib.tensor(go), *args)
        gw = getattr(lib_grad, f"conv{nd}d_weight")(lib.tensor(x), ws, lib.tensor(go), *args)
        if lib is torch:
            want_i, want_w = gi, gw
    # each element is a sum of up to (kernel volume x out channels) products, so the float32
    # tolerance of one op applies; the kernels' summation orders differ
    assert_close(gi, want_i, dtype, what="grad input")
    assert_close(gw, want_w, dtype, what="grad weight")
    assert gi.dtype == getattr(gradstep, dtype) and not gi.requires_grad


def test_grads_are_those_of_backward_and_differentiable():
    x = gradstep.randn(2, 4, 6, 6, requires_grad=True)
    w = gradstep.randn(6, 2, 3, 3, requires_grad=True)
    out = gradstep.nn.functional.conv2d(x, w, None, 2, 1, 1, 2)
    go = gradstep.randn(*out.shape)
    gx, gw = gradstep.autograd.grad(out, (x, w), go)
    gi = gradstep.nn.functional.grad.conv2d_input(x.shape, w, go, 2, 1, 1, 2)
    gww = gradstep.nn.functional.grad.conv2d_weight(x, w.shape, go, stride=2, padding=1, groups=2)
    assert gradstep.equal(gi, gx) and gradstep.equal(gww, gw)  # the same kernels: bit-identical
    assert gi.requires_grad and gww.requires_grad  # as torch's convolution_backward
    (g_of_w,) = gradstep.autograd.grad(gi.sum(), w)
    assert g_of_w.shape == w.shape
    with gradstep.no_grad():
        assert not gradstep.nn.grad.conv2d_input(x.shape, w, go, 2, 1, 1, 2).requires_grad

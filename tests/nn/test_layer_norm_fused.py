"""``layer_norm`` with an affine part as one node (``LayerNorm``, torch's
``NativeLayerNormBackward0``): the composition's numbers, torch's values and gradients,
gradients of any order, and the cases that keep the composition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from gradstep.nn import functional as F
from gradstep.nn._functional import normalization
from tests.helpers import check

NAME = "NativeLayerNormBackward0"
CASES = [((4, 6, 8), (8,)), ((3, 5, 6, 4), (6, 4)), ((64, 33), (33,))]


def _run(x, w, b, g, shape, fused):
    """Output and gradients (x, weight, bias) of one layer_norm, fused node or composition."""
    chooser = normalization._fused_layer_norm
    if not fused:
        normalization._fused_layer_norm = lambda *a: None
    try:
        ts = [None if a is None else gradstep.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = F.layer_norm(ts[0], shape, ts[1], ts[2])
        y.backward(gradstep.tensor(g))
    finally:
        normalization._fused_layer_norm = chooser
    return y, [y.detach().numpy()] + [None if t is None else t.grad.numpy() for t in ts]


@pytest.mark.parametrize("affine", ["weight_bias", "weight", "bias"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,shape", CASES)
def test_the_node_gives_the_compositions_numbers_bit_for_bit(xs, shape, dtype, affine):
    """The same NumPy operations on the same arrays in the same order."""
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal(xs).astype(dtype), rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(shape).astype(dtype) if "weight" in affine else None
    b = rng.standard_normal(shape).astype(dtype) if "bias" in affine else None
    y, fused = _run(x, w, b, g, shape, True)
    assert y.grad_fn.name() == NAME
    _, composed = _run(x, w, b, g, shape, False)
    for what, got, want in zip(("out", "grad x", "grad weight", "grad bias"), fused, composed):
        if want is None:
            assert got is None, what
        else:
            np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("xs,shape", CASES)
def test_layer_norm_matches_torch(xs, shape):
    k = len(shape)
    check(lambda L, x, w, b: L.nn.functional.layer_norm(x, shape, w, b, eps=1e-3),
          [xs, shape, shape], scale=4)
    check(lambda L, x, w: L.nn.functional.layer_norm(x, shape, weight=w), [xs, shape], scale=4)
    check(lambda L, x, b: L.nn.functional.layer_norm(x, shape, bias=b), [xs, shape], scale=4)
    assert k  # the trailing dims are the normalized ones


def test_the_module_names_its_node_like_torch_and_frozen_parameters_get_no_grad():
    torch.manual_seed(0)
    tm = torch.nn.LayerNorm(6)
    gm = gradstep.nn.LayerNorm(6)
    gm.load_state_dict({k: gradstep.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    gm.weight.requires_grad_(False)
    tm.weight.requires_grad_(False)
    x = np.random.default_rng(0).standard_normal((5, 6)).astype("float32")
    ty, gy = tm(torch.tensor(x)), gm(gradstep.tensor(x))
    assert gy.grad_fn.name() == ty.grad_fn.name() == NAME
    ty.square().sum().backward()
    gy.square().sum().backward()
    assert gm.weight.grad is None and tm.weight.grad is None
    np.testing.assert_allclose(gm.bias.grad.numpy(), tm.bias.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_gradients_of_any_order_through_the_node():
    def r(*s):
        return gradstep.randn(*s, dtype=gradstep.float64, requires_grad=True)

    x, w, b = r(3, 4, 5), r(5), r(5)
    fn = lambda x, w, b: F.layer_norm(x, (5,), w, b)  # noqa: E731
    assert fn(x, w, b).grad_fn.name() == NAME
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))
    only_w = lambda x, w: F.layer_norm(x, (4, 5), w.reshape(1, 5).expand(4, 5))  # noqa: E731
    assert gradgradcheck(only_w, (x, w))


def test_a_changed_input_or_weight_is_caught_before_the_backward():
    for changed in ("x", "weight"):  # both saved, as torch's native_layer_norm saves them
        x = gradstep.randn(3, 4, requires_grad=True)
        w = gradstep.randn(4, requires_grad=True)
        xi = x * 1
        y = F.layer_norm(xi, (4,), w, None)
        with gradstep.no_grad():
            (w if changed == "weight" else xi).add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("case", ["no_affine", "whole_input", "bfloat16"])
def test_the_composition_keeps_what_the_node_does_not_cover(case):
    """(A float64 weight on a float32 input is torch's "mixed dtype" error: tests/nn/
    test_normalization.py.)"""
    x = gradstep.randn(4, 6, requires_grad=True)
    w, shape = gradstep.randn(6, requires_grad=True), (6,)
    if case == "no_affine":
        w = None
    elif case == "whole_input":
        shape, w = (4, 6), gradstep.randn(4, 6, requires_grad=True)
    else:
        x = x.detach().bfloat16().requires_grad_()
    y = F.layer_norm(x, shape, w)
    assert not isinstance(y.grad_fn, normalization.LayerNorm)
    assert y.grad_fn.name() == NAME  # as torch names it, composition or not
    y.float().sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_changing_the_output_in_place_is_allowed_as_in_torch():
    """The node keeps the normalized input, not its output (torch's native_layer_norm too)."""
    results = []
    for L in (gradstep, torch):
        x = L.tensor(np.arange(12.0).reshape(3, 4) % 5, requires_grad=True)
        w = L.tensor([1.0, 2.0, 3.0, 4.0], dtype=L.float64, requires_grad=True)
        y = L.nn.functional.layer_norm(x, (4,), w, None)
        with L.no_grad():
            y.mul_(2)
        (y * L.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        results.append((x.grad.numpy(), w.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)

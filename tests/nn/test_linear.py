"""Linear, Bilinear, Identity, Flatten, Unflatten against torch; F.linear errors and init."""

import math

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.autograd import gradcheck
from tests.helpers import check
from tests.nn.layer_twin import compare_layer


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,), (1, 4)])  # (1, 4), (4,): outer product
def test_linear_matches_torch(bias, shape):
    compare_layer(lambda L: L.nn.Linear(4, 3, bias=bias), [shape], modes=("train",))


def test_bilinear_matches_torch():
    compare_layer(lambda L: L.nn.Bilinear(3, 4, 5), [(6, 3), (6, 4)], modes=("train",))
    compare_layer(lambda L: L.nn.Bilinear(3, 4, 2, bias=False), [(2, 6, 3), (2, 6, 4)],
                  modes=("train",), dtypes=("float64",))


def test_identity_flatten_unflatten():
    compare_layer(lambda L: L.nn.Sequential(L.nn.Identity(54, unused=1), L.nn.Flatten(),
                                            L.nn.Linear(12, 2)), [(3, 4, 3)], modes=("train",))
    compare_layer(lambda L: L.nn.Sequential(L.nn.Flatten(0, 1), L.nn.Unflatten(1, (2, 2))),
                  [(3, 2, 4)], modes=("train",))
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.Unflatten(1, (2, 3))) == repr(torch.nn.Unflatten(1, (2, 3)))
    assert repr(nn.Linear(2, 3, bias=False)) == repr(torch.nn.Linear(2, 3, bias=False))
    assert repr(nn.Bilinear(2, 3, 4)) == repr(torch.nn.Bilinear(2, 3, 4))


def test_functional_linear_and_gradcheck():
    check(lambda L, x, w, b: L.nn.functional.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)])
    check(lambda L, x, w: L.nn.functional.linear(x, w), [(4,), (5, 4)])
    x = gradstep.randn(3, 4, dtype=gradstep.float64, requires_grad=True)
    w = gradstep.randn(2, 4, dtype=gradstep.float64, requires_grad=True)
    b = gradstep.randn(2, dtype=gradstep.float64, requires_grad=True)
    assert gradcheck(nn.functional.linear, (x, w, b))
    # double backward through the fused node
    y = nn.functional.linear(x, w, b)
    (gx,) = gradstep.autograd.grad((y * y).sum(), x, create_graph=True)
    gx.sum().backward()
    tx, tw, tb = (torch.tensor(t.detach().numpy(), requires_grad=True) for t in (x, w, b))
    ty = torch.nn.functional.linear(tx, tw, tb)
    (tgx,) = torch.autograd.grad((ty * ty).sum(), tx, create_graph=True)
    tgx.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10)



def test_linear_backward_on_arrays_matches_torch():
    # batch dims folded into one product, a non-contiguous upstream gradient, a 1-element bias
    check(lambda L, x, w, b: L.nn.functional.linear(x, w, b).transpose(0, -1).exp(),
          [(2, 3, 4), (5, 4), (5,)])
    check(lambda L, x, w, b: L.nn.functional.linear(x, w, b) * 2, [(3, 4), (5, 4), (1,)])
    # only the weight needs a gradient (a first layer's input does not)
    rng = np.random.default_rng(0)
    x_np, w_np = rng.standard_normal((6, 4)).astype("float32"), rng.standard_normal((3, 4))
    grads = []
    for L in (gradstep, torch):
        w = L.tensor(w_np.astype("float32"), requires_grad=True)
        x = L.tensor(x_np)
        L.nn.functional.linear(x, w).tanh().sum().backward()
        assert x.grad is None
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)

def test_linear_wrong_width_names_both_shapes():
    lin = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x5 and 4x3\)"):
        lin(gradstep.randn(2, 5))
    with pytest.raises(RuntimeError, match=r"\(6x5 and 4x3\)"):
        lin(gradstep.randn(2, 3, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        lin(gradstep.randn(2, 4, dtype=gradstep.float64))


def test_linear_default_init_follows_torch_rule():
    gradstep.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.numpy(force=True), lin.bias.numpy(force=True)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound
    assert lin.weight.dtype == gradstep.float32
    assert nn.Linear(2, 2, dtype=gradstep.float64).weight.dtype == gradstep.float64


def test_linear_grad_fn_names_match_torch():
    w, b = gradstep.randn(3, 4, requires_grad=True), gradstep.randn(3, requires_grad=True)
    tw, tb = torch.randn(3, 4, requires_grad=True), torch.randn(3, requires_grad=True)
    for shape in [(4,), (2, 4), (2, 5, 4)]:
        x, tx = gradstep.randn(*shape), torch.randn(*shape)
        for args, targs in [((w, b), (tw, tb)), ((w,), (tw,))]:
            ours = nn.functional.linear(x, *args).grad_fn.name()
            assert ours == torch.nn.functional.linear(tx, *targs).grad_fn.name()

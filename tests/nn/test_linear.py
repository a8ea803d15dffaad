"""Linear, Bilinear, Identity, Flatten, Unflatten against torch; F.linear errors and init."""

import math

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.autograd import gradcheck
from tests.helpers import check
from tests.nn.bad_input import assert_same_outcome, rand
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


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("rows,in_f,out_f", [(2, 256, 128), (8, 784, 512), (32, 128, 256),
                                             (64, 784, 512), (3, 4, 128)])
def test_short_batches_take_the_weight_first_product_and_match_torch(rows, in_f, out_f, bias):
    """``(W @ x^T)^T`` for short float32 batches (see linear.WEIGHT_FIRST_*): a contiguous
    result equal to the plain product within a K-term dot's rounding, and torch's numbers."""
    from gradstep.nn._functional import linear as lin

    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, in_f)).astype("float32")
    w = rng.standard_normal((out_f, in_f)).astype("float32")
    b = rng.standard_normal(out_f).astype("float32") if bias else None
    taken = lin._weight_first_pays(x, w)
    assert taken == (in_f * out_f >= lin.WEIGHT_FIRST_MIN_WEIGHT)  # the cases above
    gb = None if b is None else gradstep.tensor(b)
    y = gradstep.nn.functional.linear(gradstep.tensor(x), gradstep.tensor(w), gb)
    assert y.is_contiguous()
    plain = x @ w.T + (0 if b is None else b)
    bound = 2 * in_f * np.finfo(np.float32).eps * (np.abs(x) @ np.abs(w).T + np.abs(b if bias else 0))
    assert np.all(np.abs(y.numpy() - plain) <= bound)
    shapes = [(rows, in_f), (out_f, in_f)] + ([(out_f,)] if bias else [])
    check(lambda L, *a: L.nn.functional.linear(*a), shapes, dtypes=("float32",), scale=4)


def test_the_weight_first_product_keeps_float64_and_long_batches_on_the_plain_product():
    from gradstep.nn._functional import linear as lin

    w = np.zeros((512, 784), "float32")
    assert lin._weight_first_pays(np.zeros((16, 784), "float32"), w)
    assert not lin._weight_first_pays(np.zeros((16, 784), "float64"), w.astype("float64"))
    assert not lin._weight_first_pays(np.zeros((128, 784), "float32"), w)
    assert not lin._weight_first_pays(np.zeros((1, 784), "float32"), w)
    assert not lin._weight_first_pays(np.zeros((16, 784), "float32"), w[:10])


@pytest.mark.parametrize("x_shape", [(3,), (2, 3), (2, 2, 3), (0, 3)])
@pytest.mark.parametrize("bias", [None, (), (1,), (2,)])
def test_linear_with_a_vector_weight_matches_torch(x_shape, bias):
    """torch computes ``input @ weight`` for a 1-D weight; its addmm path (2-D input, or a
    bias other than a 0-d one) refuses it."""
    assert_same_outcome(lambda L: L.nn.functional.linear(
        rand(L, x_shape), rand(L, (3,), seed=1),
        None if bias is None else rand(L, bias, seed=2)))


@pytest.mark.parametrize("w_shape", [(), (4, 3, 1)])
def test_linear_with_a_0d_or_3d_weight_raises_as_torch(w_shape):
    assert_same_outcome(lambda L: L.nn.functional.linear(rand(L, (2, 3)), rand(L, w_shape)),
                        message=False)

"""gradstep.ops._rowwise: each blocked kernel equals, bit for bit, the whole-array NumPy
expression it replaces, split among threads or not; and the ops built on them match torch."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep import _parallel
from gradstep.ops import _rowwise

SHAPES_AXES = [((7, 13), -1), ((5, 4, 9), -1), ((6, 5, 4), 1), ((3, 4, 5, 6), (2, 3)),
               ((9, 3, 8), (-2, -1))]


@pytest.fixture(params=[1, 3], ids=["one-thread", "split"])
def threads(request, monkeypatch):
    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 8)
    old = _parallel.get_num_threads()
    _parallel.set_num_threads(request.param)
    yield
    _parallel.set_num_threads(old)


def _data(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype) * 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", [s for s in SHAPES_AXES if isinstance(s[1], int)])
def test_softmax_kernels_equal_their_expressions(threads, shape, axis, dtype):
    a, g = _data(shape, dtype), _data(shape, dtype, 1)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    np.testing.assert_array_equal(_rowwise.softmax(a, axis), e)
    s = a - a.max(axis=axis, keepdims=True)
    s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    np.testing.assert_array_equal(_rowwise.log_softmax(a, axis), s)
    np.testing.assert_array_equal(_rowwise.softmax_backward(g, e, axis),
                                  e * (g - (g * e).sum(axis=axis, keepdims=True)))
    np.testing.assert_array_equal(_rowwise.log_softmax_backward(g, s, axis),
                                  g - np.exp(s) * g.sum(axis=axis, keepdims=True))


def test_safe_softmax_zeroes_all_masked_rows(threads):
    a = _data((6, 5), np.float32)
    a[2] = -np.inf
    out = _rowwise.softmax(a, -1, safe=True)
    assert (out[2] == 0).all()
    np.testing.assert_array_equal(out[[0, 1, 3, 4, 5]], _rowwise.softmax(a[[0, 1, 3, 4, 5]], -1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axes", SHAPES_AXES)
def test_normalize_kernels_equal_their_expressions(threads, shape, axes, dtype):
    axes = (axes,) if isinstance(axes, int) else axes
    x, g = _data(shape, dtype), _data(shape, dtype, 1)
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + 1e-5)
    for got, want in zip(_rowwise.normalize(x, axes, 1e-5), (xc, mean, var, rstd)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    xhat = xc * rstd
    want = g - g.mean(axis=axes, keepdims=True)
    want -= xhat * (g * xhat).mean(axis=axes, keepdims=True)
    want *= rstd
    np.testing.assert_array_equal(_rowwise.normalize_backward(g, xhat, rstd, axes), want)


def test_splittable():
    assert _rowwise.splittable((4, 5), (-1,)) and _rowwise.splittable((4, 5, 6), (1, 2))
    assert not _rowwise.splittable((4, 5), (0,)) and not _rowwise.splittable((4, 5), (-2,))
    assert not _rowwise.splittable((5,), (0,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ops_on_blocks_match_torch(threads, dtype):
    """softmax, log_softmax, layer_norm and group_norm with gradients, through the blocked
    kernels on threads, against torch (sums of <= 60 terms in another order)."""
    torch.manual_seed(0)
    x = torch.randn(8, 6, 10, dtype=dtype)
    g = torch.randn(8, 6, 10, dtype=dtype)
    w, b = torch.randn(10, dtype=dtype), torch.randn(10, dtype=dtype)
    fns = {
        "softmax": lambda L, t: L.softmax(t, dim=-1),
        "log_softmax": lambda L, t: L.log_softmax(t, dim=1),
        "layer_norm": lambda L, t: L.nn.functional.layer_norm(t, (10,), w_of(L), b_of(L)),
        "group_norm": lambda L, t: L.nn.functional.group_norm(t, 3),
    }

    def w_of(L):
        return w if L is torch else gradstep.tensor(w.numpy())

    def b_of(L):
        return b if L is torch else gradstep.tensor(b.numpy())

    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    for name, fn in fns.items():
        tx = x.clone().requires_grad_()
        tout = fn(torch, tx)
        tout.backward(g)
        gx = gradstep.tensor(x.numpy(), requires_grad=True)
        gout = fn(gradstep, gx)
        gout.backward(gradstep.tensor(g.numpy()))
        np.testing.assert_allclose(gout.detach().numpy(), tout.detach().numpy(), **tol, err_msg=name)
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), **tol, err_msg=name)

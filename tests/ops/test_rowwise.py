"""gradstep.ops._rowwise: each blocked kernel equals the whole-array NumPy expression it
replaces (bit for bit, except the normalization's means, taken by einsum: within a sum's
rounding), split among threads or not (bit for bit); and the ops built on them match torch."""

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


def assert_split_equals_whole(monkeypatch, compute):
    """``compute()``'s arrays, once whole and once in blocks on 3 threads, are bit-identical."""
    whole = compute()
    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 8)
    old = _parallel.get_num_threads()
    _parallel.set_num_threads(3)
    try:
        split = compute()
    finally:
        _parallel.set_num_threads(old)
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_array_equal(a, b)


def _data(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype) * 3


def _softmax_family(a, g, axis):
    e = _rowwise.softmax(a, axis)
    s = _rowwise.log_softmax(a, axis)
    return e, s, _rowwise.softmax_backward(g, e, axis), _rowwise.log_softmax_backward(g, s, axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", [s for s in SHAPES_AXES if isinstance(s[1], int)])
def test_softmax_kernels_match_their_expressions(threads, shape, axis, dtype):
    """Within the rounding of a D-term sum in another order (einsum over a trailing axis):
    relative D * eps on a sum of positive terms, absolute D * eps * sum(|terms|) otherwise."""
    a, g = _data(shape, dtype), _data(shape, dtype, 1)
    d, eps = shape[axis], np.finfo(dtype).eps
    tol = 2 * d * eps
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    s = a - a.max(axis=axis, keepdims=True)
    s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    got_e, got_s, got_be, got_bs = _softmax_family(a, g, axis)
    np.testing.assert_allclose(got_e, e, rtol=tol + 2 * eps, atol=0)
    np.testing.assert_allclose(got_s, s, rtol=2 * eps, atol=tol)
    ge_sum = np.abs(g * e).sum(axis=axis, keepdims=True)
    want = e * (g - (g * e).sum(axis=axis, keepdims=True))
    assert np.all(np.abs(got_be - want) <= e * (tol * ge_sum + 4 * eps * np.abs(g)) + tol * np.abs(want))
    want = g - np.exp(s) * g.sum(axis=axis, keepdims=True)
    g_sum = np.abs(g).sum(axis=axis, keepdims=True)
    assert np.all(np.abs(got_bs - want) <= np.exp(s) * (tol * g_sum + tol * np.abs(g_sum))
                  + 4 * eps * np.abs(g))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", [s for s in SHAPES_AXES if isinstance(s[1], int)])
def test_softmax_kernels_split_equal_whole(shape, axis, dtype, monkeypatch):
    a, g = _data(shape, dtype), _data(shape, dtype, 1)
    assert_split_equals_whole(monkeypatch, lambda: _softmax_family(a, g, axis))


def test_safe_softmax_zeroes_all_masked_rows(threads):
    a = _data((6, 5), np.float32)
    a[2] = -np.inf
    out = _rowwise.softmax(a, -1, safe=True)
    assert (out[2] == 0).all()
    np.testing.assert_array_equal(out[[0, 1, 3, 4, 5]], _rowwise.softmax(a[[0, 1, 3, 4, 5]], -1))


def _normalize_both(x, g, axes):
    xc, mean, var, rstd = _rowwise.normalize(x, axes, 1e-5)
    return (xc, mean, var, rstd), _rowwise.normalize_backward(g, xc * rstd, rstd, axes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axes", SHAPES_AXES)
def test_normalize_kernels_match_their_expressions(threads, shape, axes, dtype):
    """Within the rounding of a D-term sum taken in another order (einsum for the means of
    trailing axes): |error| <= D * eps * (sum of |terms|) / D for each side, doubled."""
    axes = (axes,) if isinstance(axes, int) else axes
    x, g = _data(shape, dtype), _data(shape, dtype, 1)
    d = int(np.prod([shape[a] for a in axes]))
    eps = np.finfo(dtype).eps
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + 1e-5)
    (got_xc, got_mean, got_var, got_rstd), got_back = _normalize_both(x, g, axes)
    for got, want in zip((got_xc, got_mean, got_var, got_rstd), (xc, mean, var, rstd)):
        assert got.dtype == want.dtype and got.shape == want.shape
    mean_err = 2 * d * eps * np.abs(x).mean(axis=axes, keepdims=True)
    assert np.all(np.abs(got_mean - mean) <= mean_err)
    assert np.all(np.abs(got_xc - xc) <= mean_err + eps * np.abs(xc))
    # var: its own sum's rounding plus the shifted centre's (mean(xc) ~ 0, so only second order)
    assert np.all(np.abs(got_var - var) <= 2 * d * eps * var + 2 * mean_err * np.abs(xc).max())
    np.testing.assert_allclose(got_rstd, rstd, rtol=2 * d * eps)
    xhat = xc * rstd
    want = g - g.mean(axis=axes, keepdims=True)
    want -= xhat * (g * xhat).mean(axis=axes, keepdims=True)
    want *= rstd
    scale = rstd * np.abs(g).max() * (1 + np.abs(xhat).max())
    assert np.all(np.abs(got_back - want) <= 8 * d * eps * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axes", SHAPES_AXES)
def test_normalize_kernels_split_equal_whole(shape, axes, dtype, monkeypatch):
    """Blocks of rows on threads give the whole-array call's numbers bit for bit."""
    axes = (axes,) if isinstance(axes, int) else axes
    x, g = _data(shape, dtype), _data(shape, dtype, 1)

    def forward_and_backward():
        stats, grad = _normalize_both(x, g, axes)
        return (*stats, grad)

    assert_split_equals_whole(monkeypatch, forward_and_backward)


@pytest.mark.parametrize("affine", ["weight_bias", "weight", "bias", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axes", SHAPES_AXES)
def test_normalize_affine_is_normalize_then_the_affine_ops(shape, axes, dtype, affine,
                                                          monkeypatch):
    """``normalize_affine`` does ``normalize``'s passes, ``* rstd``, ``* weight``, ``+ bias``:
    the same numbers bit for bit, whole or in blocks on threads."""
    axes = (axes,) if isinstance(axes, int) else axes
    x = _data(shape, dtype)
    params = tuple(s if i in axes or i - len(shape) in axes else 1 for i, s in enumerate(shape))
    w = _data(params, dtype, 2) if "weight" in affine else None
    b = _data(params, dtype, 3) if "bias" in affine else None
    xc, _, _, rstd = _rowwise.normalize(x, axes, 1e-5)
    xhat = xc * rstd
    y = xhat if w is None else xhat * w
    y = y if b is None else y + b

    def compute():
        return _rowwise.normalize_affine(x, axes, 1e-5, w, b)

    got_xhat, got_y, got_rstd = compute()
    np.testing.assert_array_equal(got_xhat, xhat)
    np.testing.assert_array_equal(got_y, y)
    np.testing.assert_array_equal(got_rstd, rstd)
    assert (got_y is got_xhat) == (affine == "none")
    assert_split_equals_whole(monkeypatch, compute)


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", [((37, 13), -1), ((5, 4, 9), -1), ((5, 4, 9), (1, 2)),
                                       ((3, 2, 700), (-1,))])
def test_sum_and_mean_over_short_trailing_rows_match_torch(shape, dim, keepdim, dtype):
    """Tensor.sum/mean over trailing axes take einsum's row sums (``trailing_sums``); they match
    torch within a D-term sum's rounding, |error| <= 2 D eps sum|x|, and keep its shapes."""
    x = _data(shape, dtype)
    axes = (dim,) if isinstance(dim, int) else dim
    assert _rowwise.trailing_sums(x, axes, keepdim) is not None
    d = int(np.prod([shape[a] for a in axes]))
    bound = 2 * d * np.finfo(dtype).eps * np.abs(x).sum(axis=axes, keepdims=keepdim)
    g, t = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for reduce, scale in (("sum", 1), ("mean", d)):
        got, want = getattr(g, reduce)(dim, keepdim=keepdim), getattr(t, reduce)(dim, keepdim=keepdim)
        assert tuple(got.shape) == tuple(want.shape)
        assert np.all(np.abs(got.detach().numpy() - want.detach().numpy()) <= bound / scale)
        got.sum().backward()
        want.sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())


def test_trailing_sums_leave_other_reductions_to_numpy():
    x = _data((6, 5), np.float32)
    assert _rowwise.trailing_sums(x, (0,), False) is None  # not trailing
    assert _rowwise.trailing_sums(x, (0, 1), False) is None  # the whole array: pairwise sum
    assert _rowwise.trailing_sums(x.T, (1,), False) is None  # not C-contiguous
    assert _rowwise.trailing_sums(x.astype(np.int64), (1,), False) is None
    long_rows = _data((2, _rowwise.ROW_SUM_MAX + 1), np.float32)
    assert _rowwise.trailing_sums(long_rows, (1,), False) is None

"""gradstep._blas: one-rounding ``y += a*x`` / ``y = a*x + b*y`` equal to torch's, with NumPy fallbacks.

Where both sides use fused multiply-adds (torch's AVX2/AVX-512 kernels and an OpenBLAS
kernel for a CPU with FMA) the results must be equal to the bit. Elsewhere (an old CPU, or
the NumPy fallback) ``y + a*x`` is rounded twice, which is within one rounding of the
product plus one of the sum: |error| <= eps * (|a*x| + |y + a*x|) per element.
"""

import ctypes

import numpy as np
import pytest
import torch

import gradstep
from gradstep import _blas
from tests.helpers import fma_on_both_sides


def assert_like_torch(got, want, a_x, exact):
    """Bit-equal when both sides fuse; else within the two-rounding bound."""
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        eps = np.finfo(got.dtype).eps
        bound = eps * (np.abs(a_x) + np.abs(want.astype(np.float64))) + np.finfo(got.dtype).tiny
        assert np.all(np.abs(got.astype(np.float64) - want) <= bound)


@pytest.fixture(params=["blas", "numpy"])
def path(request, monkeypatch):
    """Each test runs on the BLAS kernels and on the NumPy fallback (no BLAS found)."""
    if request.param == "numpy":
        monkeypatch.setattr(_blas, "_kernels", {})
        return False
    if not _blas.available():
        pytest.skip("NumPy's BLAS exports no CBLAS axpy")
    return fma_on_both_sides()


def test_numpy_wheel_blas_exports_axpy():
    """NumPy's own OpenBLAS (the wheel's scipy_openblas, or a system one) has a CBLAS axpy."""
    libs = [c for c in _blas._numpy_blas_controllers() if c.internal_api == "openblas"]
    if not libs:
        pytest.skip("NumPy is not linked to OpenBLAS here")
    fn, int_type = _blas._lookup(ctypes.CDLL(libs[0].filepath), "saxpy")
    assert fn is not None and int_type is not None


def fake_axpy(dtype, fused):
    """A Python stand-in for a CBLAS axpy: fused (one rounding) or NumPy's two roundings,
    optionally only on the first 16 elements (a kernel whose tail loop is not fused)."""

    def axpy(n, alpha, x_ptr, incx, y_ptr, incy):
        x = np.ctypeslib.as_array((ctypes.c_char * (n * np.dtype(dtype).itemsize)).from_address(
            x_ptr)).view(dtype)
        y = np.ctypeslib.as_array((ctypes.c_char * (n * np.dtype(dtype).itemsize)).from_address(
            y_ptr)).view(dtype)
        exact = (np.longdouble(alpha) * x.astype(np.longdouble) + y).astype(dtype)
        rounded_twice = y + x * dtype(alpha)
        body = 16 if fused == "body only" else n
        y[:body] = exact[:body] if fused else rounded_twice[:body]
        y[body:] = rounded_twice[body:]

    return axpy


@pytest.mark.parametrize("t,dtype", [("s", np.float32), ("d", np.float64)])
def test_probe_accepts_only_kernels_that_round_every_element_once(t, dtype):
    if np.finfo(np.longdouble).nmant < 63:
        pytest.skip("no 80-bit long double to emulate an FMA exactly")
    assert _blas._rounds_once(fake_axpy(dtype, True), t)
    assert not _blas._rounds_once(fake_axpy(dtype, False), t)
    assert not _blas._rounds_once(fake_axpy(dtype, "body only"), t)


def test_kernels_in_use_pass_the_probe():
    for name, fn in _blas._get_kernels().items():
        assert _blas._rounds_once(fn, name[0])


SIZES = [1, 7, 10_001, 100_000]  # 10_001: above OpenBLAS's threading threshold for axpy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_axpy_is_torch_add_alpha(path, dtype, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    alpha = float(rng.uniform(-2, 2))
    want = torch.from_numpy(y.copy()).add_(torch.from_numpy(x), alpha=alpha).numpy()
    got = _blas.axpy(alpha, x, y)
    assert got is y
    assert_like_torch(got, want, alpha * x.astype(np.float64), path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_axpby_is_torch_mul_then_add_alpha(path, dtype, n):
    rng = np.random.default_rng(n + 1)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    alpha, beta = 0.1, 0.9
    want = torch.from_numpy(y.copy()).mul_(beta).add_(torch.from_numpy(x), alpha=alpha).numpy()
    got = _blas.axpby(alpha, x, beta, y)
    assert got is y
    assert_like_torch(got, want, alpha * x.astype(np.float64), path)


def test_zero_scales_still_propagate_nan_and_inf_like_torch():
    """BLAS skips the multiply by a zero alpha/beta; torch computes 0*inf = nan."""
    x = np.array([np.inf, 1.0, np.nan], np.float32)
    y = np.array([1.0, np.inf, 2.0], np.float32)
    want = torch.from_numpy(y.copy()).add_(torch.from_numpy(x), alpha=0.0).numpy()
    np.testing.assert_array_equal(_blas.axpy(0.0, x, y.copy()), want)
    want = torch.from_numpy(y.copy()).mul_(0.0).add_(torch.from_numpy(x), alpha=0.5).numpy()
    np.testing.assert_array_equal(_blas.axpby(0.5, x, 0.0, y.copy()), want)
    want = torch.from_numpy(y.copy()).mul_(0.5).add_(torch.from_numpy(x), alpha=0.0).numpy()
    np.testing.assert_array_equal(_blas.axpby(0.0, x, 0.5, y.copy()), want)


def test_overlapping_views_read_the_old_values():
    """A shifted view of ``y`` as ``x`` must not see elements already updated."""
    base = np.arange(20, dtype=np.float64)
    y, x = base[1:], base[:-1]
    want = np.arange(1, 20, dtype=np.float64) + 2.0 * np.arange(19, dtype=np.float64)
    assert not _blas.can_fuse(x, y)
    np.testing.assert_array_equal(_blas.axpy(2.0, x, y), want)
    same = np.arange(5, dtype=np.float32)  # x is y: elementwise, safe for BLAS
    np.testing.assert_array_equal(_blas.axpy(2.0, same, same), np.arange(5) * 3.0)


@pytest.mark.parametrize("case", ["transposed", "strided", "float16", "mixed"])
def test_arrays_blas_cannot_take_use_numpy(case):
    rng = np.random.default_rng(3)
    m = rng.standard_normal((6, 6)).astype(np.float32)
    x = rng.standard_normal((6, 6)).astype(np.float32)
    if case == "transposed":
        y = m.T
    elif case == "strided":
        y, x = m[:, ::2], x[:, ::2]
    elif case == "float16":
        y, x = m.astype(np.float16), x.astype(np.float16)
    else:  # mixed dtypes
        y, x = m, x.astype(np.float64)
    assert not _blas.can_fuse(x, y)
    alpha = 0.25
    want = y + x * alpha
    np.testing.assert_allclose(_blas.axpy(alpha, x, y), want.astype(y.dtype), rtol=1e-3)


def test_serial_runs_blas_on_one_thread_and_restores_the_count():
    if not _blas.available():
        pytest.skip("no BLAS kernels")
    before = gradstep.get_num_threads()
    with pytest.raises(KeyError):
        with _blas.serial():
            assert gradstep.get_num_threads() == 1
            raise KeyError
    assert gradstep.get_num_threads() == before


def test_overlapping_serial_blocks_restore_the_count_once_all_have_closed():
    """Two threads' blocks interleaved: the count is 1 until the last one closes."""
    if not _blas.available():
        pytest.skip("no BLAS kernels")
    before = gradstep.get_num_threads()
    first, second = _blas.serial(), _blas.serial()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gradstep.get_num_threads() == 1
    second.__exit__(None, None, None)
    assert gradstep.get_num_threads() == before


@pytest.mark.filterwarnings("ignore:This overload of add_ is deprecated")
@pytest.mark.parametrize("form,scale", [
    (lambda L, x, y: x.add_(-0.01, y), -0.01),  # torch 1.x positional alpha
    (lambda L, x, y: x.sub_(y, alpha=0.3), -0.3),
    (lambda L, x, y: x.add(y, alpha=1.7), 1.7),
    (lambda L, x, y: L.sub(x, y, alpha=-2.5), 2.5),
    (lambda L, x, y: x.t().add(y.t(), alpha=0.5).t(), 0.5),  # non-contiguous operands
])
def test_tensor_add_alpha_rounds_like_torch(path, form, scale):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((64, 33)).astype(np.float32)
    b = rng.standard_normal((64, 33)).astype(np.float32)
    want = form(torch, torch.from_numpy(a.copy()), torch.from_numpy(b)).numpy()
    got = form(gradstep, gradstep.tensor(a.copy()), gradstep.tensor(b)).numpy()
    assert_like_torch(got, want, scale * b.astype(np.float64), path)


def test_fused_add_keeps_autograd_and_the_version_counter():
    x = gradstep.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = gradstep.tensor([0.5, 0.25, 2.0], requires_grad=True)
    y = x.add(w, alpha=3.0)  # needs a graph: not the BLAS shortcut
    y.sum().backward()
    assert y.grad_fn is not None
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])
    with gradstep.no_grad():
        z = x.add(w, alpha=3.0)
    assert z.grad_fn is None and not z.requires_grad
    p = gradstep.zeros(4)
    v = p._version
    p.add_(gradstep.ones(4), alpha=0.5)
    assert p._version == v + 1
    np.testing.assert_array_equal(p.numpy(), [0.5] * 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight", [0.1, 0.001, 0.5, 0.7, 0.999, -0.3])
def test_lerp_rounds_like_torch(path, dtype, weight):
    """``exp_avg.lerp_(grad, 1 - beta1)`` of published optimizers; both of torch's formulas."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal(20_011).astype(dtype)
    b = rng.standard_normal(20_011).astype(dtype)
    want = torch.from_numpy(a.copy()).lerp_(torch.from_numpy(b), weight).numpy()
    got = gradstep.tensor(a.copy()).lerp_(gradstep.tensor(b), weight).numpy()
    raw = _blas.lerp_(a.copy(), b, weight)
    np.testing.assert_array_equal(got, raw)
    scale = abs(weight) if abs(weight) < 0.5 else abs(1 - weight)
    assert_like_torch(got, want, scale * np.abs(b.astype(np.float64) - a), path)


def test_lerp_with_a_tensor_weight_or_a_graph_still_works():
    a = gradstep.tensor([0.0, 1.0, 2.0], requires_grad=True)
    b = gradstep.tensor([2.0, 2.0, 2.0])
    out = a.clone().lerp_(b, 0.25)
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), [0.5, 1.25, 2.0])
    np.testing.assert_allclose(a.grad.numpy(), [0.75] * 3)
    c = gradstep.tensor([0.0, 4.0]).lerp_(gradstep.tensor([4.0, 0.0]), gradstep.tensor([0.5, 0.25]))
    np.testing.assert_allclose(c.numpy(), [2.0, 3.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (64, 1024), (333, 17)])
def test_transposed_is_numpys_transpose_bit_for_bit(dtype, shape):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    a.flat[:3] = [-0.0, np.inf, np.nan][:a.size]
    out = _blas.transposed(a)
    assert out.flags.c_contiguous and out.dtype == a.dtype and out.shape == shape[::-1]
    assert out.tobytes() == np.ascontiguousarray(a.T).tobytes()


@pytest.mark.parametrize("case", ["int", "strided", "empty", "3d_view"])
def test_transposed_takes_numpys_copy_for_what_omatcopy_cannot(case):
    a = np.arange(60.0).reshape(6, 10)
    a = {"int": a.astype(np.int32), "strided": a[:, ::2], "empty": a[:0],
         "3d_view": a.reshape(6, 10)[1:4]}[case]
    out = _blas.transposed(a)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, a.T)


def test_transposers_in_use_pass_their_probe():
    _blas.transposed(np.zeros((2, 3), np.float32))  # load
    for t, fn in _blas._transposers.items():
        assert _blas._transposes_exactly(fn, t)


def test_transposed_without_a_blas_is_numpys_copy(monkeypatch):
    monkeypatch.setattr(_blas, "_transposers", {})
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    out = _blas.transposed(a)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, a.T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_accumulate_adds_the_product_into_a_window(dtype):
    rng = np.random.default_rng(0)
    big = rng.standard_normal((40, 30)).astype(dtype)
    a, b = rng.standard_normal((12, 5)).astype(dtype), rng.standard_normal((5, 9)).astype(dtype)
    window = big[3:15, 4:13]
    want = window.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    before = big.copy()
    _blas.gemm_accumulate(a, b, window)
    eps = np.finfo(dtype).eps
    bound = 6 * eps * (np.abs(window) + np.abs(a) @ np.abs(b))
    assert np.all(np.abs(window - want) <= bound)
    outside = np.ones(big.shape, bool)
    outside[3:15, 4:13] = False
    np.testing.assert_array_equal(big[outside], before[outside])  # nothing else written


@pytest.mark.parametrize("case", ["int", "strided_columns", "overlap", "no_blas"])
def test_gemm_accumulate_falls_back_to_numpy(monkeypatch, case):
    a = np.arange(12.0).reshape(3, 4)
    b = np.arange(8.0).reshape(4, 2)
    c = np.ones((3, 2))
    if case == "int":
        a, b, c = a.astype(np.int64), b.astype(np.int64), c.astype(np.int64)
    elif case == "strided_columns":
        c = np.ones((3, 4))[:, ::2]
    elif case == "overlap":
        a = np.ones((3, 4))
        c = a[:, :2]
    elif case == "no_blas":
        monkeypatch.setattr(_blas, "_gemms", {})
    want = c + a @ b
    _blas.gemm_accumulate(a, b, c)
    np.testing.assert_array_equal(c, want)

"""gradstep._parallel: large elementwise work split among threads gives the one-call numbers."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep import _parallel


@pytest.fixture
def split_everything(monkeypatch):
    """Split even small arrays, on 3 threads (more than this machine may have)."""
    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 8)
    old = _parallel.get_num_threads()
    _parallel.set_num_threads(3)
    yield
    _parallel.set_num_threads(old)


CASES = [
    (np.add, (37, 5), (37, 5)),
    (np.add, (37, 5), (5,)),        # a bias row goes whole to every chunk
    (np.multiply, (1, 9), (40, 9)),  # a first operand broadcast along the split axis
    (np.maximum, (41, 3, 4), ()),
    (np.less_equal, (23, 6), (23, 1)),
    (np.exp, (50, 7), None),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("f,sa,sb", CASES)
def test_ufunc_equals_one_call(split_everything, f, sa, sb, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(sa).astype(dtype)
    args = (a,) if sb is None else (a, rng.standard_normal(sb).astype(dtype))
    got = _parallel.ufunc(f, *args)
    want = f(*args)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_ufunc_with_python_scalar_and_out(split_everything):
    a = np.random.default_rng(1).standard_normal((64, 3)).astype(np.float32)
    got = _parallel.ufunc(np.maximum, a, 0)
    assert got.dtype == np.float32  # the Python int is a weak scalar, as in one NumPy call
    np.testing.assert_array_equal(got, np.maximum(a, 0))
    out = np.empty_like(a)
    assert _parallel.ufunc(np.multiply, a, 2.5, out=out) is out
    np.testing.assert_array_equal(out, a * 2.5)


def test_run_keeps_order_and_uses_threads(split_everything):
    import threading

    names = set()

    def task(i):
        names.add(threading.current_thread().name)
        return i * i

    assert _parallel.run(task, [(i,) for i in range(50)]) == [i * i for i in range(50)]
    assert _parallel.over_rows(lambda lo, hi: (lo, hi), 10, 1000)[-1][1] == 10


def test_row_ranges_cover_every_row_once(split_everything):
    for rows in (2, 3, 7, 64, 1001):
        ranges = _parallel.row_ranges(rows, rows * 100)
        assert ranges[0][0] == 0 and ranges[-1][1] == rows
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_one_thread_never_splits():
    old = _parallel.get_num_threads()
    try:
        _parallel.set_num_threads(1)
        assert not _parallel.worth_splitting(1 << 30, 1000)
    finally:
        _parallel.set_num_threads(old)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_relu_split_matches_torch(split_everything, dtype):
    x = torch.randn(33, 4, 5, dtype=dtype)
    x[0, 0, 0] = float("nan")  # torch passes the gradient at NaN
    x[1, 1, 1] = 0.0
    g = torch.randn(33, 4, 5, dtype=dtype)
    tx = x.clone().requires_grad_()
    torch.relu(tx).backward(g)
    gx = gradstep.tensor(x.numpy(), requires_grad=True)
    out = gradstep.relu(gx)
    out.backward(gradstep.tensor(g.numpy()))
    np.testing.assert_array_equal(out.detach().numpy(), torch.relu(x).numpy())
    np.testing.assert_array_equal(gx.grad.numpy(), tx.grad.numpy())


def _gradstep_pool(x, g, kernel, stride, padding):
    gx = gradstep.tensor(x.numpy(), requires_grad=True)
    out, idx = gradstep.nn.functional.max_pool2d(gx, kernel, stride, padding, return_indices=True)
    out.backward(gradstep.tensor(g.numpy()))
    return out.detach().numpy(), idx.numpy(), gx.grad.numpy()


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_max_pool_split_over_the_batch(split_everything, kernel, stride, padding):
    """Bit-identical to one call; equal to torch, whose overlapping windows (3, 1) add
    their gradients in another order (a few ulps)."""
    x = torch.randn(9, 3, 10, 10, dtype=torch.float64)
    x[4, 1, 2, 3] = float("nan")  # one chunk takes the NaN path, the others the fast one
    g = torch.randn(9, 3, *torch.nn.functional.max_pool2d(x, kernel, stride, padding).shape[2:],
                    dtype=torch.float64)
    g[7, 0, 0, 0] = float("inf")  # one chunk routes exactly (inf * 0 would be nan)
    split = _gradstep_pool(x, g, kernel, stride, padding)
    _parallel.set_num_threads(1)
    whole = _gradstep_pool(x, g, kernel, stride, padding)
    for a, b in zip(split, whole):
        np.testing.assert_array_equal(a, b)
    tx = x.clone().requires_grad_()
    tout, tidx = torch.nn.functional.max_pool2d(tx, kernel, stride, padding, return_indices=True)
    tout.backward(g)
    np.testing.assert_array_equal(split[0], tout.detach().numpy())
    np.testing.assert_array_equal(split[1], tidx.numpy())
    np.testing.assert_allclose(split[2], tx.grad.numpy(), rtol=1e-14, atol=1e-13)  # <= 9 adds of |g| < 10


CONVS = [  # (input shape, conv kwargs): every layout conv2d chooses
    ((6, 3, 32, 32), dict(out_channels=8, kernel_size=3, padding=1)),   # per-image, ones row
    ((6, 8, 12, 12), dict(out_channels=16, kernel_size=5)),             # pixel rows, batch-inner
    ((5, 8, 16, 16), dict(out_channels=8, kernel_size=3, padding=1)),   # pixel rows, grid shifts
    ((5, 4, 15, 15), dict(out_channels=6, kernel_size=3, stride=2, padding=1)),  # col2im
    ((4, 6, 10, 10), dict(out_channels=6, kernel_size=3, groups=2, dilation=2)),  # groups
]


def _seeded(lib, conv):
    """``conv`` with weights and bias drawn from one seed, the same for torch and gradstep."""
    gen = np.random.default_rng(5)
    conv.weight.data = lib.tensor(gen.standard_normal(tuple(conv.weight.shape)))
    conv.bias.data = lib.tensor(gen.standard_normal(tuple(conv.bias.shape)))
    return conv


def _gradstep_conv(x, g, shape, kw):
    conv = _seeded(gradstep, gradstep.nn.Conv2d(shape[1], **kw).double())
    gx = gradstep.tensor(x, requires_grad=True)
    out = conv(gx)
    out.backward(gradstep.tensor(g))
    return out.detach().numpy(), gx.grad.numpy(), conv.weight.grad.numpy(), conv.bias.grad.numpy()


@pytest.mark.parametrize("shape,kw", CONVS)
def test_conv2d_split_copies_are_bit_identical(split_everything, monkeypatch, shape, kw):
    """Layout copies, stores and shift sums on threads give the one-thread numbers, in
    batch chunks too, and agree with torch."""
    from gradstep.nn._functional import conv as conv_module

    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 4096)  # several batch chunks
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    probe = torch.nn.Conv2d(shape[1], **kw).double()
    g = rng.standard_normal(tuple(probe(torch.tensor(x)).shape))
    split = _gradstep_conv(x, g, shape, kw)
    _parallel.set_num_threads(1)
    whole = _gradstep_conv(x, g, shape, kw)
    for a, b in zip(split, whole):
        np.testing.assert_array_equal(a, b)
    _seeded(torch, probe)
    tx = torch.tensor(x, requires_grad=True)
    tout = probe(tx)
    tout.backward(torch.tensor(g))
    want = (tout.detach(), tx.grad, probe.weight.grad, probe.bias.grad)
    for a, b in zip(split, want):  # float64 sums of <= 400 products in another order
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-11)


def test_linear_bias_add_split_is_bit_identical(split_everything):
    rng = np.random.default_rng(4)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((33, 7), (5, 7), (5,)))
    split = gradstep.nn.functional.linear(gradstep.tensor(x), gradstep.tensor(w), gradstep.tensor(b))
    _parallel.set_num_threads(1)
    whole = gradstep.nn.functional.linear(gradstep.tensor(x), gradstep.tensor(w), gradstep.tensor(b))
    np.testing.assert_array_equal(split.numpy(), whole.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_arithmetic_ops_split_are_bit_identical(split_everything, dtype):
    rng = np.random.default_rng(6)
    dt = getattr(gradstep, dtype)
    a = gradstep.tensor(rng.standard_normal((19, 6)), dtype=dt, requires_grad=True)
    b = gradstep.tensor(rng.standard_normal((6,)), dtype=dt, requires_grad=True)

    def run():
        for t in (a, b):
            t.grad = None
        out = (a + b) * (a - 0.5) / (b * 3.0 + 7.0) - a * a
        out.sum().backward()
        return out.detach().float().numpy(), a.grad.float().numpy(), b.grad.float().numpy()

    split = run()
    _parallel.set_num_threads(1)
    for x, y in zip(split, run()):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("shape_a,shape_b", [((6, 5, 4), (6, 4, 3)), ((3, 2, 7, 5), (3, 2, 5, 7))])
def test_stacked_matmul_split_is_bit_identical(split_everything, monkeypatch, shape_a, shape_b):
    from gradstep.ops import _util

    monkeypatch.setattr(_util, "MIN_SPLIT_GEMM_WORK", 1)
    rng = np.random.default_rng(8)
    a0, b0 = rng.standard_normal(shape_a), rng.standard_normal(shape_b)

    def run():
        a = gradstep.tensor(a0, requires_grad=True)
        b = gradstep.tensor(b0, requires_grad=True)
        out = a @ b
        (out * out).sum().backward()
        return out.detach().numpy(), a.grad.numpy(), b.grad.numpy()

    split = run()
    _parallel.set_num_threads(1)
    for x, y in zip(split, run()):
        np.testing.assert_array_equal(x, y)
    ta, tb = torch.tensor(a0), torch.tensor(b0)
    np.testing.assert_allclose(split[0], (ta @ tb).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "erf", "gelu",
                                  "gelu_tanh", "silu", "sin"])
def test_unary_ops_split_are_bit_identical_and_match_torch(split_everything, name):
    rng = np.random.default_rng(9)
    x0 = np.abs(rng.standard_normal((23, 4))) + 0.1
    fns = {"gelu": lambda L, t: L.nn.functional.gelu(t),
           "gelu_tanh": lambda L, t: L.nn.functional.gelu(t, approximate="tanh"),
           "silu": lambda L, t: L.nn.functional.silu(t)}
    fn = fns.get(name, lambda L, t: getattr(L, name)(t))

    def run():
        x = gradstep.tensor(x0, requires_grad=True)
        out = fn(gradstep, x)
        out.sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    split = run()
    _parallel.set_num_threads(1)
    for a, b in zip(split, run()):
        np.testing.assert_array_equal(a, b)
    tx = torch.tensor(x0, requires_grad=True)
    tout = fn(torch, tx)
    tout.sum().backward()
    np.testing.assert_allclose(split[0], tout.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(split[1], tx.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_default_thread_count_and_gradstep_num_threads():
    import os
    import subprocess
    import sys

    code = ("import gradstep, gradstep._parallel as p; gradstep.set_num_threads(2); "
            "print(p.get_num_threads())")  # torch's call sets the BLAS, not this pool
    cores = str(_parallel.usable_cores())
    cases = [(None, None, cores), ("3", None, "3"), ("junk", None, cores), ("0", None, cores),
             ("1", None, "1"), (None, "1", "1"), ("2", "1", "2"), ("junk", "3", "3")]
    for ours, omp, want in cases:
        env = {k: v for k, v in os.environ.items()
               if k not in ("GRADSTEP_NUM_THREADS", "OMP_NUM_THREADS")}
        for key, value in (("GRADSTEP_NUM_THREADS", ours), ("OMP_NUM_THREADS", omp)):
            if value is not None:
                env[key] = value
        got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert got == want, (ours, omp, got)

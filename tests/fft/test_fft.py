"""``torch.fft`` against torch: values over dims, sizes and norms in float32 and float64,
dtypes, errors, and gradients (against torch and finite differences).

Tolerance: an FFT of n points computed in floating point with accurate twiddles has
``||y_computed - y||_2 <= c eps log2(n) ||y||_2`` (Cooley-Tukey/pocketfft error analysis,
c a small constant); two such implementations (NumPy's pocketfft here, torch's MKL or
pocketfft) then differ by at most twice that, and a multi-dim transform composes one pass
per dim. ``_close`` checks the largest element difference against
``2 c eps log2(N) ||y||_2 / sqrt(numel)`` scaled up to the norm, with c = 4, N the product
of the transformed sizes: a bound from the computation, not a fitted number.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import gradstep

EPS = {np.dtype("float32"): np.finfo(np.float32).eps, np.dtype("float64"): np.finfo(np.float64).eps,
       np.dtype("complex64"): np.finfo(np.float32).eps,
       np.dtype("complex128"): np.finfo(np.float64).eps}


def _np(t):
    return t.detach().resolve_conj().numpy()


def _close(ours, theirs, points):
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype
    bound = 2 * 4 * EPS[b.dtype] * math.log2(max(points, 2)) * (np.linalg.norm(b) + 1e-30)
    assert np.max(np.abs(a - b), initial=0) <= bound


def _data(shape, dtype, cplx, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if cplx:
        x = x + 1j * rng.standard_normal(shape)
        return x.astype(np.complex64 if dtype == "float32" else np.complex128)
    return x.astype(dtype)


ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn"]
REAL_IN = {"rfft", "ihfft", "rfft2", "rfftn"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("n, dim", [(None, -1), (5, -1), (12, 0), (None, 1)])
def test_one_dim_transforms(name, norm, dtype, n, dim):
    x = _data((6, 7), dtype, name not in REAL_IN)
    theirs = getattr(torch.fft, name)(torch.tensor(x), n=n, dim=dim, norm=norm)
    ours = getattr(gradstep.fft, name)(gradstep.tensor(x), n=n, dim=dim, norm=norm)
    _close(ours, theirs, n or x.shape[dim])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("s, dim", [(None, None), ((4, 6), None), (None, (0, 2)),
                                    ((5, -1), (2, 1)), ((3, 4, 8), None)])
def test_multi_dim_transforms(name, norm, dtype, s, dim):
    if name.endswith("2") and (dim is None and s is not None and len(s) == 3):
        s = s[1:]
    kw = {} if name.endswith("2") and dim is None else {"dim": dim}
    x = _data((3, 5, 6), dtype, name not in REAL_IN)
    theirs = getattr(torch.fft, name)(torch.tensor(x), s=s, norm=norm, **kw)
    ours = getattr(gradstep.fft, name)(gradstep.tensor(x), s=s, norm=norm, **kw)
    _close(ours, theirs, x.size)


def test_dtypes_follow_torch():
    for dt in ("float32", "float64", "int64", "bool"):
        for name in ("fft", "rfft", "irfft", "ihfft"):
            theirs = getattr(torch.fft, name)(torch.ones(4, dtype=getattr(torch, dt)))
            ours = getattr(gradstep.fft, name)(gradstep.ones(4, dtype=getattr(gradstep, dt)))
            assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]


@pytest.mark.parametrize("call", [
    lambda m: m.fft.rfft(m.zeros(3, dtype=m.cfloat)),
    lambda m: m.fft.rfft2(m.zeros(3, 3, dtype=m.cfloat)),
    lambda m: m.fft.ihfft(m.zeros(3, dtype=m.cfloat)),
    lambda m: m.fft.fft(m.zeros(3), n=0),
    lambda m: m.fft.fft(m.zeros(3), norm="x"),
    lambda m: m.fft.irfft(m.zeros(1)),
    lambda m: m.fft.fft(m.zeros(3, dtype=m.half)),
    lambda m: m.fft.fftn(m.zeros(3, 3), dim=(0, 0)),
    lambda m: m.fft.fftn(m.zeros(3, 3), s=(2, 2, 2)),
    lambda m: m.fft.fftn(m.zeros(3, 3), s=(2, 2), dim=(0,)),
])
def test_errors_match_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gradstep)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("call", [lambda m: m.fft.fft(m.tensor(1.0)),
                                  lambda m: m.fft.fft2(m.zeros(3))])
def test_index_errors_match_torch(call):
    with pytest.raises(IndexError) as theirs:
        call(torch)
    with pytest.raises(IndexError) as ours:
        call(gradstep)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("n, d", [(1, 1.0), (4, 1.0), (5, 0.1), (8, 2.5)])
def test_frequencies_and_shifts(n, d):
    for name in ("fftfreq", "rfftfreq"):
        for dt in ("float32", "float64"):
            theirs = getattr(torch.fft, name)(n, d, dtype=getattr(torch, dt))
            ours = getattr(gradstep.fft, name)(n, d, dtype=getattr(gradstep, dt))
            np.testing.assert_array_equal(_np(ours), _np(theirs))
    x = np.arange(n * 3, dtype=np.float32).reshape(3, n)
    for name in ("fftshift", "ifftshift"):
        for dim in (None, 1, (0, 1)):
            theirs = getattr(torch.fft, name)(torch.tensor(x), dim=dim)
            ours = getattr(gradstep.fft, name)(gradstep.tensor(x), dim=dim)
            np.testing.assert_array_equal(_np(ours), _np(theirs))


# weights of the loss: a complex output reduced through abs and real, so every part of every
# element carries gradient
def _loss(m, out):
    w = m.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape).astype(np.float32)
                 ).to(out.real.dtype)
    if out.is_complex():
        return (out.abs() * w).sum() + (out.real * w).sum()
    return (out * out * w).sum()


GRAD_CASES = [
    ("fft", dict(n=None)), ("fft", dict(n=5)), ("ifft", dict(n=9, norm="ortho")),
    ("rfft", dict(n=None)), ("rfft", dict(n=7, norm="forward")), ("rfft", dict(n=10)),
    ("irfft", dict(n=None)), ("irfft", dict(n=7)), ("irfft", dict(n=10, norm="ortho")),
    ("irfft", dict(n=3)), ("hfft", dict(n=None)), ("ihfft", dict(n=6)),
    ("rfft2", dict(s=None)), ("irfft2", dict(s=(4, 7))), ("irfft2", dict(s=(6, 8))),
    ("fftn", dict(s=(3, 4), dim=(0, 2))), ("rfftn", dict(norm="ortho")),
    ("irfftn", dict(s=(4, 5, 6))),
]


@pytest.mark.parametrize("name, kw", GRAD_CASES)
def test_gradients_match_torch_and_finite_differences(name, kw):
    x = _data((3, 4, 6), "float64", name not in REAL_IN, seed=3)
    grads = {}
    for m in (torch, gradstep):
        t = m.tensor(x, requires_grad=True)
        _loss(m, getattr(m.fft, name)(t, **kw)).backward()
        grads[m] = _np(t.grad)
        assert t.grad.dtype == t.dtype
    np.testing.assert_allclose(grads[gradstep], grads[torch], rtol=1e-9, atol=1e-9)
    # central differences in float64 along a few coordinates (each part of complex inputs)
    f = lambda a: _loss(gradstep, getattr(gradstep.fft, name)(gradstep.tensor(a), **kw)).item()  # noqa: E731
    h = 1e-6
    for idx in [(0, 0, 0), (1, 2, 3), (2, 3, 5), (0, 1, 1)]:
        steps = (1, 1j) if np.iscomplexobj(x) else (1,)
        for step, part in zip(steps, ("real", "imag")):
            hi, lo = x.copy(), x.copy()
            hi[idx] += h * step
            lo[idx] -= h * step
            fd = (f(hi) - f(lo)) / (2 * h)
            got = getattr(grads[gradstep][idx], part)
            assert abs(got - fd) <= 1e-5 * max(1.0, abs(fd))


def test_float32_gradients_match_torch():
    x = _data((2, 3, 8), "float32", False, seed=4)
    grads = {}
    for m in (torch, gradstep):
        t = m.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _loss(m, m.fft.irfft(m.fft.rfft(t) * 2j, n=8)).backward()
        grads[m] = _np(t.grad)
    # a few float32 roundings per element through two transforms of 8 points: eps log2(8) scale
    np.testing.assert_allclose(grads[gradstep], grads[torch], rtol=1e-5, atol=1e-5)

"""``torch.stft`` / ``torch.istft`` (and the Tensor methods) against torch: values, dtypes and
gradients (to the signal and to the window) over the signature's options, real and complex
input, 1-D and batched, float32 and float64; finite-difference gradchecks in float64; the
errors and warnings torch gives.

Tolerance: every output element is an ``n``-point FFT of (windowed) samples, or, for
``istft`` and the gradients, an inverse FFT overlap-added over at most ``ceil(n / hop)``
frames. An FFT's rounding error is at most ``c eps log2(n) ||y||_2`` (pocketfft / MKL error
analyses, c a small constant) and ``||y||_2 <= sqrt(n) max|y|``, so two implementations differ
by at most ``_tol = 2 c eps log2(2n) sqrt(n) overlap max|y|`` with c = 4: a bound from the
computation, not a fitted number.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import gradstep

OPTIONS = [
    dict(n_fft=16),
    dict(n_fft=16, hop_length=3, win_length=10, window=True),
    dict(n_fft=15, hop_length=4, center=False, window=True),
    dict(n_fft=16, hop_length=3, win_length=10, window=True, center=False, align_to_window=True),
    dict(n_fft=16, hop_length=5, win_length=12, window=True, center=False, align_to_window=False),
    dict(n_fft=16, normalized=True, onesided=False, window=True),
    dict(n_fft=16, pad_mode="constant", window=True),
    dict(n_fft=16, pad_mode="circular", return_complex=False, window=True),
    dict(n_fft=16, pad_mode="replicate"),
    dict(n_fft=8, hop_length=8, window=True),
]


def _np(t):
    return t.detach().numpy()


def _tol(theirs, n_fft, hop):
    y = np.abs(_np(theirs))
    eps = np.finfo(y.dtype).eps
    overlap = math.ceil(n_fft / hop)
    return 8 * eps * math.log2(2 * n_fft) * math.sqrt(n_fft) * overlap * max(float(y.max()), 1.0)


def _close(ours, theirs, n_fft, hop, what):
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    assert a.dtype == b.dtype, (what, a.dtype, b.dtype)
    err = float(np.abs(a - b).max()) if a.size else 0.0
    assert err <= _tol(theirs, n_fft, hop), (what, err, _tol(theirs, n_fft, hop))


def _signal(shape, dtype, is_complex, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if is_complex:
        x = x + 1j * rng.standard_normal(shape).astype(dtype)
    return x


def _window(n, dtype):
    return (0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(n) + 1) / (n + 1))).astype(dtype)


def _pair(arr):
    return (torch.tensor(arr, requires_grad=True),
            gradstep.tensor(arr, requires_grad=True))


def _backward(out, weights, lib):
    w = lib.tensor(weights)
    prod = out * w
    (prod.real if prod.is_complex() else prod).sum().backward()


def _stft_kwargs(opts, window):
    kw = {k: v for k, v in opts.items() if k != "window"}
    kw.setdefault("return_complex", True)
    kw["window"] = window
    return kw


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("shape", [(40,), (3, 37)])
@pytest.mark.parametrize("is_complex", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stft_matches_torch(opts, shape, is_complex, dtype):
    n_fft = opts["n_fft"]
    hop = opts.get("hop_length", n_fft // 4)
    tx, gx = _pair(_signal(shape, dtype, is_complex))
    tw = gw = None
    if opts.get("window"):
        tw, gw = _pair(_window(opts.get("win_length", n_fft), dtype))
    theirs = torch.stft(tx, **_stft_kwargs(opts, tw))
    ours = gradstep.stft(gx, **_stft_kwargs(opts, gw))
    _close(ours, theirs, n_fft, hop, "value")
    weights = _signal(tuple(theirs.shape), dtype, theirs.is_complex(), seed=1)
    _backward(theirs, weights, torch)
    _backward(ours, weights, gradstep)
    _close(gx.grad, tx.grad, n_fft, hop, "grad of input")
    if tw is not None:
        _close(gw.grad, tw.grad, n_fft, hop, "grad of window")


def test_tensor_method_and_mixed_dtypes():
    x = _signal((2, 30), "float32", False)
    w = _window(8, "float64")
    theirs = torch.tensor(x).stft(8, 2, window=torch.tensor(w), return_complex=True)
    ours = gradstep.tensor(x).stft(8, 2, window=gradstep.tensor(w), return_complex=True)
    assert str(ours.dtype) == "gradstep.complex128" == str(theirs.dtype).replace("torch", "gradstep")
    _close(ours, theirs, 8, 2, "float32 signal, float64 window")
    cw = (w + 0.5j).astype(np.complex64)
    theirs = torch.tensor(x).stft(8, 2, window=torch.tensor(cw), return_complex=True)
    ours = gradstep.tensor(x).stft(8, 2, window=gradstep.tensor(cw), return_complex=True)
    _close(ours, theirs, 8, 2, "complex window: two-sided by default")


ISTFT_OPTIONS = [
    dict(n_fft=16, window=True),
    dict(n_fft=16, hop_length=3, win_length=10, window=True),
    dict(n_fft=15, hop_length=4, center=False, window=True),
    dict(n_fft=16, normalized=True, onesided=False, window=True),
    dict(n_fft=16, length=35, window=True),
    dict(n_fft=16, length=50, window=True),
    dict(n_fft=16, center=False, length=30, window=True),
    dict(n_fft=16, hop_length=4),
    dict(n_fft=16, onesided=False, return_complex=True, window=True),
]


def _spectrum(opts, shape, dtype, is_complex):
    """A spectrum as stft makes it for ``opts`` (so istft has a consistent input)."""
    kw = {k: opts[k] for k in ("n_fft", "hop_length", "win_length", "center", "normalized",
                               "onesided") if k in opts}
    w = torch.tensor(_window(opts.get("win_length", opts["n_fft"]), dtype))
    x = torch.tensor(_signal(shape, dtype, is_complex))
    return torch.stft(x, window=w, return_complex=True, **kw).numpy()


@pytest.mark.parametrize("opts", ISTFT_OPTIONS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("shape", [(40,), (2, 41)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_istft_matches_torch(opts, shape, dtype):
    n_fft = opts["n_fft"]
    hop = opts.get("hop_length", n_fft // 4)
    spec = _spectrum(opts, shape, dtype, opts.get("return_complex", False))
    ts, gs = _pair(spec)
    tw = gw = None
    if opts.get("window"):
        tw, gw = _pair(_window(opts.get("win_length", n_fft), dtype))
    kw = {k: v for k, v in opts.items() if k != "window"}
    theirs = torch.istft(ts, window=tw, **kw)
    ours = gradstep.istft(gs, window=gw, **kw)
    _close(ours, theirs, n_fft, hop, "value")
    weights = _signal(tuple(theirs.shape), dtype, theirs.is_complex(), seed=2)
    _backward(theirs, weights, torch)
    _backward(ours, weights, gradstep)
    _close(gs.grad, ts.grad, n_fft, hop, "grad of input")
    if tw is not None:
        _close(gw.grad, tw.grad, n_fft, hop, "grad of window")


@pytest.mark.parametrize("is_complex", [False, True])
def test_istft_inverts_stft(is_complex):
    x = _signal((3, 50), "float64", is_complex)
    w = gradstep.hann_window(12, dtype=gradstep.float64)
    spec = gradstep.stft(gradstep.tensor(x), 12, 3, window=w, return_complex=True)
    back = spec.istft(12, 3, window=w, length=50, return_complex=is_complex)
    np.testing.assert_allclose(_np(back), x, atol=1e-13)


def test_gradcheck_float64():
    x = gradstep.tensor(_signal((2, 24), "float64", False), requires_grad=True)
    w = gradstep.tensor(_window(6, "float64"), requires_grad=True)

    def forward(x, w):
        spec = gradstep.stft(x, 8, 3, 6, w, return_complex=True)
        return gradstep.view_as_real(spec)

    assert gradstep.autograd.gradcheck(forward, (x, w))

    spec = gradstep.stft(x.detach(), 8, 2, 6, w.detach(), return_complex=True)
    parts = gradstep.view_as_real(spec).detach().contiguous().requires_grad_()

    def inverse(parts, w):
        return gradstep.istft(gradstep.view_as_complex(parts), 8, 2, 6, w, length=24)

    assert gradstep.autograd.gradcheck(inverse, (parts, w))


def test_double_backward_matches_torch():
    x = _signal((30,), "float64", False)
    outs = []
    for lib in (torch, gradstep):
        t = lib.tensor(x, requires_grad=True)
        spec = lib.stft(t, 8, 2, window=lib.hann_window(8, dtype=lib.float64),
                        return_complex=True)
        (g,) = lib.autograd.grad(spec.abs().pow(2).sum(), t, create_graph=True)
        (gg,) = lib.autograd.grad(g.pow(2).sum(), t)
        outs.append(gg)
    _close(outs[1], outs[0], 8, 2, "double backward")


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info


def _same_error(call, first_line_only=False):
    theirs = _error(lambda: call(torch))
    ours = _error(lambda: call(gradstep))
    assert type(ours.value).__name__ == type(theirs.value).__name__, (ours.value, theirs.value)
    a, b = str(ours.value), str(theirs.value)
    if first_line_only:
        a, b = a.splitlines()[0], b.splitlines()[0]
    assert a == b


X = _signal((20,), "float32", False)
W8 = _window(8, "float32")


@pytest.mark.parametrize("call", [
    lambda lib: lib.stft(lib.tensor(X), 8),
    lambda lib: lib.stft(lib.tensor(X).int(), 8, return_complex=True),
    lambda lib: lib.stft(lib.tensor(X).view(1, 2, 10), 8, return_complex=True),
    lambda lib: lib.stft(lib.tensor(X), 30, center=False, return_complex=True),
    lambda lib: lib.stft(lib.tensor(X), 0, center=False, return_complex=True),
    lambda lib: lib.stft(lib.tensor(X), 8, hop_length=0, return_complex=True),
    lambda lib: lib.stft(lib.tensor(X), 8, win_length=9, return_complex=True),
    lambda lib: lib.stft(lib.tensor(X), 8, window=lib.ones(7), return_complex=True),
    lambda lib: lib.stft(lib.tensor(X), 8, window=lib.ones(8).double(), return_complex=True,
                         align_to_window=True),
    lambda lib: lib.stft(lib.tensor(X).to(lib.complex64), 8, window=lib.tensor(W8),
                         onesided=True),
], ids=["no_return_complex", "int", "3d", "n_fft_too_big", "n_fft_zero", "hop_zero",
        "win_too_long", "window_size", "align_with_center", "onesided_complex"])
def test_stft_errors_match_torch(call):
    _same_error(call)


SPEC = torch.stft(torch.tensor(_signal((20,), "float64", False)), 8, 2,
                  window=torch.tensor(_window(8, "float64")), return_complex=True).numpy()
W64 = _window(8, "float64")


@pytest.mark.parametrize("call", [
    lambda lib: lib.istft(lib.tensor(SPEC).real, 8, 2, window=lib.tensor(W64)),
    lambda lib: lib.istft(lib.tensor(SPEC)[:0], 8, 2, window=lib.tensor(W64)),
    lambda lib: lib.istft(lib.tensor(SPEC)[0], 8, 2, window=lib.tensor(W64)),
    lambda lib: lib.istft(lib.tensor(SPEC).view(1, 1, 5, 11), 8, 2, window=lib.tensor(W64)),
    lambda lib: lib.istft(lib.tensor(SPEC), 8, 2, window=lib.tensor(W64), onesided=False),
    lambda lib: lib.istft(lib.tensor(SPEC), 10, 2, window=lib.ones(10, dtype=lib.float64)),
    lambda lib: lib.istft(lib.tensor(SPEC), 8, 9, window=lib.tensor(W64)),
    lambda lib: lib.istft(lib.tensor(SPEC), 8, 2, 9, window=lib.tensor(W64)),
    lambda lib: lib.istft(lib.tensor(SPEC), 8, 2, window=lib.tensor(W64)[:7]),
    lambda lib: lib.istft(lib.tensor(SPEC), 8, 2, window=lib.tensor(W64), return_complex=True),
    lambda lib: lib.istft(lib.tensor(SPEC), 8, 2, window=lib.tensor(W64).to(lib.complex128)),
], ids=["real_input", "empty", "1d", "5d", "two_sided_size", "one_sided_size", "hop_too_long",
        "win_too_long", "window_size", "complex_onesided", "complex_window"])
def test_istft_errors_match_torch(call):
    _same_error(call)


def test_istft_nola_error_matches_torch():
    """A window whose overlap-added square vanishes somewhere cannot be inverted (torch's
    message ends with a printed bool tensor, compared up to it)."""
    _same_error(lambda lib: lib.istft(lib.tensor(SPEC), 8, 2, center=False,
                                      window=lib.hann_window(8, periodic=False,
                                                             dtype=lib.float64)),
                first_line_only=True)


def test_warnings_match_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradstep._warn_once._given.discard("stft.no_window")
        gradstep._warn_once._given.discard("stft.real_output")
        gradstep.stft(gradstep.tensor(X), 8, return_complex=False)
    texts = [str(w.message) for w in caught]
    assert any(t.startswith("A window was not provided") for t in texts), texts
    assert any(t.startswith("stft with return_complex=False is deprecated") for t in texts), texts

"""Window functions against torch: values, dtypes, shapes, keywords and errors.

gradstep computes each window op by op as torch's CPU code does, so half, bfloat16 and
Bartlett windows, and float64 Kaiser windows, equal torch's bit for bit. The exception is the
cosine in float32/float64: torch's vectorised cos (SLEEF, within 1 ulp) and NumPy's round a
few values one ulp apart, which ``alpha - beta * cos`` (|beta| <= 1 here, and |cos| <= 1) can
amplify to a few ulps of a small result but not beyond 2 ulps of 1.0 in absolute terms (one
ulp of the cosine times beta, plus the one rounding of the sum): the bound used there. Float32
Kaiser windows emulate torch's fused multiply-adds and differ only at rounding ties, within
the same bound.
"""

import numpy as np
import pytest
import torch

import gradstep

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]
LENGTHS = [0, 1, 2, 3, 4, 5, 8, 15, 64, 101, 256, 1000, 2049]
ULP_AT_ONE = {"float32": 2.0 ** -23, "float64": 2.0 ** -52}


def _pair(name, *args, **kwargs):
    ours = getattr(gradstep, name)(*args, **{k: _lib_value(gradstep, v) for k, v in kwargs.items()})
    theirs = getattr(torch, name)(*args, **{k: _lib_value(torch, v) for k, v in kwargs.items()})
    return ours, theirs


def _lib_value(lib, v):
    return getattr(lib, v) if isinstance(v, str) and v in ("float32", "float64", "float16",
                                                             "bfloat16") else v


def _as_float64(t):
    return t.detach().to(torch.float64).numpy() if isinstance(t, torch.Tensor) else \
        t.detach().to(gradstep.float64).numpy()


def _assert_window(ours, theirs, exact):
    name = str(theirs.dtype).split(".")[-1]
    assert str(ours.dtype).split(".")[-1] == name
    assert tuple(ours.shape) == tuple(theirs.shape)
    a, b = _as_float64(ours), _as_float64(theirs)
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=0, atol=2 * ULP_AT_ONE[name])


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("periodic", [True, False])
def test_exact_in_half_types(name, dtype, periodic):
    for n in LENGTHS:
        _assert_window(*_pair(name, n, periodic, dtype=dtype), exact=True)


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("periodic", [True, False])
def test_float32_float64(name, dtype, periodic):
    """Exact without a cosine (Bartlett; Kaiser in float64), else within 2 ulps of 1.0."""
    exact = name == "bartlett_window" or (name == "kaiser_window" and dtype == "float64")
    for n in LENGTHS:
        _assert_window(*_pair(name, n, periodic, dtype=dtype), exact=exact)


def test_float32_mostly_bit_equal():
    """The cosine's ulp differences are the exception, not the rule."""
    same = total = 0
    for n in range(2, 300):
        ours, theirs = _pair("hann_window", n, False)
        same += int((ours.numpy() == theirs.numpy()).sum())
        total += n
    assert same / total > 0.9


@pytest.mark.parametrize("alpha,beta", [(0.54, 0.46), (0.5, 0.5), (1.0, 2.0), (0.3, 0.2)])
def test_hamming_alpha_beta(alpha, beta):
    for n in (5, 16, 33):
        _assert_window(*_pair("hamming_window", n, False, alpha, beta, dtype="float16"),
                       exact=True)
    ours, theirs = _pair("hamming_window", 16, True, alpha, beta=beta)
    if abs(beta) <= 1:  # the 2-ulp bound assumes |beta| <= 1
        _assert_window(ours, theirs, exact=False)
    else:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0,
                                   atol=2 * abs(beta) * ULP_AT_ONE["float32"])


@pytest.mark.parametrize("beta", [0.0, 0.5, 3.0, 8.0, 12.0, 20.0, -3.0])
def test_kaiser_beta(beta):
    for n in (2, 7, 64):
        _assert_window(*_pair("kaiser_window", n, True, beta, dtype="float64"), exact=True)
        _assert_window(*_pair("kaiser_window", n, False, beta), exact=False)


def test_defaults_and_keywords():
    for name in WINDOWS:
        _assert_window(*_pair(name, 10), exact=name == "bartlett_window")
        _assert_window(*_pair(name, window_length=10, periodic=False, dtype="float16"),
                       exact=True)
    _assert_window(*_pair("kaiser_window", 9, False, beta=5.0, dtype="float64"), exact=True)
    # a 0-d integer tensor is an int to torch's parser
    ours = gradstep.bartlett_window(gradstep.tensor(6), dtype=gradstep.float64)
    np.testing.assert_array_equal(ours.numpy(),
                                  torch.bartlett_window(6, dtype=torch.float64).numpy())


def test_periodic_is_symmetric_window_minus_last_point():
    for name in WINDOWS:
        full = getattr(gradstep, name)(9, periodic=False, dtype=gradstep.float64)
        periodic = getattr(gradstep, name)(8, periodic=True, dtype=gradstep.float64)
        np.testing.assert_array_equal(periodic.numpy(), full.numpy()[:-1])


def test_default_dtype_and_requires_grad():
    old = gradstep.get_default_dtype()
    gradstep.set_default_dtype(gradstep.float64)
    try:
        assert gradstep.hann_window(4).dtype == gradstep.float64
    finally:
        gradstep.set_default_dtype(old)
    w = gradstep.blackman_window(5, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(5, 2.0, np.float32))
    assert gradstep.hann_window(1, requires_grad=True).requires_grad


@pytest.mark.parametrize("name", WINDOWS)
def test_errors_match_torch(name):
    for lib in (gradstep, torch):
        fn = getattr(lib, name)
        with pytest.raises(RuntimeError, match="expects floating point dtypes"):
            fn(5, dtype=lib.int64)
        with pytest.raises(RuntimeError, match="requires non-negative window_length, got "
                                               "window_length=-1"):
            fn(-1)
        with pytest.raises(TypeError, match="window_length"):
            fn(5.0)
        with pytest.raises(TypeError, match="window_length"):
            fn(True)
        with pytest.raises(TypeError):
            fn(5, 1)  # periodic must be a bool
    with pytest.raises(RuntimeError, match="CUDA|cuda"):
        getattr(gradstep, name)(5, device="cuda")

"""torch.special's Bessel and Airy functions against torch: values over wide ranges (near
zeros, the branch points, poles, large arguments, infinities, NaN), dtypes, out= and
errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.special._oracle import assert_matches_torch

NAMES = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
         "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
         "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
         "airy_ai")

# the approximations' branch points and the functions' zeros, poles and limits
EDGES = [0.0, -0.0, 1e-30, 1e-5, 0.5, -0.5, 2.0, 2.09, -2.09, 5.0, -5.0, 8.0, -8.0,
         8.3203353, 103.892, 103.9, 700.0, 1e10, 1e30, -1e30, 2.404825557695773,
         3.831705970207512, 0.8935769662791675, 2.197141326031017, -2.338107410459767,
         np.inf, -np.inf, np.nan]


def _samples(dtype, seed):
    rng = np.random.default_rng(seed)
    parts = [
        rng.uniform(-12, 12, 4000),
        rng.uniform(-1, 1, 1000),
        rng.uniform(-300, 300, 2000),
        np.exp(rng.uniform(-25, 7, 3000)) * rng.choice([-1.0, 1.0], 3000),
        # near the first zeros of J0, J1, Y0, Y1 and Ai, where the result is tiny
        np.array([2.404825557695773, 3.831705970207512, 0.8935769662791675,
                  2.197141326031017, -2.338107410459767])[:, None]
        + rng.uniform(-1e-3, 1e-3, (5, 200)),
        np.array(EDGES),
    ]
    return np.concatenate([p.ravel() for p in parts]).astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_match_torch(name, dtype):
    x = _samples(dtype, sum(map(ord, name)))
    with np.errstate(all="ignore"):
        ours = getattr(gradstep.special, name)(gradstep.tensor(x))
    theirs = getattr(torch.special, name)(torch.from_numpy(x))
    assert_matches_torch(ours, theirs, f"{name} {dtype}")


@pytest.mark.parametrize("name", NAMES)
def test_integer_and_bool_inputs_use_the_default_dtype(name):
    x = np.array([0, 1, 2, 3, 7, -4])
    for lib_dtype in ("int64", "int32", "uint8", "bool"):
        arr = (x > 0) if lib_dtype == "bool" else np.abs(x).astype(lib_dtype)
        ours = getattr(gradstep.special, name)(gradstep.tensor(arr))
        theirs = getattr(torch.special, name)(torch.tensor(arr))
        assert_matches_torch(ours, theirs, f"{name} {lib_dtype}")
    gradstep.set_default_dtype(gradstep.float64)
    try:
        assert getattr(gradstep.special, name)(gradstep.tensor([1, 2])).dtype == gradstep.float64
    finally:
        gradstep.set_default_dtype(gradstep.float32)


@pytest.mark.parametrize("name", NAMES)
def test_no_gradient_and_shape(name):
    # torch has no derivative formula: the result does not require grad
    x = gradstep.tensor([[0.5, 1.5, 2.5]], dtype=gradstep.float64, requires_grad=True)
    y = getattr(gradstep.special, name)(x)
    t = getattr(torch.special, name)(torch.tensor([[0.5, 1.5, 2.5]], dtype=torch.float64,
                                                  requires_grad=True))
    assert y.requires_grad == t.requires_grad is False
    assert y.grad_fn is None and tuple(y.shape) == tuple(t.shape) == (1, 3)
    empty = getattr(gradstep.special, name)(gradstep.zeros(0, 2))
    assert tuple(empty.shape) == (0, 2) and empty.dtype == gradstep.float32


def test_out_argument():
    x = np.linspace(0.1, 20, 50).astype(np.float32)
    o = gradstep.empty(50, dtype=gradstep.float64)
    to = torch.empty(50, dtype=torch.float64)
    r = gradstep.special.bessel_y1(gradstep.tensor(x), out=o)
    torch.special.bessel_y1(torch.from_numpy(x), out=to)
    assert r is o
    # computed in float32 (the input's precision), then written into the float64 out
    np.testing.assert_array_equal(o.numpy(), to.numpy())
    o = gradstep.empty(0)
    gradstep.special.airy_ai(gradstep.tensor(x), out=o)
    assert tuple(o.shape) == (50,)


@pytest.mark.parametrize(("call", "exc"), [
    (lambda lib: lib.special.bessel_j0(0.5), TypeError),
    (lambda lib: lib.special.bessel_j1(lib.ones(2, dtype=lib.float16)), NotImplementedError),
    (lambda lib: lib.special.airy_ai(lib.ones(2, dtype=lib.bfloat16)), NotImplementedError),
    (lambda lib: lib.special.modified_bessel_k0(lib.ones(2, dtype=lib.complex64)),
     NotImplementedError),
    (lambda lib: lib.special.bessel_y0(lib.ones(2), out=lib.empty(2, dtype=lib.int64)),
     RuntimeError),
])
def test_errors_match_torch(call, exc):
    with pytest.raises(exc) as ours:
        call(gradstep)
    with pytest.raises(exc) as theirs:
        call(torch)
    assert str(ours.value) == str(theirs.value)


def test_keyword_input():
    x = gradstep.tensor([0.25, 4.0])
    np.testing.assert_array_equal(gradstep.special.bessel_j0(input=x).numpy(),
                                  torch.special.bessel_j0(input=torch.tensor([0.25, 4.0])).numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["i0", "special.i1", "special.i0e", "special.i1e"])
def test_i0_i1_and_scaled_are_torchs_cephes_series(name, dtype):
    # torch.i0 is modified_bessel_i0 bit for bit; i1/i0e/i1e are calc_i1/i0e/i1e (float32: the
    # I1 tables' tails); magnitudes 1e-5..~50 and both signs cover both series and the overflow
    rng = np.random.default_rng(7)
    x = rng.standard_normal(4000) * np.exp(rng.uniform(-12, 4, 4000))
    x = np.concatenate([x, [0.0, -0.0, 8.0, -8.0, 8.000001, 88.0, 700.0, -710.0, np.inf, -np.inf, np.nan]])
    x = x.astype(dtype)

    def fn(lib):
        obj = lib
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    assert_matches_torch(fn(gradstep)(gradstep.tensor(x)), fn(torch)(torch.tensor(x)), f"{name} {dtype}")

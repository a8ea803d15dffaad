"""torch's type promotion: result dtypes of binary ops over a grid of dtypes and scalar kinds."""

import itertools

import numpy as np
import pytest
import torch

import gradstep

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
SCALARS = [True, 3, -2, 2.5]

OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "pow": lambda a, b: a ** b,
    "maximum": lambda a, b: _lib(a, b).maximum(_t(a, b), _t(b, a)),
    "where": lambda a, b: _lib(a, b).where(_lib(a, b).ones((), dtype=_lib(a, b).bool), a, b),
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
}


def _lib(*xs):
    return torch if any(isinstance(x, torch.Tensor) for x in xs) else gradstep


def _t(x, other):
    """maximum takes tensors only: wrap a scalar as a 0-dim tensor of the scalar's kind."""
    if isinstance(x, (bool, int, float)):
        return _lib(other).tensor(x)
    return x


def _values(dt, shape):
    rng = np.random.default_rng(1)
    if dt == "bool":
        return np.asarray(rng.integers(0, 2, size=shape).astype(bool))
    if dt == "uint8":
        return np.asarray(rng.integers(1, 5, size=shape).astype(dt))
    if dt.startswith("int"):
        return np.asarray((rng.integers(1, 5, size=shape) * rng.choice([-1, 1], size=shape)).astype(dt))
    return np.asarray(rng.uniform(0.5, 2.0, size=shape).astype(dt))


def _run(fn, *args):
    try:
        return fn(*args), None
    except (RuntimeError, TypeError) as e:
        return None, e


def _compare(op, a_np, b_np):
    """Run ``op`` in both libraries; same result dtype and values, or both raise."""
    conv = {gradstep: gradstep.from_numpy, torch: torch.from_numpy}

    def wrap(lib, x):
        return conv[lib](np.array(x)) if isinstance(x, np.ndarray) else x

    ours, err = _run(OPS[op], wrap(gradstep, a_np), wrap(gradstep, b_np))
    theirs, terr = _run(OPS[op], wrap(torch, a_np), wrap(torch, b_np))
    if terr is not None:
        assert err is not None, f"torch raised {terr!r} but gradstep returned {ours!r}"
        return
    assert err is None, f"gradstep raised {err!r}; torch gave {theirs.dtype}"
    assert ours.dtype.name == str(theirs.dtype)[6:], (op, ours.dtype, theirs.dtype)
    assert ours.shape == tuple(theirs.shape)
    if ours.dtype is gradstep.float16 and op in ("floordiv", "mod") and _wider_scalar(a_np, b_np):
        # torch computes half ops with a 0-dim float32/64 operand at that operand's precision;
        # gradstep rounds it to half first, which can flip a floor: compare dtypes only
        return
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64),
                               rtol=2e-3 if ours.dtype is gradstep.float16 else 1e-6)


def _wider_scalar(*xs):
    return any(isinstance(x, (float, np.ndarray)) and np.ndim(x) == 0
               and np.asarray(x).dtype.itemsize > 2 for x in xs)


@pytest.mark.parametrize("op", list(OPS))
def test_tensor_tensor_grid(op):
    for da, db in itertools.product(DTYPES, DTYPES):
        _compare(op, _values(da, (2, 3)), _values(db, (3,)))


@pytest.mark.parametrize("op", list(OPS))
def test_tensor_zero_dim_grid(op):
    # a 0-dim tensor only decides the dtype when it is of a higher category
    for da, db in itertools.product(DTYPES, DTYPES):
        _compare(op, _values(da, (3,)), _values(db, ()))
        _compare(op, _values(da, ()), _values(db, (3,)))


@pytest.mark.parametrize("op", list(OPS))
def test_tensor_scalar_grid(op):
    for dt, s in itertools.product(DTYPES, SCALARS):
        _compare(op, _values(dt, (2, 3)), s)
        _compare(op, s, _values(dt, (2, 3)))


def test_headline_rules():
    i = gradstep.tensor([1, 2, 3])
    f = gradstep.tensor([1.0, 2.0])
    assert (i * 1.5).dtype is gradstep.float32  # int tensor * Python float -> default float
    assert (f + f.double()).dtype is gradstep.float64  # float32 + float64 -> float64
    assert (f * 1e300).dtype is gradstep.float32  # a Python float does not widen float32
    assert (i / i).dtype is gradstep.float32  # int / int true-divides to float
    assert (gradstep.tensor([True]) + gradstep.tensor([True])).dtype is gradstep.bool
    assert (gradstep.tensor([True]) + 1).dtype is gradstep.int64
    assert (gradstep.tensor([1], dtype=gradstep.int8) + 1000).dtype is gradstep.int8
    assert (i + gradstep.tensor(2.0, dtype=gradstep.float64)).dtype is gradstep.float64  # 0-dim float wins over int
    assert (f + gradstep.tensor(2.0, dtype=gradstep.float64)).dtype is gradstep.float32


def test_default_dtype_follows_set_default_dtype():
    old = gradstep.get_default_dtype()
    try:
        gradstep.set_default_dtype(gradstep.float64)
        assert (gradstep.tensor([1, 2]) * 0.5).dtype is gradstep.float64
        assert (gradstep.tensor([1, 2]) / 2).dtype is gradstep.float64
        assert gradstep.tensor([1, 2]).float().exp().dtype is gradstep.float32
    finally:
        gradstep.set_default_dtype(old)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh", "sin"])
def test_float_unary_on_int_tensors(name):
    for dt in ("int64", "int32", "uint8", "bool"):
        a = _values(dt, (4,))
        ours = getattr(gradstep, name)(gradstep.from_numpy(np.abs(a)))
        theirs = getattr(torch, name)(torch.from_numpy(np.abs(a)))
        assert ours.dtype.name == str(theirs.dtype)[6:]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_gradients_flow_back_through_promotion():
    a = gradstep.tensor([1.0, 2.0], requires_grad=True)
    b = gradstep.tensor([3.0, 4.0], dtype=gradstep.float64, requires_grad=True)
    out = a * b
    assert out.dtype is gradstep.float64
    out.sum().backward()
    assert a.grad.dtype is gradstep.float32 and b.grad.dtype is gradstep.float64
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0])

"""Bitwise functions, shifts and gcd/lcm against torch (exact integer results)."""

import numpy as np
import pytest
import torch

import gradstep

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8"]


def _pair(dt, seed=0):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dt)
    a = rng.integers(max(info.min, -1000), min(info.max, 1000), (3, 4)).astype(dt)
    b = rng.integers(max(info.min, -1000), min(info.max, 1000), (4,)).astype(dt)
    return a, b


def _same(ours, theirs):
    assert str(ours.dtype).replace("gradstep.", "") == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dt", INT_DTYPES + ["bool"])
@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_binary(name, dt):
    a, b = _pair("int64" if dt == "bool" else dt)
    if dt == "bool":
        a, b = a > 0, b > 0
    _same(getattr(gradstep, name)(gradstep.tensor(a), gradstep.tensor(b)),
          getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
    _same(getattr(gradstep.tensor(a), name)(gradstep.tensor(b)),
          getattr(torch.tensor(a), name)(torch.tensor(b)))
    _same(getattr(gradstep, name)(input=gradstep.tensor(a), other=3),
          getattr(torch, name)(input=torch.tensor(a), other=3))


def test_not_and_float_refused():
    a, _ = _pair("int32")
    _same(gradstep.bitwise_not(gradstep.tensor(a)), torch.bitwise_not(torch.tensor(a)))
    for lib in (gradstep, torch):
        with pytest.raises((RuntimeError, NotImplementedError)):
            lib.bitwise_and(lib.ones(2), lib.ones(2))
        with pytest.raises((RuntimeError, NotImplementedError)):
            lib.bitwise_left_shift(lib.ones(2), 1)


@pytest.mark.parametrize("dt", INT_DTYPES)
def test_shifts(dt):
    bits = np.dtype(dt).itemsize * 8
    a, _ = _pair(dt, seed=1)
    s = np.array([0, 1, 3, bits - 1], dt) if dt != "int8" else np.array([0, 1, 3, 7], dt)
    for name, op in (("bitwise_left_shift", "__lshift__"), ("bitwise_right_shift", "__rshift__")):
        _same(getattr(gradstep, name)(gradstep.tensor(a), gradstep.tensor(s)),
              getattr(torch, name)(torch.tensor(a), torch.tensor(s)))
        _same(getattr(gradstep.tensor(a), op)(2), getattr(torch.tensor(a), op)(2))


def test_out_of_range_shifts():
    a = np.array([1, -8, 5, 2**62, -(2**40)])
    s = np.array([64, 70, -1, 3, 63])
    for name in ("bitwise_left_shift", "bitwise_right_shift"):
        _same(getattr(gradstep, name)(gradstep.tensor(a), gradstep.tensor(s)),
              getattr(torch, name)(torch.tensor(a), torch.tensor(s)))


def test_shift_operators_and_inplace():
    x, tx = gradstep.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    _same(x << 2, tx << 2)
    _same(x >> 1, tx >> 1)
    _same(2 << x, 2 << tx)
    x <<= 1
    tx <<= 1
    _same(x, tx)
    y, ty = gradstep.tensor([9, 17]), torch.tensor([9, 17])
    assert y.bitwise_right_shift_(2) is y
    ty.bitwise_right_shift_(2)
    _same(y, ty)
    z, tz = gradstep.tensor([5, 6]), torch.tensor([5, 6])
    z.bitwise_xor_(3)
    tz.bitwise_xor_(3)
    _same(z, tz)


@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_gcd_lcm(name):
    a = np.array([[0, 4, -6, 7], [12, -15, 9, 1]])
    b = np.array([6, 0, 4, -21])
    _same(getattr(gradstep, name)(gradstep.tensor(a), gradstep.tensor(b)),
          getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
    _same(getattr(gradstep.tensor(a), name)(gradstep.tensor(b)),
          getattr(torch.tensor(a), name)(torch.tensor(b)))
    for lib in (gradstep, torch):
        with pytest.raises((RuntimeError, NotImplementedError)):
            getattr(lib, name)(lib.ones(2), lib.ones(2))

"""torch.segment_reduce against torch 2.13's CPU kernel: values, gradients and errors.

Both libraries fold each segment's elements in order, in the data dtype, and compute the
gradient with the same few operations per element (g, g / n, g * out / x, or g times an
ordered product), so values and gradients are compared bit for bit (NaNs in the same places).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

KINDS = ("sum", "mean", "max", "min", "prod")


def _run(lib, data, dtype, reduce, grad, **kw):
    x = lib.tensor(data, dtype=dtype, requires_grad=True)
    kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = lib.segment_reduce(x, reduce, **kw)
    g = lib.tensor(grad.reshape(tuple(out.shape)), dtype=dtype)
    (gx,) = lib.autograd.grad(out, x, g)
    return out.detach().numpy(), gx.numpy(), out.grad_fn.name()


def _same(data, reduce, dtype_name, **kw):
    rng = np.random.default_rng(0)
    tdt, gdt = getattr(torch, dtype_name), getattr(gradstep, dtype_name)
    ref = None
    for lib, dt in ((torch, tdt), (gradstep, gdt)):
        x = lib.tensor(data, dtype=dt)
        n = lib.segment_reduce(x, reduce, **{k: lib.tensor(v) if isinstance(v, np.ndarray)
                                             else v for k, v in kw.items()}).numel()
        grad = rng.standard_normal(n) if ref is None else ref[3]
        got = _run(lib, data, dt, reduce, grad, **kw) + (grad,)
        if ref is None:
            ref = got
            continue
        np.testing.assert_array_equal(got[0], ref[0], err_msg=f"{reduce} values")
        np.testing.assert_array_equal(got[1], ref[1], err_msg=f"{reduce} grad")
        assert got[2] == ref[2] == "SegmentReduceBackward0"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduce", KINDS)
def test_lengths_1d_with_empty_segments(reduce, dtype):
    data = np.random.default_rng(1).standard_normal(9)
    lengths = np.array([2, 0, 4, 1, 0, 2])
    _same(data, reduce, dtype, lengths=lengths)
    _same(data, reduce, dtype, lengths=lengths, initial=0.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduce", KINDS)
def test_offsets_and_nd_axis(reduce, dtype):
    data = np.random.default_rng(2).standard_normal((2, 7, 3))
    offsets = np.array([[0, 3, 3, 7], [0, 1, 5, 7]])
    _same(data, reduce, dtype, offsets=offsets, axis=1)
    lengths = np.array([[3, 0, 4], [1, 4, 2]])
    _same(data, reduce, dtype, lengths=lengths, axis=1, initial=-1.0)
    _same(data, reduce, dtype, lengths=lengths, axis=-2)
    _same(data[0], reduce, dtype, lengths=np.array([5, 2], dtype=np.int32))


@pytest.mark.parametrize("reduce", KINDS)
def test_ties_zeros_and_nans(reduce):
    # ties (max/min split a positive gradient only), zeros and NaNs (prod's exclusive product)
    data = np.array([3.0, 3.0, 1.0, -1.0, -1.0, 2.0, 0.0, 4.0, 0.0, np.nan, 2.0, 0.0, 5.0])
    _same(data, reduce, "float32", lengths=np.array([3, 3, 3, 2, 2]))
    _same(data, reduce, "float64", lengths=np.array([3, 3, 3, 2, 2]), initial=2.0)


def test_initial_beyond_data_and_long_sums():
    _same(np.array([1.0, 2.0]), "max", "float32", lengths=np.array([2]), initial=5.0)
    _same(np.array([1.0, 2.0]), "max", "float32", lengths=np.array([2]), initial=2)
    # a long float32 sum: the same rounding only if both fold in order
    data = np.random.default_rng(3).standard_normal(300) * 1e3
    _same(data, "sum", "float32", lengths=np.array([290, 10]))
    _same(data, "mean", "float32", lengths=np.array([100, 200]), initial=0.1)


def test_empty_data_and_aliases():
    for lib in (torch, gradstep):
        e = lib.tensor([])
        assert lib.segment_reduce(e, "mean", lengths=lib.tensor([0, 0])).isnan().all()
        assert lib.segment_reduce(e, "max", lengths=lib.tensor([0, 0])).tolist() == \
            [-float("inf")] * 2
        assert lib.segment_reduce(e, "mean", lengths=lib.tensor([0, 0]), initial=3).tolist() \
            == [3.0, 3.0]
        x = lib.tensor([1.0, 5.0, 2.0])
        assert lib.segment_reduce(x, "amax", lengths=lib.tensor([2, 1])).tolist() == [5.0, 2.0]
        assert lib.segment_reduce(x, "amin", lengths=lib.tensor([2, 1])).tolist() == [1.0, 2.0]


def _error(lib, data, reduce="sum", **kw):
    conv = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    x = lib.tensor(data) if isinstance(data, np.ndarray) else data
    try:
        lib.segment_reduce(x, reduce, **conv)
    except Exception as e:  # noqa: BLE001 - the type and message are what we compare
        return type(e), str(e)
    return None


D2 = np.arange(12.0).reshape(2, 6)
ERRORS = [
    dict(data=D2),
    dict(data=D2, lengths=np.array([1, 1]), indices=np.array([0, 1])),
    dict(data=D2, reduce="any", lengths=np.array([1, 1])),
    dict(data=D2, lengths=np.array([1, 1]), axis=1),
    dict(data=D2, offsets=np.array([0, 1, 2]), axis=1),
    dict(data=D2, lengths=np.array([1, 2])),
    dict(data=D2, lengths=np.array([3, -1])),
    dict(data=D2, lengths=np.array([3, -1]), unsafe=True),
    dict(data=D2, lengths=np.array([1.0, 1.0])),
    dict(data=D2, lengths=np.array([1, 1], dtype=np.int16)),
    dict(data=D2, offsets=np.array([0.0, 1.0, 2.0])),
    dict(data=D2.astype(np.int64), lengths=np.array([1, 1])),
    dict(data=D2, lengths=np.array([1, 1]), axis=2),
    dict(data=D2, lengths=np.array(2)),
    dict(data=D2, lengths=np.array([[[1, 1]]])),
    dict(data=D2, lengths=np.array([], dtype=np.int64)),
    dict(data=D2, lengths=[1, 1]),
    dict(data=D2, lengths=np.array([2, 0]), axis=1.0),
    dict(data=D2, lengths=np.array([2, 0]), unsafe=1),
    dict(data=D2, lengths=np.array([2, 0]), initial="a"),
    dict(data=D2, lengths=np.array([2, 0]), initial=1 + 2j),
    dict(data=[1.0, 2.0], lengths=np.array([2])),
    dict(data=D2, reduce=3, lengths=np.array([2, 0])),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    kw = dict(ERRORS[case])
    want = _error(torch, **kw)
    got = _error(gradstep, **kw)
    assert want is not None
    assert got == want

"""torch.testing.make_tensor and the deprecated assert_allclose, against torch 2.13.

make_tensor draws from the global generator with randint/uniform_ exactly as torch does, so
the values must be bit-identical after the same manual_seed.
"""

import warnings

import numpy as np
import pytest
import torch

import gradstep as gs

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]
OPTIONS = [{}, {"low": 1, "high": 3}, {"noncontiguous": True},
           {"exclude_zero": True, "low": 0, "high": 2}]


def _np(t):
    return (t.float() if t.dtype.__repr__().endswith("bfloat16") else t).detach().numpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_values_equal_torch_after_seed(dtype):
    for kw in OPTIONS:
        torch.manual_seed(3)
        gs.manual_seed(3)
        a = torch.testing.make_tensor((3, 4), dtype=getattr(torch, dtype), device="cpu", **kw)
        b = gs.testing.make_tensor(3, 4, dtype=getattr(gs, dtype), device="cpu", **kw)
        assert tuple(b.shape) == tuple(a.shape)
        assert b.is_contiguous() == a.is_contiguous()
        np.testing.assert_array_equal(_np(b), _np(a))
        if kw.get("exclude_zero"):
            assert not (b == 0).any()


def test_huge_range_and_requires_grad():
    torch.manual_seed(0)
    gs.manual_seed(0)
    a = torch.testing.make_tensor(5, dtype=torch.float64, device="cpu", low=-1e308, high=1e308,
                                  requires_grad=True)
    b = gs.testing.make_tensor([5], dtype=gs.float64, device="cpu", low=-1e308, high=1e308,
                               requires_grad=True)
    assert b.requires_grad and b.is_leaf
    np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"dtype": "int64", "requires_grad": True}, ValueError, "not supported for boolean"),
    ({"dtype": "float32", "low": 2, "high": 1}, ValueError, "`low` must be less than `high`"),
    ({"dtype": "float32", "low": float("nan")}, ValueError, "cannot be NaN"),
    ({"dtype": "uint8", "low": 300, "high": 400}, ValueError, "only supports"),
    ({"dtype": "float32", "noncontiguous": True, "memory_format": "cl"}, ValueError,
     "mutually exclusive"),
])
def test_errors_as_torch(kwargs, exc, match):
    for lib in (torch, gs):
        kw = dict(kwargs, dtype=getattr(lib, kwargs["dtype"]))
        if kw.get("memory_format") == "cl":
            kw["memory_format"] = lib.channels_last
        with pytest.raises(exc, match=match):
            lib.testing.make_tensor(2, 2, device="cpu", **kw)


def test_low_equal_high_warns_for_floats():
    for lib in (torch, gs):
        with pytest.warns(FutureWarning, match="Passing `low==high`"):
            t = lib.testing.make_tensor(3, dtype=lib.float32, device="cpu", low=1, high=1)
        assert (t == 1).all()


def test_assert_allclose_warns_and_uses_old_tolerances():
    for lib in (torch, gs):
        with pytest.warns(FutureWarning, match="assert_allclose\\(\\)` is deprecated since 1.12"):
            # 5e-5 relative: inside assert_allclose's float32 rtol 1e-4, outside assert_close's
            lib.testing.assert_allclose(lib.tensor([1.0, 2.0]), [1.0, 2.0001])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            with pytest.raises(AssertionError, match="Mismatched elements: 1 / 2"):
                lib.testing.assert_allclose(lib.tensor([1.0, 2.0]), [1.0, 2.1])
            lib.testing.assert_allclose(lib.tensor([float("nan")]), [float("nan")])  # equal_nan

"""Legacy tensor classes (``torch.FloatTensor`` ...), ``Tensor.type``, ``autograd.Variable`` and
the private names public code probes, against torch 2.13. Values are constructed, not
computed, so they must be identical."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep
import gradstep.autograd

TYPES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
         "CharTensor", "ByteTensor", "BoolTensor", "BFloat16Tensor"]
DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool",
          "bfloat16"]


def _dtype(t):
    return str(t.dtype).split(".")[-1]


def _same(build):
    """``build(lib)`` on both libraries: same outcome, dtype, shape and values."""
    out = {}
    for lib in (gradstep, torch):
        try:
            t = build(lib)
            out[lib.__name__] = ("ok", _dtype(t), tuple(t.shape),
                                 np.array(t.float().tolist()) if t.numel() else None)
        except (TypeError, RuntimeError, ValueError) as e:
            out[lib.__name__] = ("error", type(e).__name__)
    ours, theirs = out["gradstep"], out["torch"]
    assert ours[:3] == theirs[:3]
    if ours[0] == "ok" and theirs[3] is not None:
        np.testing.assert_array_equal(ours[3], theirs[3])
    return ours


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("form", ["data", "nested", "sizes", "size_obj", "one_size", "empty",
                                  "tuple_is_data", "numpy", "dtype_kw", "requires_grad_kw",
                                  "negative"])
def test_constructor_forms(name, form):
    builds = {
        "data": lambda L: getattr(L, name)([1, 0, 2]),
        "nested": lambda L: getattr(L, name)([[1, 2], [3, 0]]),
        "sizes": lambda L: getattr(L, name)(2, 3).zero_(),
        "size_obj": lambda L: getattr(L, name)(L.Size([2, 3])).zero_(),
        "one_size": lambda L: getattr(L, name)(4).zero_(),
        "empty": lambda L: getattr(L, name)(),
        "tuple_is_data": lambda L: getattr(L, name)((2, 3)),
        "numpy": lambda L: getattr(L, name)(np.array([1, 2])),
        "dtype_kw": lambda L: getattr(L, name)(2, dtype=L.float64),
        "requires_grad_kw": lambda L: getattr(L, name)(2, requires_grad=True),
        "negative": lambda L: getattr(L, name)(-1),
    }
    if form == "numpy" and name == "BFloat16Tensor":
        pytest.skip("torch has no NumPy bfloat16 conversion to compare with")
    _same(builds[form])


@pytest.mark.parametrize("name,dtype", list(zip(TYPES, DTYPES)))
def test_isinstance_and_class_attributes(name, dtype):
    for lib in (gradstep, torch):
        cls = getattr(lib, name)
        for other in DTYPES:
            t = lib.zeros(2, dtype=getattr(lib, other))
            assert isinstance(t, cls) == (other == dtype)
        assert not isinstance([1.0], cls)
        assert not issubclass(cls, lib.Tensor)
        assert type(cls([1])) is lib.Tensor
        assert cls.__name__ == name
        assert repr(cls) == f"<class 'torch.{name}'>"
        assert str(cls.dtype).split(".")[-1] == dtype
        assert cls.is_sparse is False


def test_constructor_from_a_tensor_shares_data_and_checks_dtype():
    for lib in (gradstep, torch):
        a = lib.ones(3)
        b = lib.FloatTensor(a)
        assert b is not a
        b.add_(1)
        assert a.tolist() == [2.0, 2.0, 2.0]
        with pytest.raises(TypeError):
            lib.DoubleTensor(a)


@pytest.mark.parametrize("target", ["torch.DoubleTensor", "DoubleTensor-class", "float64",
                                    "torch.IntTensor", "same"])
def test_tensor_type(target):
    results = {}
    for lib in (gradstep, torch):
        a = lib.tensor([1.5, -2.0])
        assert a.type() == "torch.FloatTensor"
        arg = {"torch.DoubleTensor": "torch.DoubleTensor", "DoubleTensor-class": lib.DoubleTensor,
               "float64": lib.float64, "torch.IntTensor": "torch.IntTensor",
               "same": lib.FloatTensor}[target]
        out = a.type(arg)
        if target == "same":
            assert out is a
        results[lib.__name__] = (out.type(), out.tolist())
    assert results["gradstep"] == results["torch"]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("form", ["sizes", "data", "empty", "size_obj"])
def test_tensor_new(form, dtype):
    args = {"sizes": lambda L: (2, 3), "data": lambda L: ([1, 0, 2],), "empty": lambda L: (),
            "size_obj": lambda L: (L.Size([3]),)}[form]

    def build(lib):
        out = lib.ones(2, dtype=getattr(lib, dtype)).new(*args(lib))
        return out.zero_() if form in ("sizes", "size_obj") else out

    _same(build)


def test_tensor_type_names_for_every_dtype():
    for dtype in DTYPES:
        assert gradstep.zeros(1, dtype=getattr(gradstep, dtype)).type() == \
            torch.zeros(1, dtype=getattr(torch, dtype)).type()


def test_type_to_cuda_raises_on_cpu_build():
    for lib in (gradstep, torch):
        with pytest.raises(RuntimeError):
            lib.ones(1).type("torch.cuda.FloatTensor")


@pytest.mark.parametrize("lib", [gradstep, torch], ids=["gradstep", "torch"])
def test_variable(lib):
    Variable = lib.autograd.Variable
    a = lib.ones(2)
    assert isinstance(a, Variable) and not isinstance([1], Variable)
    v = Variable(a, requires_grad=True)
    assert type(v) is lib.Tensor and v is not a
    assert v.requires_grad and not a.requires_grad and v.is_leaf
    v.data.add_(1)
    assert a.tolist() == [2.0, 2.0]  # shares a's data
    (v * 3).sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]
    nonleaf = lib.ones(2, requires_grad=True) * 2
    assert Variable(nonleaf).grad_fn is None
    assert Variable().shape == (0,)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Variable(a, volatile=True)
    assert [str(w.message) for w in caught] == [
        "volatile was removed and now has no effect. Use `with torch.no_grad():` instead."]
    with pytest.raises(RuntimeError):
        Variable(lib.arange(3), requires_grad=True)


def test_private_names_probed_by_public_code():
    for name in ("_C", "_six"):
        assert hasattr(gradstep, name) == hasattr(torch, name)
    assert hasattr(gradstep, "_utils")


def test_flatten_dense_tensors_round_trip():
    out = {}
    for lib in (gradstep, torch):
        import importlib

        utils = importlib.import_module(lib.__name__ + "._utils")
        ts = [lib.arange(6.0).reshape(2, 3), lib.ones(4), lib.tensor(7.0)]
        flat = utils._flatten_dense_tensors(ts)
        back = utils._unflatten_dense_tensors(flat * 2, ts)
        out[lib.__name__] = (flat.tolist(), [(tuple(t.shape), t.tolist()) for t in back])
    assert out["gradstep"] == out["torch"]

"""isclose/allclose against torch: one dtype for both tensors (torch promotes nothing here),
no Python numbers, tolerances not negative; values as torch's."""

import pytest
import torch

import gradstep

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool",
          "complex64"]


def _outcome(fn):
    try:
        r = fn()
    except (RuntimeError, TypeError) as e:
        return type(e).__name__, str(e)
    return r.tolist() if hasattr(r, "tolist") else r


@pytest.mark.parametrize("name", ["isclose", "allclose"])
@pytest.mark.parametrize("a", DTYPES)
def test_dtype_pairs(name, a):
    for b in DTYPES:
        def run(L, a=a, b=b):
            return _outcome(lambda: getattr(L, name)(L.ones(2, dtype=getattr(L, a)),
                                                     L.ones(2, dtype=getattr(L, b))))
        assert run(gradstep) == run(torch), (a, b)  # "Float did not match Double" etc.


@pytest.mark.parametrize("name", ["isclose", "allclose"])
@pytest.mark.parametrize("value", [1, 1.0, True])
def test_python_numbers_refused(name, value):
    def run(L, v=value):
        return _outcome(lambda: getattr(L, name)(L.ones(2), v))
    assert run(gradstep) == run(torch)
    assert _outcome(lambda: getattr(gradstep, name)(value, gradstep.ones(2)))[0] == "TypeError"


@pytest.mark.parametrize("kw", [{"rtol": -1.0}, {"atol": -0.5}])
def test_negative_tolerance(kw):
    def run(L):
        return _outcome(lambda: L.isclose(L.ones(2), L.ones(2), **kw))
    assert run(gradstep) == run(torch)


def test_method_form_checks_dtypes():
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        gradstep.ones(2).isclose(gradstep.ones(2, dtype=gradstep.float64))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_match(dtype):
    # near the tolerance boundary, infinities and nan: the same formula in the same dtype
    vals_a = [1.0000001, 1e-3, 3.0, float("inf"), float("-inf"), float("nan"), 0.0, -2.0]
    vals_b = [1.0, 1.00001e-3, 3.00003, float("inf"), float("inf"), float("nan"), 1e-9, -2.00002]
    for equal_nan in (False, True):
        for tol in ({}, {"rtol": 1e-3, "atol": 0.0}, {"rtol": 0.0, "atol": 1e-8}):
            def run(L, equal_nan=equal_nan, tol=tol):
                dt = getattr(L, dtype)
                a, b = L.tensor(vals_a, dtype=dt), L.tensor(vals_b, dtype=dt)
                return (L.isclose(a, b, equal_nan=equal_nan, **tol).tolist(),
                        L.allclose(a[:3], b[:3], **tol))
            assert run(gradstep) == run(torch), (equal_nan, tol)

"""``torch._foreach_*`` against torch: every form (tensor list, scalar, scalar list, 0-d or
packed 1-D tensor), out-of-place and in-place, values, return types and errors.

Each foreach op is, per tensor, the single-tensor op; torch's fused kernels compute the same
per-element expression, so float64 agrees to 1e-14 relative. float32: 2 ulp (rtol 2.4e-7)
for arithmetic; elementwise math functions (exp, log, erf, ...) may differ by a few ulp
between NumPy's and torch's libm, hence rtol 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

TOL = {"float64": dict(rtol=1e-14, atol=1e-14), "float32": dict(rtol=1e-6, atol=1e-7)}
SHAPES = [(3,), (2, 4), ()]


def _lists(lib, dtype, n=3, low=0.5, high=2.0):
    rng = np.random.default_rng(0)
    return [[lib.tensor(rng.uniform(low, high, s).astype(dtype)) for s in SHAPES]
            for _ in range(n)]


def _np(ts):
    return [np.array(t.tolist()) for t in ts]


# name -> call(lib, self, a, b): the second operand in every form torch accepts
CALLS = {
    "add_list": lambda L, s, a, b: L._foreach_add(s, a),
    "add_list_alpha": lambda L, s, a, b: L._foreach_add(s, a, alpha=-0.5),
    "add_scalar": lambda L, s, a, b: L._foreach_add(s, 1.5),
    "add_scalarlist": lambda L, s, a, b: L._foreach_add(s, [1, 2.5, -3]),
    "add_tensor": lambda L, s, a, b: L._foreach_add(s, L.tensor(0.25, dtype=s[0].dtype)),
    "add_tensor_alpha": lambda L, s, a, b: L._foreach_add(s, L.tensor(0.25, dtype=s[0].dtype),
                                                         alpha=2),
    "sub_list_alpha": lambda L, s, a, b: L._foreach_sub(s, a, alpha=0.3),
    "sub_scalar": lambda L, s, a, b: L._foreach_sub(s, 0.5),
    "mul_list": lambda L, s, a, b: L._foreach_mul(s, a),
    "mul_scalar": lambda L, s, a, b: L._foreach_mul(s, 0.9),
    "mul_scalarlist": lambda L, s, a, b: L._foreach_mul(s, [0.5, 2, 3]),
    "mul_tensor": lambda L, s, a, b: L._foreach_mul(s, L.tensor(3.0, dtype=s[0].dtype)),
    "div_list": lambda L, s, a, b: L._foreach_div(s, a),
    "div_scalarlist": lambda L, s, a, b: L._foreach_div(s, [2, 4, 0.5]),
    "addcmul_scalar": lambda L, s, a, b: L._foreach_addcmul(s, a, b, 0.3),
    "addcmul_value_kw": lambda L, s, a, b: L._foreach_addcmul(s, a, b, value=-2),
    "addcmul_scalarlist": lambda L, s, a, b: L._foreach_addcmul(s, a, b, [1, -0.5, 2]),
    "addcmul_packed": lambda L, s, a, b: L._foreach_addcmul(
        s, a, b, L.tensor([1.0, -0.5, 2.0], dtype=L.float64)),
    "addcdiv_scalar": lambda L, s, a, b: L._foreach_addcdiv(s, a, b, -0.1),
    "addcdiv_scalarlist": lambda L, s, a, b: L._foreach_addcdiv(s, a, b, [0.1, 0.2, 0.3]),
    "lerp_scalar": lambda L, s, a, b: L._foreach_lerp(s, a, 0.1),
    "lerp_tensors": lambda L, s, a, b: L._foreach_lerp(s, a, b),
    "lerp_scalarlist": lambda L, s, a, b: L._foreach_lerp(s, a, [0.1, 0.5, 0.9]),
    "maximum_list": lambda L, s, a, b: L._foreach_maximum(s, a),
    "maximum_scalar": lambda L, s, a, b: L._foreach_maximum(s, 1.2),
    "minimum_list": lambda L, s, a, b: L._foreach_minimum(s, a),
    "clamp_min_scalar": lambda L, s, a, b: L._foreach_clamp_min(s, 1.0),
    "clamp_min_list": lambda L, s, a, b: L._foreach_clamp_min(s, a),
    "clamp_max_scalar": lambda L, s, a, b: L._foreach_clamp_max(s, 1.0),
    "pow_scalar": lambda L, s, a, b: L._foreach_pow(s, 2.5),
    "pow_list": lambda L, s, a, b: L._foreach_pow(s, a),
    "pow_scalar_base": lambda L, s, a, b: L._foreach_pow(2.0, s),
    "norm": lambda L, s, a, b: L._foreach_norm(s),
    "norm_1": lambda L, s, a, b: L._foreach_norm(s, 1),
    "norm_inf": lambda L, s, a, b: L._foreach_norm(s, float("inf")),
    "clone": lambda L, s, a, b: L._foreach_clone(s),
}
UNARY = ("abs", "neg", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sign",
         "reciprocal", "sigmoid", "tanh", "sin", "cos", "floor", "ceil", "round", "trunc",
         "frac", "erf")
for _name in UNARY:
    CALLS[_name] = (lambda n: lambda L, s, a, b: getattr(L, f"_foreach_{n}")(s))(_name)

# in-place forms: the out-of-place call with the op name suffixed by ``_`` (norm/clone/pow of
# a scalar base have none)
INPLACE = {name: call for name, call in CALLS.items()
           if not name.startswith(("norm", "clone", "pow_scalar_base"))}


def _inplace(call):
    """Turn ``L._foreach_op(...)`` into ``L._foreach_op_(...)`` by wrapping the namespace."""

    class Suffixed:
        def __init__(self, lib):
            self.lib = lib

        def __getattr__(self, name):
            return getattr(self.lib, name + "_" if name.startswith("_foreach_") else name)

    return lambda L, s, a, b: call(Suffixed(L), s, a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_out_of_place_matches_torch(name, dtype):
    results = {}
    for lib in (gradstep, torch):
        s, a, b = _lists(lib, dtype)
        before = _np(s)
        out = CALLS[name](lib, s, a, b)
        assert isinstance(out, tuple) and len(out) == len(s)
        for x, y in zip(_np(s), before):
            np.testing.assert_array_equal(x, y)  # the inputs are untouched
        results[lib.__name__] = ([str(t.dtype).split(".")[-1] for t in out], _np(out))
    assert results["gradstep"][0] == results["torch"][0]
    for ours, theirs in zip(results["gradstep"][1], results["torch"][1]):
        np.testing.assert_allclose(ours, theirs, **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_matches_torch(name, dtype):
    results = {}
    for lib in (gradstep, torch):
        s, a, b = _lists(lib, dtype)
        ids, versions = [id(t) for t in s], [t._version for t in s]
        out = _inplace(INPLACE[name])(lib, s, a, b)
        assert out is s, "in-place foreach returns its input list"
        assert [id(t) for t in s] == ids
        assert all(t._version > v for t, v in zip(s, versions))
        results[lib.__name__] = _np(s)
    for ours, theirs in zip(results["gradstep"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, **TOL[dtype])


def test_zero_and_copy():
    for lib in (gradstep, torch):
        s, a, _ = _lists(lib, "float32")
        assert lib._foreach_copy_(s, a) is s
        for x, y in zip(_np(s), _np(a)):
            np.testing.assert_array_equal(x, y)
        assert lib._foreach_zero_(s) is s
        assert all(float(t.abs().sum()) == 0 for t in s)


def test_gradients_through_out_of_place_foreach():
    grads = {}
    for lib in (gradstep, torch):
        s, a, b = _lists(lib, "float64")
        for t in s + a:
            t.requires_grad_()
        out = lib._foreach_addcmul(lib._foreach_mul(s, a), a, b, 0.5)
        sum(o.sum() for o in lib._foreach_sqrt(out)).backward()
        grads[lib.__name__] = _np([t.grad for t in s + a])
    for ours, theirs in zip(grads["gradstep"], grads["torch"]):
        np.testing.assert_allclose(ours, theirs, **TOL["float64"])


@pytest.mark.parametrize("call,error", [
    (lambda L, s, a: L._foreach_add(s, a[:2]), RuntimeError),
    (lambda L, s, a: L._foreach_add(s, [1, 2]), RuntimeError),
    (lambda L, s, a: L._foreach_add([], 1), RuntimeError),
    (lambda L, s, a: L._foreach_add(s, 2, alpha=2), TypeError),
    (lambda L, s, a: L._foreach_mul(s, a, alpha=2), TypeError),
    (lambda L, s, a: L._foreach_addcmul(s, a, a, L.tensor(2.0)), RuntimeError),
    (lambda L, s, a: L._foreach_add_([t.requires_grad_() for t in s], 1), RuntimeError),
], ids=["short-list", "short-scalarlist", "empty", "alpha-with-scalar", "mul-alpha",
        "0d-value", "leaf-in-place"])
def test_errors_like_torch(call, error):
    for lib in (gradstep, torch):
        s, a, _ = _lists(lib, "float32")
        with pytest.raises(error):
            call(lib, s, a)

"""torch 1.x overloads and in-place methods, against torch 2.13.

* the scalar-first overloads (``x.add_(2, y)``, ``torch.addcmul(x, 0.5, a, b)``, ...): values,
  in-place identity and version bump, gradients, the deprecation warning, and the calls
  torch refuses;
* every generated in-place method: values, ``self`` returned, version bump, the leaf error,
  gradients through a non-leaf, and the cast error for integer tensors;
* in-place ops on the 0-d result of a full reduction.

Tolerances: the legacy forms compute the same expression as the keyword forms, which round
like torch's kernels (``self + value * t1 * t2`` left to right), so float64 results agree to
1e-15 relative; float32 gets 2 ulp of the result (rtol 2.4e-7) plus what one rounding of an
intermediate can add to a sum of O(1) terms (atol 1e-6). Elementwise math functions get
rtol 1e-6 (NumPy's and torch's float32 libm differ by up to a few ulp).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep import _warn_once

TOL = {"float64": dict(rtol=1e-13, atol=1e-14), "float32": dict(rtol=1e-6, atol=1e-6)}


def _inputs(lib, dtype, seed=0, rg=False):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(0.5, 2.0, (3, 4)).astype(dtype) for _ in range(3)]
    return [lib.tensor(a, requires_grad=rg) for a in arrays]


def _np(t):
    return np.array(t.detach().tolist())


# (name, call(lib, x, a, b)) : every form torch 2.13 still parses with a leading number
DEPRECATED_CALLS = {
    "add method": lambda L, x, a, b: x.add(0.5, a),
    "add_ method": lambda L, x, a, b: x.add_(0.5, a),
    "add function": lambda L, x, a, b: L.add(x, 0.5, a),
    "add 0-d tensor alpha": lambda L, x, a, b: x.add_(L.tensor(0.5, dtype=x.dtype), a),
    "add number other": lambda L, x, a, b: x.add_(2, 3),
    "sub method": lambda L, x, a, b: x.sub(0.5, a),
    "sub_ method": lambda L, x, a, b: x.sub_(-1.5, a),
    "sub function": lambda L, x, a, b: L.sub(x, 0.5, a),
    "addcmul method": lambda L, x, a, b: x.addcmul(0.3, a, b),
    "addcmul_ method": lambda L, x, a, b: x.addcmul_(-0.3, a, b),
    "addcmul function": lambda L, x, a, b: L.addcmul(x, 0.3, a, b),
    "addcdiv method": lambda L, x, a, b: x.addcdiv(0.3, a, b),
    "addcdiv_ method": lambda L, x, a, b: x.addcdiv_(-0.3, a, b),
    "addcdiv function": lambda L, x, a, b: L.addcdiv(x, 0.3, a, b),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form", sorted(DEPRECATED_CALLS))
def test_scalar_first_overloads_match_torch(form, dtype):
    call = DEPRECATED_CALLS[form]
    results = {}
    for lib in (gradstep, torch):
        x, a, b = _inputs(lib, dtype)
        version = x._version
        out = call(lib, x, a, b)
        results[lib.__name__] = _np(out)
        if "_ method" in form or "alpha" in form or "number other" in form:
            assert out is x and x._version > version, "in-place form must return self, bumped"
        else:
            np.testing.assert_array_equal(_np(x), _np(_inputs(lib, dtype)[0]))  # x untouched
    np.testing.assert_allclose(results["gradstep"], results["torch"], **TOL[dtype])


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("form", [f for f in sorted(DEPRECATED_CALLS) if "_ method" not in f
                                  and "alpha" not in f and "number" not in f])
def test_scalar_first_overloads_gradients(form):
    grads = {}
    for lib in (gradstep, torch):
        x, a, b = _inputs(lib, "float64", rg=True)
        (DEPRECATED_CALLS[form](lib, x, a, b) ** 2).sum().backward()
        grads[lib.__name__] = [None if t.grad is None else _np(t.grad) for t in (x, a, b)]
    for ours, theirs in zip(grads["gradstep"], grads["torch"]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, **TOL["float64"])


def test_deprecation_warning_is_torchs_and_once_per_process(monkeypatch):
    code = ("import warnings, torch\nwarnings.simplefilter('always')\n"
            "x, y = torch.ones(2), torch.ones(2)\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    x.add_(2, y); x.addcmul_(2, y, y)\n"
            "print(len(w)); print(str(w[0].message).split(' (Triggered')[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    count, torch_message = out.split("\n", 1)
    monkeypatch.setattr(_warn_once, "_given", set())
    x, y = gradstep.ones(2), gradstep.ones(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x.add_(2, y)
        x.addcmul_(2, y, y)
    assert len(caught) == int(count) == 1
    assert caught[0].category is UserWarning
    assert str(caught[0].message) == torch_message.rstrip("\n")
    assert caught[0].filename == __file__  # points at the caller's line


@pytest.mark.parametrize("call", [
    lambda L, x, a: x.add_(a, 2),                   # alpha is keyword-only
    lambda L, x, a: x.add(2, a, alpha=3),           # both spellings at once
    lambda L, x, a: L.addcmul(x, a, a, 2),          # value is keyword-only
    lambda L, x, a: x.addcdiv_(a, a, 2),
    lambda L, x, a: x.sub(a, a, a),
], ids=["add_-alpha-positional", "add-both", "addcmul-value-positional", "addcdiv_-value",
        "sub-three"])
def test_refused_like_torch(call):
    for lib in (gradstep, torch):
        x, a, _ = _inputs(lib, "float32")
        with pytest.raises(TypeError):
            call(lib, x, a)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_out_of_place_addcmul_addcdiv_with_value(name, dtype):
    results, grads = {}, {}
    for lib in (gradstep, torch):
        x, a, b = _inputs(lib, dtype, rg=True)
        out = getattr(lib, name)(x, a, b, value=-0.7)
        method = getattr(x, name)(a, b, value=lib.tensor(0.25, dtype=x.dtype))
        ((out + method) ** 2).sum().backward()
        results[lib.__name__] = (_np(out), _np(method))
        grads[lib.__name__] = [_np(t.grad) for t in (x, a, b)]
    for ours, theirs in zip(results["gradstep"] + tuple(grads["gradstep"]),
                            results["torch"] + tuple(grads["torch"])):
        np.testing.assert_allclose(ours, theirs, **TOL[dtype])


def test_integer_addcdiv_refused_like_torch():
    for lib in (gradstep, torch):
        i = lib.ones(3, dtype=lib.int64)
        with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
            i.addcdiv_(i, i)


# ---------------------------------------------------------------- generated in-place methods
POSITIVE = (0.5, 2.0)
SIGNED = (-2.0, 2.0)
# name -> (domain, extra args builder(lib, like))
INPLACE = {
    "log_": (POSITIVE, None), "log1p_": (POSITIVE, None), "log2_": (POSITIVE, None),
    "log10_": (POSITIVE, None), "expm1_": (SIGNED, None), "rsqrt_": (POSITIVE, None),
    "sin_": (SIGNED, None), "cos_": (SIGNED, None), "reciprocal_": (POSITIVE, None),
    "floor_": (SIGNED, None), "ceil_": (SIGNED, None), "round_": (SIGNED, None),
    "trunc_": (SIGNED, None), "frac_": (SIGNED, None), "square_": (SIGNED, None),
    "erf_": (SIGNED, None), "sgn_": (SIGNED, None), "fix_": (SIGNED, None),
    "sqrt_": (POSITIVE, None), "exp_": (SIGNED, None), "abs_": (SIGNED, None),
    "neg_": (SIGNED, None), "sign_": (SIGNED, None), "sigmoid_": (SIGNED, None),
    "tanh_": (SIGNED, None), "relu_": (SIGNED, None), "absolute_": (SIGNED, None),
    "negative_": (SIGNED, None),
    "fmod_": (SIGNED, lambda L, t: (0.7,)), "remainder_": (SIGNED, lambda L, t: (-0.7,)),
    "pow_": (POSITIVE, lambda L, t: (1.5,)), "mul_": (SIGNED, lambda L, t: (t * 0.5 + 1,)),
    "div_": (SIGNED, lambda L, t: (t * 0 + 3,)), "lerp_": (SIGNED, lambda L, t: (t * 2, 0.3)),
    "clamp_": (SIGNED, lambda L, t: (-0.5, 0.5)), "clip_": (SIGNED, lambda L, t: (-0.5,)),
    "clamp_min_": (SIGNED, lambda L, t: (0.1,)), "clamp_max_": (SIGNED, lambda L, t: (0.1,)),
    "nan_to_num_": (SIGNED, None), "floor_divide_": (SIGNED, lambda L, t: (0.6,)),
    "eq_": (SIGNED, lambda L, t: (t.round(),)), "ne_": (SIGNED, lambda L, t: (0.0,)),
    "lt_": (SIGNED, lambda L, t: (0.0,)), "le_": (SIGNED, lambda L, t: (t * 0,)),
    "gt_": (SIGNED, lambda L, t: (0.3,)), "ge_": (SIGNED, lambda L, t: (0.3,)),
    "logical_not_": (SIGNED, None), "logical_and_": (SIGNED, lambda L, t: (t > 0,)),
    "masked_fill_": (SIGNED, lambda L, t: (t > 0, 7.0)),
    "addcmul_": (SIGNED, lambda L, t: (t, t * 2)),
    "addcdiv_": (SIGNED, lambda L, t: (t, t * 0 + 2)),
}
NO_GRAD_FORMULA = {"floor_divide_", "eq_", "ne_", "lt_", "le_", "gt_", "ge_", "logical_not_",
                   "logical_and_", "fix_", "floor_", "ceil_", "round_", "trunc_", "sgn_",
                   "sign_"}  # zero or undefined gradients: compared where torch defines them


def _domain_input(lib, dtype, domain, rg=False):
    rng = np.random.default_rng(1)
    return lib.tensor(rng.uniform(*domain, (3, 4)).astype(dtype), requires_grad=rg)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_method_matches_torch(name, dtype):
    domain, extra = INPLACE[name]
    values = {}
    for lib in (gradstep, torch):
        x = _domain_input(lib, dtype, domain)
        args = extra(lib, x.clone()) if extra else ()
        version = x._version
        out = getattr(x, name)(*args)
        assert out is x, f"{name} must return self"
        assert x._version > version, f"{name} must bump the version counter"
        values[lib.__name__] = _np(x)
    np.testing.assert_allclose(values["gradstep"], values["torch"], **TOL[dtype])


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_method_autograd_like_torch(name):
    domain, extra = INPLACE[name]
    grads, leaf_errors = {}, {}
    for lib in (gradstep, torch):
        leaf = _domain_input(lib, "float64", domain, rg=True)
        args = extra(lib, leaf.detach().clone()) if extra else ()
        try:
            getattr(leaf, name)(*args)
            leaf_errors[lib.__name__] = None
        except RuntimeError as e:
            leaf_errors[lib.__name__] = "leaf Variable" in str(e)
        y = leaf * 1.5
        try:
            getattr(y, name)(*args)
            (y * y).sum().backward()
            grads[lib.__name__] = _np(leaf.grad)
        except RuntimeError as e:  # torch has no derivative for some (floor_divide)
            grads[lib.__name__] = type(e).__name__
    assert leaf_errors["gradstep"] == leaf_errors["torch"]
    if name in NO_GRAD_FORMULA and isinstance(grads["torch"], str):
        return
    if isinstance(grads["torch"], str):
        assert grads["gradstep"] == grads["torch"]
    else:
        np.testing.assert_allclose(grads["gradstep"], grads["torch"], **TOL["float64"])


@pytest.mark.parametrize("name", ["sqrt_", "exp_", "log_", "sin_", "reciprocal_", "sigmoid_",
                                  "frac_"])
def test_float_result_into_integer_tensor_refused_like_torch(name):
    for lib in (gradstep, torch):
        i = lib.arange(1, 5)
        with pytest.raises((RuntimeError, NotImplementedError)):
            getattr(i, name)()


@pytest.mark.parametrize("name,args", [("t_", ()), ("transpose_", (0, 1)), ("squeeze_", ()),
                                       ("unsqueeze_", (1,)), ("resize_", (4, 3))])
def test_shape_changing_inplace_like_torch(name, args):
    shapes, grads = {}, {}
    for lib in (gradstep, torch):
        base = lib.arange(12.0, dtype=lib.float64).reshape(3, 1, 4).squeeze(1)
        x = base.clone()
        assert getattr(x, name)(*args) is x
        shapes[lib.__name__] = (tuple(x.shape), _np(x))
        if name == "resize_":
            continue
        leaf = base.clone().requires_grad_()
        with pytest.raises(RuntimeError, match="leaf Variable"):
            getattr(leaf, name)(*args)
        y = leaf * 2
        getattr(y, name)(*args)
        (y * lib.arange(float(y.numel()), dtype=lib.float64).reshape(y.shape)).sum().backward()
        grads[lib.__name__] = _np(leaf.grad)
    assert shapes["gradstep"][0] == shapes["torch"][0]
    np.testing.assert_array_equal(shapes["gradstep"][1], shapes["torch"][1])
    if grads:
        np.testing.assert_array_equal(grads["gradstep"], grads["torch"])


# ---------------------------------------------------------------- 0-d reduction results
REDUCTIONS = {
    "sum": lambda x: x.sum(), "mean": lambda x: x.mean(), "norm": lambda x: x.norm(),
    "max": lambda x: x.max(), "amax": lambda x: x.amax(), "min": lambda x: x.min(),
    "dot": lambda x: x[0].dot(x[1]), "max_dim_of_row": lambda x: x[0].max(dim=0)[0],
    "prod": lambda x: x[0].prod(), "std": lambda x: x.std(), "item_index": lambda x: x[1, 2],
}
ZERO_D_INPLACE = {
    "clamp_": lambda r: r.clamp_(min=0.5), "div_then_clamp_": lambda r: (r / 3).clamp_(min=0.1),
    "mul_": lambda r: r.mul_(2), "add_": lambda r: r.add_(1.5), "sqrt_": lambda r: r.sqrt_(),
    "fill_": lambda r: r.fill_(4.0), "zero_": lambda r: r.zero_(),
    "copy_": lambda r: r.copy_(r * 3), "addcmul_": lambda r: r.addcmul_(r, r, value=0.5),
}


@pytest.mark.parametrize("op", sorted(ZERO_D_INPLACE))
@pytest.mark.parametrize("reduction", sorted(REDUCTIONS))
def test_inplace_on_full_reduction_result(reduction, op):
    values = {}
    for lib in (gradstep, torch):
        x = lib.tensor(np.random.default_rng(2).uniform(0.5, 2.0, (3, 4)))
        before = _np(x)
        r = REDUCTIONS[reduction](x)
        if reduction != "item_index":
            r = r.clone() if reduction == "max_dim_of_row" else r
        out = ZERO_D_INPLACE[op](r)
        values[lib.__name__] = (out.dim(), float(out), _np(x))
        if reduction != "item_index":
            np.testing.assert_array_equal(_np(x), before)  # the input is not written
    assert values["gradstep"][0] == values["torch"][0] == 0
    np.testing.assert_allclose(values["gradstep"][1], values["torch"][1], **TOL["float64"])
    np.testing.assert_allclose(values["gradstep"][2], values["torch"][2], **TOL["float64"])


def test_zero_d_result_is_shared_by_its_aliases():
    for lib in (gradstep, torch):
        r = lib.ones(3).sum()
        alias = r.detach()
        view = r.view(1)
        r.mul_(2)
        assert float(alias) == float(view[0]) == 6.0


@pytest.mark.parametrize("call", [
    lambda L, x, y: x.add(2, y),                    # the out-of-place method (keyword renames wrap it)
    lambda L, x, y: x.add_(2, y),
    lambda L, x, y: L.add(x, 2, y),                 # the function
    lambda L, x, y: x.addcdiv_(2, y, y),
    lambda L, x, y: L.addcmul(x, 2, y, y),
])
def test_deprecation_warning_names_the_callers_line_for_every_form(monkeypatch, call):
    # torch warns from C++, so Python names the innermost Python frame: the user's line,
    # however many gradstep wrappers the call went through
    monkeypatch.setattr(_warn_once, "_given", set())
    x, y = gradstep.ones(2), gradstep.ones(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(gradstep, x, y)
    assert len(caught) == 1
    assert caught[0].filename == __file__


_PRODUCT_CALLS = {  # torch < 1.5's leading beta (and alpha) of the matrix products
    "method-beta": "c.addmm(0.5, m, n)",
    "method-beta-alpha": "c.addmm(0.5, 2, m, n)",
    "inplace-beta-alpha": "c.clone().addmm_(0.5, -3, m, n)",
    "function-beta": "L.addmm(0.5, c, m, n)",
    "function-beta-alpha-out": "L.addmm(0.5, c, 2, m, n, out=L.empty(3, 2, dtype=L.float64))",
    "addmv": "v.addmv(0.5, 2, m, w)",
    "addmv_-function": "L.addmv_(0.5, v.clone(), 2, m, w)",
    "addr_": "o.clone().addr_(2, u, w)",
    "addr-function": "L.addr(2, o, 3, u, w)",
    "addbmm": "c.addbmm(0.5, 2, bm, bn)",
    "baddbmm-function": "L.baddbmm(0.5, bc, 2, bm, bn)",
    "baddbmm_": "bc.clone().baddbmm_(3, bm, bn)",
}


def _product_operands(L, seed=0):
    rng = np.random.default_rng(seed)

    def t(*shape):
        return L.tensor(rng.standard_normal(shape))

    return dict(L=L, c=t(3, 2), m=t(3, 4), n=t(4, 2), v=t(3), w=t(4), u=t(3), o=t(3, 4),
                bm=t(5, 3, 4), bn=t(5, 4, 2), bc=t(5, 3, 2))


def _call(form, L):
    """Run the form's expression as a line of this file (so warnings name this file)."""
    return eval(compile(_PRODUCT_CALLS[form], __file__, "eval"), _product_operands(L))  # noqa: S307


@pytest.mark.parametrize("form", sorted(_PRODUCT_CALLS))
def test_matrix_product_leading_scales_like_torch(form):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _call(form, torch)
        got = _call(form, gradstep)
    assert got.dtype == gradstep.float64 and tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("form", ["method-beta", "inplace-beta-alpha", "function-beta-alpha-out",
                                  "addmv_-function"])
def test_matrix_product_deprecation_text_is_torchs(monkeypatch, form):
    # torch warns once per process (one flag for every deprecated overload): a fresh process
    code = ("import warnings, torch, numpy as np\n"
            "rng = np.random.default_rng(0)\n"
            "def t(*s): return torch.tensor(rng.standard_normal(s))\n"
            "L = torch; c, m, n, v, w, u = t(3, 2), t(3, 4), t(4, 2), t(3), t(4), t(3)\n"
            "with warnings.catch_warnings(record=True) as w_:\n"
            "    warnings.simplefilter('always')\n"
            f"    {_PRODUCT_CALLS[form]}\n"
            "print(str(w_[0].message).split(' (Triggered')[0])\n")
    torch_text = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.rstrip("\n")
    monkeypatch.setattr(_warn_once, "_given", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _call(form, gradstep)
    assert [str(w.message) for w in caught] == [torch_text]
    assert caught[0].filename == __file__


def test_matrix_products_current_forms_do_not_warn(monkeypatch):
    monkeypatch.setattr(_warn_once, "_given", set())
    ops = _product_operands(gradstep)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradstep.addmm(ops["c"], ops["m"], ops["n"], beta=0.5, alpha=2)
        ops["c"].addmm(ops["m"], ops["n"], beta=0.5)
        ops["c"].clone().addmm_(ops["m"], ops["n"], alpha=2)
    assert not caught

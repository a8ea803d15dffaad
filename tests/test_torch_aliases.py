"""torch.* spellings (gradstep/_torch_aliases.py) and the math Tensor methods / in-place forms
(gradstep/_tensor_math.py) against torch."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep._torch_aliases import INPLACE_FUNCTIONS
from tests.helpers import check

# in-place function -> (extra args, input range)
ARGS = {"clamp_": ((-0.5, 0.5), None), "clamp_max_": ((0.3,), None),
        "clamp_min_": ((0.3,), None), "clip_": ((-0.5, 0.5), None), "fill_": ((2.5,), None),
        "ldexp_": (("T2",), None), "xlogy_": ((2.0,), None), "logit_": ((), (0.1, 0.9)),
        "acosh_": ((), (1.1, 3)), "arccosh_": ((), (1.1, 3)), "gcd_": (("I",), "int"),
        "lcm_": (("I",), "int"), "log_": ((), (0.1, 3)), "log2_": ((), (0.1, 3)),
        "log10_": ((), (0.1, 3)), "sqrt_": ((), (0.1, 3)), "rsqrt_": ((), (0.1, 3)),
        "resize_as_": (("T",), None)}
SKIP = {"detach_"}  # tested below: changes the tensor's graph, not its values


@pytest.mark.parametrize("name", [n for n in INPLACE_FUNCTIONS if n not in SKIP])
def test_inplace_functions(name):
    args, rng = ARGS.get(name, ((), None))
    lo, hi = (-0.9, 0.9) if rng in (None, "int") else rng
    base = np.random.default_rng(0).uniform(lo, hi, (2, 3))
    if rng == "int":
        base = np.array([[4, 6, 9], [10, 0, -3]])

    def conv(lib, a):
        return {"T2": lib.tensor([[1, -1, 2]]), "T": lib.ones(2, 3),
                "I": lib.tensor([6, 4, 2])}.get(a, a) if isinstance(a, str) else a

    x, tx = gradstep.tensor(base.copy()), torch.tensor(base.copy())
    r = getattr(gradstep, name)(x, *[conv(gradstep, a) for a in args])
    tr = getattr(torch, name)(tx, *[conv(torch, a) for a in args])
    assert r is x and tr is tx
    assert str(x.dtype)[9:] == str(tx.dtype)[6:]
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)


def test_detach_functions():
    for lib in (gradstep, torch):
        a = lib.ones(2, requires_grad=True)
        b = a * 2
        assert not lib.detach(b).requires_grad and b.requires_grad
        lib.detach_(b)
        assert not b.requires_grad


@pytest.mark.parametrize("name,other", [("greater", 0.1), ("greater_equal", 0.1),
                                        ("less", 0.1), ("less_equal", 0.1),
                                        ("not_equal", 0.1)])
def test_comparison_aliases(name, other):
    check(lambda lib, a: getattr(lib, name)(a, other), [(3, 4)], grad=False)
    check(lambda lib, a, b: getattr(a, name)(b), [(3, 4), (4,)], grad=False)


def test_functional_aliases():
    check(lambda lib, a: lib.selu(a), [(3, 4)])
    check(lambda lib, a: lib.celu(a, 0.7), [(3, 4)])
    check(lambda lib, a: lib.threshold(a, 0.1, -3.0), [(3, 4)])
    check(lambda lib, a: lib.hardshrink(a, 0.6), [(3, 4)])
    check(lambda lib, a: a.hardshrink(0.6), [(3, 4)])
    check(lambda lib, a, w: lib.prelu(a, w), [(2, 3, 4), (3,)])
    check(lambda lib, a: lib.rrelu(a), [(3, 4)])  # eval mode: the mean slope
    check(lambda lib, a: lib.dropout(a, 0.5, False), [(3, 4)])
    check(lambda lib, a: lib.alpha_dropout(a, 0.5, False), [(3, 4)])
    check(lambda lib, a: lib.negative(a), [(3, 4)])
    check(lambda lib, a: lib.fix(a), [(3, 4)])
    for name, args in (("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.0, 1.5)),
                       ("rrelu_", ())):
        x, tx = gradstep.tensor([-1.0, 0.5]), torch.tensor([-1.0, 0.5])
        assert getattr(gradstep, name)(x, *args) is x
        getattr(torch, name)(tx, *args)
        np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6)
        assert not hasattr(torch.Tensor, name) and not hasattr(gradstep.Tensor, name)
    with pytest.raises(TypeError):
        gradstep.dropout(gradstep.ones(2))  # torch.dropout takes (input, p, train)


# Tensor method -> (args, range): out-of-place and in-place forms agree with torch
METHODS = {"tan": (), "asin": (), "arccos": (), "atan": (), "sinh": (), "cosh": (),
           "asinh": (), "atanh": (), "arctanh": (), "deg2rad": (), "rad2deg": (), "exp2": (),
           "sinc": (), "lgamma": (), "digamma": (), "erfc": (), "erfinv": (), "i0": (),
           "logit": (0.01,), "xlogy": (1.5,), "copysign": (-1.0,), "float_power": (2,),
           "polygamma": (1,), "mvlgamma": (1,), "nextafter": ("T",), "hypot": ("T",),
           "atan2": ("T",), "arctan2": ("T",)}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_methods_and_inplace(name):
    def run(lib, a):
        args = [lib.full((3,), 0.25) if v == "T" else v for v in METHODS[name]]
        return getattr(a, name)(*args)

    lo = 0.05 if name in ("lgamma", "digamma", "polygamma", "mvlgamma") else -0.9
    check(run, [(2, 3)], low=lo, high=0.9, grad=name != "nextafter")
    base = np.random.default_rng(1).uniform(0.1 if lo > 0 else -0.9, 0.9, (2, 3))
    args_g = [gradstep.full((3,), 0.25, dtype=gradstep.float64) if v == "T" else v
              for v in METHODS[name]]
    args_t = [torch.full((3,), 0.25, dtype=torch.float64) if v == "T" else v
              for v in METHODS[name]]
    x, tx = gradstep.tensor(base), torch.tensor(base)
    assert getattr(x, name + "_")(*args_g) is x
    getattr(tx, name + "_")(*args_t)
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-10, err_msg=name)


def test_float_power_inplace_needs_double():
    for lib in (gradstep, torch):
        with pytest.raises(RuntimeError, match="requires dtype Double"):
            lib.ones(2).float_power_(2)
        x = lib.ones(2, dtype=lib.float64) * 3
        x.float_power_(2)
        assert x.tolist() == [9.0, 9.0]


@pytest.mark.parametrize("name", ["tan", "asinh", "exp2", "lgamma", "digamma", "erfinv", "erfc",
                                  "logit", "i0", "atanh"])
def test_bfloat16_rounds_once_like_torch(name):
    # bfloat16 computes in float32 and rounds once (as torch's CPU kernels): equal bits
    vals = np.linspace(0.05, 0.95, 19)
    x = gradstep.tensor(vals, dtype=gradstep.bfloat16, requires_grad=True)
    tx = torch.tensor(vals, dtype=torch.bfloat16, requires_grad=True)
    y, ty = getattr(gradstep, name)(x), getattr(torch, name)(tx)
    assert str(y.dtype) == "gradstep.bfloat16"
    np.testing.assert_array_equal(y.detach().float().numpy(), ty.detach().float().numpy())
    y.sum().backward()
    ty.sum().backward()
    # torch's derivative formulas run as separate bfloat16 ops (a rounding each); ours compute
    # in float32 and round once: 2 bfloat16 ulps (2**-6 relative) where 1 - x^2 cancels
    np.testing.assert_allclose(x.grad.float().numpy(), tx.grad.float().numpy(), rtol=2 ** -6)

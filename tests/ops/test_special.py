"""Special functions (gradstep/ops/special.py) against torch: values and gradients.

Tolerances: these functions are not correctly rounded in either library. gradstep computes
in float64 and rounds once; torch's float64 kernels are Cephes/libm with errors of a few
ulps, so float64 agrees to ~1e-13 relative (measured max 5e-13 for lgamma near its zeros,
where the relative error of any implementation grows: there an absolute tolerance of
1e-12 * max|value| applies, the oracle's atol). float32: torch's float kernels carry ~1e-6
relative error (lgammaf, the float Cephes series); the oracle's rtol 1e-5 covers it, and
``scale`` widens it where a derivative amplifies it (stated per test).
"""

import inspect

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check

UNARY = {  # name -> (input range, scale of the oracle tolerance)
    "lgamma": ((0.05, 8), 1), "digamma": ((0.05, 8), 1), "erfc": ((-5, 5), 1),
    "erfinv": ((-0.99, 0.99), 1), "i0": ((-10, 10), 1),
}
SPECIAL = {  # torch.special names
    "gammaln": ((0.05, 8), 1), "psi": ((0.05, 8), 1), "erfcx": ((-3, 20), 1),
    # log_ndtr's derivative exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi): at x = -20, x^2/2 = 200
    # carries a float32 rounding of 200 * 6e-8 = 1.2e-5 into the exponent; scale 10 covers it
    "ndtri": ((0.001, 0.999), 1), "log_ndtr": ((-20, 5), 10), "ndtr": ((-5, 5), 1),
    "i0e": ((-40, 40), 1), "i1": ((-10, 10), 1), "i1e": ((-40, 40), 1),
    "entr": ((0.01, 3), 1), "expit": ((-5, 5), 1), "exp2": ((-3, 3), 1),
    "expm1": ((-2, 2), 1), "log1p": ((-0.5, 2), 1), "erf": ((-3, 3), 1),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(9,), (2, 3), (0,)])
def test_torch_functions(name, shape):
    (lo, hi), scale = UNARY[name]
    check(lambda lib, x: getattr(lib, name)(x), [shape], low=lo, high=hi, scale=scale)
    check(lambda lib, x: getattr(x, name)(), [shape], low=lo, high=hi, scale=scale)
    if hasattr(torch.special, name):  # torch.special has erfc, erfinv, i0, digamma; no lgamma
        check(lambda lib, x: getattr(lib.special, name)(x), [shape], low=lo, high=hi,
              scale=scale)


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_special_namespace(name):
    (lo, hi), scale = SPECIAL[name]
    check(lambda lib, x: getattr(lib.special, name)(x), [(4, 5)], low=lo, high=hi, scale=scale)


def test_negative_arguments():
    # reflection formulas: lgamma, digamma, trigamma on the negative axis (away from poles)
    check(lambda lib, x: lib.lgamma(x), [(20,)], low=-4.9, high=-0.1, seed=3)
    check(lambda lib, x: lib.digamma(x), [(20,)], low=-4.9, high=-0.1, seed=3, scale=10)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_polygamma(n):
    # derivatives of order n+1 grow like n!/x^(n+2): inputs kept >= 0.3
    check(lambda lib, x: lib.polygamma(n, x), [(12,)], low=0.3, high=6)
    check(lambda lib, x: x.polygamma(n), [(3, 2)], low=0.3, high=6)
    check(lambda lib, x: lib.special.polygamma(n, x), [(5,)], low=0.3, high=6)


def test_edges_match_torch():
    x = np.array([0.0, -0.0, -1.0, -2.0, 1.0, 2.0, np.inf, -np.inf, np.nan, 1e-300, 171.5,
                  -2.5, 1e20])
    u = np.array([-1.0, 1.0, 0.0, 2.0, -1.5, np.nan, 1 - 1e-15, -1 + 1e-12])
    p = np.array([0.0, 1.0, 0.5, -0.1, 1.1, 1e-300, 1 - 1e-16, np.nan])
    cases = [("lgamma", torch.lgamma, x), ("digamma", torch.digamma, x),
             ("erfc", torch.erfc, x), ("erfinv", torch.erfinv, u),
             ("special.ndtri", torch.special.ndtri, p), ("special.erfcx", torch.special.erfcx, x),
             ("special.log_ndtr", torch.special.log_ndtr, x), ("i0", torch.i0, x),
             ("special.i1e", torch.special.i1e, x), ("special.entr", torch.special.entr, x)]
    for name, tfn, arr in cases:
        fn = gradstep
        for part in name.split("."):
            fn = getattr(fn, part)
        ours, theirs = fn(gradstep.tensor(arr)).numpy(), tfn(torch.tensor(arr)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300, equal_nan=True,
                                   err_msg=name)


def test_tails():
    # erfinv near +-1 and ndtri far in the tails: solved on log erfc, so no cancellation
    u = 1 - 10.0 ** -np.arange(1, 16)
    p = 10.0 ** -np.arange(1, 300, 7)
    for ours, theirs in ((gradstep.erfinv(gradstep.tensor(u)), torch.erfinv(torch.tensor(u))),
                         (gradstep.special.ndtri(gradstep.tensor(p)),
                          torch.special.ndtri(torch.tensor(p)))):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["erfc", "special.erfc", "special.erfcx", "special.log_ndtr"])
@pytest.mark.parametrize("value", [0.7, -3.0, 30.0, -30.0, float("inf"), -float("inf")])
def test_zero_dim_tail_inputs(name, value):
    # a 0-d input beyond |x| = 0.5 (the tail branch) once raised TypeError (a NumPy scalar
    # was assigned into); the differential fuzzer found it
    fn, tfn = gradstep, torch
    for part in name.split("."):
        fn, tfn = getattr(fn, part), getattr(tfn, part)
    ours, theirs = fn(gradstep.tensor(value)), tfn(torch.tensor(value, dtype=torch.float32))
    assert ours.shape == theirs.shape == ()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, err_msg=name)


def test_zeta():
    rng = np.random.default_rng(0)
    x = rng.uniform(1.1, 12, 50)
    q = rng.uniform(0.1, 6, 50)
    ours = gradstep.special.zeta(gradstep.tensor(x), gradstep.tensor(q)).numpy()
    theirs = torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    edge_x = np.array([1.0, 0.5, 2.0, 2.0, 3.0])
    edge_q = np.array([1.0, 1.0, 0.0, -1.5, -2.0])
    ours = gradstep.special.zeta(gradstep.tensor(edge_x), gradstep.tensor(edge_q)).numpy()
    theirs = torch.special.zeta(torch.tensor(edge_x), torch.tensor(edge_q)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, equal_nan=True)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_mvlgamma(p):
    check(lambda lib, x: lib.mvlgamma(x, p), [(3, 4)], low=2.0, high=6)
    check(lambda lib, x: lib.special.multigammaln(x, p), [(5,)], low=2.0, high=6)
    # torch 2.13 no longer checks x > (p - 1) / 2: the sum of lgammas is returned as is
    check(lambda lib, x: lib.mvlgamma(x, 3), [(4,)], low=0.1, high=0.9)


def test_special_aliases_are_shared():
    # the same implementation under both names (out=/keyword wrappers aside)
    assert inspect.unwrap(gradstep.special.gammaln) is inspect.unwrap(gradstep.lgamma)
    assert inspect.unwrap(gradstep.special.psi) is inspect.unwrap(gradstep.digamma)
    assert inspect.unwrap(gradstep.special.xlogy) is inspect.unwrap(gradstep.xlogy)
    check(lambda lib, a: lib.special.logsumexp(a, 1), [(3, 4)])
    check(lambda lib, a: lib.special.softmax(a, 0), [(3, 4)])
    check(lambda lib, a: lib.special.log_softmax(a, 1), [(3, 4)])
    check(lambda lib, a: lib.special.round(a), [(5,)], grad=False)
    check(lambda lib, a: lib.special.logit(a), [(5,)], low=0.1, high=0.9)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfc", "erfinv", "i0",
                                  "special.i1", "special.i0e", "special.i1e", "special.ndtri",
                                  "special.log_ndtr", "special.erfcx", "special.entr"])
def test_gradcheck(name):
    fn = gradstep
    for part in name.split("."):
        fn = getattr(fn, part)
    lo, hi = (0.05, 0.95) if name in ("erfinv", "special.ndtri") else (0.2, 4)
    x = gradstep.tensor(np.random.default_rng(4).uniform(lo, hi, 6), requires_grad=True)
    assert gradcheck(fn, (x,))
    xn = gradstep.tensor(np.random.default_rng(5).uniform(-4, -0.2, 6), requires_grad=True)
    if name in ("erfc", "i0", "special.i1", "special.i0e", "special.i1e", "special.log_ndtr",
                "special.erfcx"):
        assert gradcheck(fn, (xn,))


def test_polygamma_gradcheck_and_errors():
    x = gradstep.tensor(np.random.default_rng(6).uniform(0.5, 3, 5), requires_grad=True)
    assert gradcheck(lambda t: gradstep.polygamma(2, t), (x,))
    for lib in (gradstep, torch):
        with pytest.raises(RuntimeError):
            lib.polygamma(-1, lib.ones(2))


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma(name):
    rng = np.random.default_rng(7)
    special_name = {"igamma": "gammainc", "igammac": "gammaincc"}[name]
    # a <= 20: torch sums the same series / continued fraction: agreement to 1e-13 absolute
    a, x = rng.uniform(0.05, 20, 400), rng.uniform(0, 40, 400)
    ours = getattr(gradstep, name)(gradstep.tensor(a), gradstep.tensor(x)).numpy()
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)
    # a > 20: torch uses Temme's expansion near x = a, itself off by up to 4e-10 (vs mpmath)
    a, x = rng.uniform(20, 300, 400), rng.uniform(0, 500, 400)
    ours = getattr(gradstep.special, special_name)(gradstep.tensor(a), gradstep.tensor(x))
    theirs = getattr(torch.special, special_name)(torch.tensor(a), torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-9)
    # edges: a or x zero, infinite, negative, NaN
    e = np.array([0, 0, 1, 1, -1, np.inf, 1, np.inf, 0, 2, np.nan])
    y = np.array([0, 1, 0, np.inf, 1, 1, -1, np.inf, np.inf, np.nan, 1])
    np.testing.assert_array_equal(
        getattr(gradstep, name)(gradstep.tensor(e), gradstep.tensor(y)).numpy(),
        getattr(torch, name)(torch.tensor(e), torch.tensor(y)).numpy())
    # gradient w.r.t. x (torch has none for a), float32 and float64, broadcasting
    check(lambda lib, x_: getattr(lib, name)(lib.tensor([[0.5], [2.0], [7.0]],
                                                       dtype=x_.dtype), x_),
          [(4,)], low=0.1, high=6)
    check(lambda lib, a_, x_: getattr(a_, name)(x_), [(2, 3), (3,)], low=0.5, high=4, grad=False)
    xg = gradstep.tensor(rng.uniform(0.2, 5, 5), requires_grad=True)
    assert gradcheck(lambda t: getattr(gradstep, name)(gradstep.full((5,), 2.5,
                                                                     dtype=t.dtype), t), (xg,))


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_refuses_a_gradient_for_a(name):
    # torch has no derivative w.r.t. the shape ``a``; gradstep left a.grad None silently
    msgs = []
    for lib in (torch, gradstep):
        a = lib.tensor([1.5, 2.0], requires_grad=True)
        x = lib.tensor([0.5, 3.0], requires_grad=True)
        with pytest.raises(NotImplementedError) as e:
            getattr(lib.special, name)(a, x).sum().backward()
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("name", ["i1", "i1e"])
def test_i1_gradient_is_one_half_where_x_is_tiny_or_nan(name):
    # torch's i1/i1e backward takes the limit 1/2 wherever not |x| > eps (NaN included);
    # gradstep did only at x == 0 (ops fuzzer: NaN vs torch's finite gradient)
    v = np.array([0.5, 0.0, np.nan, -1.0, 1e-9, -3e-8, 4.0], np.float32)
    grads = []
    for lib in (gradstep, torch):
        x = lib.tensor(v, requires_grad=True)
        getattr(lib.special, name)(x).backward(lib.ones(7))
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, equal_nan=True)  # float32 kernels



@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_entr_values_gradient_and_node_at_edges_like_torch(dtype):
    """torch's entr backward is ``grad * -(1 + log x)``: inf at 0 and NaN below 0 (a masked
    composition gave NaN at 0), under its own node name."""
    seen = []
    for lib in (torch, gradstep):
        dt = getattr(lib, dtype)
        x = lib.tensor([0.0, 0.5, -1.0, 2.0, float("nan"), float("inf"), 1e-30], dtype=dt,
                       requires_grad=True)
        y = lib.special.entr(x)
        (y * lib.arange(1.0, 8.0, dtype=dt)).sum().backward()
        seen.append((y.detach().float().tolist(), x.grad.float().tolist(), y.grad_fn.name()))
    np.testing.assert_array_equal(np.array(seen[0][0]), np.array(seen[1][0]))
    np.testing.assert_array_equal(np.array(seen[0][1]), np.array(seen[1][1]))
    assert seen[0][2] == seen[1][2] == "SpecialEntrBackward0"

"""Activation layers and their functional twins against torch (values and gradients)."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.autograd import gradcheck
from tests.helpers import check
from tests.nn.bad_input import assert_same_outcome, rand
from tests.nn.layer_twin import compare_layer

LAYERS = [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)), ("SELU", ()),
    ("CELU", (1.3,)), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("Mish", ()),
    ("Tanh", ()), ("Sigmoid", ()), ("Hardsigmoid", ()), ("Hardswish", ()), ("LogSigmoid", ()),
    ("Softplus", ()), ("Softplus", (2.0, 1.0)), ("Softsign", ()), ("Tanhshrink", ()),
    ("Hardtanh", ()), ("Hardtanh", (-0.5, 1.5)), ("Threshold", (0.1, -3.0)), ("GLU", ()),
    ("Softmax", (1,)), ("Softmin", (0,)), ("LogSoftmax", (-1,)), ("PReLU", ()), ("PReLU", (3,)),
    ("Softmax2d", ()), ("Hardshrink", (0.7,)), ("Softshrink", ()), ("RReLU", (0.1, 0.3)),
]


@pytest.mark.parametrize("name,args", LAYERS, ids=[f"{n}{a}" for n, a in LAYERS])
def test_activation_layer_matches_torch(name, args):
    modes = ("eval",) if name == "RReLU" else ("train",)  # RReLU draws random slopes in train
    compare_layer(lambda L: getattr(L.nn, name)(*args), [(4, 3, 6)], modes=modes,
                  low=-4.0, high=4.0)
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "silu", "mish",
                                  "hardtanh", "selu", "celu", "hardsigmoid", "hardswish"])
def test_inplace_variants(name):
    def fn(L, x):
        y = x * 1.0
        out = getattr(L.nn.functional, name)(y, inplace=True)
        assert out is y
        return y

    check(fn, [(3, 5)], low=-4, high=4)
    assert "inplace=True" in repr(nn.ReLU(inplace=True))


def test_functional_twins():
    F = "nn.functional"
    for expr in ["softmax(x, dim=0)", "log_softmax(x, 1)", "gelu(x, approximate='tanh')",
                 "softplus(x, beta=0.5, threshold=3)", "leaky_relu(x, 0.3)",
                 "threshold(x, 0.5, 2.0)", "glu(x, 0)", "logsigmoid(x)",
                 "normalize(x, p=2.0, dim=1)", "cosine_similarity(x, x * 2 + 1)",
                 "pairwise_distance(x, x.flip(0))"]:
        # gelu(tanh)'s float32 gradient cancels for x << 0: tests/ops/test_elementwise.F32_SCALE
        scale = 4 if "tanh" in expr else 1
        check(lambda L, x, e=expr: eval(f"L.{F}.{e}"), [(4, 6)], low=-5, high=5, dtypes=("float64",))
        check(lambda L, x, e=expr: eval(f"L.{F}.{e}"), [(4, 6)], low=-5, high=5, dtypes=("float32",),
              scale=scale)


def test_gradcheck_activations():
    x = gradstep.randn(3, 4, dtype=gradstep.float64, requires_grad=True)
    for fn in (nn.functional.mish, nn.functional.selu, nn.functional.logsigmoid,
               nn.functional.hardswish, lambda t: nn.functional.glu(t, 1)):
        assert gradcheck(fn, (x,))


def test_rrelu_training_slopes_are_in_range():
    gradstep.manual_seed(0)
    x = gradstep.full((1000,), -1.0, requires_grad=True)
    y = nn.RReLU(0.1, 0.3)(x)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    assert (x.grad.numpy() == slopes).all()  # d/dx (a x) = a, with the same a


def test_softmax_implicit_dim_warns_and_picks_torch_dim():
    x = gradstep.randn(2, 3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.sum(0).numpy(), np.ones((3, 4)), rtol=1e-6)
    with pytest.warns(UserWarning, match="log_softmax"):
        nn.functional.log_softmax(gradstep.randn(2, 3))


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("name,kw", [("hardtanh", {}), ("hardtanh", {"min_val": -0.5,
                                                                      "max_val": 1.0}),
                                     ("relu6", {})])
def test_hardtanh_gradient_is_zero_at_the_bounds(name, kw):
    # (at a NaN input torch's scalar loop passes the gradient, its vectorized one does not)
    from tests.ops.fuzz_ops import disagreement
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 6.0, 7.0, np.inf, -np.inf])
    assert disagreement(lambda L, x: getattr(L.nn.functional, name)(x, **kw), x) is None


@pytest.mark.parametrize("shape,wn", [((), 1), ((3,), 1), ((2, 3), 3), ((2, 3, 2), 1)])
def test_prelu_keeps_a_0d_shape_and_checks_1d_channels(shape, wn):
    from tests.ops.fuzz_ops import disagreement
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.uniform(0.1, 0.5, wn)
    assert disagreement(lambda L, x, w: L.nn.functional.prelu(x, w), x, w) is None
    with pytest.raises(RuntimeError, match="channel size = 1"):  # a 1-D input has one channel
        gradstep.nn.functional.prelu(gradstep.zeros(3), gradstep.ones(3))


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("dt", ["int64", "int32", "int8", "int16", "uint8", "bool"])
def test_integer_hardtanh_and_threshold_keep_the_dtype(dt):
    from tests.ops.fuzz_ops import disagreement
    x = np.array([-3, 0, 2, 5, 7]).astype(dt)
    for inplace in (False, True):
        for lo, hi in ((-1.0, 1.0), (-2.5, 3.5), (0.0, 6.0)):
            assert disagreement(lambda L, a, i=inplace, lo=lo, hi=hi: L.nn.functional.hardtanh(
                a.clone(), lo, hi, inplace=i), x) is None
        assert disagreement(lambda L, a, i=inplace: L.nn.functional.relu6(a.clone(), inplace=i),
                            x) is None
        for th, v in ((0.5, 3.5), (-0.5, 2), (1, -1.5)):
            assert disagreement(lambda L, a, i=inplace, th=th, v=v: L.nn.functional.threshold(
                a.clone(), th, v, inplace=i), x) is None


def test_threshold_and_prelu_at_nan_and_inf():
    from tests.ops.fuzz_ops import disagreement
    x = np.array([[np.nan, 0.5, -0.2], [3.0, -np.inf, np.inf], [0.0, -0.0, -1.0]])
    assert disagreement(lambda L, a: L.nn.functional.threshold(a, 0.5, 3.5), x) is None
    for w in (np.array([0.25]), np.array([0.1, -0.5, 2.0])):  # an inf: weight gradient 0
        assert disagreement(lambda L, a, w: L.nn.functional.prelu(a, w), x, w, tol="ulp") is None


# ---- found by tests/nn/test_functional_differential.py
NAN_ACTIVATIONS = [("hardshrink", {"lambd": 0.5}), ("hardshrink", {"lambd": 0.0}),
                   ("softshrink", {"lambd": 0.5}), ("softshrink", {"lambd": 0.0}),
                   ("elu", {"alpha": 0.5}), ("celu", {"alpha": 1.5}), ("selu", {}),
                   ("hardtanh", {}), ("relu6", {}), ("hardswish", {})]


@pytest.mark.parametrize("name,kw", NAN_ACTIVATIONS)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_gradient_at_nan_is_torchs_scalar_kernels(name, kw, dt):
    # torch's vectorized loop (whole chunks of two vectors of a contiguous run: 8 elements or
    # more on any CPU) answers otherwise; three elements all run its scalar loop, whose
    # comparisons with NaN are false: the shrinks pass the gradient, elu-likes scale it
    from tests.ops.fuzz_ops import disagreement

    x = np.array([np.nan, -0.25, 1.5], dtype=dt)
    g = np.array([0.75, -1.25, 2.0], dtype=dt)
    for lib in (gradstep, torch):
        a = lib.tensor(x, requires_grad=True)
        getattr(lib.nn.functional, name)(a, **kw).backward(lib.tensor(g))
        assert np.isfinite(a.grad.numpy()[0])  # the scalar kernel's answer: the case
    assert disagreement(lambda L, a: getattr(L.nn.functional, name)(a, **kw), x,
                        tol="ulp") is None


PRELU_DTYPES = [("float64", "float32"), ("float32", "float64"), ("int64", "float32"),
                ("bool", "float32"), ("int64", "int64"), ("bfloat16", "float32")]


@pytest.mark.parametrize("shape", [(), (2, 3), (0, 3)])
@pytest.mark.parametrize("xd,wd", PRELU_DTYPES, ids=[f"x={a}-w={b}" for a, b in PRELU_DTYPES])
def test_prelu_refuses_mixed_dtypes_as_torch(shape, xd, wd):
    """torch's prelu: "Type promoting not supported", module or functional form."""
    assert_same_outcome(lambda L: L.nn.functional.prelu(rand(L, shape, xd),
                                                        rand(L, (1,), wd, seed=1)))
    if wd == "float32":
        assert_same_outcome(lambda L: L.nn.PReLU()(rand(L, shape, xd)))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("xd", ["float32", "int64", "bool"])
@pytest.mark.parametrize("out", [None, "float64", "int64", "bool"])
@pytest.mark.parametrize("shape,dim", [((2, 3), 1), ((2, 3), 0), ((0, 3), 1), ((2, 0, 4), 1)])
def test_softmax_dtypes_match_torch(fn, xd, out, shape, dim):
    """No integer kernel, ``dtype=int64`` included; an empty integer input passes through."""
    def build(L):
        dtype = None if out is None else getattr(L, out)
        return getattr(L.nn.functional, fn)(rand(L, shape, xd), dim=dim, dtype=dtype)
    assert_same_outcome(build)

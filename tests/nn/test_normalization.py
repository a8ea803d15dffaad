"""LayerNorm, GroupNorm, RMSNorm (functional and modules) against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_close, check
from tests.nn.bad_input import assert_same_outcome, rand


def F(L):
    return L.nn.functional


@pytest.mark.parametrize("shape,norm", [((3, 4, 5), (5,)), ((3, 4, 5), (4, 5)), ((6,), (6,))])
def test_layer_norm_functional(shape, norm):
    check(lambda L, x, w, b: F(L).layer_norm(x, norm, w, b, eps=1e-4), [shape, norm, norm])
    check(lambda L, x: F(L).layer_norm(x, list(norm)), [shape])


@pytest.mark.parametrize("shape,groups", [((3, 4, 5), 2), ((2, 6, 3, 2), 3), ((2, 4, 3), 4),
                                          ((2, 6, 3), 1)])
def test_group_norm_functional(shape, groups):
    c = shape[1]
    check(lambda L, x, w, b: F(L).group_norm(x, groups, w, b), [shape, (c,), (c,)])
    check(lambda L, x: F(L).group_norm(x, groups, eps=1e-3), [shape])


@pytest.mark.parametrize("shape,norm", [((3, 4, 5), (5,)), ((3, 4, 5), (4, 5))])
def test_rms_norm_functional(shape, norm):
    check(lambda L, x, w: F(L).rms_norm(x, norm, w), [shape, norm])
    check(lambda L, x: F(L).rms_norm(x, norm, eps=1e-3), [shape])


MODULES = [
    ("LayerNorm", ((4, 5),), dict(), (3, 4, 5)),
    ("LayerNorm", (5,), dict(elementwise_affine=False, bias=False, eps=1e-3), (3, 4, 5)),
    ("LayerNorm", (5,), dict(bias=False), (2, 5)),
    ("GroupNorm", (2, 4), dict(), (3, 4, 5)),
    ("GroupNorm", (3, 6), dict(affine=False), (2, 6, 2, 3)),
    ("GroupNorm", (2, 4), dict(bias=False), (2, 4, 3)),
    ("RMSNorm", ([4, 5],), dict(), (3, 4, 5)),
    ("RMSNorm", (5,), dict(eps=1e-3, elementwise_affine=False), (3, 4, 5)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kw,x_shape", MODULES)
def test_module_matches_torch(name, args, kw, x_shape, dtype):
    rng = np.random.default_rng(0)
    ours = getattr(gradstep.nn, name)(*args, **kw, dtype=getattr(gradstep, dtype))
    theirs = getattr(torch.nn, name)(*args, **kw, dtype=getattr(torch, dtype))
    assert repr(ours) == repr(theirs)
    with gradstep.no_grad():  # non-trivial affine parameters, copied to torch by name
        for p in ours.parameters():
            p.copy_(gradstep.tensor(rng.uniform(0.5, 1.5, tuple(p.shape))))
    sd = ours.state_dict()
    assert list(sd.keys()) == list(theirs.state_dict().keys())
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in sd.items()})
    x = rng.standard_normal(x_shape).astype(dtype)
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(gx), theirs(tx)
    assert_close(out, tout, dtype, what="forward")
    g = rng.standard_normal(x_shape).astype(dtype)
    (out * gradstep.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    assert_close(gx.grad, tx.grad, dtype, what="input grad")
    tparams = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        assert_close(p.grad, tparams[pname].grad, dtype, what=f"{pname} grad")


def test_default_parameters_are_ones_and_zeros():
    ln = gradstep.nn.LayerNorm(3)
    np.testing.assert_array_equal(ln.weight.detach().numpy(), np.ones(3, "float32"))
    np.testing.assert_array_equal(ln.bias.detach().numpy(), np.zeros(3, "float32"))
    assert gradstep.nn.RMSNorm(3).weight.requires_grad


def test_gradcheck_norms():
    rng = np.random.default_rng(0)

    def t(*shape):
        return gradstep.tensor(rng.uniform(0.5, 1.5, shape), requires_grad=True)

    x, w, b, wc, bc = t(2, 4, 3), t(3), t(3), t(4), t(4)
    for fn, args in ((lambda x, w, b: F(gradstep).layer_norm(x, (3,), w, b), (x, w, b)),
                     (lambda x, w, b: F(gradstep).group_norm(x, 2, w, b), (x, wc, bc)),
                     (lambda x, w: F(gradstep).rms_norm(x, (3,), w), (x, w))):
        assert gradcheck(fn, args)
    assert gradgradcheck(lambda x, w, b: F(gradstep).layer_norm(x, (3,), w, b), (x, w, b))


def _both_raise(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(gradstep)


def test_errors():
    _both_raise(lambda L: F(L).layer_norm(L.zeros(2, 5), [10]), RuntimeError,
                r"Given normalized_shape=\[10\], expected input with shape \[\*, 10\], but got "
                r"input of size\[2, 5\]")
    _both_raise(lambda L: L.nn.LayerNorm(4)(L.zeros(2, 5)), RuntimeError,
                r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]")
    _both_raise(lambda L: F(L).layer_norm(L.zeros(2, 5), [5], L.ones(4)), RuntimeError,
                r"Expected weight to be of same shape as normalized_shape, but got weight of "
                r"shape \[4\] and normalized_shape = \[5\]")
    _both_raise(lambda L: F(L).group_norm(L.zeros(2, 5, 3), 2), RuntimeError,
                r"Expected number of channels in input to be divisible by num_groups, but got "
                r"input of shape \[2, 5, 3\] and num_groups=2")
    _both_raise(lambda L: L.nn.GroupNorm(2, 4)(L.zeros(2, 6, 3)), RuntimeError,
                r"Expected weight to be a vector of size equal to the number of channels in "
                r"input, but got weight of shape \[4\] and input of shape \[2, 6, 3\]")
    _both_raise(lambda L: L.nn.GroupNorm(2, 5), ValueError,
                r"num_channels \(5\) must be divisible by num_groups \(2\)")
    _both_raise(lambda L: F(L).rms_norm(L.zeros(2, 5), [10]), RuntimeError,
                r"Given normalized_shape=\[10\], expected input with shape \[\*10\]")


def _norms_without_affine(L):
    f = F(L)
    return {
        "batch_norm": lambda x: f.batch_norm(x, None, None, training=True),
        "layer_norm": lambda x: f.layer_norm(x, x.shape[1:]),
        "group_norm": lambda x: f.group_norm(x, 2),
        "instance_norm": lambda x: f.instance_norm(x),
        "InstanceNorm2d": L.nn.InstanceNorm2d(4, track_running_stats=True).double(),
        "BatchNorm2d": L.nn.BatchNorm2d(4, affine=False).double(),
    }


@pytest.mark.parametrize("name", list(_norms_without_affine(torch)))
@pytest.mark.parametrize("create_graph", [False, True])
def test_in_place_op_on_a_norm_output_without_affine(name, create_graph):
    """torch saves a norm's input and statistics, not its output, so an in-place activation
    on it (``nn.ReLU(inplace=True)`` after ``InstanceNorm2d`` without affine) is legal."""
    x0 = np.sin(np.linspace(-2, 3, 72) ** 2).reshape(2, 4, 3, 3)
    grads = {}
    for L in (gradstep, torch):
        x = L.tensor(x0, requires_grad=True)
        y = F(L).relu(_norms_without_affine(L)[name](x), inplace=True)
        loss = (y * L.arange(72.0, dtype=L.float64).view_as(y)).sum()
        (gx,) = L.autograd.grad(loss, x, create_graph=create_graph)
        grads[L] = gx
    assert_close(grads[gradstep], grads[torch], "float64", what=name)


def test_norm_backward_still_refuses_an_input_changed_in_place():
    for L in (gradstep, torch):
        h = L.ones(2, 3, requires_grad=True) * L.tensor([[1.0, 2.0, 4.0], [0.0, 3.0, 1.0]])
        y = F(L).layer_norm(h, (3,))
        h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("shape,groups", [((1, 2), 2), ((1, 2, 1), 2), ((1, 4, 1), 3)])
def test_group_norm_with_one_value_per_group_raises_value_error(shape, groups):
    # torch's _verify_batch_size runs before the divisibility check
    for L in (gradstep, torch):
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            L.nn.functional.group_norm(L.zeros(*shape), groups)


# ---------------------------------------------------------------- bad input (torch's CPU rules)
def _norm_call(kind, xd, pd, shape=(2, 4, 3), affine=True):
    """A norm call on an input of dtype ``xd`` with parameters of dtype ``pd``."""
    def build(L):
        x = rand(L, shape, xd)
        p = (lambda n: rand(L, (n,), pd, seed=1).abs() + 0.5) if affine else (lambda n: None)
        fn = L.nn.functional
        if kind == "layer_norm":
            return fn.layer_norm(x, (3,), p(3), p(3))
        if kind == "group_norm":
            return fn.group_norm(x, 2, p(4), p(4))
        if kind == "rms_norm":
            return fn.rms_norm(x, (3,), p(3))
        if kind == "batch_norm_eval":  # the running statistics count as parameters too
            return fn.batch_norm(x, rand(L, (4,), pd), rand(L, (4,), pd).abs(), p(4), p(4))
        if kind == "batch_norm_train":
            return fn.batch_norm(x, None, None, p(4), p(4), training=True)
        return fn.instance_norm(x, None, None, p(4), p(4))
    return build


NORM_KINDS = ["layer_norm", "group_norm", "rms_norm", "batch_norm_eval", "batch_norm_train",
              "instance_norm"]
NORM_DTYPES = [("float64", "float32"), ("float32", "float64"), ("int64", "float32"),
               ("bool", "float32"), ("int64", "float64"), ("bfloat16", "float32"),
               ("bfloat16", "float64"), ("float32", "float32")]


@pytest.mark.parametrize("kind", NORM_KINDS)
@pytest.mark.parametrize("xd,pd", NORM_DTYPES, ids=[f"x={a}-p={b}" for a, b in NORM_DTYPES])
def test_norm_dtype_rules_match_torch(kind, xd, pd):
    """torch's CPU norms: parameters of another dtype than the input must be float32 and the
    input float16/bfloat16 ("mixed dtype (CPU): ..."); integer inputs have no kernel. rms_norm
    promotes instead and returns the input's dtype."""
    assert_same_outcome(_norm_call(kind, xd, pd))


@pytest.mark.parametrize("kind", NORM_KINDS)
@pytest.mark.parametrize("xd", ["int64", "bool"])
def test_norm_of_an_integer_input_without_parameters_matches_torch(kind, xd):
    assert_same_outcome(_norm_call(kind, xd, "float32", affine=False))


@pytest.mark.parametrize("module,shape", [
    (("LayerNorm", 4), (2, 4)), (("GroupNorm", 2, 4), (2, 4)), (("RMSNorm", 4), (2, 4)),
    (("BatchNorm1d", 2), (3, 2)), (("BatchNorm2d", 2), (3, 2, 4, 4)),
    (("InstanceNorm1d", 2), (2, 2, 5))])
@pytest.mark.parametrize("mod_dtype,xd", [("float64", "float32"), ("float32", "float64"),
                                          ("float32", "int64"), ("float32", "bool")])
def test_norm_modules_fed_another_dtype_match_torch(module, shape, mod_dtype, xd):
    def build(L):
        L.manual_seed(0)
        m = getattr(L.nn, module[0])(*module[1:])
        m = m.double() if mod_dtype == "float64" else m
        return m(rand(L, shape, xd))
    assert_same_outcome(build)


@pytest.mark.parametrize("build", [
    lambda L: L.nn.BatchNorm1d(2)(rand(L, (0, 3))),  # empty: torch skips the size checks
    lambda L: L.nn.BatchNorm1d(2)(rand(L, (0, 3), "int64")),  # ... and the dtype ones
    lambda L: L.nn.BatchNorm1d(2)(rand(L, (2, 0, 4))),
    lambda L: L.nn.InstanceNorm2d(2)(rand(L, (2, 0, 4))),
    lambda L: L.nn.InstanceNorm2d(2)(rand(L, (2, 0, 4), "bool")),
    lambda L: L.nn.functional.batch_norm(rand(L, (0, 3)), None, None, training=True),
    lambda L: L.nn.functional.batch_norm(rand(L, (1, 3)), None, None, training=True),
    lambda L: L.nn.functional.batch_norm(rand(L, (1, 0, 1)), None, None, training=True),
], ids=["bn1d_empty_batch", "bn1d_empty_int", "bn1d_empty_channels", "in2d_empty",
        "in2d_empty_bool", "bn_train_empty", "bn_train_one_value", "bn_train_one_empty"])
def test_batch_norm_of_empty_inputs_matches_torch(build):
    assert_same_outcome(build)


@pytest.mark.parametrize("xd", ["int64", "float64"])
def test_batch_norm_checks_the_channel_count_before_the_dtype_as_torch(xd):
    assert_same_outcome(lambda L: L.nn.BatchNorm1d(2)(rand(L, (2, 3), xd)))


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 3, 4, 4), (2, 0, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "int32", "uint8", "bool"])
def test_local_response_norm_kernel_dtypes_as_torch(shape, dtype):
    """torch averages with avg_pool2d (3-D input) or avg_pool3d, whose CPU kernels take
    floating types and int64 (avg_pool3d: no half types); an empty input returns first."""
    assert_same_outcome(lambda L: L.nn.functional.local_response_norm(rand(L, shape, dtype), 2),
                        tol_dtype="float16" if dtype == "float16" else None)


@pytest.mark.parametrize("shape,normalized", [((), (4,)), ((4,), (3, 4)), ((4,), (2, 2, 4)),
                                              ((), ()), ((3,), (4,))])
def test_rms_norm_too_few_dims_is_value_error_as_torch(shape, normalized):
    assert_same_outcome(lambda L: L.nn.functional.rms_norm(rand(L, shape), normalized))
    if normalized:
        assert_same_outcome(lambda L: L.nn.RMSNorm(normalized)(rand(L, shape)))

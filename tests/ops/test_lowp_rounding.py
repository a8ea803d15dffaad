"""float16/bfloat16 ops round as torch's CPU kernels do: compared bit for bit with torch.

torch computes most float16/bfloat16 ops in float32 and rounds once (a Python scalar stays
float32, "opmath"); some kernels keep intermediates in the low-precision type (the statistics
batch_norm/layer_norm save, ``alpha`` of ``add``, a bfloat16 ``x**3``), and many backward
formulas are Tensor ops that each round. gradstep's rules live in ``gradstep/ops/_lowp.py``
and the ops that use it; these tests hold them to torch's results on random inputs.

Sizes are multiples of 64: torch's vectorized loops take 64 elements of a 16-bit type at a
time and run the leftover through a scalar path that can round differently (torch's own
inconsistency, not followed here).

``exact`` ops must agree bit for bit. Ops whose float32 value comes from a transcendental
function (exp, tanh, erf, ...) or a sum may, rarely, differ in the last float32 bit between
NumPy and torch (another libm, another summation order), which can move a float16/bfloat16
rounding: those allow ``RARE`` of the elements to differ, by one unit in the last place.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradstep

DTYPES = ["float16", "bfloat16"]
RARE = 0.005  # the share of elements allowed one ulp off where float32 values may differ


def _pair(arr, dt, requires_grad=False):
    """The same float16/bfloat16 tensor in gradstep and torch, from float32 ``arr``."""
    g = gradstep.tensor(arr).to(getattr(gradstep, dt))
    t = torch.from_numpy(np.array(arr, np.float32)).to(getattr(torch, dt))
    if requires_grad:
        g.requires_grad_()
        t.requires_grad_()
    return g, t


def _bits(t):
    t = t.detach()
    if isinstance(t, torch.Tensor):
        return t.view(torch.int16).numpy().view(np.uint16)
    return t._data.view(np.uint16)


def _values(t):
    return t.detach().float().numpy()


def assert_same(ours, theirs, rare=0.0, what="value"):
    """Bit-identical, or (``rare`` > 0) at most that share of elements one ulp apart."""
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], what
    a, b = _bits(ours), _bits(theirs)
    nan = np.isnan(_values(theirs))
    assert (np.isnan(_values(ours)) == nan).all(), what
    bad = (a != b) & ~nan
    if not rare:
        assert not bad.any(), f"{what}: {bad.sum()} of {bad.size} differ"
        return
    assert bad.mean() <= rare, f"{what}: {bad.sum()} of {bad.size} differ"
    ulp = np.abs(a[bad].astype(np.int32) - b[bad].astype(np.int32))
    assert (ulp <= 1).all(), f"{what}: up to {ulp.max()} ulps apart"


def run_both(fn, arrays, dt, grad=True, seed=99):
    """``fn(lib, F, *tensors)`` in both libraries; returns the outputs and the input grads."""
    res = []
    for lib, F in ((gradstep, gradstep.nn.functional), (torch, torch.nn.functional)):
        ts = [_pair(a, dt, grad)[0 if lib is gradstep else 1] for a in arrays]
        out = fn(lib, F, *ts)
        grads = []
        if grad:
            g = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(np.float32)
            out.backward(_pair(g, dt)[0 if lib is gradstep else 1])
            grads = [t.grad for t in ts]
        res.append((out, grads))
    return res


def check(fn, arrays, dt, rare=0.0, grad=True):
    (go, gg), (to, tg) = run_both(fn, arrays, dt, grad)
    assert_same(go, to, rare)
    for i, (a, b) in enumerate(zip(gg, tg)):
        assert_same(a, b, rare, what=f"grad {i}")


_rng = np.random.default_rng(0)
X = (_rng.standard_normal(2048) * 2).astype(np.float32)
X[:4] = [-3.0, 3.0, 0.0, -1.5]  # hardswish/hardsigmoid's corners
Y = _rng.standard_normal(2048).astype(np.float32)
Z = _rng.uniform(0.1, 2.0, 2048).astype(np.float32)  # positive (rsqrt, divisors, lerp weights)
U = _rng.uniform(-0.9, 0.9, 2048).astype(np.float32)  # inside (-1, 1)


# ---------------------------------------------------------------- elementwise
EXACT = {  # pure arithmetic (and sqrt): every rounding reproducible
    "leaky_relu": (lambda L, F, a: F.leaky_relu(a, 0.2), [X]),
    "leaky_relu_default": (lambda L, F, a: F.leaky_relu(a), [X]),
    "hardswish": (lambda L, F, a: F.hardswish(a), [X]),
    "hardsigmoid": (lambda L, F, a: F.hardsigmoid(a), [X]),
    "rsqrt": (lambda L, F, a: a.rsqrt(), [Z]),
    "pow3": (lambda L, F, a: a ** 3, [X]),
    "pow-2": (lambda L, F, a: a ** -2, [Z]),
    "pow-0.5": (lambda L, F, a: a ** -0.5, [Z]),
    "pow1.5": (lambda L, F, a: a ** 1.5, [Z]),
    "pow0": (lambda L, F, a: a ** 0, [X]),
    "add_alpha": (lambda L, F, a, b: L.add(a, b, alpha=0.3), [X, Y]),
    "sub_alpha": (lambda L, F, a, b: L.sub(a, b, alpha=0.7), [X, Y]),
    "add_alpha_broadcast": (lambda L, F, a, b: L.add(a.reshape(32, 64), b[:64], alpha=-1.3),
                            [X, Y]),
    "mul_scalar": (lambda L, F, a: a * 0.3, [X]),
    "rmul_scalar": (lambda L, F, a: 0.3 * a, [X]),
    "div_scalar": (lambda L, F, a: a / 0.3, [X]),
    "rdiv_scalar": (lambda L, F, a: 0.3 / a, [Z]),
    "addcmul": (lambda L, F, a, b, c: L.addcmul(a, b, c, value=0.5), [X, Y, Z]),
    "addcmul_value1": (lambda L, F, a, b, c: L.addcmul(a, b, c), [X, Y, Z]),
    "addcdiv": (lambda L, F, a, b, c: L.addcdiv(a, b, c, value=0.5), [X, Y, Z]),
    "addcdiv_broadcast": (lambda L, F, a, b, c: L.addcdiv(a.reshape(32, 64), b[:64], c[:64],
                                                          value=-2.0), [X, Y, Z]),
    "lerp_0.3": (lambda L, F, a, b: L.lerp(a, b, 0.3), [X, Y]),
    "lerp_0.7": (lambda L, F, a, b: L.lerp(a, b, 0.7), [X, Y]),
    "lerp_tensor": (lambda L, F, a, b, w: L.lerp(a, b, w), [X, Y, Z]),
    "xlogy": (lambda L, F, a, b: L.xlogy(a, b), [X, Z]),
}

LIBM = {  # a float32 exp/tanh/erf/... inside: the rare last-bit flip allowed
    "sigmoid": (lambda L, F, a: L.sigmoid(a), [X]),
    "silu": (lambda L, F, a: F.silu(a), [X]),
    "mish": (lambda L, F, a: F.mish(a), [X]),
    "elu": (lambda L, F, a: F.elu(a), [X]),
    "softplus": (lambda L, F, a: F.softplus(a), [X]),
    "erf": (lambda L, F, a: a.erf(), [X]),
    "erfc": (lambda L, F, a: a.erfc(), [X]),
    "erfinv": (lambda L, F, a: a.erfinv(), [U]),
    "tan": (lambda L, F, a: a.tan(), [U]),
    "atan": (lambda L, F, a: a.atan(), [X]),
    "asin": (lambda L, F, a: a.asin(), [U]),
    "sinh": (lambda L, F, a: a.sinh(), [X]),
    "tanh": (lambda L, F, a: a.tanh(), [X]),  # backward: grad * (1 - y * y) rounded once
    "atanh": (lambda L, F, a: a.atanh(), [U]),
    "atan2": (lambda L, F, a, b: L.atan2(a, b), [X, Y]),
    "hypot": (lambda L, F, a, b: L.hypot(a, b), [X, Y]),
    "exp2": (lambda L, F, a: a.exp2(), [X]),
    "logaddexp": (lambda L, F, a, b: L.logaddexp(a, b), [X, Y]),
    "sinc": (lambda L, F, a: a.sinc(), [X]),
    "log_softmax_last": (lambda L, F, a: L.log_softmax(a.reshape(32, 64), 1), [X]),
    "log_softmax_rows50": (lambda L, F, a: L.log_softmax(a[:2000].reshape(40, 50), 1), [X]),
    "log_softmax_dim0": (lambda L, F, a: L.log_softmax(a.reshape(64, 32), 0), [X]),
    "softmax_last": (lambda L, F, a: L.softmax(a.reshape(32, 64), -1), [X]),
    "softmax_middle": (lambda L, F, a: L.softmax(a.reshape(8, 64, 4), 1), [X]),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(EXACT))
def test_arithmetic_ops_bit_identical(name, dt):
    fn, arrays = EXACT[name]
    check(fn, arrays, dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(LIBM))
def test_function_ops_bit_identical_up_to_libm(name, dt):
    fn, arrays = LIBM[name]
    check(fn, arrays, dt, rare=RARE)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_loss_gradient_holds_its_norm_in_the_dtype(reduction, dt):
    """torch's mse_backward kernel converts ``2 / numel`` to float16/bfloat16 before
    ``norm * (input - target) * grad`` (each product rounded): 768 elements, where 2/768 is
    not representable (an fp16 AdaBelief run on an MLP's regression loss showed it)."""
    fn = (lambda L, F, a, b: F.mse_loss(a[:768].reshape(48, 16), b[:768].reshape(48, 16),
                                        reduction=reduction) * 1.7)
    check(fn, [X, Y], dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_the_reported_cases(dt):
    """The element-0 values of 64-element tensors that first showed the differences."""
    def full(lib, v):
        return lib.full((64,), v, dtype=getattr(lib, dt))

    for fn in (lambda L: L.lerp(full(L, 0.125), full(L, 0.5), 0.3),
               lambda L: L.addcmul(full(L, 2.375), full(L, 2.375), full(L, 4.875), value=0.5),
               lambda L: full(L, 0.375) * 0.3, lambda L: full(L, 1.3).rsqrt(),
               lambda L: L.add(full(L, 0.125), full(L, 0.5), alpha=0.3)):
        assert fn(gradstep)[0].item() == fn(torch)[0].item()


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("op", ["addcmul_", "addcdiv_", "lerp_", "lerp_tensor_", "add_", "sub_",
                                "mul_", "div_", "pow_"])
def test_in_place_forms_bit_identical(op, dt):
    """The in-place forms (optimizers' ``exp_avg.lerp_``, ``addcmul_``, ...) round like the ops."""
    calls = {"addcmul_": lambda a, b, c: a.addcmul_(b, c, value=0.5),
             "addcdiv_": lambda a, b, c: a.addcdiv_(b, c, value=-0.01),
             "lerp_": lambda a, b, c: a.lerp_(b, 0.1),
             "lerp_tensor_": lambda a, b, c: a.lerp_(b, c),
             "add_": lambda a, b, c: a.add_(b, alpha=0.3), "sub_": lambda a, b, c: a.sub_(b, alpha=0.3),
             "mul_": lambda a, b, c: a.mul_(0.9), "div_": lambda a, b, c: a.div_(0.3),
             "pow_": lambda a, b, c: a.pow_(3)}
    ours = [_pair(v, dt)[0] for v in (X, Y, Z)]
    theirs = [_pair(v, dt)[1] for v in (X, Y, Z)]
    assert_same(calls[op](*ours), calls[op](*theirs))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("call", ["add_", "sub_", "add", "sub", "add_legacy_wd"])
def test_python_number_with_alpha_bit_identical(call, dt):
    """``t.add_(number, alpha=a)`` (jettify SGDW's ``p.data.add_(weight_decay, alpha=-lr)``):
    torch's add kernel rounds both the number and ``alpha`` to the tensor's dtype and adds
    their product (exact in float32) in float32, rounding once; the product in float64
    rounded to the dtype differed in up to half of the elements."""
    calls = {"add_": lambda a: a.add_(3.0, alpha=1.1), "sub_": lambda a: a.sub_(0.3, alpha=0.7),
             "add": lambda a: a.add(0.3, alpha=-0.7), "sub": lambda a: a.sub(3, alpha=-1.1),
             "add_legacy_wd": lambda a: a.add_(1e-3, alpha=-0.025)}
    ours, theirs = _pair(X * 0.01 if call == "add_legacy_wd" else X, dt)
    assert_same(calls[call](ours), calls[call](theirs))


def test_hardswish_gradient_at_the_corners_float32():
    """torch's hardswish gradient is 0 at x = -3 and 1 at x = 3 (every dtype)."""
    for lib in (gradstep, torch):
        x = lib.tensor([-3.0, 3.0, -2.5, 2.5], requires_grad=True)
        lib.nn.functional.hardswish(x).sum().backward()
        assert x.grad.tolist() == pytest.approx([0.0, 1.0, -1 / 3, 4 / 3], rel=1e-6)


def test_python_scalar_is_float32_for_half():
    """``t * 0.3`` multiplies by float32(0.3), not half(0.3)."""
    g, t = _pair(np.full(64, 0.375, np.float32), "float16")
    assert (g * 0.3)[0].item() == (t * 0.3)[0].item() == 0.11248779296875


# ---------------------------------------------------------------- products
_W = (_rng.standard_normal((32, 48)) * 0.5).astype(np.float32)
PRODUCTS = {
    "linear": (lambda L, F, x, w, b: F.linear(x.reshape(32, 64)[:, :48], w, b), [X, _W, Y[:32]]),
    "linear_3d": (lambda L, F, x, w, b: F.linear(x.reshape(4, 8, 64)[..., :48], w, b),
                  [X, _W, Y[:32]]),
    "addmm_vector_bias": (lambda L, F, b, x, w: L.addmm(b, x.reshape(32, 64)[:, :48], w.t()),
                          [Y[:32], X, _W]),
    "addmm_matrix": (lambda L, F, c, x, w: L.addmm(c.reshape(64, 32)[:32], x.reshape(32, 64)[:, :48],
                                                   w.t()), [Y, X, _W]),
    "addmm_alpha_beta": (lambda L, F, c, x, w: L.addmm(c.reshape(64, 32)[:32],
                                                       x.reshape(32, 64)[:, :48], w.t(),
                                                       beta=0.5, alpha=2.0), [Y, X, _W]),
    "conv2d": (lambda L, F, x, w, b: F.conv2d(x.reshape(2, 16, 8, 8)[:, :4], w.reshape(-1)[:180]
                                              .reshape(5, 4, 3, 3), b[:5], padding=1), [X, _W, Y]),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_round_once(name, dt):
    """float32 accumulation with the bias added before the one rounding (F.linear, addmm);
    the BLAS may sum in another order than torch's, hence the rare ulp."""
    fn, arrays = PRODUCTS[name]
    grad = name != "conv2d"  # conv's float16 weight gradient rounds like neither
    check(fn, arrays, dt, rare=RARE, grad=grad)


# ---------------------------------------------------------------- normalization
_XN = (_rng.standard_normal((8, 64, 20)) * 2 + 0.5).astype(np.float32)
_XN4 = (_rng.standard_normal((4, 32, 8, 8)) * 2).astype(np.float32)
_WN = _rng.uniform(0.5, 1.5, 64).astype(np.float32)
_BN = (_rng.standard_normal(64) * 0.2).astype(np.float32)
_RM = (_rng.standard_normal(64) * 0.3).astype(np.float32)
_RV = _rng.uniform(0.5, 2.0, 64).astype(np.float32)


def _stats(lib, dt):
    return [_pair(v, dt)[0 if lib is gradstep else 1] for v in (_RM, _RV)]


NORMS = {
    "batch_norm_eval": (lambda L, F, x, w, b: F.batch_norm(x, *_stats(L, _dt_name(x)), w, b),
                        [_XN, _WN, _BN]),
    "batch_norm_train": (lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                         [_XN, _WN, _BN]),
    "batch_norm_train_4d": (lambda L, F, x: F.batch_norm(x, None, None, training=True), [_XN4]),
    "instance_norm": (lambda L, F, x: F.instance_norm(x), [_XN]),
    "instance_norm_affine": (lambda L, F, x, w, b: F.instance_norm(x, weight=w, bias=b),
                             [_XN, _WN, _BN]),
    "group_norm": (lambda L, F, x, w, b: F.group_norm(x, 8, w, b), [_XN, _WN, _BN]),
    "group_norm_4d": (lambda L, F, x: F.group_norm(x, 4), [_XN4]),
    "layer_norm": (lambda L, F, x: F.layer_norm(x.reshape(160, 64), (64,)), [_XN]),
    "layer_norm_2d": (lambda L, F, x: F.layer_norm(x, (64, 20)), [_XN]),
}


def _dt_name(t):
    return str(t.dtype).split(".")[-1]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", sorted(NORMS))
def test_normalization_forward_and_backward(name, dt):
    """Statistics in float32 (the saved mean and 1/std rounded to the input's dtype, as torch
    saves them), output and gradients rounded once; float32 sums in another order than
    torch's allow the rare ulp. (layer_norm rows of a length that is not a multiple of 64
    end in torch's scalar path, which rounds its backward differently: 64 here.)"""
    fn, arrays = NORMS[name]
    check(fn, arrays, dt, rare=RARE)


@pytest.mark.parametrize("dt", DTYPES)
def test_layer_norm_affine_input_gradient(dt):
    """layer_norm with a weight and bias: the output and the input gradient (torch's weight
    and bias gradients sum in an order that depends on its thread count: not compared)."""
    (go, gg), (to, tg) = run_both(lambda L, F, x, w, b: F.layer_norm(x.transpose(1, 2), (64,), w, b),
                                  [_XN, _WN, _BN], dt)
    assert_same(go, to, RARE)
    assert_same(gg[0], tg[0], RARE)


@pytest.mark.parametrize("dt", DTYPES)
def test_batch_norm_running_statistics(dt):
    """The running buffers of float16/bfloat16 batch_norm and instance_norm, bit for bit
    (bfloat16's update rounds momentum, 1 - momentum, the unbiased variance and products)."""
    res = []
    for lib in (gradstep, torch):
        F = lib.nn.functional
        x = _pair(_XN, dt)[0 if lib is gradstep else 1]
        rm, rv = _stats(lib, dt)
        F.batch_norm(x, rm, rv, training=True, momentum=0.1)
        im, iv = (t[:8].clone() for t in _stats(lib, dt))
        F.instance_norm(x[:, :8], im, iv, use_input_stats=True, momentum=0.3)
        res.append((rm, rv, im, iv))
    for a, b in zip(*res):
        assert_same(a, b)


@pytest.mark.parametrize("dt", DTYPES)
def test_batch_norm_with_float32_parameters_stays_float32(dt):
    """Mixed batch_norm (float16/bfloat16 input, float32 weight, bias and buffers), autocast's
    case: float32 statistics, the output in the input's dtype, float32 buffers."""
    outs = []
    for lib in (gradstep, torch):
        x = _pair(_XN, dt)[0 if lib is gradstep else 1]
        w, b, rm, rv = (lib.tensor(v) for v in (_WN, _BN, _RM, _RV))
        y = lib.nn.functional.batch_norm(x, rm, rv, w, b, training=True)
        outs.append((y, rm, rv))
    assert_same(outs[0][0], outs[1][0], RARE)
    for a, b in zip(outs[0][1:], outs[1][1:]):
        assert a.dtype == gradstep.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_float32_results_unchanged_by_the_low_precision_rules():
    """The float16/bfloat16 rules leave float32 on its own path (spot check against torch)."""
    for fn in (lambda L: L.nn.functional.leaky_relu(L.tensor(X), 0.2),
               lambda L: L.lerp(L.tensor(X), L.tensor(Y), 0.3),
               lambda L: L.add(L.tensor(X), L.tensor(Y), alpha=0.3)):
        np.testing.assert_allclose(fn(gradstep).numpy(), fn(torch).numpy(), rtol=1e-6, atol=1e-7)
    assert math.isfinite(float(gradstep.tensor(X).sigmoid().sum()))

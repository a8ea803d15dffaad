"""gradstep.bfloat16 against torch 2.13's: conversion bits, promotion, printing, ops, files.

Tolerances. bfloat16 keeps 8 significant bits, so one unit in the last place (ulp)
of x is at most 2**-7 * |x|. Where gradstep performs the same roundings as torch
(float32 accumulation, one rounding: products, linear, conv, sum/mean/var/softmax)
results are compared bit for bit. Elementwise functions are computed in float32 and
rounded once by both libraries, but the float32 function values may differ in the
last float32 bit (different libm), which can flip a bfloat16 rounding: 1 ulp.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
import torch

import gradstep
import gradstep.nn.functional as GF

ULP = 2.0**-7  # bfloat16 ulp relative to the value (8 significant bits)


def bits(t):
    """The uint16 patterns of a bfloat16 tensor of either library."""
    if isinstance(t, gradstep.Tensor):
        return t.detach()._data.view(np.uint16)
    return t.detach().view(torch.int16).numpy().view(np.uint16)


def values(t):
    """float32 values of a tensor of either library (exact: every bfloat16 is a float32)."""
    return t.detach().float().numpy()


def assert_within_ulps(ours, theirs, ulps=1):
    assert ours.dtype is gradstep.bfloat16 and theirs.dtype == torch.bfloat16
    a, b = values(ours), values(theirs)
    np.testing.assert_allclose(a, b, rtol=ulps * ULP, atol=0, equal_nan=True)


def to_both(arr, requires_grad=False):
    """The same bfloat16 tensor in gradstep and torch (from float32 ``arr``)."""
    g = gradstep.tensor(arr).bfloat16()
    t = torch.from_numpy(np.array(arr, np.float32)).bfloat16()
    if requires_grad:
        g.requires_grad_()
        t.requires_grad_()
    return g, t


# ---------------------------------------------------------------- conversion
def _float32_patterns():
    rng = np.random.default_rng(0)
    random_bits = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)
    # exact ties (low half 0x8000) must round to the even neighbour
    ties = (rng.integers(0, 2**16, 4000, dtype=np.uint64).astype(np.uint32) << 16) | 0x8000
    special = np.array([0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
                        0x00000001, 0x807FFFFF, 0x007FFFFF, 0x00008000, 0x00018000,
                        0x7F7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x0, 0x80000000, 0x3F808000,
                        0x3F818000, 0x3F80FFFF], np.uint32)
    return np.concatenate([random_bits, ties, special]).view(np.float32)


def test_float32_to_bfloat16_bits_equal_torch():
    f = _float32_patterns()
    ours = bits(gradstep.tensor(f).bfloat16())
    theirs = bits(torch.from_numpy(f.copy()).bfloat16())
    nan = np.isnan(f)
    assert nan.sum() > 100 and (~nan).sum() > 100_000
    # NaN stays NaN (its payload bits differ even between torch's own vector and scalar paths)
    assert np.isnan(gradstep.tensor(f).bfloat16()._data[nan].astype(np.float32)).all()
    np.testing.assert_array_equal(ours[~nan], theirs[~nan])


def test_bfloat16_to_float32_is_exact():
    u = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    g = gradstep.tensor(np.zeros(2**16, np.float32)).bfloat16()
    g._data.view(np.uint16)[...] = u
    t = torch.from_numpy(u.view(np.int16).copy()).view(torch.bfloat16)
    a, b = g.float().numpy(), t.float().numpy()
    assert a.dtype == np.float32
    same = np.isnan(b)
    assert (np.isnan(a) == same).all()
    np.testing.assert_array_equal(a.view(np.uint32)[~same], b.view(np.uint32)[~same])


def test_to_and_factories():
    data = [[1.0, 2.5, 3.14159], [-0.1, 1e30, 7.0]]
    g, t = gradstep.tensor(data, dtype=gradstep.bfloat16), torch.tensor(data, dtype=torch.bfloat16)
    np.testing.assert_array_equal(bits(g), bits(t))
    f = gradstep.tensor(data)
    for conv in (f.bfloat16(), f.to(gradstep.bfloat16), f.to(dtype=gradstep.bfloat16),
                 f.type(gradstep.bfloat16)):
        assert conv.dtype is gradstep.bfloat16
        np.testing.assert_array_equal(bits(conv), bits(t))
    assert g.is_floating_point() and g.dtype.is_floating_point and g.dtype.is_signed
    assert g.element_size() == 2 and g.dtype.itemsize == 2
    assert g.type() == t.type() == "torch.BFloat16Tensor"
    assert gradstep.zeros(3, dtype=gradstep.bfloat16).dtype is gradstep.bfloat16
    assert g.requires_grad_().requires_grad


def test_repr_matches_torch():
    rng = np.random.default_rng(1)
    for arr in (rng.standard_normal((3, 4)), np.array([1.0, 2.0, 3.0]), np.array(2.5),
                rng.standard_normal(5) * 1e6):
        g, t = to_both(arr.astype(np.float32))
        assert repr(g) == repr(t).replace("torch.", "gradstep.")


def test_module_bfloat16():
    lin = gradstep.nn.Linear(3, 2).bfloat16()
    assert lin.weight.dtype is gradstep.bfloat16 and lin.weight.requires_grad
    assert isinstance(lin.weight, gradstep.nn.Parameter)


# ---------------------------------------------------------------- promotion
_PAIRS = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool")


def _dt(lib, name):
    return getattr(lib, name)


def test_promote_types_grid_equals_torch():
    for a in _PAIRS:
        for b in _PAIRS:
            ours = gradstep.promote_types(_dt(gradstep, a), _dt(gradstep, b))
            theirs = torch.promote_types(_dt(torch, a), _dt(torch, b))
            assert ours.name == str(theirs).removeprefix("torch."), (a, b)


@pytest.mark.parametrize("other", _PAIRS)
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((3,), ()), ((), (3,))])
def test_tensor_promotion_with_bfloat16(other, shapes):
    sa, sb = shapes
    ga = gradstep.ones(sa, dtype=gradstep.bfloat16)
    ta = torch.ones(sa, dtype=torch.bfloat16)
    gb = gradstep.ones(sb, dtype=_dt(gradstep, other))
    tb = torch.ones(sb, dtype=_dt(torch, other))
    assert (ga + gb).dtype.name == str((ta + tb).dtype).removeprefix("torch.")
    assert (gb * ga).dtype.name == str((tb * ta).dtype).removeprefix("torch.")


def test_python_scalars_keep_bfloat16():
    g, t = to_both(np.array([1.0, 2.0], np.float32))
    for s in (2, 1.5, True):
        assert (g * s).dtype is gradstep.bfloat16 and (t * s).dtype == torch.bfloat16
    i = gradstep.tensor([1, 2])
    assert (i * gradstep.tensor(1.5, dtype=gradstep.bfloat16)).dtype is gradstep.bfloat16


# ---------------------------------------------------------------- ops
def _data(shape, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("name,fn", [
    ("sum", lambda t: t.sum()), ("sum_dim", lambda t: t.sum(1)), ("mean", lambda t: t.mean(0)),
    ("var", lambda t: t.var(1)), ("std", lambda t: t.std(1)), ("norm", lambda t: t.norm(dim=1)),
    ("cumsum", lambda t: t.cumsum(1)), ("prod", lambda t: t[:, :6].prod(1)),
    ("amax", lambda t: t.amax(1)), ("relu", lambda t: t.relu()), ("neg", lambda t: -t),
    ("mul", lambda t: t * t), ("add", lambda t: t + t.flip(1)), ("div", lambda t: t / 3),
    ("sqrt", lambda t: t.abs().sqrt()),
])
def test_ops_bit_identical(name, fn):
    """Ops whose roundings gradstep reproduces exactly (sums accumulate in float32 and
    round once; prod rounds after each product, as torch does)."""
    g, t = to_both(_data((6, 300)))
    a, b = fn(g), fn(t)
    assert a.dtype is gradstep.bfloat16 and b.dtype == torch.bfloat16
    np.testing.assert_array_equal(bits(a), bits(b))


@pytest.mark.parametrize("name,fn", [
    ("exp", lambda t: t.exp()), ("tanh", lambda t: t.tanh()), ("log", lambda t: t.abs().log()),
    ("log_softmax", lambda t: t.log_softmax(1)), ("logsumexp", lambda t: t.logsumexp(1)),
    ("softmax", lambda t: t.softmax(1)),
])
def test_elementwise_functions_within_one_ulp(name, fn):
    g, t = to_both(_data((6, 300), scale=2.0))
    assert_within_ulps(fn(g), fn(t), ulps=1)


@pytest.mark.parametrize("s", [0.3, 1 / 3, 7.0, -0.7, 1e-3, 3])
@pytest.mark.parametrize("op", ["mul", "rmul", "div", "add", "sub", "rsub", "rdiv"])
def test_python_scalar_ops_and_grads_bit_identical(op, s):
    """torch multiplies/divides by a Python scalar kept in float32 and rounds the result
    once, adds/subtracts the scalar rounded to bfloat16, and computes ``s / t`` as a
    rounded reciprocal times the float32 scalar: gradstep does the same."""
    fns = {"mul": lambda t: t * s, "rmul": lambda t: s * t, "div": lambda t: t / s,
           "add": lambda t: t + s, "sub": lambda t: t - s, "rsub": lambda t: s - t,
           "rdiv": lambda t: s / t}
    gx, tx = to_both(_data((6, 300), 12), requires_grad=True)
    go, to = fns[op](gx), fns[op](tx)
    np.testing.assert_array_equal(bits(go), bits(to))
    gy, ty = to_both(_data((6, 300), 13))
    go.backward(gy)
    to.backward(ty)
    np.testing.assert_array_equal(bits(gx.grad), bits(tx.grad))


def test_sum_accumulates_in_float32():
    """NumPy would add bfloat16 to bfloat16 and stop at 256; torch (and gradstep) give 1000."""
    g = gradstep.ones(1000, dtype=gradstep.bfloat16)
    assert g.sum().item() == torch.ones(1000, dtype=torch.bfloat16).sum().item() == 1000.0
    assert g.sum(dtype=gradstep.float32).dtype is gradstep.float32


def _check_grads(gs, ts, min_equal=0.99):
    for a, b in zip(gs, ts):
        assert a.grad.dtype is gradstep.bfloat16
        _mostly_bit_identical(a.grad, b.grad, min_equal)


def _mostly_bit_identical(a, b, min_equal=0.99):
    """float32 accumulation in a different order may move a result across a bfloat16
    rounding boundary: then it differs by 1 ulp; almost all results are identical."""
    assert (bits(a) == bits(b)).mean() >= min_equal
    assert_within_ulps(a, b, ulps=1)


@pytest.mark.parametrize("k", [8, 64, 300])
def test_linear_and_grads(k):
    gx, tx = to_both(_data((32, k), 1), requires_grad=True)
    gw, tw = to_both(_data((16, k), 2, 1.0), requires_grad=True)
    gb, tb = to_both(_data((16,), 3), requires_grad=True)
    go = GF.linear(gx, gw, gb)
    to = torch.nn.functional.linear(tx, tw, tb)
    _mostly_bit_identical(go, to)
    gy, ty = to_both(_data((32, 16), 4))
    go.backward(gy)
    to.backward(ty)
    _check_grads((gx, gw, gb), (tx, tw, tb))


def test_matmul_bmm_einsum():
    ga, ta = to_both(_data((4, 5, 40), 1))
    gb, tb = to_both(_data((4, 40, 6), 2))
    _mostly_bit_identical(ga @ gb, ta @ tb)
    _mostly_bit_identical(gradstep.bmm(ga, gb), torch.bmm(ta, tb))
    _mostly_bit_identical(gradstep.einsum("bij,bjk->bik", ga, gb),
                          torch.einsum("bij,bjk->bik", ta, tb))


@pytest.mark.parametrize("padding,stride", [(1, 1), (0, 2)])
def test_conv2d_and_grads(padding, stride):
    gx, tx = to_both(_data((2, 3, 10, 10), 1), requires_grad=True)
    gw, tw = to_both(_data((4, 3, 3, 3), 2, 0.5), requires_grad=True)
    gb, tb = to_both(_data((4,), 3), requires_grad=True)
    go = GF.conv2d(gx, gw, gb, padding=padding, stride=stride)
    to = torch.nn.functional.conv2d(tx, tw, tb, padding=padding, stride=stride)
    _mostly_bit_identical(go, to)
    gy, ty = to_both(_data(tuple(to.shape), 4))
    go.backward(gy)
    to.backward(ty)
    _check_grads((gx, gw, gb), (tx, tw, tb))


def test_gradient_flows_through_casts():
    """float32 leaf -> bfloat16 -> ops -> float32: the leaf gets a float32 gradient."""
    x = _data((8, 20), 5)
    gx = gradstep.tensor(x, requires_grad=True)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    gw = gradstep.tensor(_data((20, 4), 6, 0.3), requires_grad=True)
    tw = torch.from_numpy(gw.detach().numpy().copy()).requires_grad_()
    for lib, a, w in ((gradstep, gx, gw), (torch, tx, tw)):
        y = (a.bfloat16() @ w.bfloat16()).tanh().float()
        (y * y).sum().backward()
    for a, b in ((gx, tx), (gw, tw)):
        assert a.grad.dtype is gradstep.float32
        # the gradient passes through three bfloat16 roundings (tanh, its derivative, the
        # product): a few ulps, relative to the gradient's scale
        scale = np.abs(b.grad.numpy()).max()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=4 * ULP,
                                   atol=4 * ULP * scale)


# ---------------------------------------------------------------- files
def test_native_save_load_roundtrip():
    g, _ = to_both(_data((5, 7)))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.gs")
        gradstep.save({"w": g, "dt": gradstep.bfloat16}, path)
        back = gradstep.load(path)
    assert back["dt"] is gradstep.bfloat16 and back["w"].dtype is gradstep.bfloat16
    np.testing.assert_array_equal(bits(back["w"]), bits(g))


def test_torch_file_both_ways():
    g, t = to_both(_data((5, 7)))
    with tempfile.TemporaryDirectory() as d:
        ours, theirs = os.path.join(d, "ours.pt"), os.path.join(d, "theirs.pt")
        gradstep.save({"w": g}, ours, format="torch")
        torch.save({"w": t, "dt": torch.bfloat16}, theirs)
        from_ours = torch.load(ours)
        from_theirs = gradstep.load(theirs)
    assert from_ours["w"].dtype == torch.bfloat16
    np.testing.assert_array_equal(bits(from_ours["w"]), bits(t))
    assert from_theirs["dt"] is gradstep.bfloat16
    np.testing.assert_array_equal(bits(from_theirs["w"]), bits(t))


@pytest.mark.parametrize("kind", ["layer", "batch", "group"])
def test_norm_modules_keep_bfloat16_with_float32_weights(kind):
    """A bfloat16 input to a norm layer with float32 parameters gives bfloat16 (torch's
    mixed-precision kernels), computed in float32 and rounded once: forward and input
    gradient as torch's, parameters' gradients float32."""
    arr = _data((4, 6, 5, 5), 7) + 1.0
    mods = {}
    for lib in (torch, gradstep):
        nn = lib.nn
        mods[lib] = {"layer": lambda nn=nn: nn.LayerNorm([5, 5]),
                     "batch": lambda nn=nn: nn.BatchNorm2d(6),
                     "group": lambda nn=nn: nn.GroupNorm(3, 6)}[kind]()
    with torch.no_grad():
        for p in mods[torch].parameters():
            p.uniform_(0.5, 1.5)
    mods[gradstep].load_state_dict({k: gradstep.tensor(v.numpy())
                                    for k, v in mods[torch].state_dict().items()})
    gx, tx = to_both(arr, requires_grad=True)
    go, to = mods[gradstep](gx), mods[torch](tx)
    assert go.dtype is gradstep.bfloat16
    _mostly_bit_identical(go, to)
    gy, ty = to_both(_data(tuple(to.shape), 8))
    go.backward(gy)
    to.backward(ty)
    _mostly_bit_identical(gx.grad, tx.grad)
    # batch/group norm: float32 sums over bfloat16 values, as ours; torch's LayerNorm
    # backward rounds its partial sums for the parameters through bfloat16 (we measured
    # differences up to ~1 bfloat16 ulp of the largest entry): 2 ulps there
    rel = 2 * ULP if kind == "layer" else 1e-5
    for a, b in zip(mods[gradstep].parameters(), mods[torch].parameters()):
        assert a.grad.dtype is gradstep.float32
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=0,
                                   atol=rel * np.abs(b.grad.numpy()).max())
    if kind == "batch":  # running statistics stay float32 and match
        np.testing.assert_allclose(mods[gradstep].running_var.numpy(),
                                   mods[torch].running_var.numpy(), rtol=1e-6)


def test_avg_pool_sums_in_float32():
    gx, tx = to_both(_data((2, 3, 8, 8), 9), requires_grad=True)
    go, to = GF.avg_pool2d(gx, 3, 2, 1), torch.nn.functional.avg_pool2d(tx, 3, 2, 1)
    np.testing.assert_array_equal(bits(go), bits(to))


@pytest.mark.parametrize("name", ["sigmoid", "silu", "softplus", "elu", "gelu", "gelu_tanh"])
def test_activations_forward_and_backward(name):
    """Computed in float32 (forward and, from the float32 saved input, backward) and rounded
    once, as torch's kernels. sigmoid/silu/softplus/elu agree bit for bit; GELU's erf/tanh
    in float32 differ from torch's in the last float32 bits, flipping a few roundings (and
    tiny outputs near the left tail): 1 ulp of the tensor's largest entry."""
    fns = {"sigmoid": lambda F, t: F.sigmoid(t), "silu": lambda F, t: F.silu(t),
           "softplus": lambda F, t: F.softplus(t), "elu": lambda F, t: F.elu(t),
           "gelu": lambda F, t: F.gelu(t), "gelu_tanh": lambda F, t: F.gelu(t, approximate="tanh")}
    gx, tx = to_both(_data((8, 400), 10), requires_grad=True)
    go, to = fns[name](GF, gx), fns[name](torch.nn.functional, tx)
    gy, ty = to_both(_data((8, 400), 11))
    go.backward(gy)
    to.backward(ty)
    for a, b in ((go, to), (gx.grad, tx.grad)):
        assert a.dtype is gradstep.bfloat16
        if name.startswith("gelu"):
            assert (bits(a) == bits(b)).mean() >= 0.9
            np.testing.assert_allclose(values(a), values(b), rtol=0,
                                       atol=ULP * np.abs(values(b)).max())
        else:
            np.testing.assert_array_equal(bits(a), bits(b))


@pytest.mark.parametrize("op", ["mm", "dot", "bmm", "mv"])
def test_mixed_dtype_product_errors_name_bfloat16_like_torch(op):
    calls = {"mm": lambda L, a, b: L.mm(a, b), "dot": lambda L, a, b: L.dot(a[0], b[0]),
             "bmm": lambda L, a, b: L.bmm(a[None], b[None]), "mv": lambda L, a, b: L.mv(a, b[0])}
    msgs = []
    for lib in (torch, gradstep):
        with pytest.raises(RuntimeError) as info:
            calls[op](lib, lib.ones(2, 2, dtype=lib.bfloat16), lib.ones(2, 2))
        msgs.append(str(info.value))
    assert msgs[1] == msgs[0]


def test_import_defers_ml_dtypes_until_bfloat16_is_used():
    """ml_dtypes 0.7 takes over 0.5 s to import: gradstep loads it only when bfloat16 is used,
    and an ml_dtypes array made before that is still read as bfloat16."""
    import subprocess
    import sys

    code = ("import sys, gradstep\n"
            "assert 'ml_dtypes' not in sys.modules, 'imported eagerly'\n"
            "assert gradstep.zeros(2).dtype == gradstep.float32 and 'ml_dtypes' not in sys.modules\n"
            "import ml_dtypes, numpy as np\n"
            "t = gradstep.from_numpy(np.array([1.5, 2.25], dtype=ml_dtypes.bfloat16))\n"
            "assert t.dtype == gradstep.bfloat16 and t.is_floating_point(), t.dtype\n"
            "assert (t * 2).tolist() == [3.0, 4.5]\n")
    subprocess.run([sys.executable, "-c", code], check=True)

"""torch.autocast on the CPU against torch 2.13: op output dtypes, a small MLP and CNN
(outputs, loss, gradients), nesting, threads, the decorator and the state functions.

Tolerance for the networks. Under bfloat16 autocast both libraries round the same
inputs to bfloat16 (8 significant bits), accumulate each product in float32 and round
once; elementwise steps (relu, max pooling) are exact. So results agree bit for bit
unless float32 accumulation in a different order moves a value across a bfloat16
rounding boundary. Such a flip is 1 ulp (2**-7 relative) at one element and then
propagates through the later layers with the network's gain; with these shapes
(K <= 128 terms per dot product, about 2**-8 * sqrt(K) < 2**-4 relative error bound
per layer if every input rounding added up) we allow 2**-4 of each tensor's largest
magnitude and require nearly all elements to be identical. The loss is computed in
float32 (cross_entropy is on torch's float32 list): float32 tolerance on it.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch

import gradstep

BOUND = 2.0**-4


def _np(t):
    return t.detach().float().numpy()


def _dtype_name(dt):
    return str(dt).split(".")[-1]


# ---------------------------------------------------------------- which ops cast
def _ops():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 8)), rng.standard_normal((6, 8)), rng.standard_normal(6)
    img, cw = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    tgt = np.array([0, 1, 2, 5])
    p = rng.uniform(0.1, 0.9, (4, 8))

    def F(lib):
        return lib.nn.functional

    return {
        "matmul": lambda L, c: L.matmul(c(x), c(w.T)),
        "operator @": lambda L, c: c(x) @ c(w.T),
        "mm": lambda L, c: L.mm(c(x), c(w.T)),
        "bmm": lambda L, c: L.bmm(c(x)[None], c(w.T)[None]),
        "addmm": lambda L, c: L.addmm(c(b), c(x), c(w.T)),
        "einsum": lambda L, c: L.einsum("ij,kj->ik", c(x), c(w)),
        "linear": lambda L, c: F(L).linear(c(x), c(w), c(b)),
        "conv1d": lambda L, c: F(L).conv1d(c(img[:, :, 0]), c(cw[:, :, 0])),
        "conv2d": lambda L, c: F(L).conv2d(c(img), c(cw)),
        "conv_transpose2d": lambda L, c: F(L).conv_transpose2d(c(img), c(cw.transpose(1, 0, 2, 3))),
        "prelu": lambda L, c: F(L).prelu(c(x), c(np.ones(1))),
        "sdpa": lambda L, c: F(L).scaled_dot_product_attention(c(x)[None], c(x)[None], c(x)[None]),
        "mv": lambda L, c: L.mv(c(x), c(w[0])),
        "dot": lambda L, c: L.dot(c(x[0]), c(w[0])),
        "outer": lambda L, c: L.outer(c(x[0]), c(w[0])),
        "softmax": lambda L, c: F(L).softmax(c(x), -1),
        "log_softmax": lambda L, c: F(L).log_softmax(c(x), -1),
        "cross_entropy": lambda L, c: F(L).cross_entropy(c(x), L.tensor(tgt)),
        "nll_loss": lambda L, c: F(L).nll_loss(c(x), L.tensor(tgt)),
        "mse_loss": lambda L, c: F(L).mse_loss(c(x), c(2 * x)),
        "l1_loss": lambda L, c: F(L).l1_loss(c(x), c(2 * x)),
        "smooth_l1_loss": lambda L, c: F(L).smooth_l1_loss(c(x), c(2 * x)),
        "huber_loss": lambda L, c: F(L).huber_loss(c(x), c(2 * x)),
        "binary_cross_entropy": lambda L, c: F(L).binary_cross_entropy(c(p), c(p[::-1])),
        "bce_with_logits": lambda L, c: F(L).binary_cross_entropy_with_logits(c(x), c(p)),
        "kl_div": lambda L, c: F(L).kl_div(c(x), c(p), reduction="batchmean"),
        "margin_ranking": lambda L, c: F(L).margin_ranking_loss(c(x[0]), c(x[1]), c(np.ones(8))),
        "hinge": lambda L, c: F(L).hinge_embedding_loss(c(x), c(np.ones((4, 8)))),
        "soft_margin": lambda L, c: F(L).soft_margin_loss(c(x), c(np.ones((4, 8)))),
        "multi_margin": lambda L, c: F(L).multi_margin_loss(c(x), L.tensor(tgt)),
        "poisson_nll": lambda L, c: F(L).poisson_nll_loss(c(x), c(np.abs(x))),
        "triplet": lambda L, c: F(L).triplet_margin_loss(c(x), c(x[::-1]), c(2 * x)),
        "cosine_embedding": lambda L, c: F(L).cosine_embedding_loss(c(x), c(x[::-1]),
                                                                   c(np.ones(4))),
        "gaussian_nll": lambda L, c: F(L).gaussian_nll_loss(c(x), c(x), c(np.abs(x) + 1)),
        "layer_norm": lambda L, c: F(L).layer_norm(c(x), (8,)),
        "group_norm": lambda L, c: F(L).group_norm(c(img), 1),
        "relu": lambda L, c: F(L).relu(c(x)),
        "gelu": lambda L, c: F(L).gelu(c(x)),
        "exp": lambda L, c: L.exp(c(x)),
        "sum": lambda L, c: c(x).sum(),
        "mean": lambda L, c: c(x).mean(),
        "prod": lambda L, c: c(x).prod(),
        "add": lambda L, c: c(x) + c(x),
        "max_pool2d": lambda L, c: F(L).max_pool2d(c(img), 2),
        "avg_pool2d": lambda L, c: F(L).avg_pool2d(c(img), 2),
    }


_OPS = _ops()


def _caster(lib, dtype_name):
    dt = getattr(lib, dtype_name)

    def c(arr):
        return lib.tensor(np.asarray(arr, np.float32)).to(dt)

    return c


@pytest.mark.parametrize("name", sorted(_OPS))
@pytest.mark.parametrize("in_dtype", ["float32", "bfloat16", "float64"])
def test_output_dtype_equals_torch(name, in_dtype):
    """Each op, run under CPU autocast, gives the dtype torch's does (its op lists)."""
    fn = _OPS[name]
    results = []
    for lib in (torch, gradstep):
        with lib.autocast("cpu"):
            results.append(_dtype_name(fn(lib, _caster(lib, in_dtype)).dtype))
    assert results[1] == results[0], f"{name} on {in_dtype}: gradstep {results[1]}, torch {results[0]}"


def test_lower_precision_op_values_equal_torch():
    fn = _OPS["linear"]
    outs = []
    for lib in (torch, gradstep):
        with lib.autocast("cpu"):
            outs.append(fn(lib, _caster(lib, "float32")))
    np.testing.assert_array_equal(_np(outs[1]), _np(outs[0]))


def test_float16_autocast_casts_to_float16():
    for lib in (torch, gradstep):
        with lib.autocast("cpu", dtype=lib.float16):
            c = _caster(lib, "float32")
            assert _dtype_name(lib.mm(c(np.ones((2, 3))), c(np.ones((3, 2)))).dtype) == "float16"


# ---------------------------------------------------------------- networks
def _build(lib, kind):
    nn = lib.nn
    if kind == "mlp":
        return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16 * 2 * 2, 10))


@pytest.mark.parametrize("kind,shape", [("mlp", (32, 20)), ("cnn", (16, 3, 8, 8))])
def test_network_forward_backward_matches_torch(kind, shape):
    torch.manual_seed(0)
    tm = _build(torch, kind)
    gm = _build(gradstep, kind)
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0])
    res = {}
    for lib, m in ((torch, tm), (gradstep, gm)):
        with lib.autocast(device_type="cpu", dtype=lib.bfloat16):
            out = m(lib.tensor(x))
            loss = lib.nn.functional.cross_entropy(out, lib.tensor(y))
        loss.backward()
        res[lib] = out, loss, [p.grad for p in m.parameters()]
    (to, tl, tg), (go, gl, gg) = res[torch], res[gradstep]
    assert go.dtype is gradstep.bfloat16 and to.dtype == torch.bfloat16
    assert gl.dtype is gradstep.float32 and tl.dtype == torch.float32
    _close(go, to)
    np.testing.assert_allclose(gl.item(), tl.item(), rtol=1e-5)
    assert len(gg) == len(tg)
    for a, b in zip(gg, tg):
        assert a.dtype is gradstep.float32  # the float32 parameters get float32 gradients
        _close(a, b)


def _close(ours, theirs):
    a, b = _np(ours), _np(theirs)
    assert (a == b).mean() >= 0.95, "most elements should be bit-identical"
    np.testing.assert_allclose(a, b, rtol=0, atol=BOUND * np.abs(b).max())


# ---------------------------------------------------------------- the region
def test_disabled_and_nested_regions():
    x = gradstep.ones(2, 2)
    with gradstep.autocast("cpu"):
        assert gradstep.is_autocast_enabled("cpu")
        assert (x @ x).dtype is gradstep.bfloat16
        with gradstep.autocast("cpu", enabled=False):
            assert not gradstep.is_autocast_enabled("cpu")
            assert gradstep.get_autocast_dtype("cpu") is gradstep.bfloat16
            assert (x @ x).dtype is gradstep.float32
        assert (x @ x).dtype is gradstep.bfloat16
    assert not gradstep.is_autocast_enabled("cpu")
    with gradstep.autocast("cpu", enabled=False):
        assert (x @ x).dtype is gradstep.float32


def test_state_restored_after_exception():
    with pytest.raises(ZeroDivisionError), gradstep.autocast("cpu"):
        raise ZeroDivisionError
    assert not gradstep.is_autocast_enabled("cpu")


def test_decorator():
    @gradstep.autocast("cpu")
    def f(a):
        assert gradstep.is_autocast_enabled("cpu")
        return a @ a

    assert f(gradstep.ones(2, 2)).dtype is gradstep.bfloat16
    assert not gradstep.is_autocast_enabled("cpu")
    for lib in (torch, gradstep):
        with pytest.raises(TypeError, match="requires a callable"):
            lib.autocast("cpu")(3)


def test_state_is_thread_local():
    seen = []
    with gradstep.autocast("cpu"):
        t = threading.Thread(target=lambda: seen.append(
            (gradstep.is_autocast_enabled("cpu"), (gradstep.ones(2, 2) @ gradstep.ones(2, 2)).dtype)))
        t.start()
        t.join()
    assert seen == [(False, gradstep.float32)]


def test_cuda_autocast_warns_and_is_disabled_like_torch():
    for lib in (torch, gradstep):
        with pytest.warns(UserWarning, match="CUDA is not available"):
            ac = lib.autocast("cuda")
        with ac:
            assert lib.is_autocast_enabled() is False
            assert (lib.ones(2, 2) @ lib.ones(2, 2)).dtype == lib.float32
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.autocast("cuda", enabled=False)  # no warning when not asked to enable


def test_deprecated_spellings_warn_like_torch():
    for lib in (torch, gradstep):
        with pytest.warns(FutureWarning, match=r"torch\.cpu\.amp\.autocast"):
            ac = lib.cpu.amp.autocast()
        assert ac._enabled and ac.fast_dtype == lib.bfloat16
        with pytest.warns(FutureWarning, match=r"torch\.cuda\.amp\.autocast"), \
                pytest.warns(UserWarning, match="CUDA is not available"):
            ac = lib.cuda.amp.autocast()
        assert not ac._enabled


def test_unsupported_dtype_and_device():
    for lib in (torch, gradstep):
        with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes"):
            assert not lib.autocast("cpu", dtype=lib.float32)._enabled
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.autocast(lib.device("cpu"))
        with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
            lib.autocast("foo")


def test_state_functions_match_torch():
    for lib in (torch, gradstep):
        assert lib.get_autocast_dtype("cpu") == lib.bfloat16
        assert lib.get_autocast_dtype("cuda") == lib.float16
        assert lib.amp.is_autocast_available("cpu") and lib.amp.is_autocast_available("cuda")
        assert lib.is_autocast_cache_enabled()
        with lib.autocast("cpu"):
            assert not lib.is_autocast_enabled()  # no argument: CUDA's state
            with pytest.warns(DeprecationWarning):
                assert lib.is_autocast_cpu_enabled()
            with pytest.warns(DeprecationWarning):
                assert lib.get_autocast_cpu_dtype() == lib.bfloat16
        lib.set_autocast_enabled("cpu", True)
        assert lib.is_autocast_enabled("cpu")
        lib.set_autocast_enabled("cpu", False)
        n = lib.autocast_increment_nesting()
        assert lib.autocast_decrement_nesting() == n - 1


# ---------------------------------------------------------------- custom functions
def _scaled_mm(lib, seen):
    class ScaledMM(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=lib.float32)
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            seen.append(("forward", lib.is_autocast_enabled("cpu"), a.dtype, b.dtype))
            return a.mm(b)

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen.append(("backward", lib.is_autocast_enabled("cpu")))
            return g.mm(b.t()), a.t().mm(g)

    return ScaledMM


def test_custom_fwd_casts_inputs_and_disables_autocast():
    for lib in (torch, gradstep):
        a = lib.ones(2, 3, requires_grad=True)
        b = lib.ones(3, 2, dtype=lib.bfloat16)
        seen = []
        with lib.autocast("cpu"):
            out = _scaled_mm(lib, seen).apply(a, b)
        assert out.dtype == lib.float32
        out.sum().backward()
        assert a.grad.dtype == lib.float32
        # forward ran with autocast off on float32 inputs; backward with forward's state
        assert seen == [("forward", False, lib.float32, lib.float32), ("backward", False)]


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("in_dtype", ["float32", "bfloat16"])
def test_recurrent_layers_under_autocast(mode, in_dtype):
    """nn.LSTM and nn.RNN run in bfloat16 under CPU autocast; nn.GRU keeps its input's type
    (torch's output dtypes). torch runs the recurrence as separate bfloat16 ops, gradstep in
    float32 with one rounding per output, so values differ by bfloat16 roundings that add
    up over the 7 steps: BOUND of the largest entry."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, mode)(6, 5)
    gm = getattr(gradstep.nn, mode)(6, 5)
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((7, 3, 6)).astype(np.float32)
    res = {}
    for lib, m in ((torch, tm), (gradstep, gm)):
        with lib.autocast("cpu"):
            out, _ = m(lib.tensor(x).to(getattr(lib, in_dtype)))
        out.float().square().sum().backward()
        res[lib] = out, m.weight_hh_l0.grad
    (to, tg), (go, gg) = res[torch], res[gradstep]
    assert _dtype_name(go.dtype) == _dtype_name(to.dtype)
    assert gg.dtype is gradstep.float32
    for a, b in ((go, to), (gg, tg)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=0, atol=BOUND * np.abs(_np(b)).max())


@pytest.mark.parametrize("path", [
    "autocast.__init__", "amp.GradScaler.__init__", "cuda.amp.autocast.__init__",
    "cuda.amp.GradScaler.__init__", "cpu.amp.autocast.__init__", "cpu.amp.GradScaler.__init__",
    "amp.custom_fwd", "amp.custom_bwd", "cuda.amp.custom_fwd", "cuda.amp.custom_bwd",
    "amp.GradScaler.step", "amp.GradScaler.update", "amp.GradScaler.scale",
])
def test_signatures_equal_torch(path):
    import inspect

    def params(lib):
        obj = lib
        for part in path.split("."):
            obj = getattr(obj, part)
        sig = inspect.signature(inspect.unwrap(obj))
        return [(p.name, p.kind, str(p.default).replace("torch.", "").replace("gradstep.", ""))
                for p in sig.parameters.values()]

    assert params(gradstep) == params(torch)

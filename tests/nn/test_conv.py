"""Convolutions (functional and modules) against torch: values, input and weight gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_close, check
from tests.nn.bad_input import assert_same_outcome, rand


def F(L):
    return L.nn.functional


# (input shape, weight shape, keyword arguments)
CONV2D = [
    ((2, 4, 7, 8), (6, 4, 3, 3), {}),
    ((2, 4, 7, 8), (6, 4, 3, 2), dict(stride=2)),
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(stride=(2, 1), padding=(1, 2))),
    ((2, 4, 7, 8), (5, 4, 3, 3), dict(padding="same")),
    ((2, 4, 7, 8), (5, 4, 4, 2), dict(padding="same", dilation=(1, 2))),
    ((2, 4, 7, 8), (5, 4, 2, 3), dict(padding="valid", stride=3)),
    ((2, 4, 9, 9), (6, 4, 3, 3), dict(dilation=2, padding=2)),
    ((2, 4, 7, 8), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((2, 4, 8, 8), (8, 1, 3, 3), dict(groups=4, stride=2, padding=1, dilation=2)),
    ((4, 7, 8), (6, 4, 3, 3), dict(padding=1)),  # unbatched
    ((2, 3, 5, 5), (2, 3, 1, 1), {}),  # pointwise
    ((2, 4, 10, 9), (5, 4, 3, 3), dict(padding=1)),  # output stored in blocks of 64 pixels
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV2D)
def test_conv2d_matches_torch(x_shape, w_shape, kw, bias):
    shapes = [x_shape, w_shape] + ([(w_shape[0],)] if bias else [])
    check(lambda L, x, w, *b: F(L).conv2d(x, w, *b, **kw), shapes)


@pytest.mark.parametrize("x_shape,w_shape,kw", [
    ((5, 4, 7, 8), (6, 4, 3, 3), dict(padding=1)),
    ((5, 4, 9, 8), (6, 4, 3, 3), dict(stride=(2, 1), padding=(1, 2))),
    ((5, 4, 9, 9), (6, 2, 3, 3), dict(dilation=2, padding=2, groups=2)),
    ((5, 1, 12, 12), (3, 1, 5, 5), {}),
    ((5, 1, 20, 20), (2, 1, 3, 3), {}),  # long, thin weight product: split per image
])
def test_conv2d_in_batch_chunks_matches_torch(monkeypatch, x_shape, w_shape, kw):
    """Big batches run in chunks of images (columns under glibc's mmap threshold)."""
    from gradstep.nn._functional import conv

    out_hw = torch.nn.functional.conv2d(torch.zeros(x_shape), torch.zeros(w_shape),
                                        **kw).shape[2:]
    image_bytes = w_shape[1] * w_shape[2] * w_shape[3] * out_hw[0] * out_hw[1] * 8
    # float64: chunks of 2, 2 and 1 image; float32: 4 and 1
    monkeypatch.setattr(conv, "CHUNK_BYTES", 2 * image_bytes)
    assert conv._batch_chunks(x_shape[0], image_bytes) == [(0, 2), (2, 4), (4, 5)]
    check(lambda L, x, w, b: F(L).conv2d(x, w, b, **kw), [x_shape, w_shape, (w_shape[0],)])


CONV1D = [
    ((2, 4, 9), (6, 4, 3), {}),
    ((2, 4, 11), (6, 2, 3), dict(stride=2, padding=2, dilation=2, groups=2)),
    ((2, 4, 9), (5, 4, 4), dict(padding="same")),
    ((4, 9), (5, 4, 3), dict(padding=(1,))),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV1D)
def test_conv1d_matches_torch(x_shape, w_shape, kw, bias):
    shapes = [x_shape, w_shape] + ([(w_shape[0],)] if bias else [])
    check(lambda L, x, w, *b: F(L).conv1d(x, w, *b, **kw), shapes)


# weight shape is (C_in, C_out / groups, kh, kw)
CONV_T2D = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                      dilation=(2, 1), groups=2)),
    ((2, 6, 4, 4), (6, 1, 2, 2), dict(stride=2, groups=3)),
    ((2, 4, 5, 6), (4, 2, 3, 3), dict(dilation=2, output_padding=1, stride=1)),
    ((4, 5, 6), (4, 3, 3, 3), dict(padding=1)),  # unbatched
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(padding=1, groups=2, dilation=(2, 1))),  # stride 1, groups
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV_T2D)
def test_conv_transpose2d_matches_torch(x_shape, w_shape, kw, bias):
    c_out = w_shape[1] * kw.get("groups", 1)
    shapes = [x_shape, w_shape] + ([(c_out,)] if bias else [])
    check(lambda L, x, w, *b: F(L).conv_transpose2d(x, w, *b, **kw), shapes)


def test_conv_transpose1d_matches_torch():
    check(lambda L, x, w, b: F(L).conv_transpose1d(x, w, b, stride=3, padding=1,
                                                     output_padding=2, groups=2),
          [(2, 4, 6), (4, 2, 4), (4,)])


def test_gradcheck_conv_ops():
    rng = np.random.default_rng(3)

    def t(*shape):
        return gradstep.tensor(rng.standard_normal(shape), requires_grad=True)

    x, w, b = t(1, 4, 5, 5), t(4, 2, 2, 3), t(4)
    assert gradcheck(lambda x, w, b: F(gradstep).conv2d(x, w, b, stride=(2, 1), padding=(1, 2),
                                                         dilation=(1, 2), groups=2), (x, w, b))
    x, w, b = t(1, 4, 3, 3), t(4, 3, 3, 2), t(6)
    assert gradcheck(lambda x, w, b: F(gradstep).conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1, groups=2), (x, w, b))
    x, w = t(2, 2, 6), t(3, 2, 3)
    assert gradcheck(lambda x, w: F(gradstep).conv1d(x, w, padding="same", dilation=2), (x, w))


def test_grad_only_where_required():
    x = gradstep.randn(2, 3, 6, 6)
    conv = gradstep.nn.Conv2d(3, 4, 3)
    conv(x).sum().backward()
    assert x.grad is None and conv.weight.grad is not None and conv.bias.grad is not None


@pytest.mark.parametrize("trained", ["weight+bias", "weight", "bias"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("in_ch,size", [(1, 20), (3, 10), (6, 12)])  # per image, one product, pixel rows
def test_weight_and_bias_grads_without_input_grad_match_torch(dtype, in_ch, size, trained):
    """A first layer (input needs no gradient) takes the paths that skip the input gradient."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, in_ch, size, size)).astype(dtype)
    w = rng.standard_normal((5, in_ch, 3, 3)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    g = rng.standard_normal((4, 5, size - 2, size - 2)).astype(dtype)
    flags = ("weight" in trained, "bias" in trained)
    ours = [gradstep.tensor(a, requires_grad=f) for a, f in zip((w, b), flags)]
    theirs = [torch.tensor(a, requires_grad=f) for a, f in zip((w, b), flags)]
    out = F(gradstep).conv2d(gradstep.tensor(x), *ours)
    ref = torch.nn.functional.conv2d(torch.tensor(x), *theirs)
    assert_close(out, ref, dtype)
    out.backward(gradstep.tensor(g))
    ref.backward(torch.tensor(g))
    for a, r, f, what in zip(ours, theirs, flags, ("weight grad", "bias grad")):
        if f:
            assert_close(a.grad, r.grad, dtype, what=what)
        else:
            assert a.grad is None


# ---------------------------------------------------------------- modules


def _twin(ours, theirs):
    """Copy our parameters into the torch module by name (state_dict keys must agree)."""
    sd = ours.state_dict()
    assert list(sd.keys()) == list(theirs.state_dict().keys())
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in sd.items()})


MODULES = [
    ("Conv2d", (4, 6, 3), dict(stride=2, padding=1), (2, 4, 9, 9)),
    ("Conv2d", (4, 6, (3, 2)), dict(padding="same", dilation=(2, 1), groups=2, bias=False),
     (2, 4, 7, 8)),
    ("Conv2d", (4, 6, 3), dict(padding=(1, 2), padding_mode="reflect"), (2, 4, 7, 8)),
    ("Conv2d", (4, 6, 3), dict(padding=2, padding_mode="replicate", stride=2), (4, 7, 8)),
    ("Conv2d", (4, 6, 3), dict(padding="same", padding_mode="circular"), (2, 4, 5, 6)),
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1), (2, 4, 9)),
    ("Conv1d", (4, 6, 4), dict(padding="same", padding_mode="circular", groups=2), (2, 4, 9)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 6, 3), dict(groups=2, dilation=2, bias=False), (4, 5, 5)),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2), (2, 4, 5)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kw,x_shape", MODULES)
def test_module_matches_torch(name, args, kw, x_shape, dtype):
    ours = getattr(gradstep.nn, name)(*args, **kw, dtype=getattr(gradstep, dtype))
    theirs = getattr(torch.nn, name)(*args, **kw, dtype=getattr(torch, dtype))
    assert repr(ours) == repr(theirs)
    _twin(ours, theirs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(dtype)
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(gx), theirs(tx)
    assert_close(out, tout, dtype, what="forward")
    g = rng.standard_normal(tuple(tout.shape)).astype(dtype)
    (out * gradstep.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    assert_close(gx.grad, tx.grad, dtype, what="input grad")
    tparams = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        assert_close(p.grad, tparams[pname].grad, dtype, what=f"{pname} grad")


def test_conv_transpose_output_size():
    ours, theirs = gradstep.nn.ConvTranspose2d(3, 2, 3, stride=2), torch.nn.ConvTranspose2d(
        3, 2, 3, stride=2)
    _twin(ours, theirs)
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 4)).astype("float32")
    out = ours(gradstep.tensor(x), output_size=[10, 9])
    assert_close(out, theirs(torch.tensor(x), output_size=[10, 9]), "float32")
    with pytest.raises(ValueError, match="requested an output size of"):
        ours(gradstep.tensor(x), output_size=[12, 9])


def test_default_init_follows_kaiming_uniform_rule():
    gradstep.manual_seed(0)
    conv = gradstep.nn.Conv2d(64, 128, 3)  # fan_in = 576
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    bound = 1 / math.sqrt(576)  # gain sqrt(2 / (1 + 5)) * sqrt(3 / fan_in)
    assert w.shape == (128, 64, 3, 3) and np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # uniform std = bound / sqrt(3)
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    t = gradstep.nn.ConvTranspose2d(8, 16, 3, groups=2)  # fan_in uses weight.shape[1] = 8
    assert np.abs(t.bias.detach().numpy()).max() <= 1 / math.sqrt(8 * 9)


# ---------------------------------------------------------------- errors


def _both_raise(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(gradstep)


def test_conv2d_wrong_rank_names_the_shape():
    _both_raise(lambda L: L.nn.Conv2d(3, 4, 3)(L.zeros(5, 8)), RuntimeError,
                r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of "
                r"size: \[5, 8\]")
    _both_raise(lambda L: L.nn.Conv1d(3, 4, 3)(L.zeros(1, 3, 8, 8)), RuntimeError,
                r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d, but got input of "
                r"size: \[1, 3, 8, 8\]")


def test_channel_mismatch_names_both_shapes():
    _both_raise(lambda L: L.nn.Conv2d(3, 4, 3)(L.zeros(1, 5, 8, 8)), RuntimeError,
                r"weight of size \[4, 3, 3, 3\], expected input\[1, 5, 8, 8\] to have 3 "
                r"channels, but got 5 channels instead")
    _both_raise(lambda L: L.nn.Conv2d(4, 4, 3, groups=2)(L.zeros(3, 8, 8)), RuntimeError,
                r"Given groups=2, weight of size \[4, 2, 3, 3\], expected input\[1, 3, 8, 8\] to "
                r"have 4 channels, but got 3 channels instead")
    _both_raise(lambda L: L.nn.ConvTranspose2d(3, 4, 3)(L.zeros(1, 4, 8, 8)), RuntimeError,
                r"Given transposed=1, weight of size \[3, 4, 3, 3\], expected input\[1, 4, 8, 8\] "
                r"to have 3 channels, but got 4 channels instead")


def test_other_conv_errors():
    _both_raise(lambda L: L.nn.Conv2d(3, 4, 3)(L.zeros(1, 3, 2, 2)), RuntimeError,
                r"Kernel size can't be greater than actual input size")
    _both_raise(lambda L: F(L).conv2d(L.zeros(1, 3, 8, 8), L.zeros(4, 3, 3, 3), L.zeros(5)),
                RuntimeError, r"expected bias to be 1-dimensional with 4 elements, but got bias "
                r"of size \[5\]")
    _both_raise(lambda L: F(L).conv2d(L.zeros(1, 3, 8, 8), L.zeros(4, 3, 3, 3), stride=2,
                                      padding="same"),
                RuntimeError, "padding='same' is not supported for strided convolutions")
    _both_raise(lambda L: F(L).conv2d(L.zeros(1, 3, 8, 8), L.zeros(4, 3, 3, 3),
                                      stride=(1, 1, 1)),
                RuntimeError, r"expected stride to be a single integer value or a list of 2 "
                r"values")
    _both_raise(lambda L: F(L).conv2d(L.zeros(1, 3, 8, 8), L.zeros(4, 3, 3, 3).double()),
                RuntimeError, "expected scalar type Float but found Double")
    _both_raise(lambda L: F(L).conv_transpose2d(L.zeros(1, 4, 8, 8), L.zeros(4, 2, 3, 3),
                                                output_padding=1),
                RuntimeError, "output padding must be smaller than either stride or dilation")
    _both_raise(lambda L: L.nn.Conv2d(3, 4, 3, groups=2), ValueError,
                "in_channels must be divisible by groups")
    _both_raise(lambda L: L.nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError,
                "padding='same' is not supported for strided convolutions")
    _both_raise(lambda L: L.nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"), ValueError,
                'Only "zeros" padding mode is supported for ConvTranspose2d')


def _small_cnn(nn):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2, bias=False), nn.GroupNorm(4, 16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))


def test_small_cnn_loads_torch_weights_by_name():
    torch.manual_seed(0)
    theirs, ours = _small_cnn(torch.nn), _small_cnn(gradstep.nn)
    tsd, osd = theirs.state_dict(), ours.state_dict()
    assert list(osd.keys()) == list(tsd.keys())
    assert [tuple(v.shape) for v in osd.values()] == [tuple(v.shape) for v in tsd.values()]
    ours.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tsd.items()})
    x = np.random.default_rng(0).standard_normal((4, 3, 12, 12)).astype("float32")
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, tout = ours(gx), theirs(tx)
        assert_close(out, tout, "float32", scale=10, what=f"{mode} output")
        out.sum().backward()
        tout.sum().backward()
        assert_close(gx.grad, tx.grad, "float32", scale=10, what=f"{mode} input grad")
    for (name, b), tb in zip(ours.named_buffers(), theirs.buffers()):
        assert_close(b, tb, "float32", what=name)


@pytest.mark.parametrize("name", ["Conv2d", "ConvTranspose2d"])
def test_empty_batch(name):
    x = gradstep.zeros(0, 3, 8, 8, requires_grad=True)
    layer = getattr(gradstep.nn, name)(3, 4, 3)
    y = layer(x)
    assert tuple(y.shape) == tuple(getattr(torch.nn, name)(3, 4, 3)(torch.zeros(0, 3, 8, 8)).shape)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 8, 8)
    assert not layer.weight.grad.numpy().any()


def test_non_contiguous_inputs():
    check(lambda L, x, w: F(L).conv2d(x.transpose(2, 3).flip(3), w, padding=1, stride=2),
          [(2, 3, 8, 9), (4, 3, 3, 3)])


def test_double_backward():
    rng = np.random.default_rng(4)

    def t(*shape):
        return gradstep.tensor(rng.standard_normal(shape), requires_grad=True)

    x, w, b = t(1, 4, 4, 5), t(4, 2, 2, 3), t(4)
    assert gradgradcheck(lambda x, w, b: F(gradstep).conv2d(x, w, b, stride=(2, 1), padding=(1, 2),
                                                            dilation=(1, 2), groups=2), (x, w, b))
    x, w, b = t(1, 4, 3, 3), t(4, 3, 3, 2), t(6)
    assert gradgradcheck(lambda x, w, b: F(gradstep).conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1, groups=2), (x, w, b))
    x, w = t(2, 2, 6), t(3, 2, 3)
    assert gradgradcheck(lambda x, w: F(gradstep).conv1d(x, w, padding="same", dilation=2),
                         (x, w))


def test_gradient_penalty_matches_torch():
    def fn(L, x, w):
        y = F(L).conv2d(x, w, padding=1, stride=2).tanh().sum()
        (gx,) = L.autograd.grad(y, (x,), create_graph=True)
        return (gx * gx).sum()

    check(fn, [(2, 3, 6, 6), (4, 3, 3, 3)], scale=10)  # float32: a second-order chain


@pytest.mark.parametrize("x_shape,kw", [((2, 3, 6, 7), dict(kernel_size=2)),
                                        ((2, 3, 7, 7), dict(kernel_size=(3, 2), dilation=(1, 2),
                                                            padding=1, stride=(2, 1))),
                                        ((3, 5, 5), dict(kernel_size=3, padding=1))])
def test_unfold_fold_match_torch(x_shape, kw):
    check(lambda L, x: F(L).unfold(x, **kw), [x_shape])
    cols = F(torch).unfold(torch.zeros(x_shape), **kw)
    check(lambda L, c: F(L).fold(c, x_shape[-2:], **kw), [tuple(cols.shape)])
    ours, theirs = gradstep.nn.Fold(x_shape[-2:], **kw), torch.nn.Fold(x_shape[-2:], **kw)
    assert repr(ours) == repr(theirs)
    assert repr(gradstep.nn.Unfold(**kw)) == repr(torch.nn.Unfold(**kw))


def test_fold_errors():
    _both_raise(lambda L: F(L).fold(L.zeros(2, 12, 15), (5, 5), 2), RuntimeError,
                r"expected size of input's dimension 2 to match the calculated number of sliding "
                r"blocks 4 \* 4 = 16, but got input.size\(2\)=15")
    _both_raise(lambda L: F(L).fold(L.zeros(2, 13, 16), (5, 5), 2), RuntimeError,
                r"Expected size of input's dimension 1 to be divisible by the product of "
                r"kernel_size, but got input.size\(1\)=13")
    _both_raise(lambda L: F(L).unfold(L.zeros(2, 3, 5, 5), 7), RuntimeError,
                "calculated shape of the array of sliding blocks")


def test_in_place_change_of_weight_before_backward_is_caught():
    conv = gradstep.nn.Conv2d(2, 3, 3)
    y = conv(gradstep.randn(1, 2, 5, 5))
    with gradstep.no_grad():
        conv.weight.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


GRID_CASES = [  # stride 1, one group, >= conv_shifts.GRID_MIN_CHANNELS input channels
    ((2, 16, 7, 8), (5, 16, 3, 3), dict(padding=1)),
    ((2, 16, 12, 12), (4, 16, 3, 3), dict(dilation=2, padding=2)),
    ((2, 16, 7, 8), (3, 16, 4, 2), dict(padding="same")),  # uneven padding
    ((2, 16, 6, 7), (3, 16, 2, 3), {}),
    ((3, 20, 5, 5), (6, 20, 1, 1), {}),
]


@pytest.mark.parametrize("x_shape,w_shape,kw", GRID_CASES)
def test_conv2d_input_grad_on_the_shifted_grid_matches_torch(monkeypatch, x_shape, w_shape, kw):
    from gradstep.nn._functional import conv_shifts

    calls = []
    real = conv_shifts.grid_input_grad
    monkeypatch.setattr(conv_shifts, "grid_input_grad", lambda *a: calls.append(1) or real(*a))
    check(lambda L, x, w, b: F(L).conv2d(x, w, b, **kw), [x_shape, w_shape, (w_shape[0],)])
    assert len(calls) == 2  # float32 and float64 both took the grid


@pytest.mark.parametrize("x_shape,w_shape,kw", GRID_CASES)
def test_the_grid_input_grad_equals_the_channels_first_one(monkeypatch, x_shape, w_shape, kw):
    """The same sums in another order: within a (C_out*kh*kw)-term sum's rounding."""
    from gradstep.nn._functional import conv_shifts

    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype("float32")
    w = rng.standard_normal(w_shape).astype("float32")

    def input_grad():
        t = gradstep.tensor(x, requires_grad=True)
        F(gradstep).conv2d(t, gradstep.tensor(w), **kw).square().sum().backward()
        return t.grad.numpy()

    grid = input_grad()
    monkeypatch.setattr(conv_shifts, "grid_usable", lambda *a: False)
    channels_first = input_grad()
    terms = w_shape[0] * w_shape[2] * w_shape[3]
    bound = 4 * terms * np.finfo(np.float32).eps * (np.abs(channels_first).max() + 1)
    assert np.abs(grid - channels_first).max() <= bound


def test_the_grid_input_grad_in_batch_chunks_and_conv1d_matches_torch(monkeypatch):
    from gradstep.nn._functional import conv

    monkeypatch.setattr(conv, "CHUNK_BYTES", 2 * 16 * 9 * 7 * 8 * 8)  # 2 images a chunk
    check(lambda L, x, w: F(L).conv2d(x, w, padding=1), [(5, 16, 7, 8), (4, 16, 3, 3)])
    check(lambda L, x, w: F(L).conv1d(x, w, padding=2, dilation=2), [(3, 16, 11), (4, 16, 3)])


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [0, 1, 2])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_conv_transpose_with_an_output_size_of_zero(nd, dt, batch, groups, k):
    # torch returns an empty output where its oneDNN kernel runs (float32, unless a batch of
    # one, one group and a small kernel) and raises "Output size is too small" elsewhere
    from tests.ops.fuzz_ops import disagreement

    rng = np.random.default_rng(0)
    shape = ((batch,) if batch else ()) + (4,) + (1,) * nd
    x = rng.standard_normal(shape).astype(dt)
    w = rng.standard_normal((4, 2) + (k,) * nd).astype(dt)
    for padding in range(4):  # output sizes 1 + k - 1 - 2 * padding: positive, 0, negative
        assert disagreement(lambda L, x, w, p=padding: getattr(
            L.nn.functional, f"conv_transpose{nd}d")(x, w, padding=p, groups=groups), x, w,
            tol="mm", n=40) is None


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 3, 5), (2, 0, 4), (2, 3, 4, 4),
                                   (0, 3, 4, 4)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "bool"])
def test_unfold_rank_empty_and_dtype_errors_as_torch(shape, dtype):
    """torch reads dims 1 and 2 first (IndexError), refuses empty non-batch dims, and its
    im2col kernel takes floating types and bool but not integers."""
    assert_same_outcome(lambda L: L.nn.functional.unfold(rand(L, shape, dtype), 2))


@pytest.mark.parametrize("dtype", ["float32", "int64", "int32", "bool"])
def test_fold_kernel_dtypes_as_torch(dtype):
    assert_same_outcome(lambda L: L.nn.functional.fold(rand(L, (2, 12, 9), dtype), (4, 4), 2))

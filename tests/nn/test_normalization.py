"""LayerNorm, GroupNorm, RMSNorm (functional and modules) against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_close, check


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

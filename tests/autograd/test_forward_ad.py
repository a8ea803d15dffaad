"""torch.autograd.forward_ad (dual tensors) against torch's forward AD and finite differences.

Tolerance: float64 1e-10 relative against torch (gradstep's tangent is J t summed by two
reverse passes, torch's by forward rules: the same products, another order). Against
central differences with h = 1e-6 the truncation error is O(h^2 |f'''|) ~ 1e-12 and the
rounding error O(eps |f| / h) ~ 1e-10, so 1e-7 relative is a safe bound.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close


def _arr(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


def _ops():
    return {
        "sin_exp": lambda L, x, y: (x.sin() * y.exp()).sum(0),
        "matmul_tanh": lambda L, x, y: L.tanh(x @ y.T),
        "softmax_logsumexp": lambda L, x, y: x.softmax(-1) + y.logsumexp(1, keepdim=True),
        "div_pow_sqrt": lambda L, x, y: x / (y * y + 1).sqrt() + x ** 3,
        "shape_ops": lambda L, x, y: L.cat([x.T.reshape(-1), y[1:, ::2].flip(0).reshape(-1)]),
        "where_max": lambda L, x, y: L.where(x > 0, x * y, L.maximum(x, y)).max(1).values,
        "norm_cumsum_prod": lambda L, x, y: x.norm() * y.cumsum(1) + x.prod(0),
        "inv_det": lambda L, x, y: L.linalg.inv(x[:, :3] + 3 * L.eye(3, dtype=x.dtype)).det(),
        "cross_entropy": lambda L, x, y: L.nn.functional.cross_entropy(x, y.softmax(1)),
    }


def _jvp(lib, name, xs, ts):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        duals = [fwAD.make_dual(lib.tensor(x), lib.tensor(t)) for x, t in zip(xs, ts)]
        return fwAD.unpack_dual(_ops()[name](lib, *duals))


@pytest.mark.parametrize("name", sorted(_ops()))
def test_tangents_match_torch_and_finite_differences(name):
    xs = [_arr(3, 4, seed=0), _arr(3, 4, seed=1)]
    ts = [_arr(3, 4, seed=2), _arr(3, 4, seed=3)]
    ours, theirs = _jvp(gradstep, name, xs, ts), _jvp(torch, name, xs, ts)
    assert_close(ours.primal, theirs.primal, "float64")
    assert_close(ours.tangent, theirs.tangent, "float64")
    assert ours.primal.requires_grad is theirs.primal.requires_grad is False
    h = 1e-6
    f = _ops()[name]
    up = f(torch, *[torch.tensor(x + h * t) for x, t in zip(xs, ts)])
    down = f(torch, *[torch.tensor(x - h * t) for x, t in zip(xs, ts)])
    np.testing.assert_allclose(ours.tangent.numpy(), ((up - down) / (2 * h)).numpy(),
                               rtol=1e-7, atol=1e-7)


def _mlp_jvp(lib):
    """Forward AD through a module: dual parameters via functional_call (torch's tutorial)."""
    fwAD = lib.autograd.forward_ad
    lib.manual_seed(1)
    net = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.GELU(), lib.nn.Linear(8, 2)).double()
    x = lib.tensor(_arr(5, 4))
    params = dict(net.named_parameters())
    tangents = {k: lib.tensor(_arr(*v.shape, seed=i)) for i, (k, v) in enumerate(params.items())}
    with fwAD.dual_level():
        duals = {k: fwAD.make_dual(v, tangents[k]) for k, v in params.items()}
        out = lib.func.functional_call(net, duals, (x,))
        primal, tangent = fwAD.unpack_dual(out)
        # the tangent is differentiable with respect to the parameters, as torch's is
        tangent.pow(2).sum().backward()
    return primal, tangent, [p.grad for p in net.parameters()]


def test_small_mlp_with_dual_parameters_matches_torch():
    ours, theirs = _mlp_jvp(gradstep), _mlp_jvp(torch)
    assert_close(ours[0], theirs[0], "float64")
    assert_close(ours[1], theirs[1], "float64")
    for a, b in zip(ours[2], theirs[2]):  # the last bias does not reach the tangent: None
        assert (a is None) == (b is None)
        if b is not None:
            assert_close(a, b, "float64")


def _semantics(lib):
    fwAD = lib.autograd.forward_ad
    x, v = lib.tensor([0.5, -1.0, 2.0]), lib.tensor([1.0, 2.0, 3.0])
    outside = fwAD.unpack_dual(x)
    with fwAD.dual_level() as level:
        d = fwAD.make_dual(x, v)
        own = fwAD.unpack_dual(d)
        plain = fwAD.unpack_dual(lib.ones(3) * 2)
        cut = fwAD.unpack_dual(d.detach() * 2)
        zero = fwAD.unpack_dual(d * 0)
        y = lib.zeros(3)
        y.add_(d * 3)  # in place into a plain tensor: it becomes dual
        into = fwAD.unpack_dual(y)
        o = d.exp()
    after = fwAD.unpack_dual(o)
    return dict(level=level, outside=outside.tangent is None and outside.primal is x,
                own_is_v=own.tangent is v, own_primal=own.primal, plain=plain.tangent,
                cut=cut.tangent, zero=zero.tangent, into=into.tangent, after=after.tangent,
                kind=type(own).__name__, fields=type(own)._fields)


def test_level_and_unpack_semantics_like_torch():
    ours, theirs = _semantics(gradstep), _semantics(torch)
    for k in ("level", "outside", "own_is_v", "plain", "cut", "after", "kind", "fields"):
        assert ours[k] == theirs[k] if theirs[k] is not None else ours[k] is None, k
    for k in ("own_primal", "zero", "into"):
        assert_close(ours[k], theirs[k], "float32")


@pytest.mark.parametrize("lib", [gradstep, torch], ids=["gradstep", "torch"])
def test_dual_level_as_decorator_and_enter_exit(lib):
    fwAD = lib.autograd.forward_ad

    @fwAD.dual_level()
    def tangent_of_exp(x):
        return fwAD.unpack_dual(fwAD.make_dual(x, lib.ones(2)).exp()).tangent

    assert tangent_of_exp(lib.zeros(2)).tolist() == [1.0, 1.0]
    level = fwAD.enter_dual_level()
    fwAD.exit_dual_level(level=level)
    assert fwAD.enter_dual_level() == 0
    fwAD.exit_dual_level()


def _errors():
    def in_level(fn):
        def run(lib):
            with lib.autograd.forward_ad.dual_level():
                return fn(lib, lib.autograd.forward_ad)
        return run

    def exit_other(lib):
        fwAD = lib.autograd.forward_ad
        fwAD.enter_dual_level()
        try:
            fwAD.exit_dual_level(level=2)
        finally:
            fwAD.exit_dual_level()

    return {
        "outside_level": lambda lib: lib.autograd.forward_ad.make_dual(lib.ones(3), lib.ones(3)),
        "nested": in_level(lambda lib, f: f.enter_dual_level()),
        "shape": in_level(lambda lib, f: f.make_dual(lib.ones(2, 3), lib.ones(3))),
        "int_primal": in_level(lambda lib, f: f.make_dual(lib.arange(3), lib.ones(3))),
        "int_tangent": in_level(lambda lib, f: f.make_dual(lib.ones(3), lib.arange(3))),
        "dual_of_dual": in_level(lambda lib, f: f.make_dual(f.make_dual(lib.ones(3),
                                                                        lib.ones(3)),
                                                            lib.ones(3))),
        "dual_of_result": in_level(lambda lib, f: f.make_dual(
            f.make_dual(lib.ones(3), lib.ones(3)) * 2, lib.ones(3))),
        "bad_level": in_level(lambda lib, f: f.make_dual(lib.ones(3), lib.ones(3), level=5)),
        "exit_none": lambda lib: lib.autograd.forward_ad.exit_dual_level(),
        "exit_other": exit_other,
    }


@pytest.mark.parametrize("name", sorted(_errors()))
def test_errors_like_torch(name):
    call = _errors()[name]
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(gradstep)
    assert str(ours.value).replace("gradstep.", "torch.") == str(theirs.value)
    assert gradstep.autograd.forward_ad._current_level == -1  # every level was exited


def _custom_function_tangent(lib):
    """A Function written for both modes (save_for_forward + jvp); gradstep's tangent goes
    through its backward, torch's through its jvp: the same J t."""

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 3 * x * x * t

    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(lib.tensor(_arr(4)), lib.tensor(_arr(4, seed=1)))
        return fwAD.unpack_dual(Cube.apply(d)).tangent


def test_custom_function_with_save_for_forward():
    assert_close(_custom_function_tangent(gradstep), _custom_function_tangent(torch), "float64")


# ---------------------------------------------------------------- torch's dual semantics
def _dual_flags(lib):
    """requires_grad / grad_fn of duals and of their results, for a plain and a leaf primal."""
    fwAD = lib.autograd.forward_ad
    plain, leaf = lib.tensor(_arr(3)), lib.tensor(_arr(3, seed=1), requires_grad=True)
    with fwAD.dual_level():
        out = []
        for x in (plain, leaf):
            d = fwAD.make_dual(x, lib.ones(3, dtype=x.dtype))
            y = (d * 2).sin()
            out.append((d.requires_grad, d.grad_fn is None, d.is_leaf, y.requires_grad,
                        y.grad_fn is None))
        return out


def test_dual_of_plain_tensor_does_not_require_grad_like_torch():
    assert _dual_flags(gradstep) == _dual_flags(torch)


def _no_grad_tangents(lib):
    """torch keeps propagating forward-mode tangents under no_grad."""
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(lib.tensor(_arr(2, 3)), lib.tensor(_arr(2, 3, seed=1)))
        with lib.no_grad():
            y = (d.exp() @ d.T).tanh()
            z = lib.zeros(2, 2)
            z.add_(y)  # in place into a plain tensor under no_grad: it takes the tangent
        return [fwAD.unpack_dual(t).tangent for t in (y, z)] + [y.requires_grad]


def test_tangents_propagate_under_no_grad_like_torch():
    ours, theirs = _no_grad_tangents(gradstep), _no_grad_tangents(torch)
    for a, b in zip(ours[:2], theirs[:2]):
        assert_close(a, b, "float64")
    assert ours[2] is theirs[2] is False


def _aliasing(lib):
    """make_dual gives a view of the primal: in-place writes show through, both ways."""
    fwAD = lib.autograd.forward_ad
    x = lib.tensor([1.0, 2.0, 3.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, lib.tensor([1.0, 0.5, 0.0]))
        x.add_(1)
        seen = d.tolist()
        versions = (d._version, x._version)
        d.mul_(2)  # changes x and scales the tangent
        after = (x.tolist(), fwAD.unpack_dual(d).tangent.tolist())
        d.sin_()
        sin_tangent = fwAD.unpack_dual(d).tangent
    return seen, versions, after, sin_tangent


def test_make_dual_aliases_the_primal_like_torch():
    ours, theirs = _aliasing(gradstep), _aliasing(torch)
    assert ours[:3] == theirs[:3]
    assert_close(ours[3], theirs[3], "float32")


def _repr_and_dtypes(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 0.0]))
        mixed = fwAD.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 0.0], dtype=lib.float64))
        texts = [repr(d), repr(d * 2), repr(fwAD.make_dual(lib.tensor(1.5), lib.tensor(2.0)))]
    return ([t.replace("gradstep.", "torch.") for t in texts] + [repr(d)],
            fwAD.unpack_dual(d, level=0), mixed.dtype)


def test_dual_repr_and_unpack_outside_level_like_torch():
    ours, theirs = _repr_and_dtypes(gradstep), _repr_and_dtypes(torch)
    assert ours[0] == theirs[0]
    assert ours[1].tangent is None and theirs[1].tangent is None
    assert ours[1].primal.tolist() == theirs[1].primal.tolist()
    assert str(ours[2]).split(".")[-1] == str(theirs[2]).split(".")[-1]


def test_forward_ad_hooks_are_gone_after_the_level():
    from gradstep.autograd import function

    fwAD = gradstep.autograd.forward_ad
    with fwAD.dual_level():
        assert function._op_hook is not None
    assert function._op_hook is None and function._fn_hook is None

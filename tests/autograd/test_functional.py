"""autograd.functional (vjp, jvp, jacobian, hessian, vhp, hvp) against torch.

Tolerance: the oracle's (float64 1e-10, float32 1e-5 relative) scaled by 10 for the second-order
results, which go through two backward passes of a handful of elementwise ops and a matmul.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

DT = ["float32", "float64"]


def f_single(L, x):
    return (x.sin() * x).sum(-1) + x.exp()[..., 0]


def f_multi(L, x, y):
    return (x @ y).tanh(), (x * x).sum() + y.cos().sum()


def f_scalar(L, x, y):
    return (x.sin() * (x @ y).sum()).sum() + (y ** 3).sum()


def _args(dtype, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1, 1, s).astype(dtype) for s in shapes]
    return [gradstep.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def _cmp(ours, theirs, dtype, scale=1.0):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _cmp(a, b, dtype, scale)
        return
    assert_close(ours, theirs, dtype, scale)


def _both(name, fn, dtype, shapes, tuple_inputs=True, v_shapes=None, **kw):
    (g_in, t_in) = _args(dtype, *shapes)
    gi = tuple(g_in) if tuple_inputs else g_in[0]
    ti = tuple(t_in) if tuple_inputs else t_in[0]
    extra_g, extra_t = (), ()
    if v_shapes is not None:
        gv, tv = _args(dtype, *v_shapes, seed=1)
        extra_g = (tuple(gv) if len(gv) > 1 or tuple_inputs and name in "hvp vhp jvp" else gv[0],)
        extra_t = (tuple(tv) if len(tv) > 1 or tuple_inputs and name in "hvp vhp jvp" else tv[0],)
    ours = getattr(gradstep.autograd.functional, name)(
        lambda *a: fn(gradstep, *a), gi, *extra_g, **kw)
    theirs = getattr(torch.autograd.functional, name)(lambda *a: fn(torch, *a), ti, *extra_t, **kw)
    return ours, theirs


@pytest.mark.parametrize("dtype", DT)
def test_jacobian_single_and_multi(dtype):
    ours, theirs = _both("jacobian", f_single, dtype, [(2, 3)], tuple_inputs=False)
    _cmp(ours, theirs, dtype)
    ours, theirs = _both("jacobian", f_multi, dtype, [(2, 3), (3, 2)])
    _cmp(ours, theirs, dtype)
    ours, theirs = _both("jacobian", f_multi, dtype, [(2, 3), (3, 2)], vectorize=True)
    _cmp(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", DT)
def test_hessian(dtype):
    ours, theirs = _both("hessian", f_scalar, dtype, [(2, 3), (3, 2)])
    _cmp(ours, theirs, dtype, 10)
    ours, theirs = _both("hessian", lambda L, x: (x.sin() * x).sum(), dtype, [(4,)],
                         tuple_inputs=False)
    _cmp(ours, theirs, dtype, 10)


@pytest.mark.parametrize("dtype", DT)
def test_vjp_and_jvp(dtype):
    ours, theirs = _both("vjp", f_multi, dtype, [(2, 3), (3, 2)], v_shapes=[(2, 2), ()])
    _cmp(ours, theirs, dtype)
    ours, theirs = _both("jvp", f_multi, dtype, [(2, 3), (3, 2)], v_shapes=[(2, 3), (3, 2)])
    _cmp(ours, theirs, dtype)
    ours, theirs = _both("vjp", lambda L, x: (x * x).sum(), dtype, [(3,)], tuple_inputs=False)
    _cmp(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("name", ["hvp", "vhp"])
def test_hvp_vhp(dtype, name):
    ours, theirs = _both(name, f_scalar, dtype, [(2, 3), (3, 2)], v_shapes=[(2, 3), (3, 2)])
    _cmp(ours, theirs, dtype, 10)


def test_create_graph_lets_the_result_be_differentiated():
    (gx,), (tx,) = _args("float64", (3,))
    gx.requires_grad_(True)
    tx.requires_grad_(True)
    gj = gradstep.autograd.functional.jacobian(lambda x: x.sin() * x, gx, create_graph=True)
    tj = torch.autograd.functional.jacobian(lambda x: x.sin() * x, tx, create_graph=True)
    assert gj.requires_grad
    gj.sum().backward()
    tj.sum().backward()
    assert_close(gx.grad, tx.grad, "float64")
    h = gradstep.autograd.functional.hessian(lambda x: x.sum(), gx)  # linear: zero Hessian
    np.testing.assert_array_equal(h.numpy(), np.zeros((3, 3)))


def test_unused_input_zero_or_strict_error():
    (gx, gy), _ = _args("float64", (3,), (2,))
    F = gradstep.autograd.functional
    jac = F.jacobian(lambda x, y: x * 2, (gx, gy))
    np.testing.assert_array_equal(jac[1].numpy(), np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.jacobian(lambda x, y: x * 2, (gx, gy), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        torch.autograd.functional.jacobian(lambda x, y: x * 2, (torch.ones(3), torch.ones(2)),
                                           strict=True)
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(lambda x: x * 2, gx)
    with pytest.raises(RuntimeError, match="v has invalid size"):
        F.vjp(lambda x: x * 2, gx, gradstep.ones(4, dtype=gradstep.float64))
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        F.jacobian(lambda x: x, [gx])


def _fwd_cmp(ours, theirs, dtype):
    """Like ``_cmp``, but torch's forward-mode path returns lists where reverse mode returns
    tuples: the container types must match too."""
    if isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _fwd_cmp(a, b, dtype)
        return
    assert_close(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("tuple_inputs", [True, False])
def test_forward_mode_jacobian_and_hessian_match_torch(dtype, tuple_inputs):
    fn = f_multi if tuple_inputs else f_single
    shapes = [(2, 3), (3, 2)] if tuple_inputs else [(2, 3)]
    ours, theirs = _both("jacobian", fn, dtype, shapes, tuple_inputs=tuple_inputs,
                         vectorize=True, strategy="forward-mode")
    _fwd_cmp(ours, theirs, dtype)
    ours, theirs = _both("hessian", f_scalar, dtype, [(2, 3), (3, 2)], vectorize=True,
                         outer_jacobian_strategy="forward-mode")
    _fwd_cmp(ours, theirs, dtype)


def _refusals():
    x = "L.ones(3)"
    return {
        "fwd_not_vectorized": f"F.jacobian(lambda a: a * 2, {x}, strategy='forward-mode')",
        "fwd_strict": f"F.jacobian(lambda a: a * 2, {x}, vectorize=True, strict=True, "
                      "strategy='forward-mode')",
        "fwd_create_graph": f"F.jacobian(lambda a: a * 2, {x}, vectorize=True, create_graph=True,"
                            " strategy='forward-mode')",
        "hessian_fwd_not_vectorized": f"F.hessian(lambda a: (a ** 3).sum(), {x}, "
                                      "outer_jacobian_strategy='forward-mode')",
        "strict_and_vectorize": f"F.jacobian(lambda a: a * a, {x}, vectorize=True, strict=True)",
        "hvp_strict_linear": f"F.hvp(lambda a: a.sum() * 2, {x}, L.ones(3), strict=True)",
        "vhp_strict_linear": f"F.vhp(lambda a: a.sum() * 2, {x}, L.ones(3), strict=True)",
    }


@pytest.mark.parametrize("name", sorted(_refusals()))
def test_refusals_like_torch(name):
    code = _refusals()[name]
    with pytest.raises(Exception) as theirs:
        eval(code, {"F": torch.autograd.functional, "L": torch})
    with pytest.raises(type(theirs.value)) as ours:
        eval(code, {"F": gradstep.autograd.functional, "L": gradstep})
    assert str(ours.value) == str(theirs.value)

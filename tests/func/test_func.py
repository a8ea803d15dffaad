"""torch.func (functional_call, grad, grad_and_value, vjp, jacrev, vmap) and
nn.utils.stateless.functional_call against torch.

Tolerance: the oracle's (float64 1e-10, float32 1e-5 relative), x10 for the nested second
derivatives (two backward passes through a few elementwise ops).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

DT = ["float32", "float64"]


def _t(arr):
    return gradstep.tensor(arr), torch.tensor(arr)


def _rand(dtype, *shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def _cmp(a, b, dtype, scale=1.0):
    if isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _cmp(x, y, dtype, scale)
    elif isinstance(b, dict):
        assert sorted(a) == sorted(b)
        for k in b:
            _cmp(a[k], b[k], dtype, scale)
    else:
        assert_close(a, b, dtype, scale)


def loss(L, x, y):
    return ((x.sin() * y).sum() + (x * x).sum() * y.sum()).tanh()


@pytest.mark.parametrize("dtype", DT)
def test_grad_argnums_aux_and_value(dtype):
    (gx, tx), (gy, ty) = _t(_rand(dtype, 3)), _t(_rand(dtype, 3, seed=1))
    for argnums in (0, 1, (0, 1)):
        g = gradstep.func.grad(lambda x, y: loss(gradstep, x, y), argnums=argnums)(gx, gy)
        t = torch.func.grad(lambda x, y: loss(torch, x, y), argnums=argnums)(tx, ty)
        _cmp(g, t, dtype)
    g = gradstep.func.grad_and_value(lambda x, y: (loss(gradstep, x, y), x * 2),
                                     has_aux=True)(gx, gy)
    t = torch.func.grad_and_value(lambda x, y: (loss(torch, x, y), x * 2), has_aux=True)(tx, ty)
    _cmp(g, t, dtype)
    assert not g[0].requires_grad and not g[1][0].requires_grad


@pytest.mark.parametrize("dtype", DT)
def test_nested_grad_and_dict_inputs(dtype):
    (gx, tx) = _t(_rand(dtype, 4))

    def inner(L):
        return lambda x: (x.sin() * x).sum()

    gg = gradstep.func.grad(lambda x: gradstep.func.grad(inner(gradstep))(x).sum())(gx)
    tg = torch.func.grad(lambda x: torch.func.grad(inner(torch))(x).sum())(tx)
    _cmp(gg, tg, dtype, 10)
    gd = gradstep.func.grad(lambda p: (p["a"] * p["b"].exp()).sum())({"a": gx, "b": gx * 2})
    td = torch.func.grad(lambda p: (p["a"] * p["b"].exp()).sum())({"a": tx, "b": tx * 2})
    _cmp(gd, td, dtype)


@pytest.mark.parametrize("dtype", DT)
def test_vjp_and_jacrev(dtype):
    (gx, tx), (gy, ty) = _t(_rand(dtype, 2, 3)), _t(_rand(dtype, 3, seed=1))

    def f(L):
        return lambda x, y: ((x @ y).sin(), x.exp())

    gout, gfn = gradstep.func.vjp(f(gradstep), gx, gy)
    tout, tfn = torch.func.vjp(f(torch), tx, ty)
    _cmp(gout, tout, dtype)
    c = [_rand(dtype, 2, seed=2), _rand(dtype, 2, 3, seed=3)]
    _cmp(gfn((gradstep.tensor(c[0]), gradstep.tensor(c[1]))),
         tfn((torch.tensor(c[0]), torch.tensor(c[1]))), dtype)
    for argnums in (0, (0, 1)):
        _cmp(gradstep.func.jacrev(f(gradstep), argnums=argnums)(gx, gy),
             torch.func.jacrev(f(torch), argnums=argnums)(tx, ty), dtype)


@pytest.mark.parametrize("dtype", DT)
def test_vmap_matches_torch(dtype):
    (ga, ta), (gb, tb) = _t(_rand(dtype, 5, 3)), _t(_rand(dtype, 3, 5, seed=1))

    def f(a, b):
        return (a * b).sum(), a.sin()

    g = gradstep.func.vmap(f, in_dims=(0, 1), out_dims=(0, 1))(ga, gb)
    t = torch.func.vmap(f, in_dims=(0, 1), out_dims=(0, 1))(ta, tb)
    _cmp(g, t, dtype)
    g = gradstep.func.vmap(lambda a, b: a @ b, in_dims=(0, None))(ga, gb)
    t = torch.func.vmap(lambda a, b: a @ b, in_dims=(0, None))(ta, tb)
    _cmp(g, t, dtype)
    # per-sample gradients: vmap over grad
    g = gradstep.func.vmap(gradstep.func.grad(lambda a: (a.sin() ** 2).sum()))(ga)
    t = torch.func.vmap(torch.func.grad(lambda a: (a.sin() ** 2).sum()))(ta)
    _cmp(g, t, dtype)
    with pytest.raises(ValueError):
        gradstep.func.vmap(f)(ga, gradstep.ones(4, 3))


@pytest.mark.parametrize("dtype", DT)
def test_functional_call_per_sample_gradient_and_restore(dtype):
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    gm = gradstep.nn.Sequential(gradstep.nn.Linear(3, 4), gradstep.nn.Tanh(),
                                gradstep.nn.Linear(4, 2))
    tm, gm = tm.to(getattr(torch, dtype)), gm.to(getattr(gradstep, dtype))
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    gx, tx = _t(_rand(dtype, 6, 3))
    gp = {k: v.detach() * 0.5 for k, v in gm.named_parameters()}
    tp = {k: v.detach() * 0.5 for k, v in tm.named_parameters()}

    def gloss(p, x):
        return gradstep.func.functional_call(gm, p, (x.unsqueeze(0),)).pow(2).sum()

    def tloss(p, x):
        return torch.func.functional_call(tm, p, (x.unsqueeze(0),)).pow(2).sum()

    _cmp(gradstep.func.vmap(gradstep.func.grad(gloss), in_dims=(None, 0))(gp, gx),
         torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0))(tp, tx), dtype)
    # the module's own parameters are back in place
    _cmp(gm(gx), tm(tx), dtype)
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        out = gradstep.nn.utils.stateless.functional_call(gm, {"0.weight": gp["0.weight"]}, gx)
    with pytest.warns(FutureWarning):
        tout = torch.nn.utils.stateless.functional_call(tm, {"0.weight": tp["0.weight"]}, tx)
    _cmp(out, tout, dtype)
    with pytest.raises(RuntimeError, match="Missing key"):
        gradstep.func.functional_call(gm, {"0.weight": gp["0.weight"]}, gx, strict=True)


def test_functional_call_names_every_repeated_key_like_torch():
    messages = []
    for lib in (torch, gradstep):
        net = lib.nn.Linear(2, 1)
        p = dict(net.named_parameters())
        with pytest.raises(ValueError) as info:
            lib.func.functional_call(net, (p, dict(p)), (lib.ones(1, 2),))
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def _pinn_weight_grads(lib, transform):
    """A PINN written with torch.func: the loss is built from derivatives w.r.t. the inputs,
    and must train the weights passed in another argument (or closed over)."""
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(2, 8), lib.nn.Tanh(), lib.nn.Linear(8, 1))
    params = dict(model.named_parameters())
    pts = lib.rand(5, 2)

    def u(p, x):
        return lib.func.functional_call(model, p, (x.unsqueeze(0),)).squeeze()

    if transform == "vmap_hessian":
        d = lib.func.vmap(lib.func.hessian(u, argnums=1), in_dims=(None, 0))(params, pts)
        loss = d.diagonal(dim1=-2, dim2=-1).sum(-1).pow(2).mean()
    elif transform == "jacrev_closure":
        loss = lib.func.jacrev(lambda x: model(x).sum())(pts).pow(2).sum()
    elif transform == "grad_other_arg":
        loss = lib.func.vmap(lib.func.grad(u, argnums=1), in_dims=(None, 0))(params, pts).sum()
    elif transform == "vjp":
        out, fn = lib.func.vjp(lambda x: u(params, x), pts[0])
        loss = fn(lib.ones_like(out))[0].sum() + out
    else:
        out, tangent = lib.func.jvp(lambda x: u(params, x), (pts[0],), (lib.ones(2),))
        loss = tangent + out
    loss.backward()
    return [loss.detach().numpy()] + [None if p.grad is None else p.grad.numpy()
                                      for p in model.parameters()]


@pytest.mark.parametrize("transform", ["vmap_hessian", "jacrev_closure", "grad_other_arg",
                                       "vjp", "jvp"])
def test_transform_results_stay_differentiable_for_weights_like_torch(transform):
    theirs = _pinn_weight_grads(torch, transform)
    ours = _pinn_weight_grads(gradstep, transform)
    assert [a is None for a in ours] == [b is None for b in theirs]
    for a, b in zip(ours, theirs):
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lib", [torch, gradstep], ids=["torch", "gradstep"])
def test_transform_results_need_no_grad_when_nothing_outside_does(lib):
    x = lib.tensor([0.5, 1.5])
    w = lib.tensor([2.0, 3.0])  # closed over, but no grad wanted
    g = lib.func.grad(lambda v: (v.sin() * w).sum())(x)
    h = lib.func.hessian(lambda v: (v ** 3 * w).sum())(x)
    out, tangent = lib.func.jvp(lambda v: v.exp() * w, (x,), (lib.ones(2),))
    assert not any(t.requires_grad for t in (g, h, out, tangent))


def _aux_results(lib):
    x = lib.tensor([0.5, -1.0, 2.0])
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    F = lib.func
    return {
        "grad": F.grad(lambda a: ((a * w).sum(), {"y": a.sin()}), has_aux=True)(x)[1]["y"],
        "vjp": F.vjp(lambda a: (a.sin(), a.cos()), x, has_aux=True)[2],
        "vjp_outside": F.vjp(lambda a: (a.sin(), a * w), x, has_aux=True)[2],
        "jacrev": F.jacrev(lambda a: (a.sin(), a.exp()), has_aux=True)(x)[1],
        "jacfwd": F.jacfwd(lambda a: (a.sin(), a.exp()), has_aux=True)(x)[1],
        "jvp": F.jvp(lambda a: (a.exp(), [a.cos()]), (x,), (lib.ones(3),), has_aux=True)[2][0],
    }


def test_aux_outputs_are_detached_unless_they_need_the_caller_graph_like_torch():
    ours, theirs = _aux_results(gradstep), _aux_results(torch)
    for k in theirs:
        assert ours[k].requires_grad == theirs[k].requires_grad, k
        assert_close(ours[k], theirs[k], "float32")


@pytest.mark.parametrize("transform", ["grad", "vjp", "jacrev", "jvp"])
def test_non_tensor_aux_is_refused_like_torch(transform):
    def call(lib):
        x, F = lib.ones(3), lib.func
        f = lambda a: (a.sin().sum(), 3)  # noqa: E731
        if transform == "vjp":
            return F.vjp(f, x, has_aux=True)
        if transform == "jvp":
            return F.jvp(f, (x,), (x,), has_aux=True)
        return getattr(F, transform)(f, has_aux=True)(x)

    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gradstep)
    assert str(ours.value) == str(theirs.value)


def test_per_sample_gradients_with_buffers_like_torch_tutorial():
    def run(lib):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6).eval(),
                                lib.nn.Linear(6, 3)).double()
        params = {k: v.detach() for k, v in net.named_parameters()}
        buffers = {k: v.detach() for k, v in net.named_buffers()}

        def loss(p, b, x, y):
            out = lib.func.functional_call(net, (p, b), (x.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, y.unsqueeze(0))

        x = lib.tensor(_rand("float64", 5, 4))
        y = lib.tensor([0, 2, 1, 1, 0])
        return lib.vmap(lib.func.grad(loss), in_dims=(None, None, 0, 0))(params, buffers, x, y)

    ours, theirs = run(gradstep), run(torch)
    _cmp(ours, theirs, "float64")

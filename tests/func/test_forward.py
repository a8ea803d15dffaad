"""torch.func's jvp, linearize, jacfwd, hessian and its module helpers, against torch.

jvp here is the double-vjp trick and torch's is forward mode: the same products of the same
derivatives, summed in another order, so they agree to a few ulps (float64 1e-12, float32 1e-5
relative on these O(1) functions). Checked with finite differences too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

DT = ["float32", "float64"]
TOL = {"float32": 1e-5, "float64": 1e-12}


def _pair(arr):
    return gradstep.tensor(arr), torch.tensor(arr)


def _rand(dtype, *shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def _close(ours, theirs, dtype):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                               rtol=TOL[dtype], atol=TOL[dtype])


def _f(L):
    return lambda x, y: ((x * y).sin() + x.exp() * y.tanh(), (x ** 2).sum())


@pytest.mark.parametrize("dtype", DT)
def test_jvp_matches_torch_and_finite_differences(dtype):
    (xg, xt), (yg, yt) = _pair(_rand(dtype, 3, 2)), _pair(_rand(dtype, 3, 2, seed=1))
    (ug, ut), (vg, vt) = _pair(_rand(dtype, 3, 2, seed=2)), _pair(_rand(dtype, 3, 2, seed=3))
    out_g, tan_g = gradstep.func.jvp(_f(gradstep), (xg, yg), (ug, vg))
    out_t, tan_t = torch.func.jvp(_f(torch), (xt, yt), (ut, vt))
    for a, b in zip(out_g + tan_g, out_t + tan_t):
        _close(a, b, dtype)
    if dtype == "float64":  # central differences along the tangent
        h = 1e-6
        plus = _f(gradstep)(xg + h * ug, yg + h * vg)
        minus = _f(gradstep)(xg - h * ug, yg - h * vg)
        for t, p, m in zip(tan_g, plus, minus):
            np.testing.assert_allclose(t.numpy(), ((p - m) / (2 * h)).numpy(), rtol=1e-7,
                                       atol=1e-8)


def test_jvp_has_aux_and_output_independent_of_input():
    x = gradstep.ones(2)
    out, tan, aux = gradstep.func.jvp(lambda a: (a * 3, gradstep.zeros(2)), (x,),
                                      (gradstep.ones(2),), has_aux=True)
    assert tan.tolist() == [3.0, 3.0] and aux.tolist() == [0.0, 0.0]
    out, tan = gradstep.func.jvp(lambda a: gradstep.ones(2), (x,), (gradstep.ones(2),))
    assert tan.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("call", [
    lambda L: L.func.jvp(lambda x: x, L.ones(2), (L.ones(2),)),
    lambda L: L.func.jvp(lambda x: x, (L.ones(2),), (L.ones(3),)),
    lambda L: L.func.jvp(lambda x: x, (L.ones(2),), [L.ones(2)]),
    lambda L: L.func.jvp(lambda x: x, (L.ones(2),), (L.ones(2), L.ones(2))),
])
def test_jvp_errors_like_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gradstep)
    assert str(ours.value).split(" Got ")[0] == str(theirs.value).split(" Got ")[0]


@pytest.mark.parametrize("dtype", DT)
def test_linearize_jacfwd_hessian_match_torch(dtype):
    (xg, xt), (ug, ut) = _pair(_rand(dtype, 4)), _pair(_rand(dtype, 4, seed=5))

    def f(L):
        return lambda x: (x.sin() * x.cumsum(0)).exp()

    out_g, fn_g = gradstep.func.linearize(f(gradstep), xg)
    out_t, fn_t = torch.func.linearize(f(torch), xt)
    _close(out_g, out_t, dtype)
    _close(fn_g(ug), fn_t(ut), dtype)
    _close(gradstep.func.jacfwd(f(gradstep))(xg), torch.func.jacfwd(f(torch))(xt), dtype)

    def scalar(L):
        return lambda x, w: (x.tanh() * w).pow(3).sum()

    (wg, wt) = _pair(_rand(dtype, 4, seed=6))
    for argnums in (0, 1, (0, 1)):
        hg = gradstep.func.hessian(scalar(gradstep), argnums)(xg, wg)
        ht = torch.func.hessian(scalar(torch), argnums)(xt, wt)
        flat_g = [hg] if argnums != (0, 1) else [b for row in hg for b in row]
        flat_t = [ht] if argnums != (0, 1) else [b for row in ht for b in row]
        for a, b in zip(flat_g, flat_t):
            _close(a, b, dtype)


def test_stack_module_state_and_vmap_ensemble_like_torch():
    rng = np.random.default_rng(0)
    states = [{"weight": rng.standard_normal((3, 2)), "bias": rng.standard_normal(3)}
              for _ in range(4)]
    x = rng.standard_normal((5, 2))
    results = []
    for L in (torch, gradstep):
        models = [L.nn.Linear(2, 3).double() for _ in states]
        for m, s in zip(models, states):
            m.load_state_dict({k: L.tensor(v) for k, v in s.items()})
        params, buffers = L.func.stack_module_state(models)
        assert params["weight"].shape == (4, 3, 2) and params["weight"].is_leaf
        assert params["weight"].requires_grad and buffers == {}

        def call(p, b, xx, models=models, L=L):
            return L.func.functional_call(models[0], (p, b), (xx,))

        results.append(L.func.vmap(call, in_dims=(0, 0, None))(params, buffers, L.tensor(x)))
    np.testing.assert_allclose(results[1].detach().numpy(), results[0].detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_replace_all_batch_norm_modules_and_functionalize():
    for L in (torch, gradstep):
        net = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.BatchNorm1d(2))
        assert L.func.replace_all_batch_norm_modules_(net) is net
        bn = net[1]
        assert bn.running_mean is None and bn.running_var is None
        assert bn.num_batches_tracked is None and not bn.track_running_stats
        assert L.func.functionalize(lambda x: x * 2)(L.ones(1)).tolist() == [2.0]

"""Shared oracle for optimizer tests: run a gradstep optimizer beside torch's, step for step.

``compare_optimizers(gradstep.optim.Adam, torch.optim.Adam, dict(lr=1e-2))`` builds a
small MLP-like set of parameters (two weight matrices and two 1-D biases) with the
same initial values in both libraries, feeds both the same gradients for ``steps``
steps and, after every step, compares every parameter and every state entry
(tensors, lists of tensors, numbers) with the dtype's tolerance
(float64: rtol 1e-10; float32: rtol 1e-5).

Gradients are random (``loss=False``) or come from a real MSE loss of the MLP on
random data (``loss=True``), optionally through ``step(closure)`` (``closure=True``,
needed for LBFGS).
"""

from __future__ import annotations

import numpy as np
import torch

import gradstep
from tests.helpers import assert_close

SHAPES = [(5, 4), (5,), (3, 5), (3,)]  # W1, b1, W2, b2 of a 4 -> 5 -> 3 MLP


def make_params(shapes=SHAPES, dtype="float64", seed=0):
    """The same initial parameters as (gradstep list, torch list)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [gradstep.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, theirs


def mlp_loss(lib, params, x, y):
    """MSE of a tanh MLP; ``params`` is [W1, b1, W2, b2] (the default SHAPES)."""
    w1, b1, w2, b2 = params
    h = lib.tanh(lib.matmul(x, w1.t()) + b1)
    out = lib.matmul(h, w2.t()) + b2
    return ((out - y) ** 2).mean()


def compare_state(ours, theirs, dtype, what):
    """Recursively compare a state entry (tensor, list/tuple, dict, number, None)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gradstep.Tensor), f"{what}: {type(ours).__name__} is not a Tensor"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), (
            f"{what}: dtype {ours.dtype.name} != {theirs.dtype}")
        assert_close(ours, theirs.detach(), dtype, what=what)
    elif isinstance(theirs, dict):
        assert set(ours) == set(theirs), f"{what}: keys {sorted(ours)} != torch's {sorted(theirs)}"
        for k in theirs:
            compare_state(ours[k], theirs[k], dtype, f"{what}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), f"{what}: length {len(ours)} != {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            compare_state(o, t, dtype, f"{what}[{i}]")
    elif isinstance(theirs, float):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10 if dtype == "float64" else 1e-5,
                                   err_msg=what)
    else:
        assert ours == theirs, f"{what}: {ours!r} != torch's {theirs!r}"


def compare_all(ours_opt, theirs_opt, ours, theirs, dtype, step):
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        assert_close(p, tp.detach(), dtype, what=f"step {step}: param {i}")
        o_state = ours_opt.state.get(p, {})
        t_state = theirs_opt.state.get(tp, {})
        compare_state(dict(o_state), dict(t_state), dtype, f"step {step}: state of param {i}")


def compare_optimizers(ours_cls, theirs_cls, kwargs, *, dtype="float64", steps=50, seed=0,
                       shapes=SHAPES, groups=None, loss=False, closure=False, no_grad=(),
                       ours_kwargs=None, on_step=None):
    """Run both optimizers ``steps`` steps from the same start; compare after every step.

    ``groups(params) -> list`` turns the parameter list into what the constructor
    gets (default: the list itself). ``no_grad``: indices of parameters that never
    get a gradient. ``ours_kwargs`` are extra constructor arguments for gradstep
    only (e.g. ``foreach=False``). ``on_step(k, ours_opt, theirs_opt, ours, theirs)``
    runs before step ``k`` (to add a group, change lr, ...).
    Returns ``(ours_opt, theirs_opt, ours_params, theirs_params)``.
    """
    ours, theirs = make_params(shapes, dtype, seed)
    groups = groups or (lambda ps: ps)
    ours_opt = ours_cls(groups(ours), **kwargs, **(ours_kwargs or {}))
    theirs_opt = theirs_cls(groups(theirs), **kwargs)
    rng = np.random.default_rng(seed + 1)
    for k in range(steps):
        if on_step is not None:
            on_step(k, ours_opt, theirs_opt, ours, theirs)
        if loss or closure:
            x = rng.standard_normal((8, shapes[0][1])).astype(dtype)
            y = rng.standard_normal((8, shapes[2][0])).astype(dtype)
            o_closure = _loss_closure(gradstep, ours_opt, ours, x, y, no_grad)
            t_closure = _loss_closure(torch, theirs_opt, theirs, x, y, no_grad)
        else:
            grads = [rng.standard_normal(p.shape).astype(dtype) for p in theirs]
            o_closure = _grad_closure(gradstep, ours_opt, ours, grads, no_grad)
            t_closure = _grad_closure(torch, theirs_opt, theirs, grads, no_grad)
        if closure:
            o_loss = ours_opt.step(o_closure)
            t_loss = theirs_opt.step(t_closure)
            assert_close(gradstep.as_tensor(o_loss).detach(), torch.as_tensor(t_loss).detach(),
                         dtype, what=f"step {k}: returned loss")
        else:
            o_closure()
            t_closure()
            ours_opt.step()
            theirs_opt.step()
        compare_all(ours_opt, theirs_opt, ours, theirs, dtype, k)
    return ours_opt, theirs_opt, ours, theirs


def _loss_closure(lib, opt, params, x, y, no_grad):
    x, y = lib.as_tensor(x), lib.as_tensor(y)

    def closure():
        opt.zero_grad()
        loss = mlp_loss(lib, params, x, y)
        loss.backward()
        for i in no_grad:
            params[i].grad = None
        return loss

    return closure


def _grad_closure(lib, opt, params, grads, no_grad):
    def closure():
        opt.zero_grad()
        for i, (p, g) in enumerate(zip(params, grads)):
            if i not in no_grad:
                p.grad = lib.as_tensor(g.copy())
        return lib.as_tensor(np.array(sum(float(g.sum()) for g in grads), dtype=g.dtype))

    return closure


def state_dict_to_torch(sd):
    """A gradstep state dict with every Tensor (in dicts and lists) converted to torch."""
    if isinstance(sd, gradstep.Tensor):
        return torch.from_numpy(np.array(sd.numpy()))
    if isinstance(sd, dict):
        return {k: state_dict_to_torch(v) for k, v in sd.items()}
    if isinstance(sd, list):
        return [state_dict_to_torch(v) for v in sd]
    return sd


def state_dict_to_gradstep(sd):
    """A torch state dict with every tensor (in dicts and lists) converted to gradstep."""
    if isinstance(sd, torch.Tensor):
        return gradstep.from_numpy(sd.detach().numpy().copy())
    if isinstance(sd, dict):
        return {k: state_dict_to_gradstep(v) for k, v in sd.items()}
    if isinstance(sd, list):
        return [state_dict_to_gradstep(v) for v in sd]
    return sd


def check_cross_load(ours_cls, theirs_cls, kwargs, source, *, shapes=SHAPES, steps=10):
    """Train ``steps`` steps in ``source`` ("gradstep" or "torch"), load its state dict
    (converted) into a fresh optimizer of each library, and check both continue identically."""
    ours, theirs = make_params(shapes)
    params = ours if source == "gradstep" else theirs
    first = (ours_cls if source == "gradstep" else theirs_cls)(params, **kwargs)
    lib = gradstep if source == "gradstep" else torch
    rng = np.random.default_rng(3)
    for _ in range(steps):
        for p in params:
            p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)))
        first.step()
    sd = first.state_dict()
    ours, theirs = make_params(shapes)
    for p, tp, v in zip(ours, theirs, params):
        p.data = gradstep.tensor(np.array(v.detach().numpy()))
        tp.data = torch.tensor(np.array(v.detach().numpy()))
    opt, topt = ours_cls(ours, **kwargs), theirs_cls(theirs, **kwargs)
    opt.load_state_dict(sd if source == "gradstep" else state_dict_to_gradstep(sd))
    topt.load_state_dict(state_dict_to_torch(sd) if source == "gradstep" else sd)
    compare_all(opt, topt, ours, theirs, "float64", "loaded")
    for k in range(steps, 2 * steps):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(tuple(tp.shape))
            p.grad, tp.grad = gradstep.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        compare_all(opt, topt, ours, theirs, "float64", k)

"""gradstep.optim.LBFGS against torch.optim.LBFGS: iterates, losses and the whole state.

L-BFGS on Rosenbrock's function amplifies rounding: a last-bit difference in a dot product (NumPy's
and torch's BLAS sum in different orders, and each BLAS kernel -- Haswell, SkylakeX -- in its own
order) is multiplied by up to the Hessian's condition number by each inner iteration's solve. The
float64 runs are therefore compared against a bound derived from that, not the dtype tolerance
(``Bound``): the iterates to ``eps * cond(H) * n_iter``, and the state entries, which are gradients
and differences of gradients (``y = g_new - g_old``) or built from them, to ``|H|`` times that.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close
from tests.optim.oracle import (
    compare_optimizers,
    state_dict_to_gradstep,
    state_dict_to_torch,
)


def rosenbrock(x):
    return ((1 - x[:-1]) ** 2).sum() + 100 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


def closure(opt, x):
    """The usual L-BFGS closure: clear the gradients, evaluate, backward, return the loss."""
    def run():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss
    return run


class Bound:
    """How far float64 L-BFGS iterates on Rosenbrock may drift apart between two libraries.

    Each inner iteration solves with the L-BFGS inverse-Hessian estimate, which multiplies a
    relative rounding difference in the gradient (``eps``, one BLAS summation order against
    another) by up to ``cond(H)``; the differences add up over the ``n_iter`` inner iterations
    done so far (near the minimum the iteration contracts, so they add rather than multiply).
    So iterates agree to ``dx = eps * cond(H) * n_iter`` relative to ``max(1, |x|)``, with cond(H)
    at the minimum (1, ..., 1): 2508 in 2-D, 2950 in 3-D, 3180 in 4-D. Gradients, differences of
    gradients (the ``y`` pairs) and the loss move by ``|H| * dx``, ``|H|`` the Hessian's norm,
    the larger of its values at the start and at the minimum (1002 to 3163 here); the state's
    scalars (``ro = 1/(y.s)``, ``H_diag``, ``al``, ``t``) are compared at that tolerance too,
    normwise (relative to the largest entry of the vector they form) as their rounding is.

    Measured on these runs with OpenBLAS's Haswell and SkylakeX kernels: iterates within 0.13 dx,
    state entries within 0.03 |H| dx (about 1e-10 on the classic start, where the plain 1e-10
    tolerance failed on AVX-512 machines).
    """

    EPS = np.finfo(np.float64).eps

    def __init__(self, x0):
        n = len(x0)
        h_min = rosenbrock_hessian(np.ones(n))
        eig = np.linalg.eigvalsh(h_min)
        self.cond = eig[-1] / eig[0]
        self.h_norm = max(np.linalg.norm(rosenbrock_hessian(np.array(x0, float)), 2), eig[-1])

    def dx(self, n_iter):
        return self.EPS * self.cond * max(n_iter, 1)


def rosenbrock_hessian(x):
    """The Hessian of ``rosenbrock`` at ``x`` (closed form)."""
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 2 + 1200 * x[i] ** 2 - 400 * x[i + 1]
        h[i + 1, i + 1] += 200
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
    return h


def assert_within(ours, theirs, atol, what):
    """``|ours - theirs| <= atol * max(1, max|theirs|)`` elementwise (a normwise bound)."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(theirs, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=atol * scale, err_msg=what)


def compare_bounded(ours, theirs, atol, what):
    """The L-BFGS state: counters and structure exactly, numbers within ``atol`` normwise."""
    ours, theirs = dict(ours), dict(theirs)
    assert set(ours) == set(theirs), f"{what}: keys {sorted(ours)} != {sorted(theirs)}"
    for key, t in theirs.items():
        o = ours[key]
        if isinstance(t, list):
            assert len(o) == len(t), f"{what}[{key!r}]: length"
            assert [v is None for v in o] == [v is None for v in t], f"{what}[{key!r}]: filled"
            pairs = [(v, w) for v, w in zip(o, t) if w is not None]
            if pairs and pairs[0][1].ndim == 0:  # a list of scalars: one vector
                pairs = [([float(v) for v, _ in pairs], [float(w) for _, w in pairs])]
            for i, (v, w) in enumerate(pairs):
                assert_within(_arr(v), _arr(w), atol, f"{what}[{key!r}][{i}]")
        elif isinstance(t, (torch.Tensor, float)):
            if isinstance(t, torch.Tensor):
                assert o.dtype.name == str(t.dtype).replace("torch.", ""), f"{what}[{key!r}]"
            assert_within(_arr(o), _arr(t), atol, f"{what}[{key!r}]")
        else:
            assert o == t, f"{what}[{key!r}]: {o!r} != {t!r}"


def _arr(v):
    if isinstance(v, (gradstep.Tensor, torch.Tensor)):
        return v.detach().numpy()
    return np.asarray(v)


def run_rosenbrock(x0, kwargs, dtype, steps, ours_lr=None, theirs_lr=None, state_rtol=None):
    """Step both optimizers on Rosenbrock from ``x0``; compare everything after each step.

    float64: iterates, loss and state within ``Bound``; float32: the dtype tolerance for the
    iterates and loss, ``state_rtol`` normwise for the state.
    """
    x = gradstep.tensor(np.array(x0, dtype=dtype), requires_grad=True)
    tx = torch.tensor(np.array(x0, dtype=dtype), requires_grad=True)
    opt = gradstep.optim.LBFGS([x], **kwargs, **({"lr": ours_lr} if ours_lr is not None else {}))
    topt = torch.optim.LBFGS([tx], **kwargs, **({"lr": theirs_lr} if theirs_lr is not None else {}))
    bound = Bound(x0)
    for k in range(steps):
        loss, tloss = opt.step(closure(opt, x)), topt.step(closure(topt, tx))
        if dtype == "float64":
            dx = bound.dx(topt.state[tx]["n_iter"])
            assert_within(_arr(x), _arr(tx), dx, f"step {k}: x")
            assert_within(_arr(loss), _arr(tloss), bound.h_norm * dx, f"step {k}: loss")
            compare_bounded(opt.state[x], topt.state[tx], bound.h_norm * dx, f"step {k}: state")
            continue
        assert_close(loss.detach(), tloss.detach(), dtype, what=f"step {k}: loss")
        assert_close(x.detach(), tx.detach(), dtype, what=f"step {k}: x")
        compare_loosely(dict(opt.state[x]), dict(topt.state[tx]), state_rtol, f"step {k}")
    return opt, x


def compare_loosely(ours, theirs, rtol, what):
    """Same structure, keys, shapes, dtypes and counters; tensors equal to ``rtol`` normwise."""
    if isinstance(theirs, torch.Tensor):
        assert tuple(ours.shape) == tuple(theirs.shape), what
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), what
        t = theirs.numpy()
        np.testing.assert_allclose(ours.numpy(), t, rtol=rtol, atol=rtol * np.abs(t).max(),
                                   err_msg=what)
    elif isinstance(theirs, dict):
        assert set(ours) == set(theirs), what
        for k in theirs:
            compare_loosely(ours[k], theirs[k], rtol, f"{what}[{k!r}]")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), what
        assert [o is None for o in ours] == [t is None for t in theirs], what
        scalars = [t for t in theirs if t is not None and t.ndim == 0]
        if scalars and len(scalars) == len([t for t in theirs if t is not None]):
            # a list of scalars (ro, al) is one vector: compare it normwise
            compare_loosely(gradstep.stack([o for o in ours if o is not None]),
                            torch.stack(scalars), rtol, what)
            return
        for i, (o, t) in enumerate(zip(ours, theirs)):
            compare_loosely(o, t, rtol, f"{what}[{i}]")
    elif isinstance(theirs, float):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, err_msg=what)
    else:
        assert ours == theirs, f"{what}: {ours!r} != {theirs!r}"


@pytest.mark.parametrize("x0, kwargs, steps", [
    ((-1.2, 1.0), dict(line_search_fn="strong_wolfe"), 8),
    ((1.5, 1.5, 0.5), dict(), 6),
    ((1.5, 1.5, 0.5), dict(line_search_fn="strong_wolfe"), 6),
    ((-1.2, 1.0), dict(max_iter=3, history_size=2), 8),
    ((1.5, 1.5, 0.5), dict(lr=1e-3, line_search_fn="strong_wolfe"), 6),  # extrapolates
    ((-1.2, 1.0, -0.5, 0.8), dict(lr=0.5, max_iter=5, history_size=4), 4),
    ((-1.2, 1.0, -0.5, 0.8), dict(line_search_fn="strong_wolfe", max_iter=5, history_size=4), 4),
    ((1.5, 1.5, 0.5), dict(max_iter=7, max_eval=9, tolerance_change=1e-6), 8),
    ((0.5, -0.5), dict(max_iter=7, max_eval=9, tolerance_change=1e-6,
                       line_search_fn="strong_wolfe"), 8),
], ids=["classic-wolfe", "valley", "valley-wolfe", "classic-short-history", "small-lr-wolfe",
        "4d-short-history", "4d-wolfe-short-history", "eval-budget", "eval-budget-wolfe"])
def test_rosenbrock_float64_matches_torch(x0, kwargs, steps):
    run_rosenbrock(x0, kwargs, "float64", steps)


@pytest.mark.parametrize("line_search_fn, max_iter, steps", [(None, 3, 4), ("strong_wolfe", 5, 3)])
def test_rosenbrock_float32_matches_torch(line_search_fn, max_iter, steps):
    """Iterates and losses to float32's 1e-5; the state normwise to 1e-3.

    The stored pairs are differences of nearly equal gradients, and Rosenbrock's Hessian
    (entries up to ~1e3) turns last-bit differences in x (6e-8) into ~1e-4 relative differences
    in y = g_new - g_old (measured: below 1e-4 on these runs, hence a 10x margin). Near the
    optimum the float32 gradient itself is mostly rounding error, so the runs stop short of it.
    """
    run_rosenbrock((-1.2, 1.0), dict(line_search_fn=line_search_fn, max_iter=max_iter),
                   "float32", steps, state_rtol=1e-3)


def test_converges_to_the_minimum_like_torch():
    """From the classic start, without a line search, both reach (1, 1) in the same evaluations."""
    x = gradstep.tensor([-1.2, 1.0], dtype=gradstep.float64, requires_grad=True)
    tx = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt, topt = gradstep.optim.LBFGS([x]), torch.optim.LBFGS([tx])
    for _ in range(8):
        opt.step(closure(opt, x))
        topt.step(closure(topt, tx))
    np.testing.assert_allclose(x.detach().numpy(), [1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy(), rtol=1e-7)
    assert opt.state[x]["func_evals"] == topt.state[tx]["func_evals"]
    assert opt.state[x]["n_iter"] == topt.state[tx]["n_iter"]


def test_mlp_with_a_frozen_parameter_matches_torch():
    """Several parameters as one flat vector; one never gets a gradient (it counts as zero)."""
    compare_optimizers(gradstep.optim.LBFGS, torch.optim.LBFGS,
                       dict(lr=0.5, max_iter=4, history_size=5, line_search_fn="strong_wolfe"),
                       loss=True, closure=True, steps=3, no_grad=(3,))


def test_tensor_lr_matches_torch():
    run_rosenbrock((1.5, 1.5, 0.5), dict(max_iter=5), "float64", 4,
                   ours_lr=gradstep.tensor([0.5]), theirs_lr=torch.tensor([0.5]))


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """Either library's state dict (lists of tensors, scalars, counters), converted and loaded
    into both, continues both on the same trajectory."""
    kwargs = dict(line_search_fn="strong_wolfe", history_size=3, max_iter=4)
    x0 = np.array([-1.2, 1.0])
    x = gradstep.tensor(x0.copy(), requires_grad=True)
    tx = torch.tensor(x0.copy(), requires_grad=True)
    first = (gradstep.optim.LBFGS([x], **kwargs) if source == "gradstep"
             else torch.optim.LBFGS([tx], **kwargs))
    p = x if source == "gradstep" else tx
    for _ in range(2):
        first.step(closure(first, p))
    sd = first.state_dict()
    x = gradstep.tensor(p.detach().numpy().copy(), requires_grad=True)
    tx = torch.tensor(p.detach().numpy().copy(), requires_grad=True)
    opt, topt = gradstep.optim.LBFGS([x], **kwargs), torch.optim.LBFGS([tx], **kwargs)
    opt.load_state_dict(sd if source == "gradstep" else state_dict_to_gradstep(sd))
    topt.load_state_dict(state_dict_to_torch(sd) if source == "gradstep" else sd)
    bound = Bound(x0)
    for k in range(3):
        opt.step(closure(opt, x))
        topt.step(closure(topt, tx))
        dx = bound.dx(topt.state[tx]["n_iter"])  # counts the iterations before the save too
        assert_within(_arr(x), _arr(tx), dx, f"step {k} after loading: x")
        compare_bounded(opt.state[x], topt.state[tx], bound.h_norm * dx, f"step {k} after loading")


def test_step_without_closure_raises():
    opt = gradstep.optim.LBFGS([gradstep.zeros(2, requires_grad=True)])
    with pytest.raises(TypeError, match="requires a closure"):
        opt.step()


def test_unknown_line_search_raises_like_torch():
    x = gradstep.tensor([0.0, 0.0], requires_grad=True)
    opt = gradstep.optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure(opt, x))


def test_parameter_groups_are_refused_like_torch():
    groups = [{"params": [gradstep.zeros(2, requires_grad=True)]},
              {"params": [gradstep.zeros(2, requires_grad=True)], "lr": 0.1}]
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        gradstep.optim.LBFGS(groups)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        gradstep.optim.LBFGS([gradstep.zeros(2, requires_grad=True)], lr=-1)


def test_optimal_start_returns_after_one_evaluation():
    x = gradstep.tensor([1.0, 1.0], dtype=gradstep.float64, requires_grad=True)
    opt = gradstep.optim.LBFGS([x])
    assert float(opt.step(closure(opt, x))) == 0.0
    assert opt.state[x]["func_evals"] == 1
    assert opt.state[x]["n_iter"] == 0
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 1.0])


def test_defaults_match_torch():
    ours = gradstep.optim.LBFGS([gradstep.zeros(2, requires_grad=True)], max_iter=8)
    theirs = torch.optim.LBFGS([torch.zeros(2, requires_grad=True)], max_iter=8)
    assert ours.defaults == theirs.defaults

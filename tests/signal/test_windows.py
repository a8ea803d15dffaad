"""torch.signal.windows against torch: values, dtypes, gradients and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

NAMES = ("bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
         "general_hamming", "hamming", "hann", "kaiser", "nuttall")
LENGTHS = (0, 1, 2, 3, 4, 7, 16, 51)


def _kwargs(name, sym, rng):
    """Random shape parameters for the windows that take one."""
    if name == "general_cosine":
        return {"a": list(rng.uniform(0, 1, size=int(rng.integers(1, 5))))}
    if name == "kaiser":
        return {"beta": float(rng.uniform(0, 20))}
    if name == "gaussian":
        return {"std": float(rng.uniform(0.2, 8))}
    if name == "general_hamming":
        return {"alpha": float(rng.uniform(0, 1))}
    if name == "exponential":
        kw = {"tau": float(rng.uniform(0.2, 5))}
        if not sym:
            kw["center"] = float(rng.uniform(-2, 10))
        return kw
    return {}


def _both(name, M, **kw):
    dt = kw.pop("dtype", None)
    ours = getattr(gradstep.signal.windows, name)(
        M, **kw, **({} if dt is None else {"dtype": getattr(gradstep, dt)}))
    theirs = getattr(torch.signal.windows, name)(
        M, **kw, **({} if dt is None else {"dtype": getattr(torch, dt)}))
    return ours, theirs


def test_layout_matches_torch():
    assert gradstep.signal.windows.__all__ == torch.signal.windows.__all__
    assert gradstep.signal.__all__ == ["windows"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values(name, dtype):
    # The windows are the same composition of ops as torch's (linspace, then the formula),
    # so each value is within an ulp or two of torch's: a cos/sin/exp rounded differently
    # by one ulp, and general_cosine's sum of a few such terms. kaiser divides two I0
    # values (our i0 is a different, equally accurate approximation than torch's Cephes
    # series: a few ulps each), so it gets 16 ulps of the peak value 1.
    rng = np.random.default_rng(sum(map(ord, name + dtype)))
    eps = float(np.finfo(dtype).eps)
    ulps = 16 if name == "kaiser" else 4
    for M in LENGTHS:
        for sym in (True, False):
            kw = _kwargs(name, sym, rng)
            ours, theirs = _both(name, M, sym=sym, dtype=dtype, **kw)
            a, b = ours.numpy(), theirs.numpy()
            assert a.dtype == b.dtype and a.shape == b.shape == (M,)
            np.testing.assert_allclose(a, b, rtol=0, atol=ulps * eps, err_msg=f"{M} {sym} {kw}")


def test_default_dtype_follows_torch_default():
    ours, theirs = _both("hann", 5)
    assert ours.dtype == gradstep.float32 and theirs.dtype == torch.float32
    gradstep.set_default_dtype(gradstep.float64)
    try:
        assert gradstep.signal.windows.cosine(4).dtype == gradstep.float64
    finally:
        gradstep.set_default_dtype(gradstep.float32)


def _leaves(t):
    """The leaves a result's graph reaches (the linspace, coefficients), depth first."""
    out, stack, seen = [], [t.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if hasattr(node, "variable"):
            out.append(node.variable)
        stack.extend(f for f, _ in reversed(node.next_functions))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_requires_grad_and_gradient(name):
    # float64: the gradient reaching each leaf is a short chain of elementwise derivatives
    # (exp, sin, cos, abs, i0, sqrt), each within an ulp or two of torch's; 1e-12 relative
    rng = np.random.default_rng(1)
    M = 6
    kw = _kwargs(name, True, rng)
    ours, theirs = _both(name, M, dtype="float64", requires_grad=True, **kw)
    assert ours.requires_grad and theirs.requires_grad and not ours.is_leaf
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-14)
    w = rng.standard_normal(M)
    (ours * gradstep.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    ours_leaves, their_leaves = _leaves(ours), _leaves(theirs)
    assert len(ours_leaves) == len(their_leaves) >= 1
    for a, b in zip(ours_leaves, their_leaves):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-14)
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_bool_length():
    # True is the length 1 where torch returns ones((1,)) before its linspace ...
    for name in ("hann", "kaiser", "bartlett", "nuttall"):
        ours, theirs = _both(name, True)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # ... and a linspace's argument error where it does not
    for lib in (gradstep, torch):
        with pytest.raises(TypeError):
            lib.signal.windows.cosine(True)


def test_trivial_lengths_are_leaves():
    for name in ("hann", "kaiser", "bartlett", "exponential"):
        for M in (0, 1):
            ours, theirs = _both(name, M, requires_grad=True)
            assert ours.is_leaf == theirs.is_leaf
            assert ours.requires_grad == theirs.requires_grad


ERRORS = [
    (ValueError, "hann", (-1,), {}),
    (ValueError, "hann", (3,), {"dtype": "float16"}),
    (ValueError, "bartlett", (3,), {"dtype": "int64"}),
    (ValueError, "cosine", (3,), {"layout": "sparse_coo"}),
    (TypeError, "general_cosine", (3,), {"a": 5}),
    (ValueError, "general_cosine", (3,), {"a": []}),
    (ValueError, "kaiser", (3,), {"beta": -1.0}),
    (ValueError, "gaussian", (3,), {"std": 0.0}),
    (ValueError, "exponential", (3,), {"tau": 0.0}),
    (ValueError, "exponential", (3,), {"center": 1.0}),
]


@pytest.mark.parametrize(("exc", "name", "args", "kw"), ERRORS)
def test_errors_match_torch(exc, name, args, kw):
    def call(lib):
        kws = {k: getattr(lib, v) if k in ("dtype", "layout") else v for k, v in kw.items()}
        with pytest.raises(exc) as info:
            getattr(lib.signal.windows, name)(*args, **kws)
        return str(info.value)

    # dtypes and layouts print as gradstep.X unless the torch hook is installed
    assert call(gradstep).replace("gradstep.", "torch.") == call(torch)


FORMULAS = {  # each window as a function of its sample positions k (the linspace leaf)
    "exponential": lambda k: gradstep.exp(-gradstep.abs(k)),
    "gaussian": lambda k: gradstep.exp(-(k ** 2)),
    "cosine": gradstep.sin,
    "bartlett": lambda k: 1 - gradstep.abs(k),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_gradient_matches_finite_differences(name):
    # float64 central differences with step 1e-6: truncation error ~ h^2 |f'''| ~ 1e-12 and
    # rounding ~ eps / h ~ 1e-10, so 1e-7 absolute is a safe bound for these O(1) windows
    # (positions are kept away from bartlett's kink at 0: M even)
    rng = np.random.default_rng(2)
    w = rng.standard_normal(6)
    win = getattr(gradstep.signal.windows, name)(6, dtype=gradstep.float64, requires_grad=True)
    (win * gradstep.tensor(w)).sum().backward()
    (leaf,) = _leaves(win)
    k = leaf.detach().numpy().copy()
    h = 1e-6
    for i in range(k.size):
        up, down = k.copy(), k.copy()
        up[i] += h
        down[i] -= h
        f = FORMULAS[name]
        fd = float(((f(gradstep.tensor(up)) - f(gradstep.tensor(down))).numpy() * w).sum()) / (2 * h)
        assert abs(fd - float(leaf.grad.numpy()[i])) < 1e-7, (name, i)

"""The backward engine: accumulation, retain_grad, hooks, errors, deep graphs, higher order."""

import numpy as np
import pytest
import torch

import gradstep as gs
from tests.helpers import assert_close


def test_grad_accumulates_across_backward_calls():
    w = gs.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3 + 2, 3 + 4])


def test_shared_pass_through_gradients_do_not_alias():
    a = gs.tensor([1.0, 2.0], requires_grad=True)
    b = gs.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_gradient_argument_is_not_aliased():
    a = gs.tensor([1.0, 2.0], requires_grad=True)
    g = gs.tensor([5.0, 6.0])
    (a + 0).backward(g)
    a.grad.zero_()
    np.testing.assert_allclose(g.numpy(), [5.0, 6.0])


def test_non_leaf_grad_only_with_retain_grad():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = x * 3
    y.retain_grad()
    (y * z).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), (x * 3).detach().numpy())
    with pytest.warns(UserWarning):
        assert z.grad is None


def test_backward_on_non_scalar_requires_gradient():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()


def test_backward_through_freed_graph_raises():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_without_requires_grad_raises():
    x = gs.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.sum().backward()


def test_long_chain_backpropagates_without_recursion():
    x = gs.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_wide_fan_in_each_node_runs_once():
    x = gs.tensor(2.0, requires_grad=True)
    terms = [x * float(i) for i in range(100)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    total.backward()
    assert x.grad.item() == pytest.approx(sum(range(100)))


def test_double_backward_matches_torch():
    def f(L, x):
        y = (x ** 3).sum() + (x.sin() * x).sum()
        (g,) = L.autograd.grad(y, x, create_graph=True)
        return (g * g).sum()

    xv = np.array([0.3, -1.2, 2.0])
    x = gs.tensor(xv, requires_grad=True)
    tx = torch.tensor(xv, requires_grad=True)
    out, tout = f(gs, x), f(torch, tx)
    assert_close(out, tout, "float64")
    out.backward()
    tout.backward()
    assert_close(x.grad, tx.grad, "float64")


def test_autograd_grad_does_not_touch_grad_fields():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    (g,) = gs.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None


def test_autograd_grad_unused_input():
    x = gs.tensor([1.0], requires_grad=True)
    y = gs.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used"):
        gs.autograd.grad((x * 2).sum(), [x, y])
    gx, gy = gs.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and gx.item() == 2.0


def test_tensor_hook_replaces_gradient():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 10)
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 10.0])
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_hook_on_non_leaf_sees_and_changes_gradient():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 0)
    (y * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0])


def test_post_accumulate_grad_hook_runs_after_accumulation():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (x * 4).sum().backward()
    np.testing.assert_allclose(seen[0], [4.0, 4.0])


def test_inplace_modification_of_saved_tensor_raises():
    a = gs.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * b
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    a = gs.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        a.add_(1)
    with gs.no_grad():
        a.add_(1)
    np.testing.assert_allclose(a.detach().numpy(), [2.0, 3.0])


def test_inplace_on_non_leaf_records_gradient():
    xv = np.array([1.0, -2.0, 3.0])
    x, tx = gs.tensor(xv, requires_grad=True), torch.tensor(xv, requires_grad=True)
    for lib_x in (x, tx):
        y = lib_x * 2
        y.mul_(lib_x)
        y.add_(1.0)
        y.sum().backward()
    assert_close(x.grad, tx.grad, "float64")


def test_grad_shape_mismatch_names_the_op():
    class Bad(gs.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return gs.ones(5)

    x = gs.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="BadBackward.*invalid gradient"):
        Bad.apply(x).sum().backward()


def test_detach_cuts_graph_and_shares_memory():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    with gs.no_grad():
        x.add_(1)
    np.testing.assert_allclose(d.numpy(), [2.0, 3.0])


def test_no_grad_and_enable_grad():
    x = gs.tensor([1.0], requires_grad=True)
    with gs.no_grad():
        y = x * 2
        with gs.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad

    @gs.no_grad()
    def f(t):
        return t * 2

    @gs.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    assert gs.is_grad_enabled()


def test_set_grad_enabled_function_and_context():
    x = gs.tensor([1.0], requires_grad=True)
    with gs.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert gs.is_grad_enabled()
    gs.set_grad_enabled(False)
    try:
        assert not gs.is_grad_enabled()
    finally:
        gs.set_grad_enabled(True)
    with gs.inference_mode():
        assert not (x * 2).requires_grad


def test_grad_fn_names_like_torch():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    assert (x + x).grad_fn.name() == "AddBackward0"
    assert (x * x).grad_fn.name() == "MulBackward0"
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert "grad_fn=<AddBackward0>" in repr(x + x)


@pytest.mark.parametrize("make", ["conv_weight", "transposed_use", "elementwise"])
def test_create_graph_grad_is_a_copy_with_history_like_torch(make):
    """Under create_graph torch stores a copy of the gradient (CopyBackwards), never a view:
    an optimizer's ``p.grad.detach_()`` (AdaHessian's) must work, and the double backward
    through ``.grad`` must give torch's numbers."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 5, 5)).astype(np.float32)
    w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    results = []
    for L in (torch, gs):
        p = L.tensor(w, requires_grad=True)
        if make == "conv_weight":
            loss = (L.nn.functional.conv2d(L.tensor(x), p) ** 2).sum()
        elif make == "transposed_use":
            loss = ((L.tensor(x.reshape(10, 5)[:, :3]) @ p.reshape(2, 9)[:, :3].t()) ** 2).sum()
        else:
            loss = (p * p * p).sum()
        loss.backward(create_graph=True)
        g = p.grad
        assert g._base is None and g.grad_fn.name() == "torch::autograd::CopyBackwards"
        second = L.autograd.grad((g * g).sum(), p)[0]
        g.detach_()
        assert not p.grad.requires_grad and p.grad.grad_fn is None
        results.append((g.numpy().copy(), second.detach().numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_backward_with_create_graph_warns_once_like_torch(monkeypatch):
    """torch warns once per process (TORCH_WARN_ONCE) that backward(create_graph=True) makes a
    parameter <-> gradient reference cycle; autograd.grad does not warn."""
    import warnings

    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    x = gs.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gs.autograd.grad((x * x).sum(), x, create_graph=True)
        (x * x).sum().backward()
        assert not caught
        (x * x).sum().backward(create_graph=True)
        (x * x).sum().backward(create_graph=True)
    assert len(caught) == 1 and caught[0].category is UserWarning
    assert "create a reference cycle between the parameter and its gradient" in str(caught[0].message)
    assert caught[0].filename == __file__  # the user's line, as torch's C++ warning shows it


@pytest.mark.parametrize("decorator", ["no_grad", "inference_mode", "enable_grad"])
def test_grad_mode_decorators_on_generators_like_torch(decorator):
    """torch re-enters the mode around every step of a decorated generator (sampling loops)."""
    seen = []
    for L in (torch, gs):
        deco = getattr(L, decorator)

        @deco()
        def generate(x, n):
            for _ in range(n):
                x = x * 2
                sent = yield x.requires_grad
                if sent:
                    x = x + sent

        x = L.ones(2, requires_grad=True)
        outer = L.no_grad() if decorator == "enable_grad" else L.enable_grad()
        with outer:
            gen = generate(x, 3)
            flags = [next(gen), gen.send(1.0)]
            flags.append(L.is_grad_enabled())  # the caller's mode between steps
            gen.close()
        seen.append(flags)
    assert seen[1] == seen[0]


def _two_params(lib):
    lib.manual_seed(0)
    return {"w": lib.randn(3, requires_grad=True), "b": lib.randn(3, requires_grad=True)}


@pytest.mark.parametrize("view", ["values", "generator", "dict"])
def test_grad_inputs_any_iterable_or_dict_like_torch(view):
    """MAML writes ``autograd.grad(loss, params.values(), create_graph=True)``; torch takes any
    iterable of tensors, and a dict (returning a dict of the same keys)."""
    results = []
    for lib in (torch, gs):
        p = _two_params(lib)
        loss = (p["w"] * p["w"] * p["b"]).sum()
        inputs = {"values": p.values(), "generator": (v for v in p.values()), "dict": p}[view]
        g = lib.autograd.grad(loss, inputs, create_graph=True)
        if view == "dict":
            assert type(g) is dict and list(g) == ["w", "b"]
            g = tuple(g.values())
        assert type(g) is tuple and len(g) == 2
        second = lib.autograd.grad(g[0].sum(), p["b"])[0]  # the graph was kept
        results.append([x.detach().numpy() for x in (*g, second)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_backward_inputs_dict_values_like_torch():
    grads = []
    for lib in (torch, gs):
        p = _two_params(lib)
        (p["w"] * p["b"]).sum().backward(inputs=p.values())
        grads.append([p["w"].grad.numpy(), p["b"].grad.numpy()])
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


@pytest.mark.parametrize("fn", ["grad", "backward"])
def test_empty_or_mapping_inputs_raise_like_torch(fn):
    from types import MappingProxyType

    for bad, exc in (([], RuntimeError), (MappingProxyType({}), TypeError)):
        messages = []
        for lib in (torch, gs):
            x = lib.ones(2, requires_grad=True)
            loss = (x * 2).sum()
            call = (lambda: lib.autograd.grad(loss, bad)) if fn == "grad" else (  # noqa: B023
                lambda: loss.backward(inputs=bad))  # noqa: B023
            with pytest.raises(exc) as info:
                call()
            messages.append(str(info.value))
        assert messages[1] == messages[0]

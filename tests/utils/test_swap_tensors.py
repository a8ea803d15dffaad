"""torch.utils.swap_tensors / set_module, compared with real torch 2.13."""

import weakref

import numpy as np
import pytest
import torch as real

import gradstep as gs


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_swap_exchanges_content_keeps_identity(lib):
    a = lib.tensor([1.0, 2.0], dtype=lib.float32)
    b = lib.tensor([[3, 4, 5]], dtype=lib.int64)
    b.extra = "b's"
    ida, idb = id(a), id(b)
    lib.utils.swap_tensors(a, b)
    assert (id(a), id(b)) == (ida, idb)
    assert a.dtype == lib.int64 and a.shape == (1, 3) and a.tolist() == [[3, 4, 5]]
    assert b.dtype == lib.float32 and b.tolist() == [1.0, 2.0]
    assert a.extra == "b's" and not hasattr(b, "extra")


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_swap_class_and_autograd_state(lib):
    p = lib.nn.Parameter(lib.ones(2))
    t = lib.zeros(3)
    lib.utils.swap_tensors(p, t)
    assert type(t) is lib.nn.Parameter and t.requires_grad and t.tolist() == [1.0, 1.0]
    assert type(p) is lib.Tensor and not p.requires_grad and p.tolist() == [0.0, 0.0, 0.0]
    (t * 2).sum().backward()
    assert t.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_swap_refuses_weakrefs(lib):
    a, b = lib.ones(1), lib.ones(1)
    r = weakref.ref(a)
    with pytest.raises(RuntimeError, match="Cannot swap t1 because it has weakref"):
        lib.utils.swap_tensors(a, b)
    with pytest.raises(RuntimeError, match="Cannot swap t2 because it has weakref"):
        lib.utils.swap_tensors(b, a)
    del r


def test_internal_weakrefs_do_not_block():
    # gradstep's own bookkeeping (the .data alias list, retain_grad) is invisible, as in torch
    p = gs.ones(2, requires_grad=True)
    alias = p.data
    y = (p * 2)
    y.retain_grad()
    gs.utils.swap_tensors(alias, gs.zeros(2))
    assert alias.tolist() == [0.0, 0.0]
    gs.utils.swap_tensors(y, gs.zeros(1))


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_swap_refuses_different_slots(lib):
    class Slotted(lib.Tensor):
        __slots__ = ("x",)

    a = lib.ones(1).as_subclass(Slotted)
    with pytest.raises(RuntimeError, match="different slots"):
        lib.utils.swap_tensors(a, lib.ones(1))


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_swap_slots_of_subclass_move(lib):
    class Slotted(lib.Tensor):
        __slots__ = ("x",)

    a = lib.ones(1).as_subclass(Slotted)
    b = lib.zeros(1).as_subclass(Slotted)
    a.x = 5
    lib.utils.swap_tensors(a, b)
    assert b.x == 5 and not hasattr(a, "x")
    assert a.tolist() == [0.0] and b.tolist() == [1.0]


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_swap_poisons_live_accumulator(lib):
    w = lib.ones(2, requires_grad=True)
    loss = (w * lib.tensor([2.0, 3.0])).sum()  # the graph holds w's AccumulateGrad node
    lib.utils.swap_tensors(w, lib.nn.Parameter(lib.zeros(2)))
    with pytest.raises(RuntimeError, match="poisoned by swap_tensors"):
        loss.backward()


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_swap_after_backward_is_clean(lib):
    w = lib.nn.Parameter(lib.ones(2))
    (w * 3).sum().backward()  # graph freed: no live accumulator
    lib.utils.swap_tensors(w, lib.nn.Parameter(lib.full((2,), 4.0)))
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_set_module(lib):
    def f():
        pass

    lib.utils.set_module(f, "somewhere")
    assert f.__module__ == "somewhere"
    with pytest.raises(TypeError, match="The mod argument should be a string"):
        lib.utils.set_module(f, 3)


# ---------------------------------------------------------------- torch's use-count rule
def _outcome(fn):
    """('ok', None) or (exception type name, message) for ``fn()``."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared with torch's below
        return type(e).__name__, str(e)
    return "ok", None


def _use_count_cases():
    def view_of_t1(lib):
        a, b = lib.ones(2), lib.zeros(3)
        v = a[0:1]
        return lambda: lib.utils.swap_tensors(a, b), v

    def view_of_t2(lib):
        a, b = lib.ones(2), lib.zeros(3)
        v = b.view(3)
        return lambda: lib.utils.swap_tensors(a, b), v

    def python_references(lib):  # lists and dicts are not the impl's references
        a, b = lib.ones(2), lib.zeros(2)
        keep = ([a], {"k": a})
        return lambda: lib.utils.swap_tensors(a, b), keep

    def leaf_in_graph_not_saved(lib):
        a, b = lib.ones(2, requires_grad=True), lib.zeros(2)
        y = (a * lib.tensor([2.0, 3.0])).sum()
        return lambda: lib.utils.swap_tensors(a, b), y

    def leaf_saved_twice(lib):
        a, b = lib.ones(2, requires_grad=True), lib.zeros(2)
        y = (a * a).sum()
        return lambda: lib.utils.swap_tensors(a, b), y

    def output_saved(lib):  # exp saves its output: not a reference to its impl
        x = lib.ones(2, requires_grad=True)
        y, b = (x * 1).exp(), lib.zeros(2)
        return lambda: lib.utils.swap_tensors(y, b), x

    def non_leaf_input_saved(lib):
        x = lib.ones(2, requires_grad=True)
        a, b = x * 1, lib.zeros(2)
        y = a.sin()
        return lambda: lib.utils.swap_tensors(a, b), y

    def linear_weight_then_backward(lib):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2)
        y = m(lib.randn(4, 3)).sum()

        def run():
            lib.utils.swap_tensors(m.weight, lib.nn.Parameter(lib.zeros(2, 3)))
            y.backward()  # the poisoned accumulator refuses
        return run, y

    def deep_layer_weight(lib):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Tanh(), lib.nn.Linear(3, 1))
        y = m(lib.randn(4, 3)).sum()
        return lambda: lib.utils.swap_tensors(m[2].weight, lib.nn.Parameter(lib.zeros(1, 3))), y

    return {f.__name__: f for f in (view_of_t1, view_of_t2, python_references,
                                    leaf_in_graph_not_saved, leaf_saved_twice, output_saved,
                                    non_leaf_input_saved, linear_weight_then_backward,
                                    deep_layer_weight)}


@pytest.mark.parametrize("name", sorted(_use_count_cases()))
def test_swap_use_count_rule_like_torch(name):
    make = _use_count_cases()[name]
    ours_fn, _keep_ours = make(gs)
    theirs_fn, _keep_theirs = make(real)
    assert _outcome(ours_fn) == _outcome(theirs_fn)


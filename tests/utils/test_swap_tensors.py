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

"""autograd.graph and the Node API against torch: names, next_functions, hooks on nodes,
saved-tensor hooks, gradient edges and multi-grad hooks (gradients compared exactly: the same
elementwise ops in the same order)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import graph


def _both(arr):
    return gradstep.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def test_next_functions_accumulate_grad_and_node_type():
    (ga, ta), (gb, tb) = _both(np.ones(3)), _both(np.full(3, 2.0))
    for a, b, lib in ((ga, gb, gradstep), (ta, tb, torch)):
        y = (a * b).sum()
        mul = y.grad_fn.next_functions[0][0]
        assert mul.name() == "MulBackward0"
        acc, nr = mul.next_functions[0]
        assert acc.name().endswith("AccumulateGrad") and nr == 0 and acc.variable is a
        assert isinstance(y.grad_fn, lib.autograd.graph.Node)
        z = a * lib.ones(3, dtype=a.dtype)  # a constant: no edge
        assert z.grad_fn.next_functions[1] == (None, 0)
        y.grad_fn.metadata["tag"] = 1
        assert y.grad_fn.metadata == {"tag": 1}
        edge = lib.autograd.graph.get_gradient_edge(a)
        assert edge.node is acc and edge.output_nr == 0


def test_node_hooks_signatures_and_replacement():
    results = {}
    for lib, (a, _) in ((gradstep, _both(np.arange(3.0))), (torch, _both(np.arange(3.0)))):
        a = a if lib is gradstep else torch.tensor(np.arange(3.0), requires_grad=True)
        y = a * a
        seen = []

        def pre(grad_outputs, seen=seen):
            seen.append(("pre", len(grad_outputs)))
            return (grad_outputs[0] * 10,)

        def post(grad_inputs, grad_outputs, seen=seen):
            seen.append(("post", len(grad_inputs), len(grad_outputs)))

        h1 = y.grad_fn.register_prehook(pre)
        h2 = y.grad_fn.register_hook(post)
        y.sum().backward(retain_graph=True)
        first = a.grad.detach().numpy().copy()
        h1.remove()
        h2.remove()
        a.grad = None
        y.sum().backward()
        results[lib.__name__] = (seen, first, a.grad.detach().numpy().copy())
    assert results["gradstep"][0] == results["torch"][0]
    np.testing.assert_array_equal(results["gradstep"][1], results["torch"][1])
    np.testing.assert_array_equal(results["gradstep"][2], results["torch"][2])


def test_saved_tensors_hooks_pack_and_unpack():
    for lib in (gradstep, torch):
        packed, unpacked = [], []

        def pack(t, packed=packed):
            packed.append(t)
            return ("box", t)

        def unpack(p, unpacked=unpacked):
            unpacked.append(p)
            return p[1]

        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (a * a).sum()
        y.backward()
        assert len(packed) == 2 and len(unpacked) == 2  # mul saved both operands
        np.testing.assert_array_equal(a.grad.numpy(), [2.0, 4.0, 6.0])
        with lib.autograd.graph.save_on_cpu():
            z = (a.sin() * 2).sum()
        z.backward()
        with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
                    pass


@pytest.mark.parametrize("mode", ["all", "any"])
def test_register_multi_grad_hook(mode):
    calls = {}
    for lib in (gradstep, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0], requires_grad=True)
        c = lib.tensor([5.0], requires_grad=True)  # not reached by the backward below
        got = []

        def fn(g, got=got):
            got.append(g if mode == "any" else tuple(x is not None for x in g))

        handle = lib.autograd.graph.register_multi_grad_hook((a, b, c), fn, mode=mode)
        ((a * 2).sum() + (b * 3).sum()).backward()
        handle.remove()
        ((a * 2).sum() + b.sum()).backward()
        calls[lib.__name__] = [x if not hasattr(x, "shape") else "tensor" for x in got]
    assert calls["gradstep"] == calls["torch"]


def test_increment_version_trips_the_saved_tensor_check():
    a = gradstep.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1.0
    y = (b * b).sum()
    graph.increment_version(b)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_every_hook_handle_is_utils_hooks_removable_handle_as_in_torch():
    # code keeps handles typed as torch.utils.hooks.RemovableHandle (isinstance checks); torch's
    # tensor, node, post-accumulate and module hooks all return that class
    import torch

    from gradstep.utils.hooks import RemovableHandle

    def handles(lib):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        return [x.register_hook(lambda g: g), y.register_hook(lambda g: g),
                y.grad_fn.register_hook(lambda *a: None), y.grad_fn.register_prehook(lambda *a: None),
                x.register_post_accumulate_grad_hook(lambda t: None),
                lib.nn.Linear(2, 2).register_forward_hook(lambda *a: None)]

    ours, theirs = handles(gradstep), handles(torch)
    assert all(isinstance(h, RemovableHandle) for h in ours)
    assert [type(h).__qualname__ for h in ours] == [type(h).__qualname__ for h in theirs]
    assert all(type(h).__module__ == "gradstep.utils.hooks" for h in ours)
    calls = []
    x = gradstep.ones(2, requires_grad=True)
    handle = x.register_hook(lambda g: calls.append(1))
    with handle:  # a handle is a context manager that removes its hook on exit
        (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert calls == [1]

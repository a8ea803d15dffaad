"""draw_graph against gradstep's own engine: same nodes, shapes, parameter names, grad norms."""

import re

import numpy as np
import pytest

import gradstep as gs
from gradstep import nn, viz
from gradstep.autograd.engine import _dependencies


def _mlp():
    gs.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


def _loss(model, dtype=gs.float32):
    gs.manual_seed(1)
    x = gs.randn(5, 6, dtype=dtype)
    return nn.functional.mse_loss(model.to(dtype)(x), gs.zeros(5, 3, dtype=dtype))


@pytest.mark.parametrize("dtype", [gs.float32, gs.float64])
def test_nodes_and_edges_are_the_engines(dtype):
    model = _mlp()
    loss = _loss(model, dtype)
    d = viz.draw_graph(loss, dict(model.named_parameters()))
    deps = _dependencies([loss.grad_fn])  # every node the engine reaches, with its in-edge count
    assert len(d.nodes) == len(deps) + 1  # + the root, which no edge points to
    assert {id(n.fn) for n in d.nodes} == {id(f) for f in deps} | {id(loss.grad_fn)}
    assert len(d.edges) == sum(deps.values())
    # the SVG draws one box per node and one path per edge
    assert d.svg.count('<g class="node"') == len(d.nodes)
    assert d.svg.count('class="edge"') == len(d.edges)
    names = {n.param for n in d.nodes if n.param}
    assert names == {name for name, _ in model.named_parameters()}
    assert d.nodes[0].name == loss.grad_fn.name()
    want = "float32" if dtype is gs.float32 else "float64"
    assert all(n.dtype is not None and np.dtype(n.dtype).name == want for n in d.nodes)


def test_shapes_match_the_intermediate_tensors():
    model = _mlp()
    x = gs.randn(5, 6)
    h1 = model[0](x)
    a1 = model[1](h1)
    out = model[4](model[3](model[2](a1)))
    loss = out.sum()
    d = viz.draw_graph(loss)
    by_fn = {n.fn: n for n in d.nodes}
    for t in (h1, a1, out, loss):
        assert tuple(by_fn[t.grad_fn].shape) == tuple(t.shape)


def test_grad_norms_after_backward_are_the_gradients_norms():
    model = _mlp().double()
    loss = _loss(model, gs.float64)
    d = viz.draw_graph(loss, dict(model.named_parameters()))
    assert "|grad|" not in d.svg  # nothing recorded before backward
    loss.backward()
    assert d.nodes[0].grad_norm == 1.0  # backward() seeds the scalar loss with 1
    params = dict(model.named_parameters())
    for n in d.nodes:
        assert n.grad_norm is not None
        if n.param:
            # same float64 gradient, norms taken two ways: rounding only
            want = np.linalg.norm(params[n.param].grad.numpy().ravel())
            assert n.grad_norm == pytest.approx(want, rel=1e-12)
    assert d.svg.count("|grad| =") == len(d.nodes)


def test_show_saved_lists_what_backward_kept():
    model = _mlp()
    loss = _loss(model)
    plain = viz.draw_graph(loss, track=False)
    saved = viz.draw_graph(loss, show_saved=True, track=False)
    assert "saved:" not in plain.svg
    addmm = [n for n in saved.nodes if n.name == "AddmmBackward0"]
    assert len(addmm) == 3
    # addmm(bias, x, W^T) keeps its two matrix operands for backward
    assert all(len(n.saved) == 2 for n in addmm)
    first = [n for n in addmm if tuple(n.shape) == (5, 8)]
    assert any((5, 6) in [tuple(s) for s, _ in n.saved] for n in first)
    assert saved.svg.count("saved:") == sum(1 for n in saved.nodes if n.saved)


def test_layout_edges_point_down_and_boxes_do_not_overlap():
    model = _mlp()
    d = viz.draw_graph(_loss(model), dict(model.named_parameters()), track=False)
    boxes, (w, h) = d.layout()
    for a, b in d.edges:
        assert boxes[b][1] >= boxes[a][1] + boxes[a][3]  # producer below consumer
    for i, (x, y, bw, bh) in enumerate(boxes):
        assert 0 <= x and x + bw <= w and 0 <= y and y + bh <= h
        for j, (x2, y2, bw2, bh2) in enumerate(boxes):
            if i < j:
                apart = x + bw <= x2 or x2 + bw2 <= x or y + bh <= y2 or y2 + bh2 <= y
                assert apart, (i, j)


def test_barycentric_sweeps_remove_crossings():
    from gradstep.viz.layout import crossings, layers_of, order_layers

    # 0 -> (1, 2); 1 -> 4, 2 -> 3: discovery order puts 3 before 4, which crosses
    edges = [(0, 1), (0, 2), (1, 4), (2, 3)]
    layer = layers_of(5, edges)
    naive = [[0], [1, 2], [3, 4]]
    pos = {i: k for r in naive for k, i in enumerate(r)}
    assert crossings(naive, [pos[i] for i in range(5)], edges, layer) == 1
    rows = order_layers(5, edges, layer)
    pos = {i: k for r in rows for k, i in enumerate(r)}
    assert crossings(rows, [pos[i] for i in range(5)], edges, layer) == 0


def test_collapse_by_module():
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(6)])
    with viz.trace_modules(model) as tm:
        loss = model(gs.randn(3, 4)).sum()
    full = viz.draw_graph(loss, dict(model.named_parameters()), modules=tm, track=False)
    small = viz.draw_graph(loss, modules=tm, collapse=True, track=False)
    assert len(full.nodes) == 1 + 6 * 4  # sum, then (addmm, tanh, weight, bias) per block
    assert len(small.nodes) == 1 + 6  # the sum and one box per block
    assert sum(n.members for n in small.nodes) == len(full.nodes)
    labels = re.findall(r'<g class="node collapsed".*?<text[^>]*>([^<]*)<', small.svg, re.S)
    assert sorted(labels) == [f"{i} (Sequential)" for i in range(6)]
    deeper = viz.draw_graph(loss, modules=tm, depth=2, track=False)
    assert len(deeper.nodes) == 1 + 6 * 2  # Linear (3 ops) and Tanh (1 op) boxes per block
    with pytest.raises(ValueError, match="trace_modules"):
        viz.draw_graph(loss, collapse=True)


def test_save_svg_and_png(tmp_path):
    model = _mlp()
    d = viz.draw_graph(_loss(model), dict(model.named_parameters()))
    p = d.save(tmp_path / "g.svg")
    assert open(p).read() == d.svg == d._repr_svg_()
    pytest.importorskip("matplotlib")
    png = d.save(tmp_path / "g.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="svg or .png"):
        d.save(tmp_path / "g.pdf")


def test_no_graph_is_an_error():
    with pytest.raises(ValueError, match="no grad_fn"):
        viz.draw_graph(gs.ones(3))


def test_grad_norms_are_the_next_backwards_only():
    model = _mlp().double()
    first = _loss(model, gs.float64)
    d = viz.draw_graph(first, dict(model.named_parameters()))
    first.backward()
    norms = [n.grad_norm for n in d.nodes]
    hooks = [len(n.fn._node_pre_hooks or ()) if hasattr(n.fn, "_node_pre_hooks")
             else len(n.fn._pre_hooks or ()) for n in d.nodes]
    assert hooks == [0] * len(d.nodes)  # every hook removed itself
    # a second step's graph reuses the leaves' AccumulateGrad nodes: the drawing keeps step 1's
    (_loss(model, gs.float64) * 3).backward()
    assert [n.grad_norm for n in d.nodes] == norms

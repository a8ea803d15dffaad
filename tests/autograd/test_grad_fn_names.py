"""grad_fn names and next_functions, walked as tutorials print them, against torch's.

Every expression's ``grad_fn.name()`` (and ``repr``) is torch's. Where gradstep's graph has
torch's structure the whole tree of names and edges (``(None, 0)`` included) is compared;
``STRUCTURAL`` lists the expressions whose graph gradstep composes differently (the top node
still carries torch's name) and what differs.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import gradstep
from tests.autograd._graph_cases import CASES
from tests.helpers import fma_on_both_sides

# expression -> what differs below the top node (gradstep's graph vs torch's)
STRUCTURAL = {
    "rdiv_scalar": "torch: MulBackward0(ReciprocalBackward0(x)); gradstep: one node",
    "addcmul": "gradstep composes add(mul)",
    "median": "gradstep: a view of a one-element pick",
    "trace": "gradstep: sum of a diagonal view",
    "roll": "gradstep, without dims: views of a flat roll",
    "masked_select": "gradstep: an expand before the pick",
    "take": "gradstep: a flatten before the pick",
    "addmm": "gradstep composes add(mm)",
    "linear": "torch: the weight through TBackward0",
    "linear_no_bias": "torch: the weight through TBackward0",
    "conv3d": "gradstep composes 2-D convolutions",
    "max_pool3d": "gradstep: max over unfolded windows",
    "avg_pool3d": "gradstep: mean over unfolded windows",
    "adaptive_max_pool2d": "gradstep: a gather",
    "interpolate_nearest": "gradstep: index_select per dim",
    "interpolate_bilinear": "gradstep: weighted index_select per dim",
    "unfold": "gradstep: views of an unfold node",
    "fold": "gradstep: views before the fold node",
    "pixel_shuffle": "gradstep: view, permute, view",
    "selu": "gradstep: scale times elu",
    "logsigmoid": "gradstep: -softplus(-x)",
    "glu": "gradstep: a * sigmoid(b) of chunks",
    "prelu": "gradstep: where(x > 0, x, w * x)",
    "cross_entropy": "torch: NllLoss(LogSoftmax(x)); gradstep: one fused node",
    "cross_entropy_none": "torch: NllLoss(LogSoftmax(x)); gradstep: one fused node",
    "cross_entropy_smoothing": "torch composes nll and a smoothing term; gradstep: one node",
    "cross_entropy_probs": "torch composes log_softmax, mul, sum; gradstep: one node",
    "smooth_l1_loss": "gradstep composes where/abs/mul under torch's name",
    "huber_loss": "gradstep composes where/abs/mul under torch's name",
    "bce": "gradstep: the reduction is a separate node",
    "bce_with_logits": "gradstep composes the stable formula",
    "soft_margin_loss": "gradstep composes softplus",
    "margin_ranking_loss": "torch: AddBackward1 (a C++ scalar add)",
    "multi_margin_loss": "gradstep composes gather/clamp/sum",
    "batch_norm": "gradstep: normalize, then mul and add",
    "group_norm": "gradstep: normalize, then views, mul and add",
    "cosine_similarity": "different compositions",
    "sdpa_3d": "torch takes its math path (a graph of bmm/softmax); gradstep: one node",
    "lstm_cell": "torch: UnsafeSplitBackward0 and TBackward0 under addmm",
    "lstm": "torch: MkldnnRnnLayerBackward0; gradstep: one layer node under a slice",
    "gru": "torch: its cell unrolled; gradstep: one layer node",
}


def _tree(fn, depth=0):
    """(name, children) of ``fn`` and its next_functions; None for an input without a graph."""
    if fn is None:
        return None
    assert depth < 60
    return fn.name(), tuple(_tree(e[0], depth + 1) for e in fn.next_functions)


def _both(build):
    gradstep.manual_seed(0)
    ours = build(gradstep)
    torch.manual_seed(0)
    return ours, build(torch)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_top_node_is_named_as_torch(name):
    ours, theirs = _both(CASES[name])
    if theirs.grad_fn is None:
        assert ours.grad_fn is None
        return
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    address = re.compile(r"0x[0-9a-f]+")
    assert address.sub("", repr(ours.grad_fn)) == address.sub("", repr(theirs.grad_fn))


@pytest.mark.parametrize("name", sorted(set(CASES) - set(STRUCTURAL)))
def test_the_whole_graph_is_torchs(name):
    ours, theirs = _both(CASES[name])
    assert _tree(ours.grad_fn) == _tree(theirs.grad_fn)


def test_add_with_alpha_is_torchs_one_rounding():
    """One node, one rounding (torch's fused multiply-add) also when recording a graph."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1000)).astype("float32")
    outs = []
    for lib in (gradstep, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        z = lib.sub(x, y, alpha=0.7)
        z.sum().backward()
        outs.append((z.detach().numpy(), y.grad.numpy()))
    np.testing.assert_array_equal(outs[0][1], outs[1][1])  # -alpha, exact either way
    if fma_on_both_sides():  # gradstep's one rounding goes through a BLAS axpy that fuses
        np.testing.assert_array_equal(outs[0][0], outs[1][0])
    else:  # one rounding against two: an ulp of the product and one of the sum
        bound = 2 * np.finfo(np.float32).eps * np.max(np.abs(a) + 0.7 * np.abs(b))
        np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=0, atol=bound)


# ---------------------------------------------------------------- small models
def _input(lib, shape, seed=0):
    return lib.tensor(np.random.default_rng(seed).uniform(-1, 1, size=shape).astype("float32"))


def _blitz(lib):
    """The 60-minute blitz's LeNet and MSE loss, as its "backprop" section builds them."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    out = Net()(_input(lib, (1, 1, 32, 32)))
    return nn.MSELoss()(out, _input(lib, (1, 10), 1))


def _mlp_cross_entropy(lib):
    m = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))
    return lib.nn.CrossEntropyLoss()(m(_input(lib, (5, 4))), lib.tensor([0, 1, 2, 1, 0]))


def _convnet(lib):
    nn = lib.nn
    m = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(8, 3), nn.LogSoftmax(1))
    return nn.NLLLoss()(m(_input(lib, (2, 1, 4, 4))), lib.tensor([0, 2]))


def _convnet_bn(lib):
    nn = lib.nn
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
    return m(_input(lib, (2, 1, 4, 4))).sum()


def _layer_norm(lib):
    return lib.nn.LayerNorm(4)(_input(lib, (2, 4)))


def _attention(lib):
    q, k, v = (_input(lib, (1, 2, 3, 4), s).requires_grad_() for s in range(3))
    return lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


def _transformer_layer(lib):
    layer = lib.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0,
                                           batch_first=True)
    return layer(_input(lib, (1, 3, 4)))


def _lstm_step(lib):
    h, c = lib.nn.LSTMCell(3, 2)(_input(lib, (1, 3)))
    return h


def _without(tree, names):
    """``tree`` with each node named in ``names`` replaced by its one child (torch's extra
    TBackward0 and the LogSoftmaxBackward0 that gradstep's fused cross-entropy includes)."""
    if tree is None:
        return None
    name, kids = tree
    if name in names and len(kids) == 1:
        return _without(kids[0], names)
    return name, tuple(_without(k, names) for k in kids)


# model -> the torch nodes gradstep's graph folds into a neighbour (None: the whole tree differs)
MODELS = {
    "blitz": (_blitz, {"TBackward0"}),
    "mlp_cross_entropy": (_mlp_cross_entropy, {"TBackward0", "LogSoftmaxBackward0"}),
    "convnet": (_convnet, {"TBackward0"}),
    "layer_norm": (_layer_norm, set()),
    "attention": (_attention, set()),
    "convnet_batch_norm": (_convnet_bn, None),  # gradstep: normalize, then mul and add
    "transformer_layer": (_transformer_layer, None),  # in_proj split, TBackward0
    "lstm_step": (_lstm_step, None),  # UnsafeSplitBackward0, TBackward0
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_small_models_graphs(name):
    build, folded = MODELS[name]
    ours, theirs = _both(build)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    if folded is not None:
        assert _tree(ours.grad_fn) == _without(_tree(theirs.grad_fn), folded)


def test_the_blitz_tutorials_printout():
    """``loss.grad_fn`` and two steps back along ``next_functions[0][0]``, as the tutorial
    prints them: MSELoss, then Linear (addmm), then its bias's AccumulateGrad."""
    lines = []
    for lib in (gradstep, torch):
        lib.manual_seed(0)
        loss = _blitz(lib)
        first = loss.grad_fn
        second = first.next_functions[0][0]
        third = second.next_functions[0][0]
        lines.append([re.sub(r" at 0x[0-9a-f]+", "", repr(fn)) for fn in (first, second, third)])
    assert lines[0] == lines[1] == ["<MseLossBackward0 object>", "<AddmmBackward0 object>",
                                    "<AccumulateGrad object>"]


def test_accumulate_grad_is_named_and_printed_as_torch():
    for lib in (gradstep, torch):
        x = lib.ones(2, requires_grad=True)
        acc = (x * 2).grad_fn.next_functions[0][0]
        assert acc.name() == "torch::autograd::AccumulateGrad"
        assert repr(acc).startswith("<AccumulateGrad object at 0x")
        assert acc.variable is x


def test_a_method_with_a_node_name_keeps_an_explicit_rename():
    """Nodes whose name depends on the call (sum, mean, matmul, linear) still take torch's
    name for a composite that ends in them (mse_loss's reduction, e.g.)."""
    for lib in (gradstep, torch):
        x = lib.ones(2, 3, requires_grad=True)
        assert x.sum(1).grad_fn.name() == "SumBackward1"
        assert x.mean().grad_fn.name() == "MeanBackward0"
        loss = lib.nn.functional.huber_loss(x, lib.zeros(2, 3))
        assert loss.grad_fn.name() == "HuberLossBackward0"

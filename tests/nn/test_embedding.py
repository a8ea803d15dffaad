"""Embedding and EmbeddingBag against torch: lookups, padding_idx, repeated indices."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.autograd import gradcheck
from tests.nn.bad_input import assert_same_outcome, rand
from tests.nn.layer_twin import compare_layer

IDX = [[1, 2, 4, 5], [4, 3, 2, 9], [0, 0, 4, 4]]  # repeats and padding index 4


def _indices(L, dt):
    return [L.tensor(IDX)]


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 4}, {"padding_idx": -6},
                                    {"scale_grad_by_freq": True, "padding_idx": 0}])
def test_embedding_matches_torch(kwargs):
    compare_layer(lambda L: L.nn.Embedding(10, 3, **kwargs), None, inputs=_indices,
                  modes=("train",))
    assert repr(nn.Embedding(10, 3, **kwargs)) == repr(torch.nn.Embedding(10, 3, **kwargs))


def test_padding_row_gets_no_gradient_and_starts_at_zero():
    emb = nn.Embedding(6, 2, padding_idx=1)
    assert emb.weight[1].tolist() == [0.0, 0.0]
    emb(gradstep.tensor([1, 1, 2, 2, 2])).sum().backward()
    assert emb.weight.grad[1].tolist() == [0.0, 0.0]
    assert emb.weight.grad[2].tolist() == [3.0, 3.0]  # repeated indices accumulate


def test_max_norm_renormalises_looked_up_rows():
    for L in (gradstep, torch):
        L.manual_seed(0)
    w = np.random.default_rng(0).normal(size=(5, 3)) * 3
    ours = nn.Embedding.from_pretrained(gradstep.tensor(w), max_norm=1.0)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w), max_norm=1.0)
    idx = [0, 2, 2]
    np.testing.assert_allclose(ours(gradstep.tensor(idx)).numpy(),
                               theirs(torch.tensor(idx)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.numpy(), rtol=1e-10)
    assert not ours.weight.requires_grad


def test_embedding_errors():
    emb = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match="index out of range"):
        emb(gradstep.tensor([0, 5]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        emb(gradstep.tensor([0.0, 1.0]))
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)


def test_embedding_double_backward_gradcheck():
    w = gradstep.randn(6, 3, dtype=gradstep.float64, requires_grad=True)
    idx = gradstep.tensor([[0, 5, 5], [2, 3, 0]])
    assert gradcheck(lambda w: nn.functional.embedding(idx, w) ** 2, (w,))
    (g,) = gradstep.autograd.grad((nn.functional.embedding(idx, w) ** 2).sum(), w,
                                  create_graph=True)
    g.sum().backward()
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad((torch.nn.functional.embedding(torch.tensor(idx.numpy()), tw) ** 2)
                                .sum(), tw, create_graph=True)
    tg.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_torch(mode):
    def inputs(L, dt):
        return [L.tensor([1, 2, 4, 5, 4, 3, 2, 9]), L.tensor([0, 3, 3, 5])]

    compare_layer(lambda L: L.nn.EmbeddingBag(10, 3, mode=mode), None, inputs=inputs,
                  modes=("train",))
    compare_layer(lambda L: L.nn.EmbeddingBag(10, 3, mode=mode, padding_idx=4), None,
                  inputs=_indices, modes=("train",))


def test_embedding_bag_per_sample_weights():
    def inputs(L, dt):
        return [L.tensor(IDX), None,
                L.tensor(np.linspace(0.5, 2, 12).reshape(3, 4).astype(dt), requires_grad=True)]

    compare_layer(lambda L: L.nn.EmbeddingBag(10, 3, mode="sum"), None, inputs=inputs,
                  modes=("train",))


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_of_empty_input_stays_in_the_graph(mode):
    from tests.ops.fuzz_ops import disagreement
    w = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    for offsets in ([0, 0], [0]):
        for last in (False, True):
            assert disagreement(lambda L, i, w, o, k=last: L.nn.functional.embedding_bag(
                i, w, o, mode=mode, include_last_offset=k), np.zeros(0, np.int64), w,
                np.array(offsets), tol="sum", n=8) is None
    assert disagreement(lambda L, i, w: L.nn.functional.embedding_bag(i, w, mode=mode),
                        np.zeros((0, 2), np.int64), w, tol="sum", n=8) is None


def test_embedding_bag_refuses_an_offset_past_the_input():
    w = gradstep.randn(4, 3)
    with pytest.raises(RuntimeError, match="offsets\\[-1\\] can not be greater than input's"):
        gradstep.nn.functional.embedding_bag(gradstep.tensor([1, 2]), w, gradstep.tensor([0, 3]))


@pytest.mark.parametrize("args", [
    ([1, 2], [1]),  # offsets[0] must be 0
    ([1, 7], [0]),  # an index past the table
    ([[1, 7]], None),  # 2-D input, same check
    ([-1, 2], [0]),  # a negative index
    ([1.0, 2.0], [0]),  # float indices
], ids=str)
def test_embedding_bag_refuses_bad_input_with_torchs_error(args):
    """Found by a probe: F.embedding_bag accepted offsets[0] != 0 and raised IndexError for a bad
    index, where torch raises RuntimeError (code written ``except RuntimeError`` missed it)."""
    seen = []
    for lib in (torch, gradstep):
        lib.manual_seed(0)
        bag = lib.nn.EmbeddingBag(5, 2)
        with pytest.raises(RuntimeError) as info:
            bag(lib.tensor(args[0]), None if args[1] is None else lib.tensor(args[1]))
        seen.append(str(info.value).splitlines()[0])
    assert seen[1] == seen[0]


@pytest.mark.parametrize("weight_shape", [(10,), (), (10, 3, 2)])
@pytest.mark.parametrize("padding_idx", [None, 1, 20])
def test_embedding_weight_must_be_2d_as_torch(weight_shape, padding_idx):
    """torch checks padding_idx (reading weight.size(0)) and then that the weight is 2-D."""
    assert_same_outcome(lambda L: L.nn.functional.embedding(
        L.tensor([1, 2]), rand(L, weight_shape), padding_idx=padding_idx))

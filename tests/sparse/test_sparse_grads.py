"""Sparse gradients against torch: ``nn.Embedding``/``F.embedding``/``nn.EmbeddingBag`` with
``sparse=True`` (layout, accumulation, padding, max_norm), the engine's rules for mixing them
with dense ones, sparse leaves under ``torch.mm`` (a dense gradient) and ``torch.sparse.mm`` (a
sparse one), and the legacy idioms of published training loops."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks")]
LIBS = (gradstep, torch)
W = np.random.default_rng(0).standard_normal((6, 3))


def both(fn):
    return fn(gradstep), fn(torch)


def layout(g):
    """What a sparse gradient is made of, comparable across the two libraries."""
    return (g.is_sparse, g.is_coalesced(), g._indices().numpy().tolist(),
            tuple(g._values().shape), tuple(g.shape))


def assert_same_sparse(ours, theirs, dtype="float32"):
    assert layout(ours) == layout(theirs)
    assert_close(ours._values(), theirs._values(), dtype, what="values")


def embedding(lib, dtype="float32", **kwargs):
    w = lib.tensor(W.astype(dtype))
    return lib.nn.Embedding(6, 3, sparse=True, _weight=w, **kwargs)


# ---------------------------------------------------------------- nn.Embedding(sparse=True)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding_grad_is_uncoalesced_one_entry_per_index(dtype, padding_idx):
    def run(lib):
        e = embedding(lib, dtype, padding_idx=padding_idx)
        idx = lib.tensor([[0, 2, 1], [2, 5, 0]])
        (e(idx) * lib.arange(1.0, 4.0, dtype=e.weight.dtype)).sum().backward()
        return e.weight.grad

    ours, theirs = both(run)
    assert_same_sparse(ours, theirs, dtype)
    assert ours.dtype.name == dtype
    coalesced = both(lambda lib: run(lib).coalesce())
    assert_same_sparse(*coalesced, dtype=dtype)
    assert_close(ours.to_dense(), theirs.to_dense(), dtype)


def test_two_backward_calls_accumulate_as_torch_does():
    """torch adds the second sparse gradient into the first with one walk over both index
    lists (a merge), so its indices are neither concatenated nor sorted."""
    def run(lib):
        e = embedding(lib)
        for idx, scale in (([3, 1, 1, 0], 1.0), ([1, 0, 3, 3, 2], 2.0), ([4, 4], 3.0)):
            (e(lib.tensor(idx)) * scale).sum().backward()
        return e.weight.grad

    ours, theirs = both(run)
    assert_same_sparse(ours, theirs)
    assert_same_sparse(ours.coalesce(), theirs.coalesce())


def test_accumulation_keeps_the_grad_object():
    def run(lib):
        e = embedding(lib)
        e(lib.tensor([0, 2])).sum().backward()
        first = e.weight.grad
        e(lib.tensor([2, 5])).sum().backward()
        return e.weight.grad is first

    assert both(run) == (True, True)


@pytest.mark.parametrize("ids", [[1, 1], [1], [], [3, 3], [0, 4]], ids=str)
def test_nnz_and_flags_for_few_entries(ids):
    def run(lib):
        e = embedding(lib, padding_idx=1)
        e(lib.tensor(ids, dtype=lib.int64)).sum().backward()
        return e.weight.grad

    assert_same_sparse(*both(run))


def test_max_norm_renormalises_and_the_grad_stays_per_index():
    def run(lib):
        e = embedding(lib, max_norm=1.0)
        e(lib.tensor([0, 2, 0])).sum().backward()
        return e.weight.grad, e.weight.detach()

    (g, w), (tg, tw) = both(run)
    assert_same_sparse(g, tg)
    assert_close(w, tw, "float32")


def test_functional_embedding_sparse_and_float64():
    def run(lib):
        w = lib.tensor(W, requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor([[4, 0], [4, 4]]), w, sparse=True)
        out.backward(lib.arange(12.0, dtype=lib.float64).reshape(2, 2, 3))
        return w.grad

    ours, theirs = both(run)
    assert_same_sparse(ours, theirs, "float64")


def test_scale_grad_by_freq_is_refused_at_backward():
    msgs = []
    for lib in LIBS:
        out = embedding(lib, scale_grad_by_freq=True)(lib.tensor([0, 0, 2]))
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


# ---------------------------------------------------------------- nn.EmbeddingBag(sparse=True)
@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_bag_grad_matches_torch(mode, padding_idx):
    def run(lib):
        bag = lib.nn.EmbeddingBag(6, 3, mode=mode, sparse=True, padding_idx=padding_idx,
                                  _weight=lib.tensor(W.astype("float32")))
        out = bag(lib.tensor([0, 1, 2, 2, 4, 1]), lib.tensor([0, 2, 2]))
        (out * lib.arange(9.0).reshape(3, 3)).sum().backward()
        return bag.weight.grad

    assert_same_sparse(*both(run))


def test_embedding_bag_per_sample_weights_and_2d_input():
    def run(lib):
        bag = lib.nn.EmbeddingBag(6, 3, mode="sum", sparse=True,
                                  _weight=lib.tensor(W.astype("float32")))
        out = bag(lib.tensor([[0, 1], [5, 5]]), per_sample_weights=lib.tensor([[1., 2], [3, 4]]))
        out.sum().backward()
        return bag.weight.grad

    assert_same_sparse(*both(run))


def test_embedding_bag_max_mode_refuses_sparse():
    msgs = []
    for lib in LIBS:
        bag = lib.nn.EmbeddingBag(6, 3, mode="max", sparse=True)
        with pytest.raises(ValueError) as info:
            bag(lib.tensor([0, 1]), lib.tensor([0]))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


# ---------------------------------------------------------------- the engine's rules
@pytest.mark.parametrize("case", ["dense_then_sparse", "sparse_then_dense", "same_graph",
                                  "tied_output_layer"])
def test_a_dense_gradient_makes_grad_dense(case):
    def run(lib):
        w = lib.tensor(W, requires_grad=True)
        sparse_loss = (lambda: lib.nn.functional.embedding(lib.tensor([0, 2, 2]), w,
                                                           sparse=True).pow(2).sum())
        if case == "dense_then_sparse":
            w.pow(3).sum().backward()
            sparse_loss().backward()
        elif case == "sparse_then_dense":
            sparse_loss().backward()
            w.pow(3).sum().backward()
        elif case == "same_graph":
            (sparse_loss() + w.pow(3).sum()).backward()
        else:  # the embedding's weight reused as the output projection (tied weights)
            h = lib.nn.functional.embedding(lib.tensor([1, 4]), w, sparse=True)
            (h @ w.t()).logsumexp(1).sum().backward()
        return w.grad

    ours, theirs = both(run)
    assert not ours.is_sparse and not theirs.is_sparse
    assert_close(ours, theirs, "float64")


def test_two_sparse_gradients_in_one_graph_add_up_sparse():
    def run(lib):
        w = lib.tensor(W, requires_grad=True)
        f = lib.nn.functional.embedding
        (f(lib.tensor([0, 2]), w, sparse=True).sum()
         + 3 * f(lib.tensor([3, 2]), w, sparse=True).sum()).backward()
        return w.grad

    ours, theirs = both(run)
    assert ours.is_sparse and theirs.is_sparse
    assert_same_sparse(ours.coalesce(), theirs.coalesce(), "float64")


def test_autograd_grad_and_hooks_see_the_sparse_gradient():
    def run(lib):
        w = lib.tensor(W, requires_grad=True)
        seen = []
        handle = w.register_hook(lambda g: seen.append(g.is_sparse))
        lib.nn.functional.embedding(lib.tensor([5, 0]), w, sparse=True).sum().backward()
        handle.remove()
        out = lib.nn.functional.embedding(lib.tensor([5, 0]), w, sparse=True).sum()
        (g,) = lib.autograd.grad(out, w)
        return g, seen

    (g, seen), (tg, tseen) = both(run)
    assert seen == tseen == [True]
    assert_same_sparse(g, tg, "float64")


def test_computed_weight_gets_the_same_numbers():
    """torch sends the sparse gradient through ``w * 2`` and gives ``w`` a sparse ``.grad``;
    gradstep hands nodes other than a leaf's accumulator the dense form (same numbers)."""
    def run(lib):
        w = lib.tensor(W, requires_grad=True)
        lib.nn.functional.embedding(lib.tensor([0, 2]), w * 2, sparse=True).sum().backward()
        return w.grad.to_dense()

    ours, theirs = both(run)
    assert_close(ours, theirs, "float64")


def test_sparse_plus_sparse_walks_both_index_lists_like_torch():
    def run(lib):
        a = lib.sparse_coo_tensor([[3, 1, 1, 0]], lib.arange(4.0).unsqueeze(1), (5, 1))
        b = lib.sparse_coo_tensor([[1, 0, 3, 3, 2]], 10 * lib.arange(1.0, 6.0).unsqueeze(1),
                                  (5, 1))
        return [a + b, a.coalesce() + b, a.coalesce() + b.coalesce(), b.add(a, alpha=2)]

    for ours, theirs in zip(*both(run)):
        assert_same_sparse(ours, theirs)


# ---------------------------------------------------------------- sparse leaves and products
def sparse_leaf(lib):
    i = lib.tensor([[1, 0, 1, 2], [0, 2, 0, 1]])
    s = lib.sparse_coo_tensor(i, lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64), (3, 3))
    return s.detach().requires_grad_()


PRODUCTS = {
    "mm": lambda lib, s, d: lib.mm(s, d),
    "matmul": lambda lib, s, d: lib.matmul(s, d),
    "at": lambda lib, s, d: s @ d,
    "spmm": lambda lib, s, d: lib.spmm(s, d),
    "addmm": lambda lib, s, d: lib.addmm(lib.ones(3, 2, dtype=lib.float64), s, d),
    "mv": lambda lib, s, d: s @ d[:, 0],
    "dense_at_sparse": lambda lib, s, d: d.t() @ s,
    "mm_of_t": lambda lib, s, d: lib.mm(s.t(), d),
    "sparse_mm": lambda lib, s, d: lib.sparse.mm(s, d),
    "sparse_addmm": lambda lib, s, d: lib.sparse.addmm(lib.ones(3, 2, dtype=lib.float64), s, d),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_sparse_leaf_gradient_layout_per_product(name):
    """torch.mm & co. give a sparse leaf a dense gradient over every position; torch.sparse.mm
    and torch.sparse.addmm one on its coalesced pattern (flagged uncoalesced)."""
    def run(lib):
        s = sparse_leaf(lib)
        d = lib.arange(6.0, dtype=lib.float64).reshape(3, 2).requires_grad_()
        (PRODUCTS[name](lib, s, d) * 1.5).sum().backward()
        return s.grad, d.grad

    (g, dg), (tg, tdg) = both(run)
    assert g.is_sparse == tg.is_sparse == name.startswith("sparse_")
    if g.is_sparse:
        assert_same_sparse(g, tg, "float64")
    else:
        assert_close(g, tg, "float64")
    assert not dg.is_sparse
    assert_close(dg, tdg, "float64")


def test_sparse_leaf_dense_and_sparse_gradients_accumulate_dense():
    def run(lib):
        s = sparse_leaf(lib)
        d = lib.arange(6.0, dtype=lib.float64).reshape(3, 2)
        lib.sparse.mm(s, d).sum().backward()
        (s @ d).pow(2).sum().backward()
        lib.sparse.mm(s, d).sum().backward()
        grads = [s.grad]
        s.grad = None
        (lib.sparse.mm(s, d).sum() + (s @ d).sum()).backward()
        return grads + [s.grad, lib.autograd.grad((s @ d).sum(), s)[0]]

    for ours, theirs in zip(*both(run)):
        assert not ours.is_sparse and not theirs.is_sparse
        assert_close(ours, theirs, "float64")


def test_sparse_leaf_hooks_and_autograd_grad():
    def run(lib):
        s = sparse_leaf(lib)
        seen = []
        handle = s.register_hook(lambda g: seen.append(g.layout == lib.sparse_coo))
        lib.sparse.mm(s, lib.ones(3, 2, dtype=lib.float64)).sum().backward()
        handle.remove()
        out = lib.sparse.mm(s, lib.ones(3, 2, dtype=lib.float64)).sum()
        (g,) = lib.autograd.grad(out, s)
        return g, seen, s.is_leaf, s.grad_fn is None

    (g, *rest), (tg, *trest) = both(run)
    assert rest == trest == [[True], True, True]
    assert_same_sparse(g, tg, "float64")


def test_assigning_a_dense_grad_to_a_sparse_leaf_is_refused():
    msgs = []
    for lib in LIBS:
        s = sparse_leaf(lib)
        with pytest.raises(RuntimeError) as info:
            s.grad = lib.ones(3, 3, dtype=lib.float64)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


# ---------------------------------------------------------------- legacy idioms
def test_published_training_loop_idioms():
    """The loop of pre-1.0 code: ``p.grad.data.is_sparse``, ``_indices``/``_values``,
    ``p.data.add_(grad, alpha=-lr)`` and the legacy ``add_(-lr, grad)``."""
    def run(lib):
        e = embedding(lib)
        e(lib.tensor([0, 2, 2, 5])).pow(2).sum().backward()
        grad = e.weight.grad
        facts = [grad.data.is_sparse, grad.is_sparse, grad._indices().numpy().tolist(),
                 grad._values().numpy().copy()]
        for p in e.parameters():
            if p.grad.data.is_sparse:
                p.data.add_(p.grad, alpha=-0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e.weight.data.add_(-0.05, e.weight.grad)
        e.weight.data += 0.01 * e.weight.grad.to_dense()
        return facts, e.weight.detach()

    (facts, w), (tfacts, tw) = both(run)
    assert facts[:3] == tfacts[:3]
    assert_close(facts[3], tfacts[3], "float32")
    assert_close(w, tw, "float32")


def test_dense_add_sparse_adds_duplicates_one_after_another():
    """Each entry is added in turn (torch's kernel): three 4e-8 into 1.0 vanish in float32,
    where their sum first would not."""
    def run(lib):
        out = []
        for shape in ((3,), (3, 2)):
            s = lib.sparse_coo_tensor([[0, 0, 1, 0, 2]], lib.full((5,) + shape[1:], 4e-8), shape)
            out += [lib.ones(shape).add_(s) - 1, lib.ones(shape).add_(s, alpha=3) - 1]
        return out

    for ours, theirs in zip(*both(run)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_sparse_helpers_of_old_optimizers():
    def run(lib):
        e = embedding(lib)
        e(lib.tensor([0, 2, 2, 5])).sum().backward()
        g = e.weight.grad
        made = g.new(g._indices(), g._values() * 2, g.size())
        return [made, g.pow(2), g.abs(), g.sqrt(), lib.ones(6, 3).sparse_mask(g),
                lib.ones(6, 3).sparse_mask(g.coalesce()), g.clone().mul_(2),
                g.clone().add_(g, alpha=2), g.clone().zero_()], g.norm()

    (ours, norm), (theirs, tnorm) = both(run)
    for a, b in zip(ours, theirs):
        assert_same_sparse(a, b)
    assert_close(norm, tnorm, "float32")


def test_data_of_a_sparse_grad_is_a_separate_tensor():
    def run(lib):
        e = embedding(lib)
        e(lib.tensor([0, 2])).sum().backward()
        e.weight.grad.data.mul_(0.5)
        e.weight.grad.data.zero_()
        return e.weight.grad

    assert_same_sparse(*both(run))


def test_clip_grad_norm_refuses_sparse_grads_as_torch():
    for lib in LIBS:
        e = embedding(lib)
        e(lib.tensor([0, 2])).sum().backward()
        with pytest.raises(NotImplementedError):
            lib.nn.utils.clip_grad_norm_(e.parameters(), 0.5)

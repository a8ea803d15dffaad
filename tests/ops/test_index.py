"""Indexing against torch: __getitem__/__setitem__, gather/scatter, masks, sort/topk."""

import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check
from tests.ops.fuzz_ops import disagreement

GETITEM = {
    "int": lambda L, a: a[1],
    "neg_int": lambda L, a: a[-1, 2],
    "slice": lambda L, a: a[1:],
    "slice_step": lambda L, a: a[:, ::2],
    "slice_step_start": lambda L, a: a[0:3:2, 1::3, -3:],
    "slice_neg": lambda L, a: a[-2:, :-1],
    "slice_out_of_range": lambda L, a: a[1:100],
    "none": lambda L, a: a[None],
    "none_mid": lambda L, a: a[:, None, 1],
    "ellipsis": lambda L, a: a[..., 1],
    "ellipsis_none": lambda L, a: a[None, ..., None, 0],
    "int_tensor": lambda L, a: a[L.tensor([0, 2])],
    "int_tensor_neg": lambda L, a: a[L.tensor([-1, 0])],
    "int_tensor_2d": lambda L, a: a[L.tensor([[0, 1], [2, 2]])],
    "repeat_idx": lambda L, a: a[L.tensor([0, 0, 2, 0])],
    "list": lambda L, a: a[[2, 0, 2]],
    "list_bool": lambda L, a: a[[True, False, True]],
    "two_adv": lambda L, a: a[[0, 1, 1], [3, 3, 0]],
    "adv_slice_adv": lambda L, a: a[[0, 2], :, [1, 1]],
    "mixed": lambda L, a: a[1:, [0, 0, 3]],
    "mixed_int": lambda L, a: a[0, [1, 1], ::2],
    "bool_mask": lambda L, a: a[a > 0],
    "bool_mask_dim0": lambda L, a: a[L.tensor([True, False, True])],
    "bool_mask_2d": lambda L, a: a[a[:, :, 0] > 0],
    "mask_and_slice": lambda L, a: a[L.tensor([False, True, True]), 1:3],
    "zero_d_index": lambda L, a: a[L.tensor(1)],
    "empty_idx": lambda L, a: a[L.tensor([], dtype=L.int64)],
    "int32_idx": lambda L, a: a[L.tensor([2, 1], dtype=L.int32)],
    "full_slice": lambda L, a: a[:],
    "chain": lambda L, a: a[1][1:][0],
    # ints and None apply before array indices in torch (NumPy would move the dims)
    "int_slice_list": lambda L, a: a[2, 1::3, [1, 0]],
    "int_slice_mask": lambda L, a: a[-2, ::2, L.tensor([True, False, True, True, False])],
    "none_then_list": lambda L, a: a[0, None, [2, -2, 1]],
    "list_none_int": lambda L, a: a[:2, [-3], None, 0],
    "zero_d_tensor_with_list": lambda L, a: a[L.tensor(1), :, [0, 4]],
    "byte_mask": lambda L, a: a[L.tensor([1, 0, 1], dtype=L.uint8)],
    "empty_list": lambda L, a: a[[]],
    "bool_scalar": lambda L, a: a[True, 1],
}


@pytest.mark.filterwarnings("ignore:indexing with dtype")
@pytest.mark.parametrize("name", sorted(GETITEM))
def test_getitem(name):
    check(GETITEM[name], [(3, 4, 5)])


def _random_key(rng, L, shape):
    parts, dim, n_adv = [], 0, 0
    for _ in range(rng.integers(1, 5)):
        r = rng.random()
        n = shape[dim] if dim < len(shape) else 0
        if r < 0.2 and n:
            parts.append(int(rng.integers(-n, n)))
        elif r < 0.45 and n:
            parts.append(slice(*[rng.choice(c) for c in ([None, 0, 1, -2], [None, 2, -1, 10], [None, 1, 2, 3])]))
        elif r < 0.55:
            parts.append(None)
            continue
        elif r < 0.75 and n and n_adv < 2:
            parts.append(L.tensor(rng.integers(-n, n, int(rng.integers(1, 4))).tolist()))
            n_adv += 1
        elif r < 0.85 and n and n_adv < 2:
            parts.append(L.tensor((rng.random(n) < 0.5).tolist()))
            n_adv += 1
        elif r < 0.9 and Ellipsis not in parts:
            parts.append(Ellipsis)
            dim = len(shape)
            continue
        else:
            continue
        dim += 1
    return tuple(parts)


def test_random_keys_against_torch():
    shape = (4, 5, 3)
    for seed in range(150):
        key_g = _random_key(np.random.default_rng(seed), gradstep, shape)
        key_t = _random_key(np.random.default_rng(seed), torch, shape)
        x = np.random.default_rng(seed).standard_normal(shape)
        a, t = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        try:
            tr = t[key_t]
        except (IndexError, RuntimeError, ValueError):
            with pytest.raises((IndexError, RuntimeError, ValueError)):
                a[key_g]
            continue
        ours = a[key_g]
        assert tuple(ours.shape) == tuple(tr.shape), key_t
        np.testing.assert_allclose(ours.detach().numpy(), tr.detach().numpy())
        w = np.random.default_rng(seed).standard_normal(tuple(tr.shape))
        (ours * gradstep.tensor(w)).sum().backward()
        (tr * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), err_msg=str(key_t))


def test_getitem_scalar_tensor_and_grad_fn_names():
    a = gradstep.ones(3, 4, requires_grad=True)
    t = torch.ones(3, 4, requires_grad=True)
    for k in [0, (0, 1), slice(1, None), (slice(None), 0), (0, slice(1, None)), None, Ellipsis,
              (Ellipsis, 0), (slice(None),), (slice(None), None), [0, 1], (0, [0, 1])]:
        assert a[k].grad_fn.name() == t[k].grad_fn.name(), k
    s = gradstep.tensor(3.0, requires_grad=True)
    assert s[None].shape == (1,)
    assert s[...].shape == ()


def test_getitem_errors():
    a = gradstep.zeros(3, 4)
    with pytest.raises(IndexError):
        a[3]
    with pytest.raises(IndexError):
        a[[0, 5]]
    with pytest.raises(IndexError):
        a[0, 0, 0]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool"):
        a[gradstep.tensor([0.0])]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        a[::-1]
    with pytest.raises(IndexError):
        a[gradstep.tensor([True, False])]


def test_basic_index_is_view():
    a = gradstep.zeros(3, 4)
    v = a[1, 1:]
    v += 2.0
    assert a[1].tolist() == [0.0, 2.0, 2.0, 2.0]
    assert a._version == 1
    adv = a[[1]]
    adv += 1.0
    assert a[1, 0].item() == 0.0


SETITEM = {
    "row": lambda L, a, b: _set(a, 0, b[0]),
    "broadcast": lambda L, a, b: _set(a, (slice(None), 1), b[0, :1].reshape(())),
    "slice": lambda L, a, b: _set(a, slice(1, None), b[:2]),
    "step": lambda L, a, b: _set(a, (slice(None), slice(None, None, 2)), b[:, :2]),
    "adv": lambda L, a, b: _set(a, [2, 0], b[:2]),
    "adv_tensor": lambda L, a, b: _set(a, (L.tensor([0, 2]), L.tensor([1, 3])), b[0, :2]),
    "mask": lambda L, a, b: _set(a, a > 0, b[a > 0] * 2),
    "scalar": lambda L, a, b: _set(a, (0, 0), 5.0) * b,
    "scalar_mask": lambda L, a, b: _set(a, a < 0, 0.0) + b,
    "int_scalar": lambda L, a, b: _set(a, 1, 3) * b,
    "zero_d": lambda L, a, b: _set(a, (1, 2), b[0, 0]),
    "ellipsis": lambda L, a, b: _set(a, (Ellipsis, 0), b[:, 1]),
    "iadd": lambda L, a, b: _iadd(a, slice(0, 2), b[1:]),
    "twice": lambda L, a, b: _set(_set(a, 0, b[0]), (slice(None), 0), b[:, 1] * b[:, 2]),
    "int_and_list": lambda L, a, b: _set(a, (1, [3, 0]), b[0, :2]),
    "none_int_list": lambda L, a, b: _set(a, (None, 2, [0, 1]), b[:1, :2]),
}


def _set(a, key, v):
    x = a * 1
    x[key] = v
    return x


def _iadd(a, key, v):
    x = a * 1
    x[key] += v
    return x


@pytest.mark.parametrize("name", sorted(SETITEM))
def test_setitem_autograd(name):
    check(SETITEM[name], [(3, 4), (3, 4)])


def test_setitem_into_plain_tensor_records_graph():
    def f(L, b):
        x = L.zeros(3, 4, dtype=b.dtype)
        x[1] = b[0]
        x[:, 2] += b[:, 1] * b[:, 1]
        return x
    check(f, [(3, 4)])


def test_setitem_plain_and_errors():
    for L in (gradstep, torch):
        x = L.zeros(3, 4)
        x[0] = 1.0
        x[:, 1] = L.tensor([7.0, 8.0, 9.0])
        x[x > 8] = -1.0
        x[[1, 2], [3, 3]] = L.tensor([4.0, 5.0])
        x[2] = L.tensor(6, dtype=L.int64)
        if L is gradstep:
            ours = x
        else:
            np.testing.assert_array_equal(ours.numpy(), x.numpy())
    a = gradstep.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\] cannot be broadcast to indexing result of shape \[4\]"):
        a[0] = gradstep.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"value tensor of shape \[2\] cannot be broadcast to indexing result of shape \[4\]"):
        a[1] = gradstep.ones(2)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        gradstep.zeros(3, requires_grad=True)[0] = 1.0
    with gradstep.no_grad():
        leaf = gradstep.zeros(3, requires_grad=True)
        leaf[0] = 1.0
    assert leaf.tolist() == [1.0, 0.0, 0.0] and leaf.requires_grad and leaf.is_leaf


def test_setitem_version_and_grad_fn():
    a = gradstep.ones(3, requires_grad=True)
    x = a * 2
    y = x * x  # saves x
    x[0] = 0.0
    assert x.grad_fn.name() == "torch::autograd::CopySlices"  # torch's name()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_index_select():
    check(lambda L, a: a.index_select(1, L.tensor([2, 0, 2])), [(3, 4)])
    check(lambda L, a: L.index_select(a, -1, L.tensor([1])), [(2, 3, 4)])
    check(lambda L, a: L.index_select(a, 0, L.tensor(1)), [(3,)])
    with pytest.raises(IndexError, match="index out of range"):
        gradstep.zeros(3).index_select(0, gradstep.tensor([3]))
    with pytest.raises(IndexError, match="index out of range"):
        gradstep.zeros(3).index_select(0, gradstep.tensor([-1]))  # torch takes no negatives
    with pytest.raises(RuntimeError, match="Expected dtype int32 or int64"):
        gradstep.zeros(3).index_select(0, gradstep.tensor([0.0]))
    with pytest.raises(IndexError, match="vector"):
        gradstep.zeros(3).index_select(0, gradstep.tensor([[0]]))


def test_gather_take_along_dim():
    idx = lambda L: L.tensor([[0, 2, 2, 1], [1, 1, 0, 0]])  # noqa: E731
    check(lambda L, a: a.gather(0, idx(L).T[:3, :2]), [(3, 4)])
    check(lambda L, a: L.gather(a, 1, idx(L)), [(2, 3)])
    check(lambda L, a: a.gather(1, L.tensor([[0], [1]])), [(3, 4)])  # smaller index
    check(lambda L, a: a.gather(-1, L.tensor([[[0, 0]]])), [(2, 3, 4)])
    check(lambda L, a: L.take_along_dim(a, idx(L), 1), [(2, 3)])
    check(lambda L, a: a.take_along_dim(L.tensor([[1], [0]]), dim=1), [(2, 3)])
    check(lambda L, a: L.take_along_dim(a, L.tensor([[1, 0, 2]]), dim=0), [(3, 3)])
    check(lambda L, a: L.take_along_dim(a, L.tensor([5, 0, 5])), [(2, 3)])
    check(lambda L, a: a.take_along_dim(a.argsort(dim=0), dim=0), [(4, 3)])
    with pytest.raises(RuntimeError, match="out of bounds"):
        gradstep.zeros(2, 3).gather(1, gradstep.tensor([[3]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        gradstep.zeros(2, 3).gather(1, gradstep.tensor([[-1]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        gradstep.zeros(3).scatter(0, gradstep.tensor([-1]), 1.0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        gradstep.zeros(2, 3).gather(1, gradstep.tensor([1]))
    with pytest.raises(RuntimeError, match="int64"):
        gradstep.zeros(2, 3).gather(1, gradstep.tensor([[1.0]]))


def test_scatter():
    idx = lambda L: L.tensor([[0, 1, 2, 0], [2, 0, 0, 1]])  # noqa: E731
    # scatter without duplicate targets (duplicates are order-dependent in torch)
    check(lambda L, a, s: a.scatter(0, idx(L)[:1], s), [(3, 4), (1, 4)])
    check(lambda L, a, s: L.scatter(a, 1, L.tensor([[3, 0], [1, 2]]), s), [(2, 4), (2, 2)])
    check(lambda L, a: a.scatter(1, L.tensor([[3, 0], [1, 2]]), 2.5), [(2, 4)])
    check(lambda L, a: a.scatter(1, L.tensor([[3, 0], [1, 2]]), value=-1.0), [(2, 4)])
    check(lambda L, a, s: a.scatter_add(0, idx(L), s), [(3, 4), (2, 4)])
    check(lambda L, a, s: L.scatter_add(a, 1, L.tensor([[0, 0, 0]]), s), [(2, 3), (1, 3)])
    for L in (gradstep, torch):
        z = L.zeros(3, 4)
        z.scatter_(0, idx(L), L.ones(2, 4) * 2)
        z.scatter_add_(1, idx(L), L.ones(2, 4))
        if L is gradstep:
            ours = z
    np.testing.assert_array_equal(ours.numpy(), z.numpy())


def test_scatter_names_and_errors():
    a = gradstep.zeros(2, 3, requires_grad=True)
    i = gradstep.tensor([[0, 1]])
    assert a.scatter(1, i, 1.0).grad_fn.name() == "ScatterBackward1"
    assert a.scatter(1, i, a).grad_fn.name() == "ScatterBackward0"
    assert a.scatter_add(1, i, a).grad_fn.name() == "ScatterAddBackward0"
    with pytest.raises(RuntimeError, match="out of bounds"):
        a.scatter(1, gradstep.tensor([[3]]), 1.0)
    with pytest.raises(RuntimeError, match=r"Expected index \[2, 2\] to be no larger than self"):
        a.scatter_add(1, gradstep.tensor([[0, 1], [1, 1]]), gradstep.ones(1, 3))
    with pytest.raises(RuntimeError, match="no larger than self"):
        a.scatter(0, gradstep.tensor([[0, 1, 1, 0]]), 2.0)
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        a.scatter_add(0, gradstep.tensor([[0]]), gradstep.ones(1, 1, dtype=gradstep.float64))
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        a.scatter(0, gradstep.tensor([[0]]), gradstep.ones(1, 1, dtype=gradstep.float64))


def test_masked_fill_and_select():
    check(lambda L, a: a.masked_fill(a > 0, 0.5), [(3, 4)])
    check(lambda L, a: L.masked_fill(a, L.tensor([True, False, True, False]), -1.0), [(3, 4)])
    check(lambda L, a: a.masked_fill(a < 0, L.tensor(2.0)), [(3, 4)])
    check(lambda L, a, v: a.masked_fill(a < 0, v.sum()), [(3, 4), (2,)])
    check(lambda L, a: a.masked_select(a > 0), [(3, 4)])
    check(lambda L, a: L.masked_select(a, L.tensor([[True], [False], [True]])), [(3, 4)])
    check(lambda L, a: a[:1].masked_select(a > 0), [(3, 4)])
    for L in (gradstep, torch):
        x = L.arange(6).reshape(2, 3)
        r = x.masked_fill(x > 3, 9)
        m = x.clone()
        m.masked_fill_(m < 2, -1)
        if L is gradstep:
            ours = (r, m)
    assert ours[0].tolist() == r.tolist() and ours[0].dtype is gradstep.int64
    assert ours[1].tolist() == m.tolist()
    a = gradstep.zeros(3, requires_grad=True)
    assert a.masked_fill(a > 0, 1.0).grad_fn.name() == "MaskedFillBackward0"
    assert a.masked_select(a >= 0).grad_fn.name() == "MaskedSelectBackward0"
    with pytest.raises(RuntimeError, match="boolean masks"):
        a.masked_fill(gradstep.tensor([1, 0, 1]), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        a.masked_fill(a > 0, gradstep.ones(1))
    with pytest.raises(RuntimeError, match="BoolTensor"):
        a.masked_select(gradstep.tensor([1, 0, 1]))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of "
                       r"tensor b \(3\) at non-singleton dimension 1"):  # as torch: trailing dim
        gradstep.zeros(2, 3).masked_fill(gradstep.ones(3, 2) > 0, 1.0)
    with pytest.raises(RuntimeError, match="must match the size"):
        gradstep.zeros(2, 3).masked_select(gradstep.ones(3, 2) > 0)


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    check(lambda L, a: a.topk(2, largest=largest), [(3, 5)])
    check(lambda L, a: L.topk(a, 3, dim=0, largest=largest), [(4, 2)])
    check(lambda L, a: a.topk(1, -1, largest, True).values, [(2, 3, 4)])
    check(lambda L, a: a.topk(0).indices, [(3, 4)])
    check(lambda L, a: a.topk(4), [(4,)])


def test_sort_argsort():
    check(lambda L, a: a.sort(), [(3, 5)])
    check(lambda L, a: L.sort(a, dim=0, descending=True), [(4, 3)])
    check(lambda L, a: a.sort(descending=True, stable=True), [(2, 3, 4)])
    check(lambda L, a: a.sort(1)[0] * 2, [(2, 3, 4)])
    check(lambda L, a: a.argsort(), [(3, 5)], grad=False)
    check(lambda L, a: L.argsort(a, dim=0, descending=True), [(3, 5)], grad=False)
    check(lambda L, a: a.sort(), [()])
    # stable sort with ties keeps the original order, like torch's stable=True
    vals = [3.0, 1.0, 3.0, 2.0, 1.0, 3.0]
    for desc in (False, True):
        ours = gradstep.tensor(vals).sort(descending=desc, stable=True)
        theirs = torch.tensor(vals).sort(descending=desc, stable=True)
        assert ours.values.tolist() == theirs.values.tolist()
        assert ours.indices.tolist() == theirs.indices.tolist()
    s = gradstep.tensor([2.0, 1.0]).sort()
    assert s.indices.dtype is gradstep.int64 and s[0].tolist() == [1.0, 2.0]
    v, i = gradstep.tensor([2.0, 1.0]).topk(1)
    assert (v.item(), i.item()) == (2.0, 0)
    with pytest.raises(RuntimeError, match="k out of range"):
        gradstep.zeros(3).topk(4)
    x = gradstep.ones(3, requires_grad=True)
    assert x.sort().values.grad_fn.name() == "SortBackward0"
    assert x.topk(2).values.grad_fn.name() == "TopkBackward0"


def test_sort_nan_like_torch():
    vals = [1.0, float("nan"), -2.0, 0.5]
    for desc in (False, True):
        ours = gradstep.tensor(vals).sort(descending=desc)
        theirs = torch.tensor(vals).sort(descending=desc)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        assert ours.indices.tolist() == theirs.indices.tolist()
    assert gradstep.tensor(vals).topk(2).indices.tolist() == torch.tensor(vals).topk(2).indices.tolist()


def test_one_hot():
    from gradstep.ops.index import one_hot

    for args in [([0, 2, 1], -1), ([[1], [3]], 5), ([], 3)]:
        ours = one_hot(gradstep.tensor(args[0], dtype=gradstep.int64), args[1])
        theirs = torch.nn.functional.one_hot(torch.tensor(args[0], dtype=torch.int64), args[1])
        assert ours.dtype is gradstep.int64
        assert ours.tolist() == theirs.tolist() and tuple(ours.shape) == tuple(theirs.shape)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        one_hot(gradstep.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        one_hot(gradstep.tensor([-1]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        one_hot(gradstep.tensor([1.0]), 3)
    for lib in (gradstep, torch):  # an empty input has no class count to infer
        with pytest.raises(RuntimeError, match="Can not infer total number of classes"):
            lib.nn.functional.one_hot(lib.zeros(0, 3, dtype=lib.int64))


def test_nonzero():
    for data in ([[0, 1, 0], [2, 0, 3]], [0.0, 1.5, 0.0], [[True, False]], [], 5, 0):
        ours = gradstep.tensor(data).nonzero()
        theirs = torch.tensor(data).nonzero()
        assert ours.dtype is gradstep.int64
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.tolist() == theirs.tolist()
        ours_t = gradstep.nonzero(gradstep.tensor(data), as_tuple=True)
        theirs_t = torch.nonzero(torch.tensor(data), as_tuple=True)
        assert [x.tolist() for x in ours_t] == [x.tolist() for x in theirs_t]


@pytest.mark.parametrize("fn", [
    lambda a: a[[0, 0, 2], 1:],
    lambda a: a[a > 0] * 2,
    lambda a: a[:, None, ::2],
    lambda a: a.index_select(1, gradstep.tensor([2, 2, 0])),
    lambda a: a.gather(1, gradstep.tensor([[0, 0], [2, 1], [1, 1]])),
    lambda a: a.scatter_add(0, gradstep.tensor([[0, 0, 2]]), a[1:2]),
    lambda a: a.scatter(1, gradstep.tensor([[1], [0], [2]]), a[:, :1] * 3),
    lambda a: a.masked_fill(a > 0.5, 1.0),
    lambda a: a.topk(2, 0).values,
    lambda a: a.sort(1, descending=True).values,
    lambda a: a.take_along_dim(gradstep.tensor([[2], [0], [1]]), 1),
    lambda a: _set(a, (slice(None), 1), a[0] ** 2),
])
def test_gradcheck_index(fn):
    a = gradstep.randn(3, 3, dtype=gradstep.float64, requires_grad=True)
    assert gradcheck(fn, (a,))


def test_scatter_reduce_argument_and_gather_sparse_grad():
    for reduce, src in (("add", 2.0), ("multiply", 3.0), ("add", "tensor"), ("multiply", "tensor")):
        outs = []
        for L in (gradstep, torch):
            x = L.arange(6.0).reshape(2, 3) + 1
            s = L.tensor([[2.0, 5.0, 7.0]]) if src == "tensor" else src
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outs.append(x.scatter(0, L.tensor([[1, 0, 1]]), s, reduce=reduce).tolist())
                x.scatter_(1, L.tensor([[0, 0], [2, 2]])[:1], s, reduce=reduce)
            outs.append(x.tolist())
        assert outs[:2] == outs[2:]
    with pytest.raises(RuntimeError, match="not implemented"):
        gradstep.ones(2, requires_grad=True).scatter(0, gradstep.tensor([0]), 1.0, reduce="add")
    check(lambda L, a: a.gather(1, L.tensor([[1], [0]]), sparse_grad=False), [(2, 3)])


@pytest.mark.parametrize("fn", [
    lambda a: a[[0, 0, 2], 1:] ** 2,
    lambda a: (a[:, None, ::2] * a[1, ::2]).sum(0),
    lambda a: a.gather(1, gradstep.tensor([[0, 0], [2, 1], [1, 1]])) ** 2,
    lambda a: a.scatter_add(0, gradstep.tensor([[0, 0, 2]]), a[1:2] ** 2),
    lambda a: a.sort(1).values ** 3,
    lambda a: a.masked_fill(a > 0.5, 1.0) ** 2,
    lambda a: _set(a ** 2, (slice(None), 1), a[0] ** 2),
    lambda a: a.index_select(0, gradstep.tensor([1, 1])) ** 2,
])
def test_gradgradcheck_index(fn):
    from gradstep.autograd import gradgradcheck

    a = gradstep.randn(3, 3, dtype=gradstep.float64, requires_grad=True)
    assert gradgradcheck(fn, (a,))


# ---------------------------------------------------------------- found by the differential fuzzer
# (tests/ops/test_differential.py); ``disagreement`` compares errors, values and gradients.
_V = np.array([[0.5, -1.25, 2.0], [3.0, 0.25, -0.75]])


def _ix(*v):
    return np.array(v, np.int64)


@pytest.mark.parametrize("call, args", [
    (lambda L, a, i: L.index_select(a, 0, i), (np.array(2.5), np.array(0))),  # 0-d: 0-d
    (lambda L, a, i: L.index_select(a, -1, i), (np.array(2.5), _ix(0))),
    (lambda L, a, i: L.index_select(a, 0, i), (np.array(2.5), _ix(0, 0, 0))),
    (lambda L, a, i: L.index_select(a, 1, i), (_V, _ix(-1))),  # RuntimeError (dim 1)
    (lambda L, a, i: L.index_select(a, 0, i), (_V, _ix(2))),  # IndexError
    (lambda L, a, i: L.index_select(a, 2, i), (np.zeros((4, 4, 0)), _ix(0, 1))),
    (lambda L, a, i: L.take_along_dim(a, i, dim=1), (_V, np.array([[-1, -3], [0, -2]]))),
    (lambda L, a, i: L.take_along_dim(a, i, dim=1), (_V, _ix(0, 1)[None].repeat(3, 0))),
    (lambda L, a, i: L.scatter(a, 1, i, a), (_V, _ix(0, 1))),  # index rank != self rank
    (lambda L, a, i: L.scatter(a, 0, i, a[0]), (_V, _ix([0, 1]))),  # index rank != src rank
    (lambda L, a, i: L.scatter(a, 1, i, a), (np.zeros((0, 4)), np.zeros((0, 4), np.int64))),
])
def test_index_ops_match_torch(call, args):
    assert disagreement(call, *args) is None


@pytest.mark.parametrize("call, arg", [
    (lambda L, a: L.topk(a, 1), _V > 0),  # bool: refused
    (lambda L, a: L.sort(a, dim=1), np.array(1.5)),  # 0-d: dim checked
    (lambda L, a: L.argsort(a, dim=-2), np.array(1.5)),
    (lambda L, a: a.masked_fill(a > 1, -3), _V.astype(np.uint8)),  # ints wrap
    (lambda L, a: a.masked_fill(a > 1, -1.5), _V.astype(np.uint8)),  # out-of-range float
    (lambda L, a: a.masked_fill(a > 1, 255.5), _V.astype(np.uint8)),
    (lambda L, a: a.long().masked_fill(a > 1, L.tensor(2.0, requires_grad=True)), _V),
])
def test_sort_topk_masked_fill_match_torch(call, arg):
    assert disagreement(call, arg) is None


def test_scatter_with_an_empty_index_converts_no_value():
    a, i = np.zeros((4, 3), np.uint8), np.zeros((0, 3), np.int64)
    assert disagreement(lambda L, x, j: L.scatter(x, 0, j, value=-1.5), a, i) is None


def test_scatter_python_value_wraps_like_torch():
    a, i = np.zeros((4, 2), np.uint8), np.array([[0], [1]], np.int64)
    assert disagreement(lambda L, x, j: L.scatter(x, 0, j, value=-4), a, i) is None


@pytest.mark.parametrize("key", [
    lambda L: (slice(None, 2), None, L.zeros(0, dtype=L.bool)),  # mask [0] against a dim of 2
    lambda L: (Ellipsis, L.zeros(0, dtype=L.bool)),
    lambda L: (L.zeros(2, dtype=L.bool), None, slice(1)),
])
def test_bool_mask_shapes_are_checked_on_an_empty_tensor(key):
    # NumPy skips the check when the indexed array is empty; torch does not
    assert disagreement(lambda L, x: x[key(L)], np.zeros((2, 2, 0))) is None


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("mask_shape", [(2, 2), (3, 2), (4, 3), (2, 1, 3), (3,), (2, 1), (1, 2, 3)])
def test_masked_fill_mask_shape_errors_as_torch(inplace, mask_shape):
    """A mask that does not broadcast (or, in place, broadcasts beyond self): torch's error."""
    def call(lib):
        x = lib.zeros(2, 3)
        fill = x.masked_fill_ if inplace else x.masked_fill
        return fill(lib.ones(*mask_shape, dtype=lib.bool), 1.0)
    try:
        ref = call(torch)
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as ours:
            call(gradstep)
        assert str(ours.value) == str(e)
    else:
        np.testing.assert_array_equal(call(gradstep).numpy(), ref.numpy())


@pytest.mark.parametrize("src", ["tensor", 2.0])
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_argument_deprecation_like_torch(src, reduce, monkeypatch):
    """torch warns once that ``scatter(..., reduce=)`` with a Tensor src is deprecated (MoE
    combine code still writes it); a Python value src is not."""
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    texts = {}
    for L in (torch, gradstep):
        s = L.tensor([1.0, 2.0, 3.0]) if src == "tensor" else src
        torch._C._set_warnAlways(L is torch)  # torch's own once may have fired in this process
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = L.ones(3).scatter_(0, L.tensor([0, 0, 2]), s, reduce=reduce)
                if L is gradstep:
                    L.ones(3).scatter(0, L.tensor([0, 0, 2]), s, reduce=reduce)
        finally:
            torch._C._set_warnAlways(False)
        texts[L] = ([str(w.message).split(" (Triggered internally")[0] for w in caught],
                    out.tolist())
    assert texts[gradstep] == texts[torch]
    assert len(texts[torch][0]) == (1 if src == "tensor" else 0)


@pytest.mark.parametrize("where", ["int", "int_dim1", "tensor", "list", "two_tensors"])
@pytest.mark.parametrize("write", [False, True])
def test_out_of_bounds_index_error_in_torch_words(where, write):
    """An out-of-bounds index raises torch's IndexError text, reading and writing."""
    keys = {"int": lambda L: 5, "int_dim1": lambda L: (slice(None), 9),
            "tensor": lambda L: L.tensor([5]), "list": lambda L: [0, 5],
            "two_tensors": lambda L: (L.tensor([1]), L.tensor([7]))}

    def message(lib):
        x = lib.zeros(3, 4)
        with pytest.raises(IndexError) as info:
            if write:
                x[keys[where](lib)] = 1.0
            else:
                x[keys[where](lib)]
        return str(info.value)

    assert message(gradstep) == message(torch)

"""Shape ops against torch: values, dtypes and gradients (float32 and float64)."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from gradstep.ops import shape as S
from tests.helpers import check
from tests.ops.fuzz_ops import disagreement


def _pad(L, x, p, value=None):
    if L is torch:
        return torch.nn.functional.pad(x, p, value=value)
    return S.pad(x, p, value=value)


UNARY = {
    "reshape": lambda L, a: a.reshape(4, -1) * 2,
    "reshape_tuple": lambda L, a: a.reshape((-1,)) * 2,
    "reshape_fn": lambda L, a: L.reshape(a, (2, 2, 6)),
    "view": lambda L, a: a.view(12, 2),
    "view_neg": lambda L, a: a.view(-1, 3, 2),
    "view_as": lambda L, a: a.view_as(L.zeros(6, 4)),
    "reshape_as": lambda L, a: a.reshape_as(L.zeros(6, 4)),
    "flatten": lambda L, a: a.flatten(),
    "flatten_dims": lambda L, a: a.flatten(1),
    "flatten_neg": lambda L, a: a.flatten(0, -2),
    "unflatten": lambda L, a: a.unflatten(2, (2, 2)),
    "unflatten_neg": lambda L, a: a.unflatten(-1, (-1, 2)),
    "squeeze_all": lambda L, a: a.reshape(2, 1, 3, 1, 4).squeeze(),
    "squeeze_dim": lambda L, a: a.reshape(2, 1, 3, 1, 4).squeeze(1),
    "squeeze_neg": lambda L, a: a.reshape(2, 1, 3, 1, 4).squeeze(-2),
    "squeeze_tuple": lambda L, a: a.reshape(2, 1, 3, 1, 4).squeeze((1, 3)),
    "squeeze_noop": lambda L, a: a.squeeze(0),
    "unsqueeze": lambda L, a: a.unsqueeze(0),
    "unsqueeze_neg": lambda L, a: a.unsqueeze(-1),
    "unsqueeze_mid": lambda L, a: L.unsqueeze(a, 2),
    "transpose": lambda L, a: a.transpose(0, 2),
    "transpose_neg": lambda L, a: a.transpose(-1, 0) * a.transpose(-1, 0),
    "swapaxes": lambda L, a: L.swapaxes(a, 0, 1),
    "permute": lambda L, a: a.permute(2, 0, 1),
    "permute_tuple": lambda L, a: a.permute((1, -1, 0)),
    "t": lambda L, a: a[0].t(),
    "T2": lambda L, a: a[0].T,
    "mT": lambda L, a: a.mT,
    "movedim": lambda L, a: a.movedim(0, -1),
    "movedim_multi": lambda L, a: L.movedim(a, (0, 1), (2, 0)),
    "expand": lambda L, a: a[:, :1].expand(2, 5, 4),
    "expand_new": lambda L, a: a.expand(3, 2, 3, 4),
    "expand_neg": lambda L, a: a[:, :1].expand(-1, 3, -1),
    "expand_as": lambda L, a: a[:1].expand_as(a),
    "broadcast_to": lambda L, a: L.broadcast_to(a[:, :1], (2, 2, 3, 4)),
    "repeat": lambda L, a: a.repeat(2, 1, 3),
    "repeat_more": lambda L, a: a.repeat(2, 1, 1, 2),
    "tile": lambda L, a: a.tile((2,)),
    "tile_more": lambda L, a: L.tile(a, (2, 1, 1, 1)),
    "flip": lambda L, a: a.flip(0),
    "flip_dims": lambda L, a: L.flip(a, (0, -1)),
    "fliplr": lambda L, a: L.fliplr(a),
    "flipud": lambda L, a: L.flipud(a),
    "roll_flat": lambda L, a: a.roll(5),
    "roll_flat_neg": lambda L, a: L.roll(a, -3),
    "roll_dim": lambda L, a: a.roll(1, 1),
    "roll_dims": lambda L, a: a.roll((1, -2), (0, 2)),
    "roll_big": lambda L, a: a.roll(7, -1),
    "tril": lambda L, a: a.tril(),
    "tril_k": lambda L, a: L.tril(a, 1),
    "triu": lambda L, a: a.triu(),
    "triu_k": lambda L, a: L.triu(a, -1),
    "narrow": lambda L, a: a.narrow(2, 1, 2),
    "narrow_neg": lambda L, a: L.narrow(a, -1, -3, 2),
    "select": lambda L, a: a.select(1, 2),
    "select_neg": lambda L, a: L.select(a, -1, -1),
    "contiguous": lambda L, a: a.transpose(0, 1).contiguous(),
    "clone": lambda L, a: a.clone() * a,
    "repeat_interleave": lambda L, a: a.repeat_interleave(2),
    "repeat_interleave_dim": lambda L, a: a.repeat_interleave(3, dim=1),
    "repeat_interleave_tensor": lambda L, a: L.repeat_interleave(a, L.tensor([1, 0, 2]), dim=1),
    "pad": lambda L, a: _pad(L, a, (1, 2)),
    "pad_value": lambda L, a: _pad(L, a, (0, 1, 2, 0), value=1.5),
    "pad_3d": lambda L, a: _pad(L, a, (1, 1, 1, 1, 1, 1)),
    "pad_neg": lambda L, a: _pad(L, a, (-1, 2, 1, -1)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_shape_ops(name):
    check(UNARY[name], [(2, 3, 4)])


SPLITS = {
    "split": lambda L, a: a.split(2),
    "split_dim": lambda L, a: L.split(a, 3, dim=1),
    "split_sizes": lambda L, a: a.split([1, 3, 1], 1),
    "split_neg": lambda L, a: a.split(2, -1),
    "chunk": lambda L, a: a.chunk(2),
    "chunk_uneven": lambda L, a: a.chunk(3, 1),
    "chunk_more": lambda L, a: L.chunk(a, 4, -1),
    "unbind": lambda L, a: a.unbind(),
    "unbind_dim": lambda L, a: L.unbind(a, 1),
}


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_splits(name):
    check(SPLITS[name], [(3, 5, 2)])


def test_chunk_counts_match_torch():
    for n in range(0, 8):
        for c in range(1, 6):
            ours = [t.shape[0] for t in gradstep.zeros(n).chunk(c)]
            theirs = [t.shape[0] for t in torch.zeros(n).chunk(c)]
            assert ours == theirs, (n, c)


def test_split_returns_tuple():
    assert isinstance(gradstep.zeros(4).split(2), tuple)
    assert isinstance(gradstep.zeros(4).unbind(), tuple)


def test_cat_stack():
    check(lambda L, a, b, c: L.cat([a, b, c], 1), [(2, 3), (2, 1), (2, 4)])
    check(lambda L, a, b: L.cat((a, b)), [(2, 3), (1, 3)])
    check(lambda L, a, b: L.cat([a, b], -1), [(2, 3, 1), (2, 3, 2)])
    check(lambda L, a, b: L.concat([a, b], 0), [(1,), (4,)])
    check(lambda L, a, b: L.stack([a, b]), [(2, 3), (2, 3)])
    check(lambda L, a, b: L.stack([a, b], 1), [(2, 3), (2, 3)])
    check(lambda L, a, b: L.stack((a, b), -1), [(2, 3), (2, 3)])
    check(lambda L, a, b: L.hstack([a, b]), [(2, 3), (2, 1)])
    check(lambda L, a, b: L.vstack([a, b]), [(3,), (2, 3)])


def test_cat_skips_empty_1d_and_promotes():
    a = gradstep.ones(2, 3, requires_grad=True)
    out = gradstep.cat([a, gradstep.zeros(0)])
    assert out.shape == (2, 3)
    out.sum().backward()
    assert a.grad.shape == (2, 3)
    for da, db in [(gradstep.int64, gradstep.float32), (gradstep.float32, gradstep.float64),
                   (gradstep.int32, gradstep.int64), (gradstep.bool, gradstep.int64)]:
        ta, tb = getattr(torch, da.name), getattr(torch, db.name)
        ours = gradstep.cat([gradstep.ones(2, dtype=da), gradstep.ones(2, dtype=db)])
        theirs = torch.cat([torch.ones(2, dtype=ta), torch.ones(2, dtype=tb)])
        assert ours.dtype.name == str(theirs.dtype)[6:]
        ours = gradstep.stack([gradstep.ones(2, dtype=da), gradstep.ones(2, dtype=db)])
        theirs = torch.stack([torch.ones(2, dtype=ta), torch.ones(2, dtype=tb)])
        assert ours.dtype.name == str(theirs.dtype)[6:]


def test_cat_promotion_gradient():
    check(lambda L, a: L.cat([a, L.ones(2, 3, dtype=L.float64)]), [(2, 3)], dtypes=("float32",))


def test_cat_stack_errors():
    with pytest.raises(RuntimeError, match=r"Expected size 3 but got size 4 for tensor number 1"):
        gradstep.cat([gradstep.zeros(2, 3), gradstep.zeros(2, 4)])
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        gradstep.cat([gradstep.zeros(2, 3), gradstep.zeros(2)])
    with pytest.raises(RuntimeError, match=r"\[2, 3\] at entry 0 and \[2, 4\] at entry 1"):
        gradstep.stack([gradstep.zeros(2, 3), gradstep.zeros(2, 4)])
    with pytest.raises((RuntimeError, ValueError), match="non-empty"):
        gradstep.cat([])
    with pytest.raises(IndexError, match="Dimension out of range"):
        gradstep.cat([gradstep.zeros(2, 3)], dim=2)
    with pytest.raises(TypeError):
        gradstep.cat(gradstep.zeros(2, 3))
    # a 0-d tensor: torch's own message (gradstep raised IndexError; ops fuzzer, out.cat)
    for lib in (torch, gradstep):
        with pytest.raises(RuntimeError, match=r"zero-dimensional tensor \(at position 1\)"):
            lib.cat([lib.zeros(2), lib.zeros(())])


def test_reshape_view_errors():
    a = gradstep.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"shape '\[4, 2\]' is invalid for input of size 6"):
        a.reshape(4, 2)
    with pytest.raises(RuntimeError, match=r"shape '\[-1, 4\]' is invalid for input of size 6"):
        a.view(-1, 4)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        a.reshape(-1, -1)
    with pytest.raises(RuntimeError, match="invalid shape dimension -2"):
        a.reshape(-2, -3)
    with pytest.raises(RuntimeError, match="ambiguous"):
        gradstep.zeros(0, 3).reshape(0, -1)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        a.t().view(6)
    # reshape copies instead, and keeps gradients flowing
    check(lambda L, x: x.t().reshape(6), [(2, 3)])
    # view of a non-contiguous tensor that keeps dims together is fine
    check(lambda L, x: x.transpose(0, 1).view(3, 2, 2), [(2, 3, 2)])


def test_view_shares_memory_and_version():
    a = gradstep.zeros(2, 3)
    v = a.view(6)
    v[0] = 5.0
    assert a[0, 0].item() == 5.0
    assert a._version == v._version == 1
    r = a.reshape(3, 2)
    r.add_(1)
    assert a[0, 0].item() == 6.0


def test_shape_op_errors():
    a = gradstep.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the existing size \(3\)"):
        a.expand(2, 4)
    with pytest.raises(RuntimeError, match="number of sizes provided"):
        a.expand(3)
    with pytest.raises(RuntimeError, match="duplicate dims"):
        a.permute(0, 0)
    with pytest.raises(RuntimeError, match="number of dimensions"):
        a.permute(0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        a.transpose(0, 2)
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        gradstep.zeros(2, 2, 2).t()
    with pytest.raises(RuntimeError, match="repeat dims can not be smaller"):
        a.repeat(2)
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 3"):
        a.split([1, 1], 1)
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        a.chunk(0)
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        a.narrow(1, 2, 2)
    with pytest.raises(RuntimeError, match=r"expanded size of the tensor \(-2\) must match the "
                                           r"existing size \(3\)"):  # torch's words for it
        a.expand(2, -2)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        a.unflatten(1, (-1, -1))
    with pytest.raises(RuntimeError, match=r"Provided sizes \[2, -1\] don't multiply up"):
        a.unflatten(1, (2, -1))
    with pytest.raises(RuntimeError, match="appears multiple times"):
        a.flip((0, 0))
    with pytest.raises(IndexError, match="start out of range"):
        a.narrow(0, -3, 1)
    with pytest.raises(RuntimeError, match="negative output size"):
        S.pad(a, (-2, -2))
    with pytest.raises(RuntimeError, match="repeats must have the same size as input along dim"):
        a.repeat_interleave(gradstep.tensor([1, 2]), dim=1)
    with pytest.raises(RuntimeError, match="repeats can not be negative"):
        a.repeat_interleave(-1)
    assert a.tile(2).shape == torch.zeros(2, 3).tile(2).shape
    with pytest.raises(RuntimeError, match="length must be non-negative"):
        a.narrow(1, 1, -1)
    with pytest.raises(RuntimeError, match="only non-negative entries"):
        a.split([4, -1], 1)
    with pytest.raises(RuntimeError, match="negative dimension -3"):
        a.repeat(1, -1)
    with pytest.raises(IndexError, match="out of range"):
        a.select(0, 2)
    with pytest.raises(RuntimeError, match="don't multiply up to the size"):
        a.unflatten(1, (2, 2))
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        gradstep.zeros(2, 3, 4).flatten(2, 1)
    with pytest.raises(RuntimeError, match="Padding length"):
        S.pad(a, (1, 1, 1))
    with pytest.raises(RuntimeError, match="shifts"):
        a.roll((1, 2), 0)


def test_torch_shapes_for_edge_cases():
    cases = [
        lambda L: L.zeros(()).reshape(1, 1),
        lambda L: L.zeros(()).flatten(),
        lambda L: L.zeros(()).unsqueeze(0),
        lambda L: L.zeros(()).squeeze(),
        lambda L: L.zeros(()).t(),
        lambda L: L.zeros(3).t(),
        lambda L: L.zeros(2, 0, 3).flatten(),
        lambda L: L.zeros(2, 0, 3).reshape(-1, 3),
        lambda L: L.zeros(0, 3).split(2)[0],
        lambda L: L.zeros(2, 3).expand(0, 2, 3),
        lambda L: L.zeros(4).unflatten(0, (2, -1)),
        lambda L: L.zeros(4, 1).squeeze((0, 1)),
        lambda L: L.zeros(4).roll(1, 0),
        lambda L: L.zeros(2, 3).repeat(0, 1),
        lambda L: L.zeros(2, 3).movedim((0, 1), (1, 0)),
        lambda L: L.cat([L.zeros(2, 0), L.zeros(2, 3)], 1),
        lambda L: L.stack([L.zeros(())] * 3),
    ]
    for f in cases:
        assert tuple(f(gradstep).shape) == tuple(f(torch).shape)


def test_grad_fn_names():
    a = gradstep.ones(2, 3, 1, requires_grad=True)
    ta = torch.ones(2, 3, 1, requires_grad=True)
    for f in [lambda x: x.reshape(6), lambda x: x.view(6), lambda x: x.transpose(0, 1),
              lambda x: x.permute(2, 0, 1), lambda x: x[0, :, 0].t() if x.ndim == 0 else x[:, :, 0].t(),
              lambda x: x.unsqueeze(0), lambda x: x.squeeze(), lambda x: x.squeeze(2),
              lambda x: x.expand(2, 3, 4), lambda x: x.flip(0), lambda x: x.roll(1, 0),
              lambda x: x.repeat(1, 2, 1), lambda x: x[:, :, 0].tril(), lambda x: x[:, :, 0].triu(),
              lambda x: x.split(1)[0], lambda x: x.unbind()[0], lambda x: x.narrow(1, 0, 2),
              lambda x: x.select(1, 0), lambda x: x.clone(), lambda x: x.movedim(0, 1),
              lambda x: x.chunk(2)[0], lambda x: x.split([1, 1])[1]]:
        assert f(a).grad_fn.name() == f(ta).grad_fn.name()
    assert gradstep.cat([a, a]).grad_fn.name() == "CatBackward0"
    assert gradstep.stack([a, a]).grad_fn.name() == "StackBackward0"
    assert S.pad(a, (1, 1)).grad_fn.name() == "ConstantPadNdBackward0"


def test_double_backward_through_shape_ops():
    def f(L, a):
        y = (a.transpose(0, 1).reshape(-1) ** 3).roll(2)
        (g,) = L.autograd.grad(y.sum(), a, create_graph=True)
        return g.flip(0).cumsum(0)
    check(f, [(3, 2)])


@pytest.mark.parametrize("fn", [
    lambda a: a.reshape(3, 4).t(),
    lambda a: a.permute(2, 0, 1).flatten(1),
    lambda a: a[:, :1].expand(2, 3, 2),
    lambda a: a.repeat(2, 1, 2),
    lambda a: a.flip((0, 2)).roll(1, 1),
    lambda a: a.roll(3),
    lambda a: a.reshape(4, 3).tril(-1) + a.reshape(4, 3).triu(1),
    lambda a: gradstep.cat(a.split([1, 2], 1), 1) * gradstep.cat(a.chunk(2, 2), 2),
    lambda a: gradstep.stack(a.unbind(2), 0),
    lambda a: S.pad(a, (1, 0, 2, 1), value=3.0),
    lambda a: a.repeat_interleave(2, 1),
    lambda a: a.movedim(0, 2).unflatten(0, (3, 1)).squeeze(1),
])
def test_gradcheck_shape(fn):
    a = gradstep.randn(2, 3, 2, dtype=gradstep.float64, requires_grad=True)
    assert gradcheck(fn, (a,))


def test_movedim_errors_and_repeat_interleave_forms():
    with pytest.raises(RuntimeError, match="repeated dim in `source`"):
        gradstep.zeros(2, 3).movedim((0, 0), (1, 0))
    with pytest.raises(RuntimeError, match="same number of dims"):
        gradstep.zeros(2, 3).movedim((0, 1), (1,))
    for f in [lambda L: L.repeat_interleave(L.tensor([2, 0, 3])),
              lambda L: L.tensor([[1, 2], [3, 4]]).repeat_interleave(2),
              lambda L: L.repeat_interleave(L.tensor([[1, 2], [3, 4]]), L.tensor([1, 2]), dim=0),
              lambda L: L.tensor([1, 2]).repeat_interleave(2, dim=0, output_size=4)]:
        ours, theirs = f(gradstep), f(torch)
        assert ours.tolist() == theirs.tolist() and ours.dtype is gradstep.int64


def test_clone_memory_format_and_same_shape_reshape_is_view():
    a = gradstep.ones(2, 3)
    assert gradstep.clone(a, memory_format=None).tolist() == a.tolist()
    assert a.contiguous(memory_format=None) is a
    b = gradstep.ones(3, requires_grad=True)
    x = gradstep.zeros(2, 3)
    y = x.reshape(2, 3)
    y[0].add_(b)  # x and y share memory and history
    (x * 2).sum().backward()
    assert b.grad.tolist() == [2.0, 2.0, 2.0]


def test_size_arguments():
    x = gradstep.zeros(6)
    assert x.reshape(np.int64(6)).shape == (6,)
    with pytest.raises(TypeError, match="must be tuple of ints, not Tensor"):  # as torch
        x.reshape(gradstep.tensor([2, 3]))
    assert x.view(gradstep.tensor(6)).shape == (6,)
    assert x.reshape(gradstep.Size([3, 2])).shape == (3, 2)
    assert x.view(gradstep.int32).dtype is gradstep.int32
    assert x.expand(gradstep.Size([2, 6])).shape == (2, 6)


@pytest.mark.parametrize("fn", [
    lambda a: a.reshape(3, 4).t() ** 2,
    lambda a: a[:, :1].expand(2, 3, 2) ** 2,
    lambda a: a.repeat(2, 1, 2) ** 2,
    lambda a: a.flip(0).roll(1, 1) ** 2,
    lambda a: gradstep.cat([a, a ** 2], 1),
    lambda a: gradstep.stack(a.unbind(2), 0) ** 2,
    lambda a: S.pad(a ** 2, (1, 1)),
    lambda a: a.reshape(4, 3).triu() ** 2,
])
def test_gradgradcheck_shape(fn):
    from gradstep.autograd import gradgradcheck

    a = gradstep.randn(2, 3, 2, dtype=gradstep.float64, requires_grad=True)
    assert gradgradcheck(fn, (a,))


def _pad_fuzz(L, x, r):
    n = int(r.integers(0, min(x.ndim, 3) + 1))
    return _pad(L, x, tuple(int(i) for i in r.integers(0, 3, size=2 * n)))


def _dim(r, x, extra=0):
    return int(r.integers(-x.ndim - extra, x.ndim + extra))


FUZZ_OPS = [
    lambda L, x, r: x.flatten(_dim(r, x)),
    lambda L, x, r: x.transpose(_dim(r, x), _dim(r, x)),
    lambda L, x, r: x.permute(*[int(i) for i in r.permutation(x.ndim)]),
    lambda L, x, r: x.unsqueeze(_dim(r, x, 1)),
    lambda L, x, r: x.squeeze(),
    lambda L, x, r: x.flip(tuple(int(i) for i in r.choice(x.ndim, size=min(2, x.ndim), replace=False))),
    lambda L, x, r: x.roll(int(r.integers(-7, 8))),
    lambda L, x, r: x.roll(int(r.integers(-7, 8)), _dim(r, x)),
    lambda L, x, r: x.repeat(*[int(i) for i in r.integers(0, 3, size=x.ndim + int(r.integers(0, 2)))]),
    lambda L, x, r: L.cat([x, x * 2], _dim(r, x)),
    lambda L, x, r: L.stack([x, x], _dim(r, x, 1)),
    lambda L, x, r: x.chunk(int(r.integers(1, 4)), _dim(r, x))[-1],
    lambda L, x, r: x.split(int(r.integers(1, 4)), _dim(r, x))[0],
    lambda L, x, r: x.tril(int(r.integers(-2, 3))) if x.ndim >= 2 else x,
    lambda L, x, r: x.triu(int(r.integers(-2, 3))) if x.ndim >= 2 else x,
    lambda L, x, r: x.movedim(_dim(r, x), _dim(r, x)),
    lambda L, x, r: x.reshape(-1, *x.shape[1:]) if x.numel() else x.reshape(x.shape),
    lambda L, x, r: x.tile(tuple(int(i) for i in r.integers(1, 3, size=int(r.integers(1, 4))))),
    lambda L, x, r: x.repeat_interleave(int(r.integers(0, 3)), dim=_dim(r, x)),
    _pad_fuzz,
]


def test_random_shape_ops_against_torch():
    rng = np.random.default_rng(1)
    for it in range(300):
        shape = tuple(int(s) for s in rng.integers(0, 4, size=int(rng.integers(1, 4))))
        op = FUZZ_OPS[int(rng.integers(len(FUZZ_OPS)))]
        x = rng.standard_normal(shape)
        res = []
        for L in (gradstep, torch):
            a = L.tensor(x, requires_grad=True)
            y = op(L, a, np.random.default_rng(it))
            w = np.random.default_rng(it).standard_normal(tuple(y.shape))
            (y * L.tensor(w)).sum().backward()
            res.append((tuple(y.shape), y.detach().numpy().copy(), a.grad.numpy().copy()))
        (s1, y1, g1), (s2, y2, g2) = res
        assert s1 == s2, (it, shape)
        np.testing.assert_allclose(y1, y2, err_msg=str((it, shape)))
        np.testing.assert_allclose(g1, g2, err_msg=str((it, shape)))


# ---------------------------------------------------------------- found by the differential fuzzer
# (tests/ops/test_differential.py); ``disagreement`` compares errors, values and gradients.
@pytest.mark.parametrize("call, args", [
    # legacy 1-D empty pieces: skipped in the shapes, but they promote and get a gradient
    (lambda L, a, e: L.cat([a, e]), (np.ones((2, 3), np.float32), np.zeros(0))),
    (lambda L, a, e: L.cat([e, a, e], dim=1), (np.ones((2, 3)), np.zeros(0, np.float32))),
    (lambda L, a, e: L.cat([e, a.long()]), (np.ones(3), np.zeros(0))),
    (lambda L, a, e: L.cat([e, e]), (np.ones(3), np.zeros(0))),
    (lambda L, a: L.flip(a, [0]), (np.array(2.5),)),  # 0-d
    (lambda L, a: L.movedim(a, 0, -1), (np.array(2.5),)),
    (lambda L, a: L.permute(a, []), (np.array(2.5),)),
    (lambda L, a: a.reshape(), (np.ones(3),)),  # sizes are required
    (lambda L, a: a.view(), (np.ones(3),)),
    (lambda L, a: a.permute(), (np.ones(3),)),
    (lambda L, a: a.expand(), (np.ones(3),)),
    (lambda L, a: a.repeat(), (np.ones(3),)),
])
def test_shape_edge_cases_match_torch(call, args):
    assert disagreement(call, *args) is None


@pytest.mark.parametrize("call, args", [
    (lambda L, a: L.flatten(a, 0, 1), (np.array(2.5),)),  # 0-d: the dims are checked
    (lambda L, a: L.cat([a, a], dim=-2), (np.zeros(0),)),  # only legacy empties: no dim check
    (lambda L, a: L.cat([a], dim=5), (np.zeros(0),)),
])
def test_flatten_and_cat_dim_checks_match_torch(call, args):
    assert disagreement(call, *args) is None


def test_repeat_interleave_output_size_is_checked_as_torch():
    for lib in (gradstep, torch):
        out = lib.repeat_interleave(lib.tensor([1, 2]), lib.tensor([1, 2]), dim=0, output_size=3)
        assert out.tolist() == [1, 2, 2]
    with pytest.raises(RuntimeError) as theirs:
        torch.repeat_interleave(torch.tensor([1, 2]), torch.tensor([1, 2]), dim=0, output_size=5)
    with pytest.raises(RuntimeError) as ours:
        gradstep.repeat_interleave(gradstep.tensor([1, 2]), gradstep.tensor([1, 2]), dim=0,
                                   output_size=5)
    assert str(ours.value) == str(theirs.value)

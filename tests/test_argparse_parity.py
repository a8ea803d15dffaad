"""Size and dim arguments checked as torch's argument parser does (gradstep/_argparse.py).

Each call runs under real torch and under gradstep: a refused call must raise the same
exception type with the same message (its first line: torch's "invalid combination" messages
go on to list every signature, with match hints gradstep does not reproduce), and an accepted
one must give the same result.
"""

import enum

import numpy as np
import pytest

import gradstep

torch = pytest.importorskip("torch")


class Idx:
    """Not an int, but has ``__index__``: accepted in a tuple of ints, refused as an int."""

    def __index__(self):
        return 2


class IE(enum.IntEnum):
    A = 1


# refused by torch: the same exception type and first line of message expected
REFUSED = [
    # sizes spread out: a later bad element "failed to unpack" (pos counts from 1)
    "x.view(3, 2.0)", "x.view([3, 2.0])", "x.view(3, None)", "x.view(3, (2,))",
    "x.reshape(3, 2.0)", "x[:1].expand(2, 3.0)", "x.repeat(1, 2.0)", "y.permute(1, 0.)",
    "y.permute([1, 0.])", "torch.zeros(2, 3, 1.0)", "torch.zeros([2, 3, 1.0])",
    "torch.zeros(2, np.float64(3))", "torch.zeros(2, torch.tensor(3.))",
    "torch.zeros(2, np.bool_(True))", "torch.full((2, 3.0), 1.)", "x.new_empty((2, 3.))",
    "x.new_ones(2, 3.)", "x.new_full((2, 3.), 1)", "torch.randn(2, 3.)", "torch.empty(2, 3.0)",
    "torch.randint(5, (2, 3.))", "x.tile((2, 1.))", "x.flip(0, 1.)", "x.flip((0, 0.))",
    "x.split([2, 4.])", "x.squeeze((0, 0.))", "x.sum((0, 0.))", "y.unflatten(1, (3, 1.))",
    # a bad first element / a bad first spread-out size
    "x.reshape(3.0, 2)", "x[:1].expand(2.0, 3)", "x.repeat(2.0, 1)", "y.permute(1.0, 0)",
    "y.permute(True, 0)", "torch.empty(2.0, 3)", "torch.zeros((2, 3), 4)", "x.new_zeros((2,), 3)",
    "x.reshape((3.0, 2))", "x.reshape(3.0)", "torch.zeros(2.0)", "torch.zeros((2.0, 3))",
    "torch.full((2.0,), 1.)", "torch.full(2, 1.)", "torch.empty(True)", "torch.zeros(True)",
    "torch.zeros((True,))", "torch.zeros(np.float64(2))", "torch.zeros(np.bool_(True))",
    "torch.zeros(np.array([2, 3]))", "torch.zeros(torch.tensor([2, 3]))",
    "torch.zeros(torch.tensor(2.))", "torch.zeros('a')", "torch.zeros()", "torch.rand(2.)",
    "torch.rand((2.,))", "torch.randn(True)", "torch.randint(5, (2.,))", "torch.randint(5, 2)",
    "torch.randint(5., (2,))", "x.new_zeros(2.)", "x.new_zeros(True)", "x.new_full((2.,), 1)",
    "x.new_full(2., 1)", "x.new_ones(np.float32(2))", "x.repeat(2.)", "x.repeat(True)",
    "x.tile(2.)", "x.tile((2.,))", "x.flip(0.)", "x.flip((0.,))", "x.flip(True)",
    "x.roll(1.0)", "x.roll(1, 0.)", "x.roll((1.,), 0)", "x.roll(1, (0.,))", "x.roll(1, True)",
    "y.unflatten(1, 3)", "y.unflatten(1, [3., 1])", "x.split(2.)", "x.split((2., 4))",
    "x[:1].expand((2., 3))", "x.repeat((2., 1))", "y.permute((1., 0))",
    # int parameters
    "x.unsqueeze(1.0)", "x.unsqueeze(True)", "x.unsqueeze(Idx())", "x.unsqueeze(None)",
    "x.unsqueeze(torch.tensor([0]))", "x.unsqueeze(torch.tensor(True))",
    "x.unsqueeze(torch.tensor(0.))", "x.unsqueeze(np.bool_(True))", "x.unsqueeze(np.array(0))",
    "x.topk(1.0)", "x.topk(True)", "x.topk(2, 0.)", "x.kthvalue(1.)", "x.kthvalue(2, 0.)",
    "y.transpose(0, 1.0)", "y.transpose(0., 1)", "x.transpose(True, 0)", "x.size(0.)",
    "x.size(True)", "x.size('a')", "x.select(0., 1)", "x.select(0, 1.)", "x.select(True, 1)",
    "x.select(0, True)", "x.chunk(2.)", "x.chunk(True)", "x.chunk(2, 0.)", "x.flatten(0.)",
    "x.flatten(0, -1.)", "y.unflatten(1., (3, 1))", "x.index_select(0., torch.tensor([0]))",
    "x.index_select(True, torch.tensor([0]))", "x.gather(0., torch.tensor([0]))",
    "x.argmax(0.)", "x.argmax(True)", "x.argmin(0.)", "x.cumsum(0.)", "x.cumsum(True)",
    "x.cumprod(0.)", "x.softmax(0.)", "x.softmax(True)", "x.log_softmax(0.)",
    # functions with several signatures: torch's "invalid combination" (first line)
    "x.view(3.0, 2)", "x.view((3.0, 2))", "x.view(True, 6)", "x.view((True, 6))",
    "x.view(torch.tensor(3.), 2)", "x.view(None)", "x.view(-1.0)", "x.view('a')", "x.view()",
    "x.narrow(0, 1.0, 2)", "x.narrow(0., 1, 2)", "x.narrow(0, 1, 2.)",
    "x.narrow(0, torch.tensor(1.), 2)", "x.sum(0.)", "x.sum(True)", "x.sum('a')", "x.sum((0.,))",
    "x.sum([0.])", "x.mean(0.)", "x.mean(True)", "x.mean((0.,))", "x.max(0.)", "x.max(True)",
    "x.min(0.)", "x.squeeze(0.)", "x.squeeze((0.,))", "x.squeeze(True)", "x.movedim(0., 0)",
    "x.movedim(0, 0.)", "x.movedim((0.,), (0,))", "x.movedim((0,), (0.,))", "x.split(2, 0.)",
    "x.split(True)", "torch.randint(0, 5., (2,))", "torch.randint(0., 5, (2,))",
    # nn layers build their parameters with torch.empty
    "torch.nn.Linear(2., 3)", "torch.nn.Linear(2, 3.)", "torch.nn.Conv2d(3., 4, 3)",
    "torch.nn.Embedding(10., 3)", "torch.nn.BatchNorm1d(4.)",
    # a bool tensor passes torch's first check, then fails its unpacking
    "torch.zeros(torch.tensor(True))", "torch.zeros(2, torch.tensor(True))",
    # keyword arguments: torch names no position (the wrappers in _signatures.py reword)
    "torch.zeros(size=2.0)", "torch.zeros(size=2)", "x.view(size=(2., 3))",
    "x.reshape(shape=(2., 3))", "x.unsqueeze(dim=1.0)", "x.topk(2, dim=0.)", "x.squeeze(dim=0.)",
    "x.sum(dim=0.)", "x.argmax(dim=0.)", "x.cumsum(dim=0.)", "x.softmax(dim=0.)",
    "torch.randint(5, size=(2.,))", "torch.zeros(size=(2., 3))", "torch.ones(size=(2, 3.))",
]
# only the exception type: transpose and flatten have no keyword wrapper (it would cost their
# common call a frame), so their keyword forms keep "(position N)"
REFUSED_TYPE_ONLY = ["y.transpose(0, dim1=1.0)", "x.flatten(end_dim=-1.)"]
# accepted by torch: the same result
ACCEPTED = [
    "x.view(3, 2)", "x.view((3, 2))", "x.view([3, 2])", "x.view(torch.Size([2, 3]))", "x.view(-1)",
    "x.view(2, -1)", "x.view(6, True)", "x.view(np.int64(3), 2)", "x.view(torch.tensor(3), 2)",
    "x.view(torch.tensor([3]), 2)", "x.view(3, Idx())", "x.view(torch.float32)",
    "x.reshape(3, 2)", "x.reshape((IE.A, 6))", "x.reshape(np.int32(2), -1)", "x[:1].expand(2, 6)",
    "x[:1].expand(2, -1)", "x[:1].expand((np.int64(2), 6))", "x.repeat(2, 1)", "x.repeat(2, True)",
    "x.repeat((2,))", "y.permute(1, 0)", "y.permute((1, 0))", "y.permute(torch.tensor(1), 0)",
    "torch.zeros(2, 3)", "torch.zeros((2, 3))", "torch.zeros([2, 3])", "torch.zeros(())",
    "torch.zeros([])", "torch.zeros(2, True)", "torch.zeros((2, True))", "torch.zeros(Idx())",
    "torch.zeros((Idx(), 2))", "torch.zeros(np.int32(2))", "torch.zeros(torch.tensor(2))",
    "torch.zeros(torch.tensor([2]))", "torch.zeros(torch.tensor([[3]]))", "torch.zeros(np.array(3))",
    "torch.zeros((np.array(2), 3))", "torch.zeros(IE.A)", "torch.zeros(size=(2, 3))",
    "torch.ones(2, 3)", "torch.empty(2, 3).shape", "torch.full((2, 3), 1.)",
    "torch.full([2], 7)", "torch.rand(2, 3).shape", "torch.randn((2, 3)).shape",
    "torch.randint(5, (2, 3)).shape", "torch.randint(0, 5, (2,)).shape",
    "torch.randint(5, size=(2,)).shape", "x.new_zeros(2, 3)", "x.new_zeros((2, 3))",
    "x.new_zeros(2, True)", "x.new_ones([2])", "x.new_empty(2, 3).shape", "x.new_full((2,), 3.)",
    "x.unsqueeze(np.int64(0))", "x.unsqueeze(torch.tensor(0))", "x.unsqueeze(IE.A)",
    "x.topk(np.int64(2)).values", "x.topk(torch.tensor(2)).values", "x.kthvalue(2).values",
    "y.transpose(np.int64(0), torch.tensor(1))", "x.narrow(0, torch.tensor(1), 2)",
    "x.narrow(0, np.int64(1), 2)", "x.select(0, np.int64(1))", "x.size(np.int64(0))",
    "x.size(torch.tensor(0))", "x.size(-1)", "x.chunk(np.int64(2))[0]", "x.split(2)[0]",
    "x.split((2, 4))[1]", "x.split([2, 4], 0)[1]", "x.tile(2)", "x.tile(2, 1)", "x.tile((2,))",
    "y.flip(0, 1)", "y.flip((0, 1))", "y.flip(dims=[1])", "x.flip(0)", "x.roll(1)",
    "y.roll(1, 0)", "y.roll((1, 2), (0, 1))", "y.unflatten(1, (3, 1))", "y.unflatten(1, [3, -1])",
    "y.flatten(0, -1)", "y.squeeze((0, 1))", "y[:1].squeeze(0)", "y.squeeze(np.int64(0))",
    "y.movedim(0, 1)", "y.movedim((0,), (1,))", "y.sum(np.int64(0))", "y.sum((0, 1))",
    "y.sum([1])", "y.sum(1, True)", "y.mean((np.int64(1),))", "y.max(np.int64(1)).values",
    "y.argmax(np.int64(1))", "y.cumsum(torch.tensor(1))", "y.softmax(np.int64(0))",
    "y.index_select(np.int64(1), torch.tensor([0]))", "y.gather(1, torch.tensor([[0], [1]]))",
    "x.sum(None)", "torch.nn.Linear(2, 3).weight.shape", "torch.nn.Linear(True, 3).weight.shape",
]


def _run(lib, src):
    x = lib.arange(6.0)
    env = {"torch": lib, "np": np, "Idx": Idx, "IE": IE, "x": x, "y": x.reshape(2, 3)}
    return eval(src, env)  # noqa: S307 - the sources are the literals above


def _error(lib, src):
    with pytest.raises(Exception) as info:
        _run(lib, src)
    return info.value


@pytest.mark.parametrize("src", REFUSED)
def test_refused_like_torch(src):
    want, got = _error(torch, src), _error(gradstep, src)
    assert type(got) is type(want), (src, got)
    assert str(got).split("\n")[0] == str(want).split("\n")[0], src


@pytest.mark.parametrize("src", REFUSED_TYPE_ONLY)
def test_keyword_forms_refused_with_torchs_type(src):
    assert type(_error(gradstep, src)) is type(_error(torch, src)), src


@pytest.mark.parametrize("src", ACCEPTED)
def test_accepted_like_torch(src):
    want, got = _run(torch, src), _run(gradstep, src)
    if isinstance(want, torch.Size):
        assert tuple(got) == tuple(want), src
    elif isinstance(want, torch.Tensor):
        assert tuple(got.shape) == tuple(want.shape), src
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], src
        # exact: these are copies, views and reductions of small integers held in floats
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy(), err_msg=src)
    else:
        assert got == want, src


@pytest.mark.parametrize("src", ["x.view(3.0, 2)", "x.sum(0.)", "x.mean(True)"])
def test_invalid_combination_message_in_full(src):
    """Where torch adds no match hints, its whole message (every signature) is gradstep's."""
    assert str(_error(gradstep, src)) == str(_error(torch, src))


def test_int_list_fast_path_returns_given_tuple():
    """The common call costs a type check per element and no copy of a tuple."""
    from gradstep._argparse import int_list

    shape = (2, 3)
    assert int_list((shape,), "view", "size") is shape
    assert int_list((2, 3), "view", "size") == (2, 3)
    assert int_list(([2, 3],), "view", "size") == (2, 3)
    assert int_list((np.int64(2), True), "view", "size") == (2, 1)

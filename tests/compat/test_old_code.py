"""What torch 1.x-era programs still do on torch 2.13, and what torch answers."""

import numpy as np
import pytest
import torch

import gradstep as gs


def _outcome(fn):
    """(exception type name, message) or ("ok", value as a list)."""
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - comparing whatever torch raises
        return type(e).__name__, str(e)
    return "ok", out.tolist() if hasattr(out, "tolist") else out


ZERO_DIM_INDEXING = {
    "int": lambda x: x[0],                       # loss.data[0]
    "slice": lambda x: x[:],
    "tensor": lambda x: x[x.new_tensor(0).long()],
    "tuple-int": lambda x: x[0, ],
    "ellipsis": lambda x: x[...],
    "none": lambda x: x[None],
    "empty-tuple": lambda x: x[()],
}


@pytest.mark.parametrize("case", sorted(ZERO_DIM_INDEXING))
def test_indexing_a_zero_dim_tensor_like_torch(case):
    ours = _outcome(lambda: ZERO_DIM_INDEXING[case](gs.tensor(3.0)))
    theirs = _outcome(lambda: ZERO_DIM_INDEXING[case](torch.tensor(3.0)))
    assert ours == theirs


@pytest.mark.parametrize("key", [0, slice(None)])
def test_assigning_into_a_zero_dim_tensor_by_index_like_torch(key):
    def assign(L):
        x = L.tensor(3.0)
        x[key] = 1.0
        return x

    assert _outcome(lambda: assign(gs)) == _outcome(lambda: assign(torch))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float32",
                                   "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("inplace", [False, True])
def test_masked_fill_refuses_non_bool_masks_like_torch(dtype, inplace):
    def fill(L):
        x, mask = L.ones(3), L.tensor([1, 0, 1]).to(getattr(L, dtype))
        return x.masked_fill_(mask, 0.0) if inplace else x.masked_fill(mask, 0.0)

    assert _outcome(lambda: fill(gs)) == _outcome(lambda: fill(torch))


def test_masked_fill_value_with_dimensions_is_refused_in_place_too():
    def fill(L):
        return L.ones(2).masked_fill_(L.ones(2, dtype=L.bool), L.ones(2))

    assert _outcome(lambda: fill(gs)) == _outcome(lambda: fill(torch))


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "ByteTensor",
                                  "BoolTensor", "HalfTensor", "BFloat16Tensor", "IntTensor"])
def test_cuda_legacy_types_exist_construct_nothing_and_match_nothing(name):
    ours, theirs = getattr(gs.cuda, name), getattr(torch.cuda, name)
    assert repr(ours) == repr(theirs)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    assert ours.is_cuda and theirs.is_cuda
    assert _outcome(lambda: ours(2)) == _outcome(lambda: theirs(2))
    x = gs.ones(2).to(ours.dtype)
    assert not isinstance(x, ours)
    assert isinstance(x, getattr(gs, name))
    with pytest.raises(RuntimeError):
        x.type(ours)


@pytest.mark.parametrize("call", [lambda L: L.symeig(L.eye(2)),
                                  lambda L: L.eye(2).symeig(eigenvectors=True)])
def test_symeig_is_removed_with_torchs_message(call):
    ours, theirs = _outcome(lambda: call(gs)), _outcome(lambda: call(torch))
    assert ours == theirs and ours[0] == "RuntimeError"


def test_old_style_accuracy_loop_runs():
    """The classic pre-0.4 evaluation lines: max over dim 1, eq, sum, item."""
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    results = []
    for L in (torch, gs):
        out, y = L.tensor(logits), L.LongTensor(target.tolist())
        pred = out.data.max(1, keepdim=True)[1]
        results.append(pred.eq(y.data.view_as(pred)).cpu().sum().item())
    assert results[0] == results[1]


@pytest.mark.parametrize("key", [(slice(None),), (0,), (None, 0), [0], (Ellipsis, 0), 1, -1, 2, True,
                                 False])
def test_indexing_a_zero_dim_tensor_with_tuples_and_lists_like_torch(key):
    assert _outcome(lambda: gs.tensor(3.0)[key]) == _outcome(lambda: torch.tensor(3.0)[key])


@pytest.mark.parametrize("name", ["inf", "nan", "pi", "e", "newaxis"])
def test_torch_constants(name):
    ours, theirs = getattr(gs, name), getattr(torch, name)
    assert type(ours) is type(theirs)
    assert ours == theirs or (ours != ours and theirs != theirs)  # nan


@pytest.mark.parametrize("value", [[1.0, 2.0, 3.0], (1, 2, 3), np.array([1.0, 2.0, 3.0]),
                                   np.array(4.0), np.float32(2), np.float16(2), np.bool_(True),
                                   None, "a", np.int64(3), np.uint8(3), np.float64(2.5), True,
                                   7, 2.5])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_index_assignment_accepts_what_torch_accepts(value, dtype):
    def assign(L):
        x = L.zeros(2, 3, dtype=getattr(L, dtype))
        x[0] = value
        return x

    assert _outcome(lambda: assign(gs)) == _outcome(lambda: assign(torch))

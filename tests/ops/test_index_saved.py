"""An index or mask changed in place after the op that read it: torch saves the index tensor
for backward and raises its in-place error; where it saved a copy, the gradient is the one
of the index as it was. gradstep must do the same (it kept the index's array: a changed
mask gave NumPy's 'array is not broadcastable' or silently other gradients)."""

import pytest
import torch

import gradstep

INPLACE = "modified by an inplace operation"


def _idx(L):
    return L.tensor([0, 1])


def _src(x, grad=False):
    return x.new_tensor([5.0, 6.0]).requires_grad_(grad)


CASES = {
    "getitem_mask": lambda L, x: (x[L.tensor([True, True, False, False])], "mask"),
    "getitem_long": lambda L, x: (x[_idx(L)], "long"),
    "getitem_long_2d": lambda L, x: (x.reshape(2, 2)[:, _idx(L)], "long"),
    "getitem_int_and_long": lambda L, x: (x.reshape(2, 2)[1, _idx(L)], "long"),
    "index_select": lambda L, x: (x.index_select(0, _idx(L)), "long"),
    "gather": lambda L, x: (x.gather(0, _idx(L)), "long"),
    "take": lambda L, x: (L.take(x, _idx(L)), "long"),
    "take_along_dim_none": lambda L, x: (L.take_along_dim(x, _idx(L)), "long"),
    "take_along_dim_0": lambda L, x: (L.take_along_dim(x, _idx(L), 0), "long"),
    "masked_select": lambda L, x: (x.masked_select(L.tensor([True, True, False, False])), "mask"),
    "masked_fill": lambda L, x: (x.masked_fill(L.tensor([True, False, False, False]), 0.0), "mask"),
    "where": lambda L, x: (L.where(L.tensor([True, False, False, False]), x, 0.0), "mask"),
    "scatter": lambda L, x: (x.scatter(0, _idx(L), _src(x)), "long"),
    "scatter_add": lambda L, x: (x.scatter_add(0, _idx(L), _src(x)), "long"),
    "index_add": lambda L, x: (x.index_add(0, _idx(L), _src(x)), "long"),
    "index_add_src_grad": lambda L, x: (x.index_add(0, _idx(L), _src(x, True)), "long"),
    "scatter_add_src_grad": lambda L, x: (x.scatter_add(0, _idx(L), _src(x, True)), "long"),
    "index_copy": lambda L, x: (x.index_copy(0, _idx(L), _src(x)), "long"),
    "index_fill": lambda L, x: (x.index_fill(0, _idx(L), 0.0), "long"),
    "index_put": lambda L, x: (L.index_put(x, (_idx(L),), _src(x)), "long"),
}


def _run(L, name, dtype):
    """Build the op, change its index in place, backward: the error text or the gradient."""
    x = L.arange(4.0, dtype=getattr(L, dtype)).requires_grad_()
    seen = []
    real_tensor = L.tensor

    def tensor(data, **kw):  # catch the index/mask tensor the case builds
        t = real_tensor(data, **kw)
        if t.dtype in (L.int64, L.bool):
            seen.append(t)
        return t

    L.tensor = tensor
    try:
        y, kind = CASES[name](L, x)
    finally:
        L.tensor = real_tensor
    (index,) = seen
    if kind == "mask":
        index[0] = not bool(index[0])
        index[2] = True
    else:
        index[0] = 3
    try:
        (y * L.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
    except RuntimeError as e:
        return str(e)
    return x.grad.tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_index_changed_in_place_after_forward(name, dtype):
    want, got = _run(torch, name, dtype), _run(gradstep, name, dtype)
    if isinstance(want, str):
        assert INPLACE in want  # the case tests what it says
        assert isinstance(got, str) and INPLACE in got
    else:
        assert got == want  # exact: sums of a few small integers


def test_setitem_index_changed_in_place():
    for L in (torch, gradstep):
        for index in (L.tensor([0, 1]), L.tensor([True, True, False, False])):
            x = L.arange(4.0).requires_grad_()
            y = x.clone()
            y[index] = L.tensor([5.0, 6.0])
            index[0] = 3 if index.dtype == L.int64 else False
            with pytest.raises(RuntimeError, match=INPLACE):
                y.sum().backward()


def test_unchanged_index_still_backpropagates():
    for L in (torch, gradstep):
        x = L.arange(4.0).requires_grad_()
        i = L.tensor([0, 0, 2])
        x[i].sum().backward()
        assert x.grad.tolist() == [2.0, 0.0, 1.0, 0.0]

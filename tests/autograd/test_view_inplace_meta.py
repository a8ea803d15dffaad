"""In-place changes torch refuses on views autograd cannot follow: outputs of multi-output view
functions (unbind/split/chunk/split_with_sizes) and views made under no_grad modified with grad
mode on; and the ordinary in-place uses torch allows, which must keep working."""

from __future__ import annotations

import pytest
import torch

import gradstep


def _rg(lib):
    return lib.randn(4, 6, requires_grad=True) * 1  # a non-leaf that requires grad


def _under_no_grad(lib, make, then):
    a = _rg(lib)
    with lib.no_grad():
        v = make(a)
    return then(lib, v)


def _nograd_leaf_view(lib):
    a = lib.randn(4, 6, requires_grad=True)
    with lib.no_grad():
        v = a[0]
    v.add_(1)


def _nograd_view_of_view(lib):
    a = _rg(lib)
    with lib.no_grad():
        v = a[0]
    v[1:].add_(1)


def _plain_nograd_view_rg_operand(lib):
    b = lib.randn(4, 6)
    with lib.no_grad():
        w = b[0]
    w.add_(lib.ones(6, requires_grad=True))


def _init_chunks_no_grad(lib):
    w = lib.nn.Parameter(lib.randn(6, 4))
    with lib.no_grad():
        for c in w.chunk(3):
            lib.nn.init.orthogonal_(c)
    for c in w.chunk(3):
        lib.nn.init.xavier_uniform_(c)  # nn.init runs under no_grad itself


def _params_no_grad(lib):
    m = lib.nn.Linear(3, 3)
    with lib.no_grad():
        for p in m.parameters():
            p.add_(1)
            p.split(1)[0].mul_(2)


def _chunk_then_no_grad_inplace(lib):
    parts = _rg(lib).chunk(2)
    with lib.no_grad():
        parts[0].add_(1)


CASES = {
    # refused
    "unbind": lambda lib: _rg(lib).unbind()[0].add_(1),
    "unbind_dim1": lambda lib: lib.unbind(_rg(lib), 1)[2].zero_(),
    "unbind_leaf": lambda lib: lib.randn(3, 2, requires_grad=True).unbind()[1].mul_(2),
    "split": lambda lib: _rg(lib).split(2)[1].add_(1),
    "split_one_piece": lambda lib: _rg(lib).split(4)[0].add_(1),
    "split_sizes": lambda lib: _rg(lib).split([1, 3])[1].mul_(2),
    "split_with_sizes": lambda lib: _rg(lib).split_with_sizes([1, 3])[0].sub_(1),
    "chunk": lambda lib: lib.chunk(_rg(lib), 3, 1)[2].clamp_(0, 1),
    "copy_": lambda lib: _rg(lib).unbind()[0].copy_(lib.ones(6)),
    "torch_zero_": lambda lib: lib.zero_(_rg(lib).split(2)[0]),
    "setitem_select": lambda lib: _rg(lib).unbind()[0].__setitem__(0, 1.0),
    "setitem_split": lambda lib: _rg(lib).split(2)[0].__setitem__(0, 1.0),
    "view_of_output": lambda lib: _rg(lib).unbind()[0].view(2, 3).add_(1),
    "slice_of_output": lambda lib: _rg(lib).unbind()[0][1:].add_(1),
    "no_rg_base_rg_operand": lambda lib: lib.randn(4, 6).unbind()[0].add_(
        lib.ones(6, requires_grad=True)),
    "relu_inplace": lambda lib: lib.nn.functional.relu(_rg(lib).chunk(2)[0], inplace=True),
    "nograd_select": lambda lib: _under_no_grad(lib, lambda a: a[0], lambda lib, v: v.add_(1)),
    "nograd_view": lambda lib: _under_no_grad(lib, lambda a: a.view(6, 4),
                                              lambda lib, v: v.mul_(2)),
    "nograd_unbind": lambda lib: _under_no_grad(lib, lambda a: a.unbind(),
                                                lambda lib, v: v[0].add_(1)),
    "nograd_leaf_view": _nograd_leaf_view,
    "nograd_view_of_view": _nograd_view_of_view,
    "nograd_view_rg_operand": _plain_nograd_view_rg_operand,
    # allowed
    "data_unbind": lambda lib: _rg(lib).data.unbind()[0].add_(1),
    "detach_split": lambda lib: _rg(lib).split(2)[0].detach().add_(1),
    "no_rg_chunks": lambda lib: lib.randn(4, 6).chunk(2)[0].add_(1),
    "nograd_view_nograd_inplace": lambda lib: _under_no_grad(
        lib, lambda a: a.split(2), lambda lib, v: [p.add_(1) for p in v]),
    "nograd_view_no_rg": lambda lib: _under_no_grad(
        lib, lambda a: a.detach()[0], lambda lib, v: v.add_(1)),
    "init_chunks": _init_chunks_no_grad,
    "params_no_grad": _params_no_grad,
    "chunk_then_no_grad_inplace": _chunk_then_no_grad_inplace,
    "tensor_split": lambda lib: _rg(lib).tensor_split(2)[0].add_(1),
    "hsplit": lambda lib: _rg(lib).hsplit(2)[0].add_(1),
    "unflatten": lambda lib: _rg(lib).unflatten(1, (2, 3)).add_(1),
    "narrow": lambda lib: _rg(lib).narrow(0, 0, 2).add_(1),
    "unsafe_split": lambda lib: _rg(lib).unsafe_split(2)[0].add_(1),
    "unsafe_chunk": lambda lib: _rg(lib).unsafe_chunk(2)[0].add_(1),
    "out_of_place": lambda lib: (_rg(lib).chunk(2)[0] * 2).sum().backward(),
}


def _outcome(lib, case):
    try:
        CASES[case](lib)
    except RuntimeError as e:
        return str(e)
    return "ok"


# torch names the node of a view of a no_grad view ("Output 0 of Slice is a view of a view which
# was created in no_grad mode"); gradstep records no node for it (its source does not require
# grad here) and says "A view was created in no_grad mode": the same error, compared from there
HEAD_DIFFERS = {"nograd_view_of_view"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_view_inplace_matches_torch(case):
    ours, theirs = _outcome(gradstep, case), _outcome(torch, case)
    if case in HEAD_DIFFERS:
        assert ours != "ok" and ours.split("created in")[1] == theirs.split("created in")[1]
    else:
        assert ours == theirs


def test_unsafe_split_gradient_after_inplace():
    """An unmarked (unsafe_split) piece changed in place still gives torch's gradient."""
    grads = []
    for lib in (torch, gradstep):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        piece = (a * 1).unsafe_split(1)[0]
        piece.mul_(3)
        piece.sum().backward()
        grads.append(a.grad.tolist())
    assert grads[0] == grads[1]

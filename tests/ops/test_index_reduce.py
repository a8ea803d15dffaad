"""Indexed writes and reductions against torch: values and gradients for every reduce mode.

Inputs are random floats (no ties) except where ties/zeros are built on purpose to check
how torch splits amax/amin gradients and handles zeros in prod. Each output is at most a
handful of products/sums, so tests/helpers.py's default tolerances hold.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def _idx(lib, data):
    return lib.tensor(np.asarray(data), dtype=lib.int64)


def test_index_add_copy_fill():
    check(lambda lib, a, s: lib.index_add(a, 1, _idx(lib, [0, 2, 0]), s, alpha=2),
          [(3, 4), (3, 3)])
    check(lambda lib, a, s: a.index_copy(0, _idx(lib, [2, 0]), s), [(3, 4), (2, 4)])
    check(lambda lib, a: a.index_fill(1, _idx(lib, [1, 3]), -1.5), [(3, 4)])
    check(lambda lib, a, s: a.clone().index_copy_(0, _idx(lib, [1]), s), [(3, 4), (1, 4)])
    check(lambda lib, a: a.clone().index_fill_(0, _idx(lib, [0]), 2.0), [(3, 4)])


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(accumulate):
    check(lambda lib, a, v: a.index_put((_idx(lib, [0, 2, 0]), _idx(lib, [1, 1, 1])), v,
                                        accumulate), [(3, 4), (3,)])
    check(lambda lib, a, v: lib.index_put(a, (_idx(lib, [2, 1]),), v, accumulate),
          [(3, 4), (4,)])
    check(lambda lib, a, v: a.clone().index_put_((_idx(lib, [0]),), v, accumulate),
          [(3, 4), ()])


def test_masked_scatter():
    def fn(lib, a, s):
        return a.masked_scatter(lib.tensor([[True, False, True, False]]).expand(3, 4), s)
    check(fn, [(3, 4), (10,)])
    check(lambda lib, a, s: a.clone().masked_scatter_(a > 0, s), [(3, 4), (12,)])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    index = [[0, 1, 0, 3], [2, 2, 2, 0]]
    check(lambda lib, a, s: a.scatter_reduce(1, _idx(lib, index), s, reduce,
                                             include_self=include_self), [(2, 5), (2, 4)])
    check(lambda lib, a, s: lib.scatter_reduce(a, 0, _idx(lib, [[1, 0], [1, 1]]), s, reduce,
                                               include_self=include_self), [(3, 2), (2, 2)])


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
def test_scatter_reduce_ties_and_zeros(reduce):
    def inputs(dt):
        a = gradstep.tensor([[1.0, 0.0, 2.0, 2.0]], dtype=getattr(gradstep, dt),
                            requires_grad=True)
        s = gradstep.tensor([[2.0, 0.0, 2.0, 0.0]], dtype=getattr(gradstep, dt),
                            requires_grad=True)
        return [a, s]
    check(lambda lib, a, s: a.scatter_reduce(1, _idx(lib, [[0, 1, 0, 1]]), s, reduce),
          inputs=inputs)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce(reduce):
    check(lambda lib, a, s: a.index_reduce(0, _idx(lib, [0, 2, 0]), s, reduce), [(3, 2), (3, 2)])
    check(lambda lib, a, s: a.index_reduce(1, _idx(lib, [1, 1]), s, reduce, include_self=False),
          [(3, 2), (3, 2)])


def test_int_scatter_mean_floors():
    a = [[1, 2, 3]]
    s = [[4, 7, 8]]
    ours = gradstep.tensor(a).scatter_reduce(1, _idx(gradstep, [[0, 0, 2]]),
                                             gradstep.tensor(s), "mean")
    theirs = torch.tensor(a).scatter_reduce(1, _idx(torch, [[0, 0, 2]]), torch.tensor(s), "mean")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_broadcast():
    check(lambda lib, a, b, c: lib.broadcast_tensors(a, b, c), [(3, 1), (4,), ()])
    assert gradstep.broadcast_shapes((3, 1), 4, ()) == torch.broadcast_shapes((3, 1), 4, ())
    with pytest.raises(RuntimeError):
        gradstep.broadcast_shapes((3,), (4,))


def test_toplevel_inplace_forms():
    check(lambda lib, a, v: lib.index_put_(a.clone(), (_idx(lib, [1, 0]),), v, True),
          [(3, 2), (2,)])
    check(lambda lib, c, m, v: lib.addmv_(c.clone(), m, v, beta=2), [(3,), (3, 2), (2,)])


@pytest.mark.parametrize("reduce", ["amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_infinite_start_and_source(reduce, include_self):
    """A start filled with -inf/inf (the usual identity for a max/min message aggregation) and
    an infinite source element: finite values and gradients, as torch gives (no NaN)."""
    def inputs(dt):
        a = gradstep.full((4, 2), -float("inf") if reduce == "amax" else float("inf"),
                          dtype=getattr(gradstep, dt), requires_grad=True)
        s = gradstep.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, float("inf")]],
                            dtype=getattr(gradstep, dt), requires_grad=True)
        return [a, s]

    def fn(lib, a, s):
        index = _idx(lib, [0, 0, 2]).unsqueeze(-1).expand(3, 2)
        out = a.scatter_reduce(0, index, s, reduce, include_self=include_self)
        return out.masked_fill(out.isinf(), 0.0)

    check(fn, inputs=inputs)
    out = fn(gradstep, *inputs("float32"))
    assert out.grad_fn.next_functions[0][0].name() == "ScatterReduceBackward0"


def test_grad_fn_names_match_torch():
    def names(lib):
        a = lib.zeros(3, 2, requires_grad=True)
        s = lib.ones(3, 2, requires_grad=True)
        i = _idx(lib, [0, 0, 2])
        outs = [a.index_reduce(0, i, s, r) for r in ("prod", "mean", "amax", "amin")]
        outs += [a.scatter_reduce(0, i.unsqueeze(1).expand(3, 2), s, "amax"),
                 a.index_put((i,), s, accumulate=True)]
        return [o.grad_fn.name() for o in outs]
    assert names(gradstep) == names(torch)


@pytest.mark.parametrize("alias", ["max", "min"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_max_min_aliases_forward_only(alias, include_self):
    """torch's scatter_reduce takes "max"/"min" as amax/amin in the forward (user code written
    for segment softmax does), but its backward refuses them with a RuntimeError."""
    x = np.array([5.0, -5, 0, 0], np.float32)
    src = np.array([1.0, 2, -3, 4], np.float32)
    idx = [0, 0, 1, 1]
    outs = []
    for lib in (torch, gradstep):
        s = lib.tensor(src, requires_grad=True)
        out = lib.tensor(x).scatter_reduce(0, _idx(lib, idx), s, alias, include_self=include_self)
        outs.append(out.detach().numpy())
        with pytest.raises(RuntimeError, match=f"'amin' but got {alias}"):
            out.sum().backward()
        plain = lib.zeros(4).scatter_reduce_(0, _idx(lib, idx), lib.tensor(src), alias)
        outs.append(plain.numpy())
    np.testing.assert_array_equal(outs[2], outs[0])
    np.testing.assert_array_equal(outs[3], outs[1])


@pytest.mark.parametrize("self_shape,dim,index,source_shape,exc", [
    ((4,), 0, [0, 1], (3,), RuntimeError),  # count != source.size(dim)
    ((4, 2), 1, [0, 1, 1], (4, 2), RuntimeError),
    ((4, 2), 0, [[0, 1]], (2, 2), IndexError),  # not a vector
    ((3,), 0, [0], (), RuntimeError),  # 0-d source into a 1-d self: shapes differ
    ((), 0, [0], (1,), RuntimeError),
    ((3, 2), 0, [0, 2], (2, 3), RuntimeError),
    ((3, 2), 1, [0, 1], (2,), RuntimeError),  # dim 1 beyond a 1-d source
])
def test_index_add_inplace_errors_match_torch(self_shape, dim, index, source_shape, exc):
    messages = []
    for lib in (torch, gradstep):
        with pytest.raises(exc) as info:
            lib.zeros(self_shape).index_add_(dim, _idx(lib, index), lib.ones(source_shape))
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_index_add_zero_dim_self_and_source():
    for lib in (torch, gradstep):
        out = lib.zeros(()).index_add_(0, _idx(lib, [0]), lib.ones(()))
        assert out.item() == 1.0

"""torch.vmap / torch.func.vmap against torch: common ops, pytree in_dims/out_dims, empty
batches, randomness modes and torch's errors.

Tolerance: the oracle's (float64 1e-10, float32 1e-5 relative). gradstep runs ``func`` per
entry where torch runs one batched kernel; a matmul/conv row sums the same few products in
either case, so only the summation order can differ (a few ulps).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

DT = ["float32", "float64"]


def _arr(dtype, *shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def _cmp(a, b, dtype):
    if isinstance(b, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _cmp(x, y, dtype)
    elif isinstance(b, dict):
        assert sorted(a) == sorted(b)
        for k in b:
            _cmp(a[k], b[k], dtype)
    else:
        assert_close(a, b, dtype)


def _both(case, dtype):
    """``case(lib, arrays)`` under gradstep and torch, compared."""
    arrays = [_arr(dtype, 4, 3, seed=0), _arr(dtype, 4, 3, seed=1), _arr(dtype, 3, 5, seed=2),
              _arr(dtype, 4, 2, 6, 6, seed=3), _arr(dtype, 3, 2, 3, 3, seed=4)]
    _cmp(case(gradstep, arrays), case(torch, arrays), dtype)


def _ops_cases():
    def matmul(lib, a):
        x, w = lib.tensor(a[0]), lib.tensor(a[2])
        return lib.vmap(lib.matmul, in_dims=(0, None))(x, w), lib.vmap(lambda r: w.T @ r)(x)

    def softmax_reductions(lib, a):
        x = lib.tensor(a[0])
        return (lib.vmap(lambda r: r.softmax(-1))(x), lib.vmap(lambda r: r.sum(0))(x),
                lib.vmap(lambda r: r.max(dim=0).values)(x),
                lib.vmap(lambda r: r.mean(0, keepdim=True), in_dims=1)(x))

    def indexing_stack(lib, a):
        x, y = lib.tensor(a[0]), lib.tensor(a[1])
        idx = lib.tensor([[0, 1], [2, 2], [1, 0], [0, 0]])
        return (lib.vmap(lambda r: r[1:])(x), lib.vmap(lambda r, i: r[i])(x, idx),
                lib.vmap(lambda r, s: lib.stack([r, s]))(x, y),
                lib.vmap(lambda r, s: lib.cat([r, s]))(x, y))

    def linear_conv(lib, a):
        F = lib.nn.functional
        x, w, b = lib.tensor(a[0]), lib.tensor(a[2]).T.contiguous(), lib.tensor(a[2][0])
        img, k = lib.tensor(a[3]), lib.tensor(a[4])
        return (lib.vmap(F.linear, in_dims=(0, None, None))(x, w, b),
                lib.vmap(lambda i: F.conv2d(i, k, padding=1))(img))

    def inplace(lib, a):
        def f(r):
            r = r.clone()
            r.mul_(2).add_(1)
            return r
        return lib.vmap(f)(lib.tensor(a[0]))

    def out_dims_and_nesting(lib, a):
        x, y = lib.tensor(a[0]), lib.tensor(a[1])
        pair = lib.vmap(lambda r: (r * 2, r.sum()), out_dims=(1, 0))(x)
        outer = lib.vmap(lambda r: r.outer(r), out_dims=2)(x)
        nested = lib.vmap(lib.vmap(lib.dot, in_dims=(None, 0)), in_dims=(0, None))(x, y)
        unmapped = lib.vmap(lambda r: (r, lib.ones(2)), out_dims=(0, None))(x)
        return pair, outer, nested, unmapped

    def pytrees(lib, a):
        x, y = lib.tensor(a[0]), lib.tensor(a[1])
        d = {"a": x, "b": y[0]}
        return (lib.vmap(lambda t: t["a"] * t["b"], in_dims=({"a": 0, "b": None},))(d),
                lib.vmap(lambda t: t[0] + t[1], in_dims=((0, 1),))((x, y.T)),
                lib.vmap(lambda r: {"s": r.sum(), "l": [r, -r]})(x),
                lib.vmap(lambda r, n: r * n, in_dims=(0, None))(x, 3))

    def empty_batch(lib, a):
        x = lib.tensor(a[0])[:0]
        return (lib.vmap(lambda r: r * 2)(x),
                lib.vmap(lambda r: (r.outer(r), r.sum()), out_dims=(1, 0))(x))

    return [matmul, softmax_reductions, indexing_stack, linear_conv, inplace,
            out_dims_and_nesting, pytrees, empty_batch]


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("case", _ops_cases(), ids=lambda c: c.__name__)
def test_vmap_ops_match_torch(case, dtype):
    _both(case, dtype)


def test_torch_vmap_is_func_vmap_and_keeps_the_graph():
    assert gradstep.vmap is gradstep.func.vmap
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((4, 3)), rng.standard_normal(3)

    def grads(lib):
        x, w = lib.tensor(xa, requires_grad=True), lib.tensor(wa, requires_grad=True)
        lib.vmap(lambda r: (r * w).sin().sum())(x).sum().backward()
        return x.grad, w.grad

    _cmp(grads(gradstep), grads(torch), "float64")


def _random_case(lib, mode):
    lib.manual_seed(3)
    return lib.vmap(lambda r: r + lib.rand(3), randomness=mode)(lib.zeros(4, 3))


def test_randomness_same_gives_every_entry_the_same_draws_as_torch():
    ours, theirs = _random_case(gradstep, "same"), _random_case(torch, "same")
    _cmp(ours, theirs, "float32")
    assert (ours[0] == ours[3]).all()
    # and the generator moved on by one entry's draws, as torch's did
    assert_close(gradstep.rand(2), torch.rand(2), "float32")


def test_randomness_different_draws_per_entry():
    out = _random_case(gradstep, "different")
    assert not (out[0] == out[1]).all()


@pytest.mark.parametrize("draw", ["rand", "dropout", "randn_like"])
def test_randomness_error_refuses_random_ops_like_torch(draw):
    def call(lib):
        fns = {"rand": lambda r: r + lib.rand(3),
               "dropout": lambda r: lib.nn.functional.dropout(r, 0.5, training=True),
               "randn_like": lambda r: lib.randn_like(r)}
        return lib.vmap(fns[draw])(lib.ones(4, 3))

    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gradstep)
    assert str(ours.value) == str(theirs.value)
    gradstep.rand(1)  # the generator is back


def _errors():
    return {
        "size_mismatch": lambda lib: lib.vmap(lib.add)(lib.ones(4, 3), lib.ones(5, 3)),
        "in_dims_none": lambda lib: lib.vmap(lambda r: r, in_dims=None)(lib.ones(4, 3)),
        "in_dims_list": lambda lib: lib.vmap(lambda r: r, in_dims=[0])(lib.ones(4, 3)),
        "all_unmapped": lambda lib: lib.vmap(lambda r: r, in_dims=(None,))(lib.ones(4, 3)),
        "no_inputs": lambda lib: lib.vmap(lambda: 1)(),
        "non_tensor_mapped": lambda lib: lib.vmap(lambda r, n: r * n)(lib.ones(4, 3), 3),
        "in_dim_out_of_range": lambda lib: lib.vmap(lambda r: r, in_dims=2)(lib.ones(4, 3)),
        "in_dim_not_int": lambda lib: lib.vmap(lambda r: r, in_dims=(1.5,))(lib.ones(4, 3)),
        "returns_int": lambda lib: lib.vmap(lambda r: 3)(lib.ones(4, 3)),
        "returns_none": lambda lib: lib.vmap(lambda r: None)(lib.ones(4, 3)),
        "chunk_size_0": lambda lib: lib.vmap(lambda r: r, chunk_size=0),
        "bad_randomness": lambda lib: lib.vmap(lambda r: r, randomness="sometimes"),
        "bad_out_dims": lambda lib: lib.vmap(lambda r: r, out_dims="x")(lib.ones(4, 3)),
        "out_dims_structure": lambda lib: lib.vmap(lambda r: (r, r),
                                                   out_dims=(0, 0, 0))(lib.ones(4, 3)),
    }


@pytest.mark.parametrize("name", sorted(_errors()))
def test_vmap_errors_like_torch(name):
    call = _errors()[name]
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(gradstep)
    if "structure" not in str(theirs.value):  # torch prints its TreeSpec repr over lines
        assert str(ours.value) == str(theirs.value)


# ---------------------------------------------------------------- torch's refusals
def _refusal(lib, case):
    """(exception type name, message) that ``case(lib)`` raises."""
    with pytest.raises(Exception) as info:  # noqa: PT011 - compared with torch's below
        case(lib)
    return type(info.value).__name__, str(info.value)


def _x(lib):
    return lib.tensor(_arr("float32", 3, 4, seed=3))


def _into(lib, method, **kwargs):
    """``y.<method>(row, **kwargs)`` on a captured unbatched ``y`` inside vmap."""
    y = lib.zeros(4)
    return lib.func.vmap(lambda t: getattr(y, method)(t, **kwargs))(_x(lib))


REFUSALS = {
    "item": lambda lib: lib.func.vmap(lambda t: t.sum().item())(_x(lib)),
    "float": lambda lib: lib.func.vmap(lambda t: float(t.sum()))(_x(lib)),
    "int": lambda lib: lib.func.vmap(lambda t: int(t.sum()))(_x(lib)),
    "index": lambda lib: lib.func.vmap(lambda t: [1, 2, 3][t.long().abs().sum()])(_x(lib)),
    "control_flow": lambda lib: lib.func.vmap(lambda t: t if t.sum() > 0 else -t)(_x(lib)),
    "any": lambda lib: lib.func.vmap(lambda t: t if (t > 0).any() else -t)(_x(lib)),
    "matmul_item": lambda lib: lib.func.vmap(lambda t: (t @ t).item())(_x(lib)),
    "tolist": lambda lib: lib.func.vmap(lambda t: lib.tensor(t.tolist()))(_x(lib)),
    "numpy": lambda lib: lib.func.vmap(lambda t: lib.tensor(t.numpy()))(_x(lib)),
    "nonzero": lambda lib: lib.func.vmap(lambda t: t.nonzero())(_x(lib)),
    "nonzero_tuple": lambda lib: lib.func.vmap(lambda t: t.nonzero(as_tuple=True))(_x(lib)),
    "where_1arg": lambda lib: lib.func.vmap(lambda t: lib.where(t > 0))(_x(lib)),
    "mask": lambda lib: lib.func.vmap(lambda t: t[t > 0])(_x(lib)),
    "captured_masked": lambda lib: lib.func.vmap(lambda t: lib.ones(4)[t > 0])(_x(lib)),
    "unique": lambda lib: lib.func.vmap(lambda t: lib.unique(t))(_x(lib)),
    "unique_dim": lambda lib: lib.func.vmap(lambda t: t.reshape(2, 2).unique(dim=0))(_x(lib)),
    "unique_consecutive": lambda lib: lib.func.vmap(lib.unique_consecutive)(_x(lib)),
    "masked_select": lambda lib: lib.func.vmap(lambda t: lib.masked_select(t, t > 0))(_x(lib)),
    "add_": lambda lib: _into(lib, "add_"),
    "add_alpha": lambda lib: _into(lib, "add_", alpha=2),
    "sub_": lambda lib: _into(lib, "sub_"),
    "mul_": lambda lib: _into(lib, "mul_"),
    "div_": lambda lib: _into(lib, "div_"),
    "copy_": lambda lib: _into(lib, "copy_"),
    "setitem": lambda lib: (lambda y: lib.func.vmap(
        lambda t: y.__setitem__(0, t[0]))(_x(lib)))(lib.zeros(4)),
    "setitem_slice": lambda lib: (lambda y: lib.func.vmap(
        lambda t: y.__setitem__(slice(None), t))(_x(lib)))(lib.zeros(4)),
    "out_dims_none": lambda lib: lib.func.vmap(lambda t: t * 2, out_dims=None)(_x(lib)),
    "out_dims_none_tree": lambda lib: lib.func.vmap(
        lambda t: (t * 2, t.sum()), out_dims=(0, None))(_x(lib)),
    "nested_item": lambda lib: lib.func.vmap(lib.func.vmap(lambda u: u.sum().item()))(
        lib.tensor(_arr("float32", 2, 3, 4))),
    "batch_norm_train": lambda lib: (lambda bn: lib.func.vmap(bn)(
        lib.tensor(_arr("float32", 3, 2, 4))))(lib.nn.BatchNorm1d(4)),
    "grad_item": lambda lib: lib.func.vmap(
        lib.func.grad(lambda t: t.sin().sum() * t.sum().item()))(_x(lib)),
    "grad_control_flow": lambda lib: lib.func.vmap(
        lib.func.grad(lambda t: t.sum() * (1 if t.sum() > 0 else 2)))(_x(lib)),
    "grad_captured_item": lambda lib: lib.func.vmap(
        lambda r: lib.func.grad(lambda s: s.sum() * r.sum().item())(r))(_x(lib)),
    "jacrev_item": lambda lib: lib.func.vmap(
        lib.func.jacrev(lambda t: t * t.sum().item()))(_x(lib)),
    "jvp_item": lambda lib: lib.func.vmap(lambda t: lib.func.jvp(
        lambda u: u * u.sum().item(), (t,), (t,)))(_x(lib)),
    "vmap_in_grad_item": lambda lib: lib.func.grad(
        lambda r: lib.func.vmap(lambda s: s.sum().item())(r).sum())(_x(lib)),
    "outer_batched_item": lambda lib: lib.func.vmap(
        lambda t: lib.func.vmap(lambda u: u * t.sum().item())(lib.ones(2)))(_x(lib)),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_vmap_refuses_as_torch(name):
    assert _refusal(gradstep, REFUSALS[name]) == _refusal(torch, REFUSALS[name])


ALLOWED = {  # unbatched values inside func: torch runs these
    "captured_item": lambda lib, y: lib.func.vmap(lambda t: t * y.sum().item())(_x(lib)),
    "created_item": lambda lib, y: lib.func.vmap(lambda t: t * lib.ones(2).sum().item())(_x(lib)),
    "captured_bool": lambda lib, y: lib.func.vmap(lambda t: t if y.sum() < 0 else -t)(_x(lib)),
    "captured_mask": lambda lib, y: lib.func.vmap(lambda t: t[y > 0])(_x(lib)),
    "argwhere": lambda lib, y: lib.func.vmap(lambda t: lib.argwhere(t.abs() + 1))(_x(lib)),
    "inplace_batched": lambda lib, y: lib.func.vmap(lambda t: t.clone().add_(y))(_x(lib)),
    "inplace_batched_mul": lambda lib, y: lib.func.vmap(lambda t: (t * 1).mul_(y))(_x(lib)),
    "inplace_unbatched_local": lambda lib, y: lib.func.vmap(
        lambda t: t + lib.zeros(4).add_(y))(_x(lib)),
    "setitem_batched": lambda lib, y: lib.func.vmap(
        lambda t: (lambda c: (c.__setitem__(0, y[1]), c)[1])(t.clone()))(_x(lib)),
    "out_dims_none_unbatched": lambda lib, y: lib.func.vmap(
        lambda t: (t * 2, y * 3), out_dims=(0, None))(_x(lib)),
    "batch_norm_eval": lambda lib, y: (lambda bn: lib.func.vmap(bn)(
        lib.tensor(_arr("float32", 3, 2, 4))))(lib.nn.BatchNorm1d(4).eval()),
    "batch_norm_untracked": lambda lib, y: (lambda bn: lib.func.vmap(bn)(
        lib.tensor(_arr("float32", 3, 2, 4))))(lib.nn.BatchNorm1d(4, track_running_stats=False)),
    "nested": lambda lib, y: lib.func.vmap(lib.func.vmap(lambda u: u * y))(
        lib.tensor(_arr("float32", 2, 3, 4))),
    "nested_inner_item_of_captured": lambda lib, y: lib.func.vmap(
        lambda t: lib.func.vmap(lambda u: u * y.sum().item())(t))(
        lib.tensor(_arr("float32", 2, 3, 4))),
    "chunked": lambda lib, y: lib.func.vmap(lambda t: t.exp() * y, chunk_size=2)(_x(lib)),
    "grad_in_vmap": lambda lib, y: lib.func.vmap(lib.func.grad(lambda t: (t.sin() * y).sum()))(
        _x(lib)),
    "jacrev_in_vmap": lambda lib, y: lib.func.vmap(lib.func.jacrev(lambda t: t.sin() * y))(
        _x(lib)),
    "vmap_in_grad": lambda lib, y: lib.func.grad(
        lambda t: lib.func.vmap(lambda r: (r * y).tanh().sum())(t).sum())(_x(lib)),
}


@pytest.mark.filterwarnings("ignore:There is a performance drop")  # torch's argwhere fallback
@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_vmap_runs_what_torch_runs(name):
    y = _arr("float32", 4, seed=5)
    _cmp(ALLOWED[name](gradstep, gradstep.tensor(y)), ALLOWED[name](torch, torch.tensor(y)),
         "float32")


def test_vmap_marks_do_not_leave_vmap():
    import numpy as np

    t = gradstep.func.vmap(lambda r: r * 2)(gradstep.ones(2, 3))
    assert type(t._data) is np.ndarray
    assert t.sum().item() == 12.0 and bool(t.sum() > 0)
    nested = gradstep.func.vmap(gradstep.func.vmap(lambda u: u.exp()))(gradstep.ones(2, 3, 4))
    assert type(nested._data) is np.ndarray
    y = gradstep.zeros(3)
    y.add_(t[0])  # in place outside vmap: no refusal left behind
    assert y.tolist() == [2.0, 2.0, 2.0]


def test_arrays_left_in_the_graph_give_plain_arrays_after_vmap():
    """Backward through a graph recorded inside vmap reads arrays marked as batched; what it
    computes from them after vmap has returned is a plain array (nothing batched leaks into
    gradients, optimizer state or checkpoints)."""
    import numpy as np

    w = gradstep.tensor(_arr("float32", 3, 4, seed=1))
    xs = gradstep.tensor(_arr("float32", 6, 3, seed=2), requires_grad=True)
    kept = []
    gradstep.func.vmap(lambda x: kept.append(x * 2) or (x @ w).tanh().sum())(xs).sum().backward()
    assert type(xs.grad._data) is np.ndarray
    assert type((kept[0] + 1)._data) is np.ndarray and (kept[0] + 1).sum().item() != 0

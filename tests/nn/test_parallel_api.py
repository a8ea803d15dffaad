"""torch.nn.parallel's functions on a CPU-only build, against torch's own CPU build:
scatter, gather, replicate, parallel_apply, data_parallel and DataParallel's methods
(same results where torch has one, the same errors where it fails)."""

from __future__ import annotations

import collections

import pytest
import torch

import gradstep

Pair = collections.namedtuple("Pair", "a b")


def _outcome(call, lib):
    """(result, None) or (None, (exception type, message)) of ``call(lib)``."""
    try:
        return call(lib), None
    except Exception as e:  # noqa: BLE001 - the error itself is what is compared
        msg = str(e).replace("gradstep", "torch")
        return None, (type(e).__name__, msg)


def _same(call):
    ours, ours_err = _outcome(call, gradstep)
    theirs, their_err = _outcome(call, torch)
    if their_err is not None:
        assert ours_err is not None, f"torch raised {their_err}, gradstep returned {ours!r}"
        assert ours_err[0] == their_err[0] or (ours_err[0], their_err[0]) == \
            ("DeviceUnavailableError", "RuntimeError"), (ours_err, their_err)
        assert ours_err[1].startswith(their_err[1]), (ours_err, their_err)
    else:
        assert ours_err is None, f"gradstep raised {ours_err}, torch returned {theirs!r}"
    return ours, theirs


def _x(lib):
    return lib.arange(12.0).reshape(6, 2)


P = "nn.parallel"


@pytest.mark.parametrize("call", [
    lambda L: L.nn.parallel.scatter(_x(L), []),
    lambda L: L.nn.parallel.scatter(_x(L), [0, 1]),
    lambda L: L.nn.parallel.scatter(_x(L), [L.device("cpu")]),
    lambda L: L.nn.parallel.scatter(_x(L), None),
    lambda L: L.nn.parallel.scatter((_x(L), 3), [0]),
    lambda L: L.nn.parallel.scatter({"a": _x(L)}, [0]),
    lambda L: L.nn.parallel.scatter_gather.scatter_kwargs((_x(L),), {"k": 1}, [0]),
    lambda L: L.nn.parallel.gather([_x(L), _x(L)], "cpu"),
    lambda L: L.nn.parallel.gather([_x(L), _x(L)], -1, dim=1),
    lambda L: L.nn.parallel.gather([{"a": None}, {"b": None}], 0),
    lambda L: L.nn.parallel.gather([{"a": None}, {}], 0),
    lambda L: L.nn.parallel.gather([1, 2], 0),
    lambda L: L.nn.parallel.replicate(L.nn.Linear(2, 3), [0]),
    lambda L: L.nn.parallel.replicate(L.nn.Linear(2, 3), ["cpu"]),
    lambda L: L.nn.parallel.parallel_apply([L.nn.Linear(2, 3)] * 2, [_x(L), _x(L)]),
    lambda L: L.nn.parallel.parallel_apply([L.nn.Linear(2, 3)], [_x(L)], devices=["cpu"]),
    lambda L: L.nn.parallel.parallel_apply([L.nn.Linear(2, 3)] * 2, [_x(L)]),
    lambda L: L.nn.parallel.parallel_apply([L.nn.Linear(2, 3)], [_x(L)], [{}, {}]),
    lambda L: L.nn.parallel.parallel_apply([L.nn.Linear(2, 3)], [_x(L)], devices=[0, 1]),
    lambda L: L.nn.parallel.parallel_apply([], []),
    lambda L: L.nn.parallel.data_parallel(L.nn.Linear(2, 3), _x(L)),
    lambda L: L.nn.parallel.data_parallel(L.nn.Linear(2, 3), _x(L), device_ids=[0]),
    lambda L: L.nn.DataParallel(L.nn.Linear(2, 3)).scatter((_x(L),), {}, []),
    lambda L: L.nn.DataParallel(L.nn.Linear(2, 3)).gather([_x(L)], "cpu"),
    lambda L: L.nn.DataParallel(L.nn.Linear(2, 3)).parallel_apply([L.nn.ReLU()], [_x(L)], [{}]),
])
def test_errors_match_torch(call):
    _same(call)


def test_structures_without_tensors():
    ours, theirs = _same(lambda L: L.nn.parallel.scatter((1, [2, 3], {"a": 4}), [0, 1]))
    assert ours == theirs == [(1, [2, 3], {"a": 4})] * 2
    ours, theirs = _same(lambda L: L.nn.parallel.scatter(Pair(1, "x"), [0, 1]))
    assert ours == theirs == [Pair(1, "x")] * 2
    ours, theirs = _same(lambda L: L.nn.parallel.scatter((3,), []))
    assert ours == theirs == []
    ours, theirs = _same(lambda L: L.nn.parallel.gather([(None,), (None,)], 0))
    assert ours == theirs == (None,)
    ours, theirs = _same(lambda L: L.nn.parallel.gather([Pair(None, None)] * 2, 0))
    assert ours == theirs == Pair(None, None)
    assert gradstep.nn.parallel.gather([None, None], "cpu") is None


def test_replicate():
    assert gradstep.nn.parallel.replicate(gradstep.nn.Linear(2, 3), []) == []
    net = gradstep.nn.Sequential(gradstep.nn.ReLU(), gradstep.nn.Sequential(gradstep.nn.Tanh()))
    reps = gradstep.nn.parallel.replicate(net, [0, 1])
    theirs = torch.nn.parallel.replicate(torch.nn.Sequential(
        torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Tanh())), [0, 1])
    assert len(reps) == len(theirs) == 2
    assert repr(reps[0]) == repr(net) and reps[0] is not net and reps[0] is not reps[1]
    assert reps[0][1] is not net[1] and type(reps[0][1][0]) is gradstep.nn.Tanh
    assert reps[0]._is_replica and theirs[0]._is_replica
    x = gradstep.tensor([-1.0, 2.0])
    assert gradstep.equal(reps[1](x), net(x))


def test_data_parallel_module_and_methods():
    lin = gradstep.nn.Linear(2, 3)
    dp = gradstep.nn.DataParallel(lin, device_ids=[0, 1], output_device=0)
    tdp = torch.nn.DataParallel(torch.nn.Linear(2, 3), device_ids=[0, 1], output_device=0)
    assert dp.device_ids == tdp.device_ids == []
    assert dp.module is lin and list(dp.state_dict()) == ["module.weight", "module.bias"]
    assert dp.replicate(lin, []) == tdp.replicate(tdp.module, []) == []
    x = gradstep.randn(4, 2)
    assert gradstep.equal(dp(x), lin(x))
    wrapped = gradstep.nn.DataParallel(gradstep.nn.Identity())
    with pytest.raises(TypeError):
        wrapped(x=x)


def test_layout_matches_torch():
    import importlib

    assert gradstep.nn.parallel.__all__ == torch.nn.parallel.__all__
    sg = importlib.import_module("gradstep.nn.parallel.scatter_gather")
    pa = importlib.import_module("gradstep.nn.parallel.parallel_apply")
    tpa = importlib.import_module("torch.nn.parallel.parallel_apply")
    assert sg.scatter is gradstep.nn.parallel.scatter
    x, tx = gradstep.ones(2), torch.ones(2)
    assert (pa.get_a_var([1, {"k": x}]) is x) == (tpa.get_a_var([1, {"k": tx}]) is tx) is True
    assert pa.get_a_var((1, [x])) is x and pa.get_a_var([1, "a"]) is None

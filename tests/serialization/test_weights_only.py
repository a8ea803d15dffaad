"""weights_only=True (the default) refuses and accepts what torch's does for resumable training
checkpoints (NumPy's and Python's RNG states beside the state_dicts), with torch's message;
weights_only=False loads the NumPy data (gradstep/_weights_only.py)."""

from __future__ import annotations

import argparse
import io
import pickle
import random

import numpy as np
import pytest
import torch

import gradstep as gs


def _checkpoint_bytes():
    torch.manual_seed(0)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    obj = {"optimizer": opt.state_dict(), "epoch": 3, "rng": torch.get_rng_state(),
           "np_rng": np.random.RandomState(5).get_state(), "py_rng": random.Random(5).getstate(),
           "best": np.float64(0.25)}
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _outcome(L, data, approved=(), **kw):
    """'ok', or the refusal: (is an UnpicklingError, its first line, its WeightsUnpickler part)."""
    with L.serialization.safe_globals(list(approved)):
        try:
            L.load(io.BytesIO(data), **kw)
            return "ok"
        except Exception as e:  # noqa: BLE001 - the error itself is compared
            text = str(e)
            return (isinstance(e, pickle.UnpicklingError), text.split("\n")[0].split(".")[0],
                    text.split("WeightsUnpickler error: ")[1].strip().split("\n")[0])


# each approval moves torch's refusal to the next NumPy name the pickle needs
_APPROVALS = [(), (np._core.multiarray._reconstruct,),
              (np._core.multiarray._reconstruct, np.ndarray),
              (np._core.multiarray._reconstruct, np.ndarray, np.dtype),
              (np._core.multiarray._reconstruct, np.ndarray, np.dtype, np.dtypes.UInt32DType),
              (np._core.multiarray._reconstruct, np.ndarray, np.dtype, np.dtypes.UInt32DType,
               np._core.multiarray.scalar, np.dtypes.Float64DType)]


@pytest.mark.parametrize("approved", _APPROVALS, ids=lambda a: str(len(a)))
@pytest.mark.parametrize("weights_only", [None, True])
def test_a_resumable_checkpoint_is_refused_or_accepted_as_by_torch(approved, weights_only):
    data = _checkpoint_bytes()
    kw = {} if weights_only is None else {"weights_only": weights_only}
    theirs = _outcome(torch, data, approved, **kw)
    assert _outcome(gs, data, approved, **kw) == theirs
    assert (theirs == "ok") == (len(approved) == len(_APPROVALS[-1]))


def test_weights_only_false_loads_the_numpy_and_python_rng_states():
    data = _checkpoint_bytes()
    theirs, ours = torch.load(io.BytesIO(data), weights_only=False), gs.load(io.BytesIO(data), weights_only=False)
    assert ours["np_rng"][0] == theirs["np_rng"][0] == "MT19937"
    assert ours["np_rng"][1].dtype == theirs["np_rng"][1].dtype
    assert np.array_equal(ours["np_rng"][1], theirs["np_rng"][1]) and ours["np_rng"][2:] == theirs["np_rng"][2:]
    assert ours["py_rng"] == theirs["py_rng"]
    assert type(ours["best"]) is np.float64 and ours["best"] == 0.25
    assert ours["rng"].numpy().tobytes() == theirs["rng"].numpy().tobytes()
    np.random.set_state(ours["np_rng"])  # the states restore
    random.setstate(ours["py_rng"])
    assert np.random.rand() == np.random.RandomState(5).rand()


def test_the_retry_idiom_takes_torchs_path():
    """``except pickle.UnpicklingError: load(weights_only=False)``, as resuming scripts write it."""
    data = _checkpoint_bytes()
    paths = []
    for L in (torch, gs):
        try:
            state = L.load(io.BytesIO(data))
            paths.append("default")
        except pickle.UnpicklingError as e:
            assert str(e).startswith("Weights only load failed. This file can still be loaded")
            state = L.load(io.BytesIO(data), weights_only=False)
            paths.append("retried")
        assert state["epoch"] == 3
    assert paths == ["retried", "retried"]


def test_unsafe_globals_in_a_resumable_checkpoint_are_torchs():
    data = _checkpoint_bytes()
    theirs = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)))
    assert gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == theirs
    with gs.serialization.safe_globals(list(_APPROVALS[-1])):
        assert gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == []


def test_a_user_class_is_refused_with_torchs_message_shape():
    buf = io.BytesIO()
    torch.save({"args": random.Random(1)}, buf)  # an object torch's default refuses by its GLOBAL
    outcomes = [_outcome(L, buf.getvalue()) for L in (torch, gs)]
    assert outcomes[0] == outcomes[1]
    with pytest.raises(pickle.UnpicklingError, match="(?s)refusing to load 'random.Random'.*never runs code"):
        gs.load(io.BytesIO(buf.getvalue()), weights_only=False)  # torch would run its code here


@pytest.mark.parametrize("value", [frozenset({1, 2}), argparse.Namespace(lr=0.1)],
                         ids=["frozenset", "Namespace"])
def test_what_gradstep_builds_as_data_is_still_refused_by_default_as_by_torch(value):
    buf = io.BytesIO()
    torch.save({"v": value}, buf)
    data = buf.getvalue()
    assert _outcome(gs, data) == _outcome(torch, data) != "ok"  # torch names builtins bare: GLOBAL frozenset
    assert gs.load(io.BytesIO(data), weights_only=False)["v"] == value
    with gs.serialization.safe_globals([type(value)]):
        assert gs.load(io.BytesIO(data))["v"] == value

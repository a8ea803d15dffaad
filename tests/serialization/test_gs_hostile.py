"""Hostile .gs files with a correct SHA-256 (an attacker recomputes it): the header checks decide."""

import io

import numpy as np
import pytest

import gradstep as gs
from gradstep.serialization import CheckpointError

from .craft import gs_file

_BLOB = np.arange(8, dtype=np.float32).tobytes()  # 32 bytes


def _tensor(**kw):
    t = {"t": "tensor", "dtype": "float32", "shape": [8], "at": 0, "n": 32, "requires_grad": False,
         "param": False, "id": 0}
    t.update(kw)
    return {k: v for k, v in t.items() if v is not ...}


def _load(header, blob=_BLOB, **kw):
    return gs.load(io.BytesIO(gs_file(header, blob, **kw)))


def test_a_crafted_valid_file_loads():
    np.testing.assert_array_equal(_load(_tensor()).numpy(), np.arange(8.0))
    back = _load({"t": "odict", "k": ["a", {"t": "tuple", "v": [1, 2]}], "v": [_tensor(), {"t": "ref", "v": 0}]})
    assert back["a"] is back[(1, 2)]


@pytest.mark.parametrize("header,match", [
    (_tensor(n=-1), "'n' = -1 is out of range"),
    (_tensor(at=-32), "'at' = -32 is out of range"),
    (_tensor(at=8), "outside"),
    (_tensor(at=2**63), "out of range"),
    (_tensor(shape=[-8], n=32), "non-negative"),
    (_tensor(shape=[9]), "needs 36 bytes"),
    (_tensor(shape=[2**62, 2**62]), "needs"),
    (_tensor(shape="8"), "'shape' must be list"),
    (_tensor(shape=[8.0]), "non-negative ints"),
    (_tensor(shape=[8] + [1] * 64), "at most 64"),
    (_tensor(dtype="complex1024"), "unknown dtype"),
    (_tensor(dtype=["float32"]), "'dtype' must be str"),
    (_tensor(n=...), "no 'n' field"),
    (_tensor(requires_grad="yes"), "'requires_grad' must be bool"),
    (_tensor(dtype="int32", requires_grad=True), "cannot require grad"),
    (_tensor(id=-1), "out of range"),
    ({"t": "list", "v": [_tensor(), _tensor()]}, "appears twice"),
    ({"t": "ref", "v": 3}, "not defined"),
    ({"t": "dict", "k": ["a", "b"], "v": [1]}, "2 keys but 1 values"),
    ({"t": "dict", "k": [{"t": "dict", "k": [], "v": []}], "v": [1]}, "cannot be a key"),
    ({"t": "dict", "k": "ab", "v": "ab"}, "must be list"),
    ({"t": "ndarray", "dtype": "|O", "shape": [1], "at": 0, "n": 8}, "not a plain numeric"),
    ({"t": "ndarray", "dtype": "<U2", "shape": [1], "at": 0, "n": 8}, "not a plain numeric"),
    ({"t": "ndarray", "dtype": "[('a', '<f4')]", "shape": [1], "at": 0, "n": 4}, "not a plain numeric"),
    ({"t": "ndarray", "dtype": "no such", "shape": [1], "at": 0, "n": 4}, "not a plain numeric"),
    ({"t": "bytes", "at": 30, "n": 4}, "outside"),
    ({"t": "float", "v": "1e5"}, "not inf"),
    ({"t": "bigint", "v": "12a"}, "decimal integer"),
    ({"t": "bigint", "v": "9" * 5000}, "decimal integer"),
    ({"t": "dtype", "v": "object"}, "unknown dtype"),
    ({"t": "exec", "v": "import os"}, "unknown entry type"),
    ({"t": ["tensor"]}, "unknown entry type"),
    ({"v": 1}, "unknown entry type"),
    ({"t": "list", "v": [_tensor(id=i) for i in range(3)]}, "claim more bytes"),  # overlapping arrays
])
def test_bad_headers(header, match):
    with pytest.raises(CheckpointError, match=match):
        _load(header)


def test_deep_nesting():
    deep = {"t": "list", "v": []}
    for _ in range(300):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(CheckpointError, match="nested"):
        _load(deep)
    with pytest.raises(CheckpointError, match="nested more than 200 entries deep"):
        _load(b"[" * 200_000 + b"]" * 200_000)  # refused before json.loads recurses (test_loader_red_team)


@pytest.mark.parametrize("raw,kw,match", [
    (b'{"t": "list", "v": [}', {}, "not valid JSON"),
    (b'"\xff\xfe"', {}, "not valid JSON"),
    (b"[1, 2]", {"version": 0}, "invalid checkpoint format version"),
    (b"[1, 2]", {"version": 2}, "newer than this gradstep"),
    (b"[1, 2]", {"hlen": 1 << 40}, "runs past the end"),
    (b"[1, 2]", {"hlen": 3}, "not valid JSON"),
    (b"[1, 2]" + b"9" * 5000, {}, "not valid JSON"),
])
def test_bad_framing(raw, kw, match):
    with pytest.raises(CheckpointError, match=match):
        _load(raw, **kw)


def test_many_entries_cannot_multiply_memory():
    entries = [{"t": "bytes", "at": 0, "n": 32} for _ in range(1000)]  # 1000 x the blob, if allowed
    with pytest.raises(CheckpointError, match="claim more bytes"):
        _load({"t": "list", "v": entries})


@pytest.mark.parametrize("code", [",", "01", "a4", "<f4,<i4", "(2,)<f4"])
def test_ndarray_type_codes_that_numpy_would_choke_on(code):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'a4' would warn (deprecated), ',' raise SyntaxError in np.dtype
        with pytest.raises(CheckpointError, match="not a plain numeric"):
            _load({"t": "ndarray", "dtype": code, "shape": [1], "at": 0, "n": 4})


@pytest.mark.parametrize("entry", [{"t": "ndarray", "dtype": "|b1", "shape": [4], "at": 0, "n": 4},
                                   _tensor(dtype="bool", shape=[4], n=4)])
def test_bools_hold_only_0_and_1(entry):
    back = _load(entry, bytes([0, 1, 2, 255]))
    arr = back if isinstance(back, np.ndarray) else back.numpy()
    assert arr.view(np.uint8).tolist() == [0, 1, 1, 1] and int(arr.sum()) == 3

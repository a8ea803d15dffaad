"""Findings of a second red-team pass over the checkpoint loaders, each with the file that showed it.

1. Python 2 names in protocol 2 pickles: torch.save writes ``range`` as ``__builtin__.xrange`` and
   ``str`` as ``__builtin__.unicode``; pickle and torch map them back (``_compat_pickle``), gradstep
   only renamed modules, so a class approved with ``add_safe_globals([range])`` never loaded and the
   error advised approving ``builtins.xrange``, which does not exist.
2. A class or function the user approved, stored as a value (``{"type": str}``), was refused where
   torch returns it.
3. A protocol 0 string with an invalid escape (``S'\\c'``) makes pickletools warn; under
   ``-W error`` the DeprecationWarning escaped ``load`` instead of a CheckpointError.
4. A bare storage (``torch.save(t.storage())``, ``t.untyped_storage()``, or one in a dict) was
   refused with an internal class name ("a gradstep._torch_format._Storage cannot be part of the
   loaded data") or a wrong reason ("an untyped storage (of a dtype gradstep lacks)"); torch loads
   it as a TypedStorage, and so does gradstep now.
5. SETITEMS on a list, APPENDS on a dict: reported as an unsafe mutation of something "this
   checkpoint did not create", although the pickle created it; now a malformed-pickle error
   naming what the opcode applies to.
6. A legacy (non-zip or tar) torch file was called a bare pickle; the error now names the format
   and how to convert it.

The sweeps at the end (every truncation, every opcode byte inserted) found nothing; they keep it so.
"""

import io
import pickle
import random
import tarfile
import warnings

import numpy as np
import pytest
import torch

import gradstep as gs
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, leaves_no_trace, torch_saved, torch_zip


@pytest.fixture(autouse=True)
def _no_side_effects():
    with leaves_no_trace():
        yield


def _load(data, **kw):
    return gs.load(io.BytesIO(data), **kw)


def _torch_load(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's TypedStorage deprecation warning
        return torch.load(io.BytesIO(data), weights_only=True)


# ---------------------------------------------------------------- 1, 2: Python 2 names, approved values
def test_python2_names_are_mapped_as_pickle_and_torch_map_them():
    data = torch_saved({"r": range(2, 9, 3), "t": str, "n": 5})
    assert b"xrange" in data and b"unicode" in data  # what protocol 2 writes
    assert sorted(gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))) == \
        sorted(torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))) == \
        ["builtins.range", "builtins.str"]
    with pytest.raises(UnsafeCheckpointError, match=r"add_safe_globals\(\[range\]\)"):  # torch's bare name
        _load(data)
    with torch.serialization.safe_globals([range, str]):
        want = torch.load(io.BytesIO(data))
    with gs.serialization.safe_globals([range, str]):
        got = _load(data)
    assert got == want == {"r": range(2, 9, 3), "t": str, "n": 5}


def test_a_blocked_module_stays_blocked_under_its_python2_name():
    pkl = Pk().glob("__builtin__", "eval").val(("1",)).reduce().bytes()
    with pytest.raises(UnsafeCheckpointError, match="never allowed"):
        _load(torch_zip(pkl))


def test_an_unapproved_class_as_a_value_is_still_refused():
    pkl = Pk().op(b"}").val("t").glob("builtins", "str").op(b"s").bytes()
    with pytest.raises(UnsafeCheckpointError, match="refusing to load 'builtins.str'"):
        _load(torch_zip(pkl))
    with gs.serialization.safe_globals([str]):
        assert _load(torch_zip(pkl)) == {"t": str}


# ---------------------------------------------------------------- 3: warnings raised as errors
_BAD_ESCAPE = torch_zip(b"\x80\x02S'\\c'\n.")


def test_a_bad_escape_in_a_protocol0_string_is_a_checkpoint_error_under_w_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckpointError, match="invalid escape sequence"):
            _load(_BAD_ESCAPE)
        with pytest.raises(CheckpointError, match="invalid escape sequence"):
            gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(_BAD_ESCAPE))


def test_a_bad_escape_loads_as_pickle_reads_it_where_warnings_are_not_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _load(_BAD_ESCAPE) == pickle.loads(b"\x80\x02S'\\c'\n.") == "\\c"


# ---------------------------------------------------------------- 4: bare storages
def _storages():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's TypedStorage deprecation warning
        base = torch.arange(5.0, dtype=torch.float64)
        return {"typed": base.storage(), "untyped": torch.arange(3, dtype=torch.int16).untyped_storage(),
                "bool": torch.tensor([True, False, True]).storage(),
                "with views": {"s": base.storage(), "t": base[1:], "again": base.storage()}}


@pytest.mark.parametrize("variant", list(_storages()))
def test_a_bare_storage_loads_as_torch_loads_it(variant):
    data = torch_saved(_storages()[variant])
    want, got = _torch_load(data), _load(data)
    if variant == "with views":
        want, got = want["s"], got
        assert got["s"] is got["again"]  # one storage object, as in torch
        got["t"][0] = -7.0  # the tensor is a view of the loaded storage, as in torch
        assert got["s"][1] == -7.0
        got = got["s"]
        want[1] = -7.0
    assert type(got) is gs.storage.TypedStorage
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.tolist() == want.tolist() and got.size() == want.size()


def test_a_tensor_of_a_dtype_gradstep_lacks_is_still_refused_by_name():
    data = torch_saved({"u": torch.zeros(3, dtype=torch.float8_e8m0fnu)})
    with pytest.raises(CheckpointError, match="float8_e8m0fnu"):
        _load(data)


def test_a_storage_inside_a_tuple_loads_as_torch_loads_it():
    # refused until red team 3 ("a tuple cannot be part of the loaded data"); torch loads a TypedStorage
    pkl = Pk().storage().op(b"\x85").bytes()
    (s,) = _load(torch_zip(pkl, {"0": np.arange(4, dtype=np.float32).tobytes()}))
    assert isinstance(s, gs.TypedStorage) and s.tolist() == [0.0, 1.0, 2.0, 3.0]


# ---------------------------------------------------------------- 5: opcodes on the wrong container
@pytest.mark.parametrize("body,match", [
    (b"](K\x00K\x01u", "SETITEMS on a list: it may only set items of dict"),
    (b"]K\x00K\x01s", "SETITEM on a list: it may only set items of dict"),
    (b"}(K\x00e", "APPENDS on a dict: it may only append to list"),
    (b"\x8f(K\x00e", "APPENDS on a set: it may only append to list"),
    (b"](K\x00\x90", "ADDITEMS on a list: it may only add to set"),
    (b"(K\x00K\x01u", "the pickle stack is empty"),
])
def test_an_opcode_on_the_wrong_kind_of_container_is_malformed_not_unsafe(body, match):
    with pytest.raises(CheckpointError, match=match) as info:
        _load(torch_zip(Pk().op(body).bytes()))
    assert not isinstance(info.value, UnsafeCheckpointError)


# ---------------------------------------------------------------- 6: legacy formats
def test_a_legacy_torch_file_loads_and_a_tar_one_is_named_with_how_to_convert_it():
    buf = io.BytesIO()  # the legacy format loads (tests/serialization/test_legacy_format.py)
    torch.save({"w": torch.ones(2)}, buf, _use_new_zipfile_serialization=False)
    assert _load(buf.getvalue())["w"].tolist() == [1.0, 1.0]
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as tf:
        entry = tarfile.TarInfo("sys_info")
        entry.size = 3
        tf.addfile(entry, io.BytesIO(b"abc"))
    with pytest.raises(CheckpointError, match="tar format"):
        _load(tar.getvalue())
    with pytest.raises(UnsafeCheckpointError, match="bare pickle"):
        _load(pickle.dumps({"w": 1}, protocol=2))


# ---------------------------------------------------------------- sweeps
def _pickle_of(obj, protocol):
    import zipfile

    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    zf = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    return zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))


_SWEEP = {"w": torch.arange(4.0), "b": [1, (2.5, "x")], "n": None, "a": np.arange(3, dtype=np.int16)}
_RECORDS = {"0": np.arange(4, dtype=np.float32).tobytes()}


def _only_checkpoint_errors(pkl):
    """Load ``pkl`` (in a zip with the sweep's storage): it loads or raises CheckpointError, nothing else."""
    try:
        _load(torch_zip(pkl, _RECORDS))
    except CheckpointError:
        pass


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_every_truncation_of_a_pickle_is_a_checkpoint_error(protocol):
    pkl = _pickle_of(_SWEEP, protocol)
    assert len(pkl) > 100
    for cut in range(len(pkl)):
        with pytest.raises(CheckpointError):
            _load(torch_zip(pkl[:cut], _RECORDS))


def test_every_opcode_byte_inserted_or_replaced_loads_or_is_a_checkpoint_error():
    pkl = _pickle_of(_SWEEP, 2)
    rng = random.Random(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning is not an answer either (finding 3)
        for at in rng.sample(range(2, len(pkl)), 4):
            for b in range(256):
                _only_checkpoint_errors(pkl[:at] + bytes([b]) + pkl[at:])
                _only_checkpoint_errors(pkl[:at] + bytes([b]) + pkl[at + 1:])

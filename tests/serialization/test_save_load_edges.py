"""Edges of writing and loading checkpoints, each checked against torch: files written by each library
and read by the other, with ``weights_only`` True and False.

NumPy scalars and dtypes, whole objects that should be saved as state dicts, empty tensors' strides,
device indexes, ``map_location`` callables on ``.gs`` files, ``encoding=``, empty tensors of huge
sizes, Counter values, and files of many small views.
"""

import collections
import io
import pickle

import numpy as np
import pytest
import torch

import gradstep as gs
import gradstep._torch_format as tf
from gradstep.serialization import CheckpointError

from .craft import Pk, float_records, gs_saved, torch_saved, torch_zip


def _numpy_globals(value):
    """What torch's weights_only load asks to approve for ``value``: NumPy's constructors, its dtype's class."""
    dt = value if isinstance(value, np.dtype) else value.dtype
    return [np._core.multiarray.scalar, np.dtype, type(dt)]



def _torch_load(data, **kw):
    return torch.load(io.BytesIO(data), **kw)


def _gs_load(data, **kw):
    return gs.load(io.BytesIO(data), **kw)


def _same_numpy(a, b):
    """Equal value and exact type (np.float64 is a float, so == alone would not tell them apart)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.dtype):
        assert a == b and a.byteorder == b.byteorder  # '=' for the native order, as pickle loads it
    else:
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


# ---------------------------------------------------------------- 1. NumPy scalars and dtypes
_NUMPY_VALUES = [np.float64(0.93), np.float32(1.5), np.float16(-2.0), np.int64(-3), np.int8(7), np.uint8(200),
                 np.bool_(True), np.complex64(1 + 2j), np.complex128(-0.5j), np.dtype("float32"), np.dtype("<i8"),
                 np.dtype(">i4"), np.dtype("bool"), np.dtype("complex128")]


@pytest.mark.parametrize("value", _NUMPY_VALUES, ids=repr)
def test_numpy_scalars_and_dtypes_written_by_gradstep_load_in_torch_as_numpy(value):
    data = gs_saved({"v": value})
    want = pickle.loads(pickle.dumps(value))  # what a pickle load gives (a native dtype's order is '=')
    _same_numpy(_torch_load(data, weights_only=False)["v"], want)
    # torch's default weights_only=True asks for NumPy's globals to be approved, as for its own files
    with pytest.raises(pickle.UnpicklingError, match="numpy"):
        _torch_load(data, weights_only=True)
    with torch.serialization.safe_globals(_numpy_globals(value)):
        _same_numpy(_torch_load(data, weights_only=True)["v"], want)
    # gradstep reads its own files back as torch does: refused by weights_only=True until approved
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global: GLOBAL numpy"):
        _gs_load(data)
    with gs.serialization.safe_globals(_numpy_globals(value)):
        _same_numpy(_gs_load(data)["v"], want)
    _same_numpy(_gs_load(data, weights_only=False)["v"], want)
    for weights_only in (True, False):  # its native format holds no pickle: NumPy data is data
        _same_numpy(_gs_load(gs_saved({"v": value}, "gradstep"), weights_only=weights_only)["v"], want)


@pytest.mark.parametrize("value", _NUMPY_VALUES, ids=repr)
def test_numpy_scalars_and_dtypes_written_by_torch_load_in_gradstep_as_numpy(value):
    data = torch_saved({"v": value, "n": [value, 1.0]})
    want = _torch_load(data, weights_only=False)["v"]
    refusals = []
    for load in (_torch_load, _gs_load):  # weights_only=True refuses NumPy's globals, naming the first
        with pytest.raises(pickle.UnpicklingError) as info:
            load(data)
        refusals.append(str(info.value).split("WeightsUnpickler error: ")[1].split("\n")[0])
    assert refusals[0] == refusals[1]
    with gs.serialization.safe_globals(_numpy_globals(value)):
        approved = _gs_load(data)
    for back in (approved, _gs_load(data, weights_only=False)):
        _same_numpy(back["v"], want)
        _same_numpy(back["n"][0], want)
        assert type(back["n"][1]) is float


def test_a_numpy_float_is_written_as_a_numpy_scalar_not_a_float():
    # np.float64 is a float: written as one, torch would load a plain float back
    import pickletools
    import zipfile

    with zipfile.ZipFile(io.BytesIO(gs_saved({"a": np.float64(0.93)}))) as zf:
        pkl = zf.read("archive/data.pkl")
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(pkl)]
    assert ("GLOBAL", "numpy._core.multiarray scalar") in ops and not any(n == "BINFLOAT" for n, _ in ops)


# ---------------------------------------------------------------- 2. whole objects
def _stateful_objects(lib):
    model = lib.nn.Linear(2, 2)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    return {"optimizer (SGD)": opt, "learning rate scheduler (StepLR)": lib.optim.lr_scheduler.StepLR(opt, 3),
            "learning rate scheduler (ReduceLROnPlateau)": lib.optim.lr_scheduler.ReduceLROnPlateau(opt),
            "GradScaler": lib.amp.GradScaler("cpu")}


@pytest.mark.parametrize("fmt", ["torch", "gradstep"])
@pytest.mark.parametrize("kind", list(_stateful_objects(gs)))
def test_whole_stateful_objects_are_refused_with_the_state_dict_way_out(kind, fmt):
    obj = _stateful_objects(gs)[kind]
    torch_saved(_stateful_objects(torch)[kind])  # torch pickles the whole object
    with pytest.raises(TypeError, match=rf"whole {kind.replace('(', '[(]').replace(')', '[)]')} in .*"
                                        r"Save its state_dict\(\) instead.*load_state_dict"):
        gs_saved(obj, fmt)
    state = obj.state_dict()  # the way out: the state dict, which torch reads
    data = gs_saved(state, "torch")
    assert set(_torch_load(data)) == set(state)
    assert set(_gs_load(gs_saved(state, fmt))) == set(state)


def test_a_whole_module_in_a_gs_file_gets_the_state_dict_advice():
    with pytest.raises(TypeError, match=r"whole module \(Linear\) in gradstep's \.gs format.*state_dict\(\)"):
        gs_saved(gs.nn.Linear(2, 2), "gradstep")
    with pytest.raises(TypeError, match="cannot store an object of type object"):
        gs_saved(object(), "gradstep")


# ---------------------------------------------------------------- 3. empty tensors' strides
_EMPTY_SHAPES = [(0,), (0, 3), (3, 0), (2, 0, 3), (0, 0)]


@pytest.mark.parametrize("shape", _EMPTY_SHAPES)
def test_empty_tensors_have_torchs_strides(shape):
    want = torch.empty(shape).stride()
    for make in (gs.empty, gs.zeros, gs.ones):
        assert make(*shape).stride() == want
        assert make(*shape).is_contiguous()
    assert gs.empty(*shape).stride(-1) == want[-1]
    for weights_only in (True, False):  # a torch file, and gradstep's files of both formats
        for data in (torch_saved(torch.empty(shape)), gs_saved(gs.empty(*shape)), gs_saved(gs.empty(*shape), "gradstep")):
            back = _gs_load(data, weights_only=weights_only)
            assert back.shape == shape and back.stride() == want and back.is_contiguous()
    back = _torch_load(gs_saved(gs.empty(*shape)))  # gradstep writes torch's strides
    assert back.stride() == want and back.is_contiguous()


@pytest.mark.parametrize("make", [lambda: torch.empty(0, 3).t(), lambda: torch.empty(2, 0, 3).permute(2, 0, 1),
                                  lambda: torch.empty_strided((0, 3), (5, 2**40))])
def test_an_empty_tensor_keeps_the_strides_in_a_torch_file(make):
    t = make()
    data = torch_saved(t)
    for weights_only in (True, False):
        back = _gs_load(data, weights_only=weights_only)
        assert back.shape == t.shape and back.stride() == _torch_load(data).stride() == t.stride()


# ---------------------------------------------------------------- 4. device indexes
def _device_file(*args):
    return torch_zip(Pk().op(b"}").val("d").glob("torch", "device").val(args).reduce().op(b"s").bytes())


@pytest.mark.parametrize("args", [("cuda:99999999999999999999",), ("cuda:2147483648",)])
def test_a_device_index_torch_cannot_parse_is_refused(args):
    data = _device_file(*args)
    for weights_only in (True, False):
        with pytest.raises(RuntimeError, match="Could not parse device index"):
            _torch_load(data, weights_only=weights_only)
        with pytest.raises(CheckpointError, match=r"device index \d+ is out of range .*int8"):
            _gs_load(data, weights_only=weights_only)


@pytest.mark.parametrize("args", [("cuda:128",), ("cuda", 128), ("cuda", 2**40)])
def test_a_device_index_torch_wraps_to_int8_is_refused(args):
    # torch keeps the index in an int8 and loads a wrapped one (cuda:128 -> cuda:-128, 2**40 -> 0)
    assert _torch_load(_device_file(*args), weights_only=True)["d"].index != args[-1]
    with pytest.raises(CheckpointError, match="out of range"):
        _gs_load(_device_file(*args))


@pytest.mark.parametrize("args", [("cuda:127",), ("cuda", 0), ("cpu",), ("cuda", None)])
def test_device_indexes_in_int8_range_load_like_torch(args):
    for weights_only in (True, False):
        want = _torch_load(_device_file(*args), weights_only=weights_only)["d"]
        back = _gs_load(_device_file(*args), weights_only=weights_only)["d"]
        assert (back.type, back.index) == (want.type, want.index)
    d = _torch_load(gs_saved({"d": gs.device("cuda", 3)}))["d"]  # gradstep writes devices torch reads
    assert (d.type, d.index) == ("cuda", 3)


# ---------------------------------------------------------------- 5. map_location, encoding, huge empty sizes
def _recording(seen, scale=None):
    def map_location(storage, location):  # torch passes an untyped storage, gradstep a 1-D tensor
        seen.append(location)
        return None if scale is None else storage * scale
    return map_location


def test_a_map_location_callable_sees_each_gs_tensor_like_torch_sees_each_storage():
    values = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(3, np.float32)}
    want_seen, seen = [], []
    torch_back = _torch_load(torch_saved({k: torch.tensor(v) for k, v in values.items()}),
                             map_location=_recording(want_seen))
    back = _gs_load(gs_saved({k: gs.tensor(v) for k, v in values.items()}, "gradstep"), map_location=_recording(seen))
    assert seen == want_seen == ["cpu", "cpu"]  # once per tensor in .gs, per storage in torch's file
    for k in values:
        np.testing.assert_array_equal(back[k].numpy(), torch_back[k].numpy())
    doubled = _gs_load(gs_saved({"w": gs.tensor(values["w"])}, "gradstep"), map_location=_recording([], 2.0))
    np.testing.assert_array_equal(doubled["w"].numpy(), 2 * values["w"])  # its result is what loads


def test_a_map_location_callables_error_reaches_the_caller_from_a_gs_file():
    def refuse(storage, location):
        raise KeyError("not here")

    with pytest.raises(KeyError, match="not here"):
        _gs_load(gs_saved({"w": gs.ones(2)}, "gradstep"), map_location=refuse)
    with pytest.raises(TypeError, match="must return None or the storage"):
        _gs_load(gs_saved({"w": gs.ones(2)}, "gradstep"), map_location=lambda s, loc: "cpu")


def _short_binstring_file(raw):
    return torch_zip(Pk().op(b"U" + bytes([len(raw)]) + raw).bytes())  # SHORT_BINSTRING, a Python 2 str


@pytest.mark.filterwarnings("ignore:pickle_load_args only works")  # torch warns, then uses the encoding anyway
@pytest.mark.parametrize("kw", [{}, {"encoding": "utf-8"}, {"encoding": "latin1"}, {"encoding": "bytes"},
                                {"encoding": "ascii", "errors": "replace"}])
def test_encoding_decodes_protocol_0_and_1_strings_like_torch(kw):
    data = _short_binstring_file("café".encode())
    weights_only_kw = {k: v for k, v in kw.items() if k != "errors"}  # torch's weights_only takes no errors=
    want = _torch_load(data, weights_only=True, **weights_only_kw) if "errors" not in kw else \
        _torch_load(data, weights_only=False, **kw)
    assert want == _torch_load(data, weights_only=False, **kw)
    for weights_only in (True, False):
        back = _gs_load(data, weights_only=weights_only, **kw)
        assert type(back) is type(want) and back == want


def test_a_string_not_in_the_encoding_is_a_checkpoint_error():
    data = _short_binstring_file(b"\xff\xfe")
    with pytest.raises(Exception, match="codec can't decode"):  # torch: the UnicodeDecodeError, wrapped
        _torch_load(data, weights_only=True)
    with pytest.raises(CheckpointError, match="not utf-8.*encoding="):
        _gs_load(data)
    assert _gs_load(data, encoding="latin1") == "\xff\xfe"
    with pytest.raises(LookupError, match="unknown encoding"):
        _gs_load(data, encoding="no-such-codec")
    with pytest.raises(TypeError, match="'encoding' must be str"):
        _gs_load(data, encoding=1)


@pytest.mark.parametrize("dtype,shape", [(torch.int8, (0, 2**62)), (torch.bool, (2**62, 0)),
                                         (torch.float32, (0, 2**60)), (torch.float64, (3, 0, 2**58))])
def test_empty_tensors_of_huge_sizes_load_allocating_nothing(dtype, shape):
    data = torch_saved(torch.empty(shape, dtype=dtype))
    assert len(data) < 4096  # the file holds no data, and loading allocates none
    for weights_only in (True, False):
        back = _gs_load(data, weights_only=weights_only)
        assert tuple(back.shape) == shape and back.numel() == 0 and back.dtype == getattr(gs, str(dtype)[6:])
        assert back.stride() == torch.empty(shape, dtype=dtype).stride()


def test_an_empty_size_numpy_cannot_describe_is_refused_by_name():
    data = torch_saved(torch.empty(0, 2**62))  # float32: 2**64 bytes for the nonzero sizes
    assert _torch_load(data).shape == (0, 2**62)
    with pytest.raises(CheckpointError, match=r"empty tensor of size \(0, 4611686018427387904\).*NumPy"):
        _gs_load(data)


# ---------------------------------------------------------------- 6. Counter values
def test_counter_values_load_as_torch_loads_them():
    # torch builds Counter(dict) with any values; gradstep loads the same (values are checked data)
    c = collections.Counter({"a": 3, "b": -1.5, "c": "x", "d": [1, 2]})
    for data in (torch_saved(c), gs_saved(c)):
        for weights_only in (True, False):
            want = _torch_load(data, weights_only=weights_only)
            back = _gs_load(data, weights_only=weights_only)
            assert type(back) is type(want) is collections.Counter and back == want == c


def test_a_counter_value_that_is_a_storage_loads_as_torch_loads_it():
    # torch returns its storage object; gradstep its TypedStorage (as for a storage anywhere in the data)
    pkl = Pk().glob("collections", "Counter").mark().op(b"}").val("a").storage().op(b"s").tuple().reduce().bytes()
    want = _torch_load(torch_zip(pkl, float_records()), weights_only=True)["a"]
    back = _gs_load(torch_zip(pkl, float_records()))["a"]
    assert type(back).__name__ == type(want).__name__ == "TypedStorage"
    assert back.tolist() == want.tolist() == [0.0, 1.0, 2.0, 3.0] and back.dtype is gs.float32


# ---------------------------------------------------------------- 7. many small views of one storage
def test_small_views_saved_one_by_one_load_as_views_like_torch():
    base = torch.arange(2000, dtype=torch.float32)
    data = torch_saved([base[i] for i in range(2000)])
    for weights_only in (True, False):
        back = _gs_load(data, weights_only=weights_only)
        assert [float(t) for t in back] == [float(t) for t in _torch_load(data, weights_only=weights_only)]
        back[0].add_(7)  # still views of one storage, as in torch
        assert float(back[0]) == 7.0


def test_too_many_small_views_name_the_way_out(monkeypatch):
    # without the 64 MiB allowance a 40k-view file (56 bytes a view) reaches the bound at ~13k views
    monkeypatch.setattr(tf, "_MEMORY_SLACK", 0)
    base = torch.zeros(40_000)
    data = torch_saved([base[i] for i in range(40_000)])
    assert len(_torch_load(data)) == 40_000
    with pytest.raises(CheckpointError, match=r"memory bound\). It rebuilds \d+\+ tensors from 1 storage.*"
                                              r"Save the base tensor instead"):
        _gs_load(data)


@pytest.mark.parametrize("entry,match", [
    ({"t": "npscalar", "dtype": "<f8", "at": 0, "n": 4}, "needs 8 bytes"),
    ({"t": "npscalar", "dtype": "|O", "at": 0, "n": 8}, "not a plain numeric NumPy dtype"),
    ({"t": "npscalar", "dtype": "<f8", "at": 4, "n": 8}, "outside"),
    ({"t": "npdtype", "v": "|O"}, "not a plain numeric NumPy dtype"),
    ({"t": "npdtype", "v": 3}, "must be str"),
])
def test_hostile_numpy_entries_in_a_gs_file_are_refused(entry, match):
    from .craft import gs_file

    with pytest.raises(CheckpointError, match=match):
        _gs_load(gs_file(entry, b"\0" * 8))

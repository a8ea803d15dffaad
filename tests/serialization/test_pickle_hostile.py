"""Hostile pickles inside torch zips: nothing runs, nothing shared is mutated, every error is a CheckpointError."""

import io
import os

import pytest

import gradstep as gs
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, assert_training_works, float_records, global_state, torch_zip

MARKER = "/tmp/gradstep_hostile_marker"


def _payload(module, name, args=(f"touch {MARKER}",)):
    return Pk().glob(module, name).val(tuple(args)).reduce().bytes()


def _load(pkl, records=None):
    # the most permissive load: NumPy data loads (as with torch's weights_only=False), all else is refused
    return gs.load(io.BytesIO(torch_zip(pkl, records)), weights_only=False)


_DANGEROUS = [("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "call"),
              ("builtins", "exec"), ("builtins", "eval"), ("builtins", "getattr"), ("builtins", "__import__"),
              ("__builtin__", "eval"), ("sys", "modules"), ("gradstep.serialization", "atomic_write"),
              ("gradstep._torch_unpickler", "add_safe_globals"), ("torch", "load"), ("numpy", "load"),
              ("torch._utils", "_rebuild_device_tensor_from_numpy"), ("copyreg", "_reconstructor"),
              ("collections", "namedtuple"), ("builtins", "object")]


@pytest.fixture(autouse=True)
def _no_side_effects():
    if os.path.exists(MARKER):
        os.remove(MARKER)
    before = global_state()
    yield
    assert not os.path.exists(MARKER), "a pickle ran code"
    assert global_state() == before, "a load changed gradstep's shared state"
    assert_training_works()


@pytest.mark.parametrize("module,name", _DANGEROUS)
def test_dangerous_globals_are_refused_by_name(module, name):
    with pytest.raises(UnsafeCheckpointError, match=f"refusing to load '.*{name}'"):
        _load(_payload(module, name))


def test_refusal_says_how_to_allow():
    with pytest.raises(UnsafeCheckpointError, match=r"add_safe_globals\(\[collections.namedtuple\]\)"):
        _load(_payload("collections", "namedtuple"))


@pytest.mark.parametrize("raw", [
    b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R.",  # STACK_GLOBAL
    b"(S'touch /tmp/gradstep_hostile_marker'\nios\nsystem\n.",  # INST
    b"\x80\x02(ccollections\nOrderedDict\no.",  # OBJ, even of an allowed class
    b"\x80\x02\x82\x01.",  # EXT1
    b"\x80\x02Pstorage\n.",  # PERSID (text)
])
def test_code_paths_of_other_opcodes_are_refused(raw):
    with pytest.raises(CheckpointError):
        _load(raw)


def test_build_on_a_dtype_is_refused():
    pkl = Pk().glob("torch", "float32").op(b"}").val("np").glob("builtins", "int").op(b"sb").bytes()
    with pytest.raises(UnsafeCheckpointError):
        _load(pkl)
    pkl = Pk().glob("torch", "float32").op(b"}").val("itemsize").val(1 << 40).op(b"sb").bytes()
    with pytest.raises(UnsafeCheckpointError, match="BUILD"):
        _load(pkl)


@pytest.mark.parametrize("target", [("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict"),
                                    ("torch", "FloatStorage"), ("numpy", "ndarray"), ("torch", "Size")])
def test_build_on_an_allowlisted_global_is_refused(target):
    pkl = Pk().glob(*target).op(b"}").val("__code__").val(0).op(b"sb").bytes()
    with pytest.raises(UnsafeCheckpointError, match="BUILD"):
        _load(pkl)


def test_build_on_containers_and_tensors_is_refused():
    with pytest.raises(UnsafeCheckpointError, match="BUILD"):
        _load(Pk().op(b"}").op(b"}").build().bytes())
    with pytest.raises(UnsafeCheckpointError, match="BUILD"):
        _load(Pk().tensor().op(b"}").val("x").val(1).op(b"sb").bytes(), float_records())
    with pytest.raises(UnsafeCheckpointError, match="_metadata"):
        _load(Pk().odict().op(b"}").val("__class__").val(1).op(b"sb").bytes())


def test_ordered_dict_metadata_is_restored():
    back = _load(Pk().odict().op(b"}").val("_metadata").val({"": {"version": 1}}).op(b"sb").bytes())
    assert back._metadata == {"": {"version": 1}}


@pytest.mark.parametrize("pkl", [
    Pk().glob("torch._utils", "_rebuild_tensor_v2").bytes(),  # a function
    Pk().glob("numpy", "ndarray").bytes(),  # a class
    # a bare storage loads as a TypedStorage, as in torch (test_loader_red_team2.py)
    Pk().op(b"]").glob("torch._utils", "_rebuild_tensor_v2").op(b"a").bytes(),  # in a list
    Pk().op(b"}").val("k").glob("torch", "Tensor").op(b"s").bytes(),  # in a dict
    # a function inside a tuple inside a list (a storage there loads: test_loader_red_team3.py)
    Pk().op(b"]").glob("torch._utils", "_rebuild_tensor_v2").op(b"\x85a").bytes(),
])
def test_internal_objects_never_come_back(pkl):
    with pytest.raises(UnsafeCheckpointError, match="cannot be part of the loaded data"):
        _load(pkl, float_records())


def test_a_dtype_comes_back_as_the_value():
    assert _load(Pk().glob("torch", "float16").bytes()) is gs.float16


@pytest.mark.parametrize("pkl", [
    Pk().val((1, 2)).val(3).op(b"a").bytes(),  # APPEND to a tuple
    Pk().glob("torch", "float32").val(3).op(b"a").bytes(),  # APPEND to a dtype
    Pk().glob("torch", "float32").val("k").val(3).op(b"s").bytes(),  # SETITEM on a dtype
    Pk().glob("torch", "Size").val(((1, 2),)).reduce().val(3).op(b"a").bytes(),  # APPEND to a Size
    Pk().glob("torch", "float32").mark().val(3).op(b"\x90").bytes(),  # ADDITEMS on a dtype
])
def test_mutating_what_the_checkpoint_did_not_create_is_refused(pkl):
    with pytest.raises(UnsafeCheckpointError, match="did not create"):
        _load(pkl)


def test_deep_nesting_is_an_error_not_a_crash():
    deep_tuple = Pk().op(b")" + b"\x85" * 100_000).bytes()
    with pytest.raises(CheckpointError, match="nested"):
        _load(deep_tuple)
    deep_list = Pk().op(b"(" * 100_000 + b"l" * 100_000).bytes()
    with pytest.raises(CheckpointError, match="nested"):
        _load(deep_list)
    key = Pk().op(b"}").op(b")" + b"\x85" * 5000).val(1).op(b"s").bytes()  # hash() would overflow the C stack
    with pytest.raises(CheckpointError, match="nested"):
        _load(key)


def test_moderate_nesting_loads():
    back = _load(Pk().op(b"(" * 500 + b"l" * 500).bytes())
    for _ in range(499):
        back = back[0]
    assert back == []


@pytest.mark.parametrize("raw,match", [
    (b"\x80\x02K\x01", "STOP"),  # no STOP
    (b"\x80\x02", "STOP"),
    (b"\x80\x02\xff.", "opcode"),  # unknown opcode
    (b"\x80\x02\x85.", "empty"),  # TUPLE1 on an empty stack
    (b"\x80\x02t.", "MARK"),  # TUPLE without MARK
    (b"\x80\x02h\x05.", "memo"),  # GET before PUT
    (b"\x80\x02X\x02\x00\x00\x00\xff\xfe.", "Unicode"),  # invalid UTF-8
    (b"\x80\x02X\xff\xff\xff\x7fab.", "bytes"),  # a string longer than the pickle
    (b"\x80\x02\x8b\xff\xff\xff\x7f.", "long4"),  # LONG4 longer than the pickle
    (b"\x80\x02}(K\x01u.", "odd"),  # SETITEMS with a key and no value
    (b"\x80\x02}]K\x01s.", "unhashable"),  # a list as a dict key
    (b"\x80\x02Ixyz\n.", "int"),  # INT that is not a number
    (b"\x80\x02\x80\x09.", "protocol"),
    (b"\x80\x02ccollections\nOrderedDict\nK\x01R.", "tuple"),  # REDUCE arguments not a tuple
    (b"\x80\x02K\x01)R.", "not a constructor"),  # REDUCE on an int
])
def test_malformed_pickles(raw, match):
    with pytest.raises(CheckpointError, match=match):
        _load(raw)


def _rebuild(*args):
    p = Pk().glob("torch._utils", "_rebuild_tensor_v2").mark()
    for a in args:
        p = p.storage() if a == "S" else (p.odict() if a == "OD" else p.val(a))
    return p.tuple().reduce().bytes()


@pytest.mark.parametrize("pkl,match", [
    (_rebuild("S", 0, (4,)), "arguments"),
    (_rebuild(1, 0, (4,), (1,), False, "OD"), "needs a storage"),
    (_rebuild("S", 0.0, (4,), (1,), False, "OD"), "offset must be an int"),
    (_rebuild("S", 0, ("4",), (1,), False, "OD"), "size"),
    (_rebuild("S", 0, (1,) * 65, (1,) * 65, False, "OD"), "at most 64"),
    (_rebuild("S", 0, (4,), (1,), 1, "OD"), "requires_grad"),
    (_rebuild("S", 0, (4,), (1,), False, {"hook": 1}), "hooks"),
    (_rebuild("S", 0, (4,), (1,), False, "OD", {"conj": True}), "metadata"),
])
def test_rebuild_arguments_are_checked(pkl, match):
    with pytest.raises(CheckpointError, match=match):
        _load(pkl, float_records())


def test_a_list_of_sizes_is_accepted_like_torch():
    import torch

    data = torch_zip(_rebuild("S", 0, [4], [1], False, "OD"), float_records())
    assert torch.load(io.BytesIO(data)).shape == (4,)
    assert gs.load(io.BytesIO(data)).shape == (4,)


def test_integer_tensor_cannot_require_grad():
    pkl = Pk().tensor(stype="LongStorage", rg=True).bytes()
    with pytest.raises(CheckpointError, match="floating point"):
        _load(pkl, {"0": bytes(32)})


@pytest.mark.parametrize("pid,match", [
    (("module", "x"), "persistent id"),
    (("storage", 1, "0", "cpu", 4), "storage of type"),
    (("storage", "T", "../../etc/passwd", "cpu", 4), "plain record name"),
    (("storage", "T", "0", "cpu", -1), "out of range"),
    (("storage", "T", "0", "cpu", 1 << 62), "out of range"),
    (("storage", "T", "7", "cpu", 4), "missing the record"),
    (("storage", "T", "0", "cpu", 3), "the pickle says 12"),
    (("storage", "T", "0", "cuda:0", 4), "CUDA"),
    (("storage", "T", "0", "xla:0", 4), "don't know how to restore"),
])
def test_persistent_ids_are_checked(pid, match):
    p = Pk().glob("torch._utils", "_rebuild_tensor_v2").mark().mark()
    for v in pid:
        p = p.glob("torch", "FloatStorage") if v == "T" else p.val(v)
    pkl = p.tuple().op(b"Q").val(0).val((1,)).val((1,)).val(False).odict().tuple().reduce().bytes()
    with pytest.raises(CheckpointError, match=match):
        _load(pkl, float_records())


def test_same_storage_with_two_dtypes_is_refused():
    pkl = Pk().mark().tensor().tensor(stype="IntStorage").tuple().bytes()
    with pytest.raises(CheckpointError, match="two dtypes"):
        _load(pkl, float_records())


def _np_array(shape, code, raw, order="<"):
    p = Pk().glob("numpy._core.multiarray", "_reconstruct").glob("numpy", "ndarray").val((0,)).val(b"b")
    p.op(b"\x87R").mark().val(1).val(shape).glob("numpy", "dtype").val((code, False, True)).reduce()
    p.val((3, order, None, None, None, -1, -1, 0)).build().val(False).val(raw).tuple().build()
    return p.bytes()


@pytest.mark.parametrize("pkl,match", [
    (_np_array((2,), "O", b"\0" * 16), "not plain numeric"),
    (_np_array((2,), "V8", b"\0" * 16), "not plain numeric"),
    (_np_array((3,), "f4", b"\0" * 8), "needs 12 bytes"),
    (_np_array((-1,), "f4", b""), "out of range"),
    (_np_array((1 << 40, 1 << 40), "f4", b""), "needs"),
    (_np_array((2,), "f4", b"\0" * 8, order="?"), "plain numeric"),
    (Pk().glob("numpy._core.multiarray", "_reconstruct").glob("builtins", "set").val((0,)).val(b"b")
     .op(b"\x87R").bytes(), "takes"),
    (Pk().glob("numpy._core.multiarray", "scalar").glob("numpy", "dtype").val(("f8", False, True)).reduce()
     .val(b"\0").op(b"\x86R").bytes(), "needs 8 bytes"),
    (Pk().glob("numpy._core.multiarray", "_reconstruct").glob("numpy", "ndarray").val((0,)).val(b"b")
     .op(b"\x87R\x85").bytes(), "before its state"),
])
def test_numpy_data_is_checked(pkl, match):
    with pytest.raises(CheckpointError, match=match):
        _load(pkl)


def test_numpy_data_loads_as_data():
    import numpy as np

    back = _load(_np_array((2, 2), "i2", np.arange(4, dtype="<i2").tobytes()))
    np.testing.assert_array_equal(back, np.arange(4, dtype=np.int16).reshape(2, 2))
    big = _load(_np_array((3,), "i4", np.arange(3, dtype=">i4").tobytes(), order=">"))
    assert big.dtype == np.dtype(">i4") and big.tolist() == [0, 1, 2]


@pytest.mark.parametrize("args", [("foo",), ("cpu:x",), ("",), (1,), ("cpu", "0"), ("x" * 100,)])
def test_bad_device_arguments(args):
    with pytest.raises(CheckpointError, match="(?i)device"):
        _load(Pk().glob("torch", "device").val(args).reduce().bytes())  # gradstep.device says why


class Fragile:
    def __init__(self, x):
        raise ValueError("no")


def test_an_approved_class_that_raises_is_a_checkpoint_error():
    from gradstep.serialization import clear_safe_globals, safe_globals

    name = f"{Fragile.__module__}.Fragile"
    module, _, cls = name.rpartition(".")
    with safe_globals([Fragile]):
        with pytest.raises(CheckpointError, match="raised ValueError: no"):
            _load(Pk().glob(module, cls).val((1,)).reduce().bytes())
        with pytest.raises(CheckpointError, match="state must be a dict"):  # __new__, then a bad BUILD
            _load(Pk().glob(module, cls).op(b")\x81").val([1]).build().bytes())
    clear_safe_globals()


def test_stack_and_memo_are_bounded(monkeypatch):
    import gradstep._torch_unpickler as U

    monkeypatch.setattr(U, "MAX_STACK", 1000)
    monkeypatch.setattr(U, "MAX_MEMO", 1000)
    with pytest.raises(CheckpointError, match="items on the pickle stack"):
        _load(Pk().op(b"N" * 1001).bytes())
    with pytest.raises(CheckpointError, match="items on the pickle stack"):
        _load(Pk().op(b"(" * 1001).bytes())
    with pytest.raises(CheckpointError, match="memo entries"):
        _load(Pk().op(b"N" + b"\x94" * 1001).bytes())
    assert _load(Pk().op(b"(" + b"N\x94" * 999 + b"t").bytes()) == (None,) * 999


def test_objects_built_by_a_pickle_are_bounded_by_the_file_size():
    import zipfile

    for op in (b"}", b"\x8f", b"]"):  # empty dicts, sets, lists: 56 to 216 bytes each from 1 byte
        for n, compress in ((1 << 20, zipfile.ZIP_DEFLATED), (4 << 20, zipfile.ZIP_STORED)):
            data = torch_zip(b"\x80\x02" + op * n + b".", compress=compress)
            with pytest.raises(CheckpointError, match="memory bound"):
                gs.load(io.BytesIO(data))


@pytest.mark.parametrize("code", [",", "01", "(,", "a", "a4", "i4,", "f4,i4", "(2,)f4", "O", "U4", "S4", "M8", "T",
                                  "i0", "f4 ", "f8\x00", "x" * 20])
def test_numpy_type_codes_never_reach_numpys_parser_unchecked(code):
    """np.dtype raises SyntaxError on some codes (','), warns on deprecated ones ('a'): both are refused first."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UnsafeCheckpointError, match="not plain numeric"):
            _load(_np_array((1,), code, b"\0" * 4))


@pytest.mark.parametrize("code", ["f4", "<f8", ">i2", "|b1", "?", "c16", "u1", "e", "=i4"])
def test_plain_numpy_type_codes_load(code):
    import numpy as np

    dt = np.dtype(code)
    back = _load(_np_array((2,), code, np.ones(2, dt).tobytes(), order=dt.byteorder if dt.byteorder in "<>" else "<"))
    assert back.dtype.kind == dt.kind and back.tolist() == np.ones(2, dt).tolist()


def test_numpy_bools_hold_only_0_and_1():
    import numpy as np

    arr = _load(_np_array((4,), "b1", bytes([0, 1, 2, 255])))
    assert arr.view(np.uint8).tolist() == [0, 1, 1, 1] and int(arr.sum()) == 3
    p = Pk().glob("numpy._core.multiarray", "scalar").glob("numpy", "dtype").val(("b1", False, True)).reduce()
    scalar = _load(p.val(b"\x07").op(b"\x86R").bytes())
    assert scalar == np.True_ and np.array(scalar).view(np.uint8) == 1


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "uint16", "uint32", "uint64", "float8_e4m3fn",
                                   "float8_e5m2", "float8_e8m0fnu"])
def test_a_torch_dtype_gradstep_lacks_is_named_not_called_unsafe(dtype):
    """torch loads these (weights_only=True); gradstep says which dtype it lacks, not add_safe_globals."""
    import torch

    if dtype in gs.backend._BY_NAME or dtype in gs.backend._LIMITED_BY_NAME:
        pytest.skip(f"gradstep has {dtype}")

    buf = io.BytesIO()
    torch.save({"w": torch.ones(2, dtype=getattr(torch, dtype))}, buf)
    with pytest.raises(CheckpointError, match="gradstep lacks") as info:
        gs.load(io.BytesIO(buf.getvalue()))
    assert not isinstance(info.value, UnsafeCheckpointError) and "add_safe_globals" not in str(info.value)
    assert gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(buf.getvalue())) == []


@pytest.mark.filterwarnings("ignore:.*quantized tensor creation")
def test_a_quantized_tensor_is_named():
    import torch

    buf = io.BytesIO()
    torch.save(torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8), buf)
    with pytest.raises(CheckpointError, match="gradstep lacks|quantized"):
        gs.load(io.BytesIO(buf.getvalue()))


def test_complex_tensors_load_like_torch_where_gradstep_has_them():
    import torch

    if "complex64" not in gs.backend._BY_NAME:
        pytest.skip("gradstep has no complex dtypes")
    saved = {"c64": torch.tensor([1 + 2j, -3.5j]), "c128": torch.tensor([[0.5 - 1j]], dtype=torch.complex128)}
    buf = io.BytesIO()
    torch.save(saved, buf)
    back = gs.load(io.BytesIO(buf.getvalue()))
    assert {k: (str(v.dtype).split(".")[-1], v.numpy().tolist()) for k, v in back.items()} == \
        {k: (str(v.dtype).split(".")[-1], v.numpy().tolist()) for k, v in saved.items()}

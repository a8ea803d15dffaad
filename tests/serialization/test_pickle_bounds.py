"""Small hostile pickles that cost far more than their size, unless each cost is bounded.

Each test builds its file here; sizes are chosen to show the bug class (a
regression would show as a large tracemalloc peak or a slow test), not to
take the machine down.
"""

import collections
import io
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import gradstep as gs
import gradstep._torch_unpickler as U
from gradstep._weights_only import numpy_as_data
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, leaves_no_trace, torch_zip


@pytest.fixture(autouse=True)
def _no_side_effects():
    with leaves_no_trace():
        yield


def _load(pkl, records=None, compress=zipfile.ZIP_STORED):
    # the most permissive load (NumPy data, Namespace, frozenset as with torch's weights_only=False)
    return gs.load(io.BytesIO(torch_zip(pkl, records, compress=compress)), weights_only=False)


def _peak(fn):
    """(exception raised by ``fn``, peak bytes traced while it ran)."""
    tracemalloc.start()
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - returned for the test to check
        return e, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    raise AssertionError("the load did not raise")


def _fast(fn, seconds=1.0):
    t = time.perf_counter()
    error, peak = _peak(fn)
    assert time.perf_counter() - t < seconds
    return error, peak


# ---------------------------------------------------------------- finding 1: compare before type check
_ONE = {"0": np.ones(1, np.float32).tobytes()}
_N = 1 << 26  # a stride-0 view of 2**26 elements: comparing it with == would allocate a 64 MiB bool array


def _view(p):
    return p.tensor(numel=1, size=(_N,), stride=(0,))


def _dtype_state(p, first, order):
    p.glob("numpy", "dtype").val(("f4", False, True)).reduce().mark()
    first(p)
    order(p)
    return p.op(b"NNN").val(-1).val(-1).val(0).tuple().build()


_COMPARED = {
    "reconstruct args[1]": lambda p: _view(p.glob("numpy._core.multiarray", "_reconstruct").mark()
                                           .glob("numpy", "ndarray")).val(b"b").tuple().reduce(),
    "dtype state[0]": lambda p: _dtype_state(p, _view, lambda q: q.val("<")),
    "dtype state[1]": lambda p: _dtype_state(p, lambda q: q.val(3), _view),
    "encode args[1]": lambda p: _view(p.glob("_codecs", "encode").mark().val("abc")).tuple().reduce(),
    "persistent id[0]": lambda p: _view(p.mark()).glob("torch", "FloatStorage").val("0").val("cpu").val(1)
    .tuple().op(b"Q"),
    "frombuffer args[3]": lambda p: _view(p.glob("numpy._core.numeric", "_frombuffer").mark().val(bytes(4))
                                          .glob("numpy", "dtype").val(("f4", False, True)).reduce().val((1,)))
    .tuple().reduce(),
    "ndarray state[0]": lambda p: _view(p.glob("numpy._core.multiarray", "_reconstruct").glob("numpy", "ndarray")
                                        .val((0,)).val(b"b").op(b"\x87R").mark())
    .val((1,)).glob("numpy", "dtype").val(("f4", False, True)).reduce().val(False).val(bytes(4)).tuple().build(),
}


@pytest.mark.parametrize("where", list(_COMPARED))
def test_a_tensor_where_a_value_is_expected_is_refused_without_comparing(where):
    error, peak = _fast(lambda: _load(_COMPARED[where](Pk()).bytes(), _ONE))
    assert isinstance(error, CheckpointError), error
    assert peak < 8 << 20, f"peak {peak} bytes: the tensor was compared elementwise"


# ---------------------------------------------------------------- finding 2: repr of file values in messages
def _list_dag(p, k):
    """l_i = [l_{i-1}, l_{i-1}] in memo slot i: 2**k paths, a 2**k-character repr."""
    p.op(b"]").op(b"q\x00")
    for i in range(1, k + 1):
        p.op(b"](").op(b"h" + bytes([i - 1])).op(b"h" + bytes([i - 1])).op(b"e").op(b"q" + bytes([i]))
    return p


@pytest.mark.parametrize("where", ["storage key", "tensor metadata"])
def test_error_messages_describe_file_values_in_bounded_text(where):
    p = _list_dag(Pk(), 40)
    if where == "storage key":
        p.mark().val("storage").glob("torch", "FloatStorage").op(b"h\x28").val("cpu").val(1).tuple().op(b"Q")
    elif where == "tensor metadata":
        p.glob("torch._utils", "_rebuild_tensor_v2").mark().storage(numel=1).val(0).val((1,)).val((1,))
        p.val(False).op(b"N").op(b"h\x28").tuple().reduce()
    error, _ = _fast(lambda: _load(p.bytes(), _ONE))
    assert isinstance(error, CheckpointError) and "..." in str(error) and len(str(error)) < 400, str(error)[:400]


def test_a_long_attribute_name_in_a_message_is_cut():
    p = Pk().glob("torch._utils", "_rebuild_parameter_with_state").mark().tensor(numel=1, size=(1,))
    p.val(False).odict().val({"a b" * 100_000: 1}).tuple().reduce()
    with pytest.raises(UnsafeCheckpointError, match="refusing to set attribute 'a ba b") as info:
        _load(p.bytes(), _ONE)
    assert len(str(info.value)) < 300


def test_a_huge_int_in_a_message_is_summarised():
    p = Pk().mark().val("storage").glob("torch", "FloatStorage").val("0").val("cpu").val(10 ** 5000)
    with pytest.raises(CheckpointError, match="int of about 5001 digits"):
        _load(p.tuple().op(b"Q").bytes(), _ONE)


def test_a_refused_global_name_is_escaped():
    pkl = Pk(4).op(b"\x8c\x08evil\x1b[2J\x8c\x02go\x93").bytes()
    with pytest.raises(UnsafeCheckpointError, match=r"refusing to load 'evil\\x1b\[2J.go'"):
        _load(pkl)


# ---------------------------------------------------------------- finding 3: constructors charged their copies
def _calls(ctor, arg, k):
    """``k`` calls of ``ctor`` on one memoized argument tuple, collected in a list: 5 bytes per call."""
    p = Pk().glob(*ctor).op(b"q\x00")
    arg(p)
    p.op(b"q\x01](")
    for _ in range(k):
        p.op(b"h\x00h\x01R")
    return p.op(b"e").bytes()


_M = 1 << 16
_COPIES = {
    "bytearray": (("builtins", "bytearray"), lambda p: p.val((bytes(_M),))),
    "encode": (("_codecs", "encode"), lambda p: p.val(("a" * _M, "latin1"))),
    "frombuffer": (("numpy._core.numeric", "_frombuffer"), lambda p: p.mark().val(bytes(_M))
                   .glob("numpy", "dtype").val(("u1", False, True)).reduce().val((_M,)).val("C").tuple()),
    "set": (("builtins", "set"), lambda p: p.val((list(range(2000)),))),
    "frozenset": (("builtins", "frozenset"), lambda p: p.val((list(range(2000)),))),
    "odict": (("collections", "OrderedDict"), lambda p: p.val(([(i, None) for i in range(2000)],))),
    "counter": (("collections", "Counter"), lambda p: p.val(({i: 1 for i in range(2000)},))),
}


@pytest.mark.parametrize("variant", list(_COPIES))
def test_each_constructor_call_is_charged_what_it_copies(variant):
    ctor, arg = _COPIES[variant]
    pkl = _calls(ctor, arg, 100)  # 100 copies of ~64 KiB to ~200 KiB: 6 to 20 MiB for ~1 KiB of opcodes
    with numpy_as_data():  # as load(weights_only=False): NumPy's constructors run too
        with pytest.raises(CheckpointError, match="memory bound"):
            U.RestrictedUnpickler(pkl, "t", {}, budget=4 << 20).load()
        assert len(U.RestrictedUnpickler(_calls(ctor, arg, 2), "t", {}, budget=4 << 20).load()) == 2


def test_a_tiny_file_cannot_copy_one_argument_gigabytes_of_times():
    pkl = _calls(("builtins", "bytearray"), lambda p: p.val((bytes(1 << 20),)), 1000)  # 1000 x 1 MiB if allowed
    data = torch_zip(pkl, compress=zipfile.ZIP_DEFLATED)
    assert len(data) < 8 << 10
    error, peak = _fast(lambda: gs.load(io.BytesIO(data)), seconds=2)
    assert "memory bound" in str(error)
    assert peak < 100 << 20, f"peak {peak} bytes"  # the 64 MiB allowance, not 1000 MiB


def test_running_out_of_memory_is_a_checkpoint_error(monkeypatch):
    import gradstep._torch_format as tf

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(tf._Archive, "read", no_memory)
    with pytest.raises(CheckpointError, match="out of memory"):
        _load(Pk().val(1).bytes())


# ---------------------------------------------------------------- finding 7: hashing shared tuples
def _tuple_dag(p, n):
    """t_k = (t_{k-1}, t_{k-1}) in memo slot k: hashing t_n visits 2**n tuples."""
    p.op(b")q\x00")
    for k in range(1, n + 1):
        p.op(b"h" + bytes([k - 1]) + b"h" + bytes([k - 1]) + b"\x86q" + bytes([k]))
    return p


_HASHED = {
    "dict key": lambda p: p.op(b"}").op(b"h\x28").val(1).op(b"s"),
    "set element": lambda p: p.op(b"\x8f(").op(b"h\x28").op(b"\x90"),
    "frozenset element": lambda p: p.op(b"(").op(b"h\x28").op(b"\x91"),
    "builtins.set": lambda p: p.glob("builtins", "set").op(b"]h\x28a\x85R"),
    "OrderedDict pair": lambda p: p.glob("collections", "OrderedDict").op(b"]h\x28K\x01\x86a\x85R"),
}


@pytest.mark.parametrize("where", list(_HASHED))
def test_a_key_of_shared_tuples_is_refused_before_hashing(where):
    pkl = _HASHED[where](_tuple_dag(Pk(), 40)).bytes()  # 2**40 visits from ~400 bytes
    error, _ = _fast(lambda: _load(pkl))
    assert isinstance(error, CheckpointError) and "hashing" in str(error), error


def test_hashing_one_key_many_times_is_charged_each_time(monkeypatch):
    monkeypatch.setattr(U, "WORK_SLACK", 400_000)
    p = _tuple_dag(Pk(), 12).op(b"}(")  # 8191 visits per hash
    for i in range(30):
        p.val(i).op(b"h\x0c\x86").val(i)  # {(i, t_12): i}
    assert len(_load(p.op(b"u").bytes())) == 30
    p = _tuple_dag(Pk(), 12).op(b"}(")
    for i in range(100):
        p.val(i).op(b"h\x0c\x86").val(i)
    with pytest.raises(CheckpointError, match="hashing"):
        _load(p.op(b"u").bytes())


def test_ordinary_tuple_keys_and_sets_load():
    back = _load(Pk().val({(1, 2): "a", ((1, 2), (3, (4, 5))): "b", frozenset({1, 2}): "c"}).bytes())
    assert back == {(1, 2): "a", ((1, 2), (3, (4, 5))): "b", frozenset({1, 2}): "c"}


# ---------------------------------------------------------------- finding 8: real depth, no cycles
def _linked_dicts(n):
    """n empty dicts first, then d_i["k"] = d_{i+1}: n-deep nesting that no item adds in order."""
    p = Pk()
    for i in range(n):
        p.op(b"}").op(b"r" + i.to_bytes(4, "little"))
    for i in range(n - 1):
        p.op(b"j" + i.to_bytes(4, "little")).val("k").op(b"j" + (i + 1).to_bytes(4, "little")).op(b"s0")
    return p.op(b"j" + bytes(4)).bytes()


def test_nesting_added_after_the_fact_is_bounded(monkeypatch):
    with pytest.raises(CheckpointError, match="nested more than 1000 deep"):
        _load(_linked_dicts(1500))
    monkeypatch.setattr(U, "MAX_DEPTH", 50)
    back = _load(_linked_dicts(51))  # 51 containers: depth 50, as for tuples
    for _ in range(50):
        back = back["k"]
    assert back == {}
    with pytest.raises(CheckpointError, match="nested more than 50 deep"):
        _load(_linked_dicts(52))


def test_depth_through_a_shared_container_counts_its_longest_path(monkeypatch):
    monkeypatch.setattr(U, "MAX_DEPTH", 10)
    # deep = 9 nested lists; [deep, [[..[deep]..]]]: the second path is 4 levels longer
    p = Pk().op(b"]" * 9 + b"a" * 8).op(b"q\x00")
    p.op(b"(h\x00" + b"]" * 4 + b"h\x00" + b"a" * 4 + b"l")
    with pytest.raises(CheckpointError, match="nested more than 10 deep"):
        _load(p.bytes())


@pytest.mark.parametrize("pkl", [
    Pk().op(b"}q\x00").val("me").op(b"h\x00s").bytes(),  # d["me"] = d
    Pk().op(b"]q\x00h\x00a").bytes(),  # l.append(l)
    Pk().op(b"]q\x00]h\x00aa").bytes(),  # l.append([l])
    Pk().odict().op(b"q\x00}").val("_metadata").op(b"h\x00sb").bytes(),  # od._metadata = od
], ids=["dict", "list", "list in list", "OrderedDict metadata"])
def test_data_that_contains_itself_is_refused_with_the_reason(pkl):
    with pytest.raises(CheckpointError, match="contains itself.*torch.load accepts"):
        _load(pkl)


def test_a_parameter_whose_state_holds_it_is_refused():
    p = Pk().op(b"]q\x00").glob("torch._utils", "_rebuild_parameter_with_state").mark().tensor()
    p.val(False).odict().op(b"}").val("extra").op(b"h\x00s").tuple().reduce().op(b"q\x01")
    p.op(b"h\x00h\x01a0h\x01")  # extra.append(parameter); the parameter
    with pytest.raises(CheckpointError, match="contains itself"):
        _load(p.bytes(), {"0": np.arange(4, dtype=np.float32).tobytes()})


def test_a_dag_with_2_to_the_60_paths_loads_quickly():
    p = Pk().op(b"}q\x00")
    for k in range(1, 61):
        p.op(b"}(").val("a").op(b"h" + bytes([k - 1])).val("b").op(b"h" + bytes([k - 1])).op(b"uq" + bytes([k]))
    t = time.perf_counter()
    back = _load(p.bytes())
    assert time.perf_counter() - t < 1 and back["a"] is back["b"]


# ---------------------------------------------------------------- finding 10: work per byte of the file
def test_opcodes_are_charged_against_the_file_size(monkeypatch):
    monkeypatch.setattr(U, "WORK_SLACK", 10_000)
    free = b"\x80\x02" * 50_000 + b"N."  # 100 KB of PROTO opcodes, deflated to a few hundred bytes
    data = torch_zip(free, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="work bound"):
        gs.load(io.BytesIO(data))
    with pytest.raises(CheckpointError, match="work bound"):
        gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    assert gs.load(io.BytesIO(torch_zip(free))) is None  # stored: one opcode per byte at most, always allowed


def test_finding_globals_keeps_no_entry_per_opcode():
    pkl = b"\x80\x02" + b"N0" * 50_000 + b"N."  # 100 KB of NONE, POP
    data = torch_zip(pkl)
    gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(torch_zip(Pk().bytes())))  # imports done
    tracemalloc.start()
    try:
        assert gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(pkl), f"peak {peak} bytes"  # the file's bytes, not a list entry per opcode


# ---------------------------------------------------------------- finding 13: globals named through the memo
@pytest.mark.parametrize("pkl,names", [
    (Pk(4).op(b"\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93").val("x").op(b"\x85R").bytes(), ["os.system"]),
    (Pk(4).op(b"\x8c\x02os2\x93").bytes(), ["os.os"]),  # DUP
    (Pk(4).op(b"\x8c\x02os\x8c\x04junk0\x8c\x06system(\x8c\x03zzz1\x93").bytes(), ["os.system"]),  # POP, POP_MARK
    (Pk(4).op(b"\x8c\x02os\x8c\x06system\x94h\x00\x93").bytes(), ["system.system"]),  # MEMOIZE is len(memo)
], ids=["memo", "dup", "pops", "memoize"])
def test_unsafe_globals_named_from_the_stack_are_reported(pkl, names):
    assert gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(torch_zip(pkl))) == names


def test_unsafe_globals_of_a_state_dict_is_empty():
    sd = collections.OrderedDict(w=gs.ones(2, 3), n=gs.tensor(3), meta={"k": (1, "x")})
    buf = io.BytesIO()
    gs.save(sd, buf, format="torch")
    assert gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(buf.getvalue())) == []

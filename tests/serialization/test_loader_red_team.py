"""Findings of a red-team pass over the torch-checkpoint loader, each with the file that showed it.

1. Constructors that copied a memoized argument without charging it: ``torch.Size``, an
   ``argparse.Namespace``'s BUILD, the state of ``_rebuild_parameter_with_state`` /
   ``_rebuild_from_type_v2``, and every rebuilt tensor (a Tensor and its NumPy view take
   ~350 bytes, charged 200): a 200 KB pickle built 100 MB of tuples, a 1 MB one 250 MB of tensors.
2. A Namespace's state could shadow its methods (``_get_kwargs``): ``repr`` of the loaded data raised.
3. A class approved with ``add_safe_globals`` that defines ``__setstate__`` never loaded
   (the loader compared with ``object.__setstate__``, which Python 3.11 lacks).
4. A bad ``map_location`` (an int, or a callable returning something else or raising
   ValueError) was reported as a malformed pickle in the file.
"""

import argparse
import collections
import io
import struct
import tracemalloc

import numpy as np
import pytest
import torch

import gradstep as gs
import gradstep._torch_format as tf
import gradstep._torch_unpickler as U
from gradstep._weights_only import numpy_as_data
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, float_records, leaves_no_trace, torch_zip


@pytest.fixture(autouse=True)
def _no_side_effects():
    with leaves_no_trace():
        yield


def _unpickler(pkl, budget):
    """The unpickler load_torch_zip runs for ``pkl`` (storages from a zip holding float_records()), with ``budget``."""
    archive = tf._Archive(torch_zip(pkl, float_records()), "t")
    loader = tf._Loader(archive, None)
    return U.RestrictedUnpickler(archive.pickle_bytes(), "t", tf._torch_globals(), loader.persistent_load,
                                 budget=budget)


def _run(pkl, budget):
    with numpy_as_data():  # as load(weights_only=False): a Namespace is built too
        return _unpickler(pkl, budget).load()


def _calls(prefix, k, call=b"h\x00h\x01R"):
    """A list of ``k`` results of ``call`` on what ``prefix`` memoized (slots 0 and 1): 5 bytes each."""
    p = Pk()
    prefix(p)
    return p.op(b"](").op(call * k).op(b"e").bytes()


# ---------------------------------------------------------------- finding 1: uncharged copies
_BIG = 1 << 14  # items in the shared argument: each call copies them


def _size_arg(p):
    p.glob("torch", "Size").op(b"q\x00").val((tuple(range(_BIG)),)).op(b"q\x01")


def _param_state_arg(p):
    p.glob("torch._utils", "_rebuild_parameter_with_state").op(b"q\x00")
    p.mark().tensor().val(False).odict().val({f"a{i}": None for i in range(_BIG)}).tuple().op(b"q\x01")


def _from_type_arg(p):
    p.glob("torch._tensor", "_rebuild_from_type_v2").op(b"q\x00").mark()
    p.glob("torch._utils", "_rebuild_tensor_v2").glob("torch", "Tensor")
    p.mark().storage().val(0).val((4,)).val((1,)).val(False).odict().tuple()
    p.val({f"a{i}": None for i in range(_BIG)}).tuple().op(b"q\x01")


def _namespace_arg(p):
    p.glob("argparse", "Namespace").op(b"q\x00").val({f"a{i}": None for i in range(_BIG)}).op(b"q\x01")


_COPIES = {
    "torch.Size": (_size_arg, b"h\x00h\x01R"),
    "_rebuild_parameter_with_state": (_param_state_arg, b"h\x00h\x01R"),
    "_rebuild_from_type_v2": (_from_type_arg, b"h\x00h\x01R"),
    "argparse.Namespace BUILD": (_namespace_arg, b"h\x00)\x81h\x01b"),
}


@pytest.mark.parametrize("variant", list(_COPIES))
def test_copies_of_a_shared_argument_are_charged_each_time(variant):
    prefix, call = _COPIES[variant]
    # 100 copies of 2**14 items (8 bytes a tuple slot, ~100 a dict entry): 13 to 160 MiB if uncharged
    with pytest.raises(CheckpointError, match="memory bound"):
        _run(_calls(prefix, 100, call), budget=8 << 20)
    assert len(_run(_calls(prefix, 2, call), budget=8 << 20)) == 2


def _tensor_arg(p):
    p.glob("torch._utils", "_rebuild_tensor_v2").op(b"q\x00")
    p.mark().storage().val(0).val((4,)).val((1,)).val(False).odict().tuple().op(b"q\x01")


def test_each_rebuilt_tensor_is_charged_what_it_takes():
    k = 4000
    tensors = _run(_calls(_tensor_arg, k), budget=64 << 20)
    assert len(tensors) == k and all(t.data_ptr() == tensors[0].data_ptr() for t in tensors)
    # the memory bound sees at least what the tensors really take (a Tensor, its NumPy view, a list slot)
    u = _unpickler(_calls(_tensor_arg, k), budget=64 << 20)
    tracemalloc.start()
    again = u.load()
    taken = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    charged = (64 << 20) - u.budget
    assert len(again) == k and taken <= charged, f"{taken / k:.0f} bytes a tensor, {charged / k:.0f} charged"
    with pytest.raises(CheckpointError, match="memory bound"):
        _run(_calls(_tensor_arg, k), budget=k * tf._TENSOR_COST)  # the calls and the list need more


def test_views_stay_views_of_their_storage_like_torch():
    sd = {"base": torch.arange(12.0), "expanded": torch.tensor([1.5]).expand(3, 2)}
    sd["view"] = sd["base"][2:10:3]
    buf = io.BytesIO()
    torch.save(sd, buf)
    out = gs.load(io.BytesIO(buf.getvalue()))
    for k, t in sd.items():
        np.testing.assert_array_equal(out[k].numpy(), t.numpy())
        assert out[k].stride() == t.stride() and out[k].storage_offset() == t.storage_offset()
    out["view"][0] = -1.0  # a view writes through to its storage, as in torch
    assert out["base"][2].item() == -1.0
    assert not out["expanded"].numpy().flags.writeable  # a stride-0 view stays read-only


# ---------------------------------------------------------------- finding 2: Namespace shadowing
@pytest.mark.parametrize("name", ["_get_kwargs", "__class__", "__dict__", "__eq__"])
def test_a_namespace_state_cannot_shadow_the_class(name):
    pkl = Pk().glob("argparse", "Namespace").op(b")\x81").val({name: 1, "lr": 0.1}).build().bytes()
    with pytest.raises(UnsafeCheckpointError, match=f"may not set '{name}'"):
        gs.load(io.BytesIO(torch_zip(pkl)), weights_only=False)


def test_training_arguments_still_load_as_a_namespace():
    args = argparse.Namespace(lr=0.1, epochs=3, arch="resnet18", betas=(0.9, 0.99))
    buf = io.BytesIO()
    torch.save({"args": args}, buf)
    out = gs.load(io.BytesIO(buf.getvalue()), weights_only=False)["args"]
    assert out == args and repr(out) == repr(args)
    for L in (torch, gs):  # weights_only=True loads it once approved, as torch's
        with L.serialization.safe_globals([argparse.Namespace]):
            assert L.load(io.BytesIO(buf.getvalue()))["args"] == args


# ---------------------------------------------------------------- finding 3: approved __setstate__
class WithSetState:
    """A user class that pickles its state through __getstate__ / __setstate__."""

    def __init__(self, scale):
        self.scale = scale

    def __getstate__(self):
        return {"scale_x2": self.scale * 2}

    def __setstate__(self, state):
        self.scale = state["scale_x2"] // 2
        self.restored = True


def test_an_approved_class_with_setstate_loads_like_torch():
    buf = io.BytesIO()
    torch.save({"obj": WithSetState(21)}, buf)
    data = buf.getvalue()
    with torch.serialization.safe_globals([WithSetState]):
        expected = torch.load(io.BytesIO(data), weights_only=True)["obj"]
    with gs.serialization.safe_globals([WithSetState]):
        got = gs.load(io.BytesIO(data))["obj"]
    assert type(got) is WithSetState and vars(got) == vars(expected) == {"scale": 21, "restored": True}


# ---------------------------------------------------------------- finding 4: map_location errors
def _checkpoint():
    buf = io.BytesIO()
    torch.save(collections.OrderedDict(w=torch.ones(2)), buf)
    return buf.getvalue()


@pytest.mark.parametrize("bad", [0, b"cpu", 1.5])
def test_a_map_location_of_the_wrong_type_is_a_type_error(bad):
    with pytest.raises(TypeError, match="map_location must be a str, device, dict or callable"):
        gs.load(io.BytesIO(_checkpoint()), map_location=bad)


def test_a_map_location_callable_returning_something_else_is_a_type_error():
    with pytest.raises(TypeError, match="must return None or the storage"):
        gs.load(io.BytesIO(_checkpoint()), map_location=lambda storage, loc: "cpu")


def test_an_error_in_a_map_location_callable_is_raised_as_is():
    def fails(storage, loc):
        raise ValueError("my bug")

    with pytest.raises(ValueError, match="my bug") as info:
        gs.load(io.BytesIO(_checkpoint()), map_location=fails)
    assert not isinstance(info.value, CheckpointError)


def test_map_location_callable_still_sees_each_storage_and_its_location():
    seen = []
    out = gs.load(io.BytesIO(_checkpoint()), map_location=lambda s, loc: seen.append((s.shape, loc)))
    assert seen == [((2,), "cpu")] and out["w"].tolist() == [1.0, 1.0]


# ---------------------------------------------------------------- finding 5: json recursion in a .gs header
_DEEP_HEADER = r'''
import io, sys
sys.setrecursionlimit(10 ** 6)  # some programs raise it; json.loads then recurses in C until the stack ends
import gradstep as gs
from tests.serialization.craft import gs_file
for header in (b"[" * 300000 + b"]" * 300000, b'{"a":' * 200000 + b"1" + b"}" * 200000,
               b'["]]", "\\"]"' + b", [" * 300000 + b"]" * 300001):
    try:
        gs.load(io.BytesIO(gs_file(header)))
    except gs.serialization.CheckpointError as e:
        print("refused:", str(e)[:120])
'''


def test_a_deep_native_header_is_refused_before_json_recurses():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = subprocess.run([sys.executable, "-c", _DEEP_HEADER], cwd=root, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, f"the interpreter died ({run.returncode}): {run.stderr[-500:]}"
    assert run.stdout.count("refused: <stream>: checkpoint header nested more than 200 entries deep") == 3


def test_native_data_at_the_nesting_limit_still_loads():
    deep = [1.5]
    for _ in range(190):
        deep = [deep, "]]]\"[[["]  # brackets and quotes in strings do not count as nesting
    buf = io.BytesIO()
    gs.save({"deep": deep}, buf, format="gradstep")
    assert gs.load(io.BytesIO(buf.getvalue())) == {"deep": deep}


# ---------------------------------------------------------------- finding 6: big scalar keys, hashed again and again
def _long_key(kind):
    if kind == "int":
        raw = ((1 << (8 * 200_000)) - 1).to_bytes(200_001, "little", signed=True)  # hash: O(digits), not cached
        return lambda p: p.op(b"\x8b" + struct.pack("<i", len(raw)) + raw)
    value = "x" * 400_000 if kind == "str" else b"x" * 400_000  # hash cached, but equal copies compare bytewise
    return lambda p: p.val(value)


_KEYED = {
    "dict key": lambda p: p.op(b"}(").op(b"h\x00Nh\x01N" * 20_000).op(b"u"),
    "set element": lambda p: p.op(b"\x8f(").op(b"h\x00h\x01" * 20_000).op(b"\x90"),
    "in a tuple key": lambda p: p.op(b"h\x00\x85q\x02h\x01\x85q\x03}(").op(b"h\x02Nh\x03N" * 20_000).op(b"u"),
}


@pytest.mark.parametrize("kind", ["int", "str", "bytes"])
@pytest.mark.parametrize("where", list(_KEYED))
def test_a_long_key_used_many_times_is_charged_each_time(kind, where):
    p = Pk()
    _long_key(kind)(p)
    p.op(b"q\x00")
    _long_key(kind)(p)  # an equal key that is another object
    p.op(b"q\x01")
    pkl = _KEYED[where](p).bytes()
    with pytest.raises(CheckpointError, match="hashing steps"):
        _run_with_work(pkl)
    ok = Pk()
    _long_key(kind)(ok)
    ok.op(b"q\x00}h\x00Ns")  # used once: loads
    assert len(_run_with_work(ok.bytes())) == 1


def _run_with_work(pkl):
    """Load with a work bound of a million steps (~0.6 s) beyond the pickle's opcodes: 40k uses of a
    400 KB key are charged ~4 million, of a 200 KB int ~60 million (uncharged, they took seconds)."""
    return U.RestrictedUnpickler(pkl, "t", {}, work=1_000_000 + len(pkl)).load()


# ---------------------------------------------------------------- finding 7: bookkeeping of nested tuples
_NESTED = {
    "tuples of a tuple": b")q\x00](" + b"h\x00\x85" * 20_000 + b"e",  # each new tuple holds a tuple: a depth record
    "pairs of a tuple": b")q\x00](" + b"h\x00h\x00\x86" * 20_000 + b"e",
}


@pytest.mark.parametrize("variant", list(_NESTED))
def test_the_records_kept_for_nested_tuples_are_charged(variant):
    u = U.RestrictedUnpickler(Pk().op(_NESTED[variant]).bytes(), "t", {}, budget=1 << 30)
    tracemalloc.start()
    out = u.load()
    taken = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    charged = (1 << 30) - u.budget
    assert len(out) == 20_000 and taken <= charged, f"{taken} bytes taken, {charged} charged"


# ---------------------------------------------------------------- finding 8: torch's conj / neg bits
def _bits_checkpoints():
    x = torch.randn(3, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
    return {"conj": {"t": x.conj(), "base": x}, "neg": {"t": x.conj().imag},
            "conj view": {"t": (torch.arange(16.0) * (1 + 2j)).reshape(4, 4).conj()[1:, ::2]},
            "neg expanded": {"t": x.conj().imag.expand(2, 3)}, "conj parameter": {"t": torch.nn.Parameter(x.conj())}}


@pytest.mark.parametrize("variant", list(_bits_checkpoints()))
def test_conjugate_and_negative_bits_load_as_torch_resolves_them(variant):
    buf = io.BytesIO()
    torch.save(_bits_checkpoints()[variant], buf)
    expected = torch.load(io.BytesIO(buf.getvalue()))
    got = gs.load(io.BytesIO(buf.getvalue()))
    for k, t in expected.items():
        np.testing.assert_array_equal(got[k].detach().numpy(), t.detach().resolve_conj().resolve_neg().numpy())
        assert type(got[k]).__name__ == type(t).__name__ and got[k].requires_grad == t.requires_grad


def _with_metadata(meta, stype="ComplexFloatStorage", numel=4, size=(4,), stride=(1,)):
    p = Pk().glob("torch._utils", "_rebuild_tensor_v2").mark().storage(stype=stype, numel=numel)
    return p.val(0).val(size).val(stride).val(False).odict().val(meta).tuple().reduce().bytes()


_COMPLEX = {"0": np.arange(4, dtype=np.complex64).tobytes()}


@pytest.mark.parametrize("meta,stype,match", [
    ({"conj": True}, "FloatStorage", "conjugate bit of a float32"),
    ({"neg": True}, "BoolStorage", "negative bit of a bool"),
    ({"conj": 1}, "ComplexFloatStorage", "metadata"),
    ({"python_code": True}, "ComplexFloatStorage", "metadata"),
    ([("conj", True)], "ComplexFloatStorage", "metadata"),
])
def test_bad_tensor_metadata_is_refused(meta, stype, match):
    records = _COMPLEX if stype.startswith("Complex") else float_records() if stype == "FloatStorage" \
        else {"0": bytes(4)}
    with pytest.raises(CheckpointError, match=match):
        gs.load(io.BytesIO(torch_zip(_with_metadata(meta, stype), records)))


def test_a_conjugate_bit_on_a_huge_stride_0_view_is_charged_not_allocated():
    pkl = _with_metadata({"conj": True}, size=(1 << 36,), stride=(0,))  # 512 GiB once resolved
    with pytest.raises(CheckpointError, match="memory bound"):
        gs.load(io.BytesIO(torch_zip(pkl, _COMPLEX)))
    ok = gs.load(io.BytesIO(torch_zip(_with_metadata({"conj": True, "neg": True}), _COMPLEX)))
    np.testing.assert_array_equal(ok.numpy(), -np.conj(np.arange(4, dtype=np.complex64)))

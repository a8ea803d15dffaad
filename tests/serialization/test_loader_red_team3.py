"""Findings of a third red-team pass over the loaders, each with the file that showed it.

False refusals (benign files torch 2.13 loads, gradstep refused):

1. An ``nn.Parameter`` with a private attribute (HF transformers sets ``_is_hf_initialized``):
   ``_rebuild_parameter_with_state`` refused every name starting with ``_``. Private names load
   now; dunder names, the class's own names (gradstep's slots such as ``_data``), hook tables and
   NamedTuple markers are still refused, and the data is checked for cycles through them too.
2. A tuple holding a storage (``torch.save((t.untyped_storage(),))``) or a class approved with
   ``add_safe_globals``: "a tuple cannot be part of the loaded data". Such a tuple now loads as a
   tuple of the items as data (the same object each time it is used), built without recursion.
3. ``slice``, ``range`` and ``Ellipsis``: refused even under ``weights_only=False``. They load
   there now (checked: numbers in a slice, ints and a nonzero step in a range); the default
   ``weights_only=True`` refuses them with torch's message until approved, as torch does.

Hostile files and bad values:

4. dtypes torch's weights_only allows but gradstep lacks (``torch.bits8``, ``torch.int4``,
   ``torch.uint3``): refused with the add_safe_globals advice, which cannot help; now named.
5. A protocol-4 FRAME longer than the rest of the pickle loaded (pickle and torch refuse it).
6. ``load('/dev/zero')`` (and ``gradstep info /dev/zero``) read without end; a character device
   is refused now.
7. ``torch.Size([-1])``, which torch loads, was refused.
8. ``range`` ints of any size: a big one used as a dict key 10**5 times (hashing does arithmetic on
   its ints, uncharged) took minutes from a 300 KB file; ranges and slices now hold 64-bit ints.
9. A whole saved module (``weights_only=False``, :mod:`gradstep._module_pickle`) could set
   ``forward``, hook tables or ``_modules`` to a function of the model's module, which ``model(x)``
   then ran; such states are refused now.
10. Found by the differential fuzz: ``_rebuild_parameter`` took a 4th (state) argument and
    ``_rebuild_parameter_with_state`` 3, ``_codecs.encode(bytes)`` loaded (torch raises for all
    three); ``torch.Size()`` and ``Counter(list)`` were refused (torch loads both).
"""

import collections
import io
import os
import pickle
import random
import struct
import sys
import zipfile

import pytest
import torch

import gradstep as gs
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, canon, float_records, leaves_no_trace, torch_saved, torch_zip


@pytest.fixture(autouse=True)
def _no_side_effects():
    with leaves_no_trace():
        yield


def _load(data, **kw):
    return gs.load(io.BytesIO(data), **kw)


def _torch_load(data, **kw):
    return torch.load(io.BytesIO(data), **kw)


class Approved:
    """A class a user approves with add_safe_globals (both libraries)."""


# ---------------------------------------------------------------- 1: private Parameter attributes
def _hf_parameter():
    p = torch.nn.Parameter(torch.arange(3.0))
    p._is_hf_initialized = True
    p.tag = "w"
    return p


@pytest.mark.parametrize("weights_only", [True, False])
def test_a_parameter_with_a_private_attribute_loads_like_torch(weights_only):
    data = torch_saved({"w": _hf_parameter()})
    want = _torch_load(data, weights_only=weights_only)["w"]
    got = _load(data, weights_only=weights_only)["w"]
    assert type(got) is gs.nn.Parameter and got.requires_grad
    assert vars(got) == vars(want) == {"_is_hf_initialized": True, "tag": "w"}
    assert got.tolist() == want.tolist()


def test_gradstep_saves_a_private_parameter_attribute_for_torch():
    p = gs.nn.Parameter(gs.ones(2))
    p._is_hf_initialized = True
    buf = io.BytesIO()
    gs.save({"p": p}, buf, format="torch")
    assert vars(_torch_load(buf.getvalue())["p"]) == vars(_load(buf.getvalue())["p"]) == {"_is_hf_initialized": True}


def _param_with_state(state):
    p = Pk().glob("torch._utils", "_rebuild_parameter_with_state").mark().tensor().val(True).odict()
    return torch_zip(p.val(state).tuple().reduce().bytes(), float_records())


@pytest.mark.parametrize("name", ["__class__", "__foo__", "_data", "_grad", "_backward_hooks", "_my_hooks",
                                  "_fields", "requires_grad", "grad", "data"])
def test_a_parameter_state_cannot_set_internal_names(name):
    # the class's names (gradstep's slots, properties), dunders, hook tables and NamedTuple markers
    with pytest.raises(UnsafeCheckpointError, match="refusing to set attribute"):
        _load(_param_with_state({name: 1}))


def test_a_cycle_through_a_private_attribute_is_refused():
    # L = []; p = Parameter(..., state={"_x": L}); L.append(p): p._x[0] is p
    p = Pk().op(b"]q\x00").glob("torch._utils", "_rebuild_parameter_with_state").mark().tensor().val(True)
    p.odict().op(b"}").val("_x").op(b"h\x00s").tuple().reduce().op(b"q\x01h\x00h\x01a0")
    with pytest.raises(CheckpointError, match="contains itself"):
        _load(torch_zip(p.bytes(), float_records()))


# ---------------------------------------------------------------- 2: tuples holding storages and classes
def _storage_tuples():
    t = torch.arange(4.0)
    s = t.untyped_storage()
    return [(s,), (t.storage(), 1), {"k": ((t.storage(),), t)}, [(s,), (s,)]]


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")
@pytest.mark.parametrize("case", range(4))
def test_a_tuple_holding_a_storage_loads_like_torch(case):
    data = torch_saved(_storage_tuples()[case])
    want, got = _torch_load(data), _load(data)

    def flat(x):  # storages as (dtype, values); containers as nested lists
        if isinstance(x, (tuple, list)):
            return [type(x).__name__] + [flat(v) for v in x]
        if isinstance(x, dict):
            return {k: flat(v) for k, v in x.items()}
        if hasattr(x, "tolist") and not hasattr(x, "shape"):
            return ("storage", str(x.dtype).split(".")[-1], x.tolist())
        return canon(x)
    assert flat(got) == flat(want)


def test_a_tuple_used_twice_is_one_object_and_shares_the_storage():
    s = torch.arange(4.0).untyped_storage()
    pair = (s,)
    got = _load(torch_saved([pair, pair, s]))
    assert got[0] is got[1] and got[0][0] is got[2]


def test_a_deep_tuple_holding_a_storage_loads_without_recursion():
    depth = 900  # tuples may nest up to 1000 (MAX_DEPTH); building them as data must not recurse
    p = Pk().storage()
    for _ in range(depth):
        p.op(b"\x85")
    got = _load(torch_zip(p.bytes(), float_records()))
    for _ in range(depth):
        (got,) = got
    assert isinstance(got, gs.TypedStorage) and got.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_tuple_holding_an_approved_class_loads_like_torch():
    data = torch_saved({"cls": (Approved, 1)})
    with torch.serialization.safe_globals([Approved]):
        assert _torch_load(data) == {"cls": (Approved, 1)}
    with gs.serialization.safe_globals([Approved]):
        assert _load(data) == {"cls": (Approved, 1)}
    with pytest.raises(UnsafeCheckpointError, match="Approved"):
        _load(data)


def test_a_tuple_holding_a_constructor_is_still_refused():
    for name in (("torch._utils", "_rebuild_tensor_v2"), ("torch", "Tensor"), ("torch", "FloatStorage")):
        with pytest.raises(UnsafeCheckpointError, match="cannot be part of the loaded data"):
            _load(torch_zip(Pk().glob(*name).op(b"\x85").bytes()))


# ---------------------------------------------------------------- 3: slice, range, Ellipsis
_INDEXES = [slice(1, 5, None), slice(None), slice(-3, None, 2), range(2, 9, 3), range(5), Ellipsis,
            {"idx": (slice(0, 2), Ellipsis), "r": [range(0, -10, -2)]}]


@pytest.mark.parametrize("obj", _INDEXES, ids=repr)
def test_slices_ranges_and_ellipsis_load_as_torch_loads_them(obj):
    data = torch_saved(obj)
    assert _load(data, weights_only=False) == _torch_load(data, weights_only=False) == obj
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global: GLOBAL (slice|range|Ellipsis) "):
        _torch_load(data)
    with pytest.raises(UnsafeCheckpointError, match="Unsupported global: GLOBAL (slice|range|Ellipsis) "):
        _load(data)


def test_an_approved_slice_or_range_loads_by_default_as_in_torch():
    data = torch_saved([slice(1, 2, 3), range(4)])
    with torch.serialization.safe_globals([slice, range]), gs.serialization.safe_globals([slice, range]):
        assert _load(data) == _torch_load(data) == [slice(1, 2, 3), range(4)]
    assert "builtins.slice" in gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))


@pytest.mark.parametrize("name,args,match", [
    ("slice", ([1],), "slice takes numbers"),  # a container in a slice escapes the cycle check
    ("slice", (1, 2, 3, 4), "takes"),
    ("range", ("a",), "range takes ints"),
    ("range", (1.5,), "range takes ints"),
    ("range", (0, 5, 0), "step must not be zero"),
    # hashing a range does arithmetic on its ints each time: a big one used as a key 10**5 times took minutes
    ("range", (0, 2**64), "ints of 64 bits"),
    ("slice", (0, -(2**63) - 1), "ints of 64 bits"),
    ("range", (), "takes"),
])
def test_bad_slice_and_range_arguments_are_checkpoint_errors(name, args, match):
    data = torch_zip(Pk().glob("__builtin__", "xrange" if name == "range" else name).val(args).reduce().bytes())
    with pytest.raises(CheckpointError, match=match):
        _load(data, weights_only=False)


# ---------------------------------------------------------------- 4, 5, 7: dtypes, frames, sizes
@pytest.mark.parametrize("name", ["bits8", "bits1x8", "int4", "uint3", "uint1"])
def test_a_dtype_gradstep_lacks_is_named_not_sent_to_add_safe_globals(name):
    data = torch_zip(Pk().glob("torch", name).bytes())
    assert _torch_load(data) is getattr(torch, name)
    with pytest.raises(CheckpointError, match=f"torch.{name}, which gradstep lacks") as info:
        _load(data)
    assert "add_safe_globals" not in str(info.value)


def test_a_frame_past_the_end_of_the_pickle_is_refused_like_pickle():
    bad = Pk(4).op(b"\x95" + struct.pack("<Q", 2**60) + b"N").bytes()
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(bad)
    with pytest.raises(CheckpointError, match="frame of .* runs past the end"):
        _load(torch_zip(bad))
    exact = Pk(4).op(b"\x95" + struct.pack("<Q", 2) + b"N.").bytes()[:-1]  # a frame of exactly "N."
    assert pickle.loads(exact) is None and _load(torch_zip(exact)) is None


@pytest.mark.parametrize("size", [(-1,), (-(2**63), 2**63 - 1), (0, 3)])
def test_torch_size_holds_any_int64_like_torch(size):
    data = torch_zip(Pk().glob("torch", "Size").val((size,)).reduce().bytes())
    assert tuple(_load(data)) == tuple(_torch_load(data)) == size
    with pytest.raises(CheckpointError, match="out of range"):
        _load(torch_zip(Pk().glob("torch", "Size").val(((2**63,),)).reduce().bytes()))


def test_constructor_forms_torch_accepts_load_alike():
    # found by the differential fuzz below: torch.Size(), Counter(list); and the forms torch refuses
    for call in (Pk().glob("torch", "Size").op(b")R"), Pk().glob("collections", "Counter").val((["a", "b", "a"],)).reduce()):
        data = torch_zip(call.bytes())
        assert canon(_load(data)) == canon(_torch_load(data))
    for bad in (Pk().glob("_codecs", "encode").val((b"x",)).reduce(),  # codecs.encode(bytes) raises in torch
                Pk().glob("torch._utils", "_rebuild_parameter_with_state").mark().tensor().val(True).odict().tuple().reduce(),
                Pk().glob("torch._utils", "_rebuild_parameter").mark().tensor().val(True).odict().val({}).tuple().reduce()):
        with pytest.raises(CheckpointError, match="takes"):
            _load(torch_zip(bad.bytes(), float_records()))


# ---------------------------------------------------------------- 6: files that never end
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_character_device_is_refused_not_read_forever():
    with pytest.raises(CheckpointError, match="character device"):
        gs.load("/dev/zero")


# ---------------------------------------------------------------- size lies, measured
def _size_lies():
    from .test_zip_hostile import _patch_sizes

    tensor = Pk().tensor().bytes()
    deflated = torch_zip(tensor, {"0": bytes(16)}, compress=zipfile.ZIP_DEFLATED)
    return {
        "stored record claims 4 GiB": _patch_sizes(torch_zip(tensor, float_records()), "archive/data/0", 2**32 - 1),
        # within the inflate bound (64x the file + 64 MiB): the record must prove its size before any allocation
        "deflated record claims 60 MiB": _patch_sizes(deflated, "archive/data/0", 60 << 20),
        "deflated data.pkl claims 60 MiB": _patch_sizes(deflated, "archive/data.pkl", 60 << 20),
        "storage numel 2**38, tiny record": torch_zip(Pk().tensor(numel=2**38).bytes(), float_records()),
        "view of 2**60 elements, stride 0": torch_zip(Pk().tensor(size=(2**40, 2**20), stride=(0, 0)).bytes(),
                                                      float_records()),
        "BYTEARRAY8 of 2**40": torch_zip(Pk(5).op(b"\x96" + struct.pack("<Q", 2**40) + b"ab").bytes()),
        "BINUNICODE8 of 2**40": torch_zip(Pk(4).op(b"\x8d" + struct.pack("<Q", 2**40) + b"ab").bytes()),
        "LONG4 of 2**31 bytes": torch_zip(Pk().op(b"\x8b\xff\xff\xff\x7f\x00").bytes()),
        "APPENDS of a memoized 1 MiB str, 10**5 times": torch_zip(
            Pk().val("x" * (1 << 20)).op(b"q\x00](" + b"h\x00" * 10**5 + b"e").bytes()),
    }


@pytest.mark.parametrize("case", list(_size_lies()))
def test_a_size_lie_allocates_what_the_file_holds_not_what_it_claims(case):
    import tracemalloc

    data = _size_lies()[case]
    tracemalloc.start()
    try:
        try:
            _load(data)
        except CheckpointError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the file, a copy or two of it, and the interpreter's own bookkeeping (a few hundred KB)
    assert peak < 8 * len(data) + (2 << 20), f"{case}: {peak} bytes for a {len(data)}-byte file"


# ---------------------------------------------------------------- whole modules (weights_only=False)
_MODEL_CODE = """
import gradstep as gs

class Net(gs.nn.Module):
    def forward(self, x):
        return x

def swish(x):
    return x

def danger(*args):
    raise AssertionError("a function the file chose ran")
"""


@pytest.fixture
def model_code(monkeypatch):
    """A model module the program has imported: a Module subclass and two functions beside it."""
    import types

    mod = types.ModuleType("rt3_model")
    exec(compile(_MODEL_CODE, "rt3_model.py", "exec"), mod.__dict__)  # noqa: S102 - the test's own code
    monkeypatch.setitem(sys.modules, "rt3_model", mod)
    return mod


def _saved_net(key, value):
    """rt3_model.Net created empty, its state ``{key: value}`` (value: "danger" or "swish" as the
    function, a dict / list of it, or a plain value)."""
    p = Pk().glob("rt3_model", "Net").op(b")\x81}").val(key)
    fn = lambda: p.glob("rt3_model", value if value in ("danger", "swish") else "danger")  # noqa: E731
    if value in ("danger", "swish"):
        fn()
    elif value == "table":
        p.op(b"}").val("0")
        fn()
        p.op(b"s")
    else:
        p.val(value)
    return torch_zip(p.op(b"sb").bytes())


@pytest.mark.parametrize("key,value", [("forward", "danger"), ("__call__", "danger"), ("state_dict", "danger"),
                                       ("_forward_pre_hooks", "table"), ("_forward_hooks", "table"),
                                       ("_backward_hooks", "table"), ("_modules", "table"), ("_parameters", "table"),
                                       ("_buffers", "table")])
def test_a_saved_module_cannot_make_the_model_call_a_function_the_file_chose(model_code, key, value):
    # before: model(x) ran rt3_model.danger (forward replaced, a pre-hook, a "submodule" of nn.Sequential)
    with pytest.raises(UnsafeCheckpointError, match="method|hooks|may only hold"):
        _load(_saved_net(key, value), weights_only=False)


def test_a_saved_module_still_holds_its_activation_function(model_code):
    net = _load(_saved_net("act", "swish"), weights_only=False)
    assert type(net) is model_code.Net and net.act is model_code.swish
    assert _load(_saved_net("_forward_hooks", {}), weights_only=False)._forward_hooks == {}


# ---------------------------------------------------------------- hub cache names
def test_a_url_naming_no_file_is_refused_before_the_cache_folder_is_loaded(tmp_path, monkeypatch):
    monkeypatch.setattr(gs.hub, "_hub_dir", str(tmp_path))
    for url in ("file:///tmp/", "file:///tmp/..", "https://example.com/models/."):
        with pytest.raises(ValueError, match="names no file.*file_name="):
            gs.hub.load_state_dict_from_url(url)


# ---------------------------------------------------------------- differential fuzz against torch
_VALUES = [0, 1, -1, 3, 4, 2**62, -(2**63), 2**63, 1.5, True, None, "cpu", "cuda:1", "x", b"b", (), (4,), (1,),
           (2, 2), (2, 1), (0,), [4], [1], {}, {"a": 1}, {"_a": 1}, {"__class__": 1}, [(1, 2)], ("torch.strided",)]
_CALLS = [("torch", "Size", 1), ("torch", "device", 2), ("collections", "OrderedDict", 1), ("collections", "Counter", 1),
          ("builtins", "set", 1), ("builtins", "bytearray", 1), ("builtins", "complex", 2), ("_codecs", "encode", 2),
          ("torch.serialization", "_get_layout", 1), ("torch._utils", "_rebuild_tensor_v2", 6),
          ("torch._utils", "_rebuild_parameter", 3), ("torch._utils", "_rebuild_parameter_with_state", 4)]


def _value(p, rng, tensor_ok=True):
    if tensor_ok and rng.random() < 0.15:
        return p.tensor(size=rng.choice([(4,), (2, 2), (1,)]), stride=rng.choice([(1,), (2, 1), (0,)]),
                        offset=rng.choice([0, 1, 3]))
    return p.val(rng.choice(_VALUES))


def _random_call(rng):
    """A pickle calling one allowed constructor on random arguments (the storage, when a rebuild
    takes one, from a 4-float record)."""
    module, name, most = rng.choice(_CALLS)
    p = Pk().glob(module, name).mark()
    n = rng.choice([most, most, max(0, most - 1), most + 1, rng.randint(0, most)])
    for i in range(n):
        if name == "_rebuild_tensor_v2" and i == 0:
            p.storage()
        elif name.startswith("_rebuild_parameter") and i == 0:
            p.tensor()
        elif name.startswith("_rebuild_parameter") and i == 2 and rng.random() < 0.7:
            p.odict()
        else:
            _value(p, rng, tensor_ok=name not in ("_rebuild_tensor_v2",))
    return torch_zip(p.tuple().reduce().bytes(), float_records())


def _outcome(load, data):
    try:
        return "ok", load(data)
    except Exception as e:  # noqa: BLE001 - classified below
        return "error", e


@pytest.mark.filterwarnings("ignore")
def test_differential_fuzz_of_constructor_arguments():
    """Seeded: each random constructor call that torch's weights_only load refuses, gradstep refuses with
    a CheckpointError; what gradstep loads, torch loads to the same data; gradstep raises nothing else."""
    rng = random.Random(3)
    both = 0
    for _ in range(1500):
        data = _random_call(rng)
        (t_kind, t_val), (g_kind, g_val) = _outcome(_torch_load, data), _outcome(_load, data)
        if g_kind == "error":
            assert isinstance(g_val, CheckpointError), f"{type(g_val).__name__}: {g_val} for {data!r}"
            continue
        assert t_kind == "ok", f"gradstep loads what torch refuses ({t_val!r}): {data!r}"
        assert canon(g_val) == canon(t_val), data
        both += 1
    assert both >= 150  # the fuzz reaches loads, not only refusals


@pytest.mark.filterwarnings("ignore")
def test_differential_fuzz_of_torch_files_with_a_byte_changed():
    """torch.save's own files with one byte of data.pkl changed: gradstep raises CheckpointError or loads
    what torch loads (torch is looser about some malformed pickles; never the other way round)."""
    rng = random.Random(5)
    sd = collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3), b=torch.tensor([1, 2]), n=3, s="x",
                                 t=(1.5, None, True), p=torch.nn.Parameter(torch.ones(2)))
    base = torch_saved(sd)
    start = base.index(b"data.pkl") + len(b"data.pkl")
    end = base.index(b"PK", start)
    agree = 0
    for _ in range(1000):
        data = bytearray(base)
        data[rng.randrange(start, end)] = rng.randrange(256)
        data = bytes(data)
        (t_kind, t_val), (g_kind, g_val) = _outcome(_torch_load, data), _outcome(_load, data)
        if g_kind == "error":
            assert isinstance(g_val, CheckpointError), f"{type(g_val).__name__}: {g_val}"
            continue
        if t_kind == "ok":
            assert canon(g_val) == canon(t_val)
            agree += 1
        else:  # torch refused what gradstep loaded: only where zip's CRC is what torch checks and gradstep too
            pytest.fail(f"gradstep loaded a file torch refuses ({type(t_val).__name__}: {t_val})")
    assert agree >= 1


def test_the_fuzz_helpers_make_valid_files():
    assert sys.getrecursionlimit() >= 1000
    assert _load(torch_zip(Pk().tensor().bytes(), float_records())).tolist() == [0.0, 1.0, 2.0, 3.0]

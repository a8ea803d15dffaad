"""torch's legacy (non-zip) checkpoint format: read from real torch, written for real torch, and hostile
files (hand-made and fuzzed) refused with CheckpointError, never running code or allocating beyond the file.

Values are compared bit for bit (``canon`` compares the bytes): loading copies bytes, no arithmetic.
"""

import collections
import io
import os
import pickle
import pickletools
import random
import struct
import tarfile
import tracemalloc
import warnings

import numpy as np
import pytest
import torch

import gradstep as gs
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, canon, leaves_no_trace, state_dict_sample

MAGIC = 0x1950A86A20F9469CFC6C
MARKER = "/tmp/gradstep_legacy_marker"


def legacy(obj):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def gs_legacy(obj):
    buf = io.BytesIO()
    gs.save(obj, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def load(data, **kw):
    return gs.load(io.BytesIO(data), **kw)


def craft(body, keys=("0",), data=None, magic=MAGIC, version=1001, sys_info=None):
    """A legacy file from its parts: ``body`` is the object pickle, ``data`` the bytes after the key list
    (default: 4 float32 for each key)."""
    if data is None:
        data = b"".join(struct.pack("<q", 4) + np.arange(4, dtype=np.float32).tobytes() for _ in keys)
    head = pickle.dumps(magic, protocol=2) + pickle.dumps(version, protocol=2)
    head += sys_info if isinstance(sys_info, bytes) else pickle.dumps(sys_info or {}, protocol=2)
    return head + body + (keys if isinstance(keys, bytes) else pickle.dumps(list(keys), protocol=2)) + data


class LegacyPk(Pk):
    """Opcode-built object pickles whose storages have a legacy persistent id (six items)."""

    def storage(self, key="0", stype="FloatStorage", numel=4, location="cpu", view=None):
        self.mark().val("storage").glob("torch", stype).val(key).val(location).val(numel).val(view)
        return self.tuple().op(b"Q")

    def tensor(self, key="0", stype="FloatStorage", numel=4, offset=0, size=(4,), stride=(1,), rg=False, view=None):
        self.glob("torch._utils", "_rebuild_tensor_v2").mark()
        self.storage(key, stype, numel, view=view).val(offset).val(tuple(size)).val(tuple(stride)).val(rg)
        return self.odict().tuple().reduce()


def tensor_file(**kw):
    return craft(LegacyPk().tensor(**kw).bytes())


# ---------------------------------------------------------------- torch -> gradstep
def test_a_torch_state_dict_loads_as_torch_loads_it():
    sd = state_dict_sample()
    data = legacy(sd)
    back = load(data)
    assert canon(back) == canon(torch.load(io.BytesIO(data))) == canon(sd)
    assert back._metadata == sd._metadata
    assert type(back["param"]).__name__ == "Parameter" and back["param"].requires_grad
    assert back["expanded"]._data.strides[0] == 0  # stays a view, as in torch
    back["base"][2] = 100.0  # a view and its base share their storage again
    assert back["view"][0].item() == 100.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                   torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool])
def test_every_storage_dtype_and_shape(dtype):
    g = torch.Generator().manual_seed(1)
    full = (torch.randn(4, 5, generator=g) * 50).to(dtype)
    obj = {"full": full, "t": full.t(), "slice": full[1:, 2:], "step": full[::2, 1::2], "scalar": full[1, 1],
           "empty": full[:0], "empty2": torch.empty(0, 3, dtype=dtype), "zero_dim": torch.tensor(1, dtype=dtype)}
    data = legacy(obj)
    back = load(data)
    theirs = torch.load(io.BytesIO(data))
    for k, t in theirs.items():  # the bits (bfloat16 has no NumPy dtype in torch), shape, strides and dtype
        ours = back[k]._data
        assert ours.shape == tuple(t.shape) and str(back[k].dtype).split(".")[1] == str(t.dtype).split(".")[1]
        assert [s // ours.itemsize for s in ours.strides] == list(t.stride()) or t.numel() == 0, k
        bits = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        assert np.ascontiguousarray(ours).tobytes() == bits.contiguous().numpy().tobytes(), k
    assert str(back["full"].dtype) == str(dtype).replace("torch", "gradstep")
    assert back["zero_dim"].shape == () and back["empty2"].shape == (0, 3)
    assert back["t"]._data.base is not None and np.shares_memory(back["t"]._data, back["full"]._data)


def test_optimizer_state_and_nesting():
    torch.manual_seed(0)
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    m(torch.randn(4, 3)).sum().backward()
    opt.step()
    ck = {"model": m.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
          "nested": collections.OrderedDict(a=[1, (2.5, "x", None)], b={"w": [m.weight.detach()]})}
    data = legacy(ck)
    back = load(data)
    assert canon(back) == canon(torch.load(io.BytesIO(data)))
    gm = gs.nn.Linear(3, 2)
    gopt = gs.optim.Adam(gm.parameters(), lr=0.01)
    gm.load_state_dict(back["model"])
    gopt.load_state_dict(back["optimizer"])
    assert gopt.state_dict()["state"][0]["step"].item() == 1


def test_map_location():
    data = legacy({"w": torch.arange(3.0)})
    for where in ("cpu", torch.device("cpu"), gs.device("cpu"), {"cpu": "cpu"}, lambda s, loc: s,
                  lambda s, loc: None):
        assert load(data, map_location=where)["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(CheckpointError, match="CUDA"):
        load(data, map_location={"cpu": "cuda:0"})
    with pytest.raises(ZeroDivisionError):  # the caller's callable fails: its own error
        load(data, map_location=lambda s, loc: 1 / 0)


def test_mmap_is_refused_as_torch_refuses_it(tmp_path):
    path = tmp_path / "old.pt"
    path.write_bytes(legacy({"w": torch.ones(2)}))
    with pytest.raises(RuntimeError, match="mmap can only be used with files saved with") as theirs:
        torch.load(path, mmap=True)
    with pytest.raises(RuntimeError, match="mmap can only be used with files saved with") as ours:
        gs.load(path, mmap=True)
    assert str(ours.value) == str(theirs.value)
    assert gs.load(path, mmap=False)["w"].tolist() == [1.0, 1.0]


def test_weights_only_true_and_false():
    data = legacy({"w": torch.ones(2), "a": np.arange(3)})
    with pytest.raises(pickle.UnpicklingError):
        torch.load(io.BytesIO(data))
    with pytest.raises(UnsafeCheckpointError, match="numpy"):
        load(data)
    back = load(data, weights_only=False)
    assert back["a"].tolist() == [0, 1, 2] and back["w"].tolist() == [1.0, 1.0]
    plain = legacy({"w": torch.ones(2)})
    assert canon(load(plain, weights_only=True)) == canon(load(plain, weights_only=False))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol(protocol):
    buf = io.BytesIO()
    obj = {"w": torch.arange(3.0), "v": [1, "x"]}
    torch.save(obj, buf, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    assert canon(load(buf.getvalue())) == canon(obj)


def test_a_python2_style_file():
    """Python 2's pickles write str as SHORT_BINSTRING: decoded with ``encoding`` (utf-8 by default); with
    ``encoding='bytes'`` the data's strings stay bytes, and the storage ids still work, as in torch."""
    p = LegacyPk().op(b"}(U\x01w")
    p.glob("torch._utils", "_rebuild_tensor_v2").mark()
    p.mark().op(b"U\x07storage").glob("torch", "FloatStorage").op(b"U\x010U\x03cpu").val(4).val(None).tuple().op(b"Q")
    p.val(0).val((4,)).val((1,)).val(False).odict().tuple().reduce().op(b"u")
    data = craft(p.bytes())
    assert load(data)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert load(data, encoding="bytes")[b"w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_whole_module_loads_as_the_zip_format_does():
    """torch.save(model) names the module classes as ('module', class, file, source) persistent ids; the class
    itself is a GLOBAL, so the legacy file loads exactly when the zip one does (never with weights_only)."""
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns it cannot find the source of a class
        data = legacy(m)
        zipped = io.BytesIO()
        torch.save(m, zipped)
    with pytest.raises(UnsafeCheckpointError):
        load(data)
    try:
        want = gs.load(io.BytesIO(zipped.getvalue()), weights_only=False)
    except UnsafeCheckpointError:
        with pytest.raises(UnsafeCheckpointError):
            load(data, weights_only=False)
        return
    got = load(data, weights_only=False)
    assert type(got) is type(want) and canon(got.state_dict()) == canon(want.state_dict())


def test_old_torch_storage_views():
    """torch < 1.6 could save a slice of a storage: view metadata (key, offset, size) in the persistent id."""
    p = LegacyPk().mark().tensor(view=("v", 1, 2), size=(2,)).tensor(view=("v", 1, 2), size=(1,), offset=1)
    p.tensor(size=(4,)).op(b"l")
    a, b, whole = load(craft(p.bytes()))
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [2.0]
    whole[1] = 10.0  # the view shares its root's memory
    assert a.tolist() == [10.0, 2.0]


def test_a_storage_saved_alone():
    t = torch.arange(4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage is deprecated
        data = legacy([t, t.storage()])
    back = load(data)
    assert back[0].tolist() == [0.0, 1.0, 2.0, 3.0] and len(back[1]) == 4


# ---------------------------------------------------------------- gradstep -> torch
def test_gradstep_writes_what_torch_loads(tmp_path):
    gs.manual_seed(0)
    base = gs.arange(12, dtype=gs.float64)
    obj = collections.OrderedDict(
        w=gs.randn(3, 4), t=None, h=gs.randn(5).half(), i=gs.arange(5),
        i32=gs.arange(3, dtype=gs.int32), u=gs.arange(4, dtype=gs.uint8), b=gs.tensor([True, False]),
        p=gs.nn.Parameter(gs.ones(2)), base=base, view=base[2:10:3], scalar=gs.tensor(2.5), empty=gs.empty(0, 3),
        meta={"lr": 0.1, "steps": [1, 2], "name": "x"})
    obj["t"] = obj["w"].t()
    data = gs_legacy(obj)
    assert data.startswith(pickle.dumps(MAGIC, protocol=2))
    theirs = torch.load(io.BytesIO(data))
    assert canon(theirs) == canon(obj) == canon(load(data))
    assert theirs["view"].data_ptr() == theirs["base"].data_ptr() + 2 * 8  # shared, as saved
    assert theirs["t"].untyped_storage().data_ptr() == theirs["w"].untyped_storage().data_ptr()
    assert isinstance(theirs["p"], torch.nn.Parameter)
    gs.save(obj, tmp_path / "x.gs", _use_new_zipfile_serialization=False)  # the flag picks torch's legacy format
    assert canon(torch.load(tmp_path / "x.gs")) == canon(obj)
    gs.save(obj, tmp_path / "y.gs", _use_new_zipfile_serialization=False, format="gradstep")
    assert (tmp_path / "y.gs").read_bytes().startswith(b"GRADSTEP")


def test_gradstep_writes_torch_header_and_bfloat16_bits():
    theirs = legacy({"a": 1})
    ours = gs_legacy({"a": 1})
    header = len(pickle.dumps(MAGIC, protocol=2)) + 6 + 116  # magic, version, sys_info pickles
    assert ours[:header] == theirs[:header] and ours[header:header + 2] == b"\x80\x02"
    bf = gs.randn(5).bfloat16()
    back = torch.load(io.BytesIO(gs_legacy({"bf": bf})))["bf"]
    assert back.dtype == torch.bfloat16 and back.view(torch.int16).numpy().tobytes() == bf._data.tobytes()


def test_untyped_dtypes():
    """torch writes uint16 (and other untyped) storages in the legacy format but cannot read them back
    (its legacy loader asks UntypedStorage for a dtype); gradstep reads torch's file and its own."""
    theirs = legacy({"u16": torch.tensor([0, 1, 2, 3]).to(torch.uint16)})
    assert load(theirs)["u16"].tolist() == [0, 1, 2, 3]
    ours = gs_legacy({"u16": gs.tensor([0, 1, 2, 3]).to(gs.uint16)})
    assert load(ours)["u16"].tolist() == [0, 1, 2, 3] and str(load(ours)["u16"].dtype) == "gradstep.uint16"


# ---------------------------------------------------------------- other formats
def test_the_tar_format_is_refused_with_a_way_out():
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.PAX_FORMAT) as tf:
        entry = tarfile.TarInfo("sys_info")
        entry.size = 3
        tf.addfile(entry, io.BytesIO(b"abc"))
    with pytest.raises(CheckpointError, match="tar format of torch < 0.4.*torch.save\\(torch.load"):
        load(tar.getvalue())


def test_a_bare_pickle_is_still_refused():
    with pytest.raises(UnsafeCheckpointError, match="bare pickle"):
        load(pickle.dumps({"w": 1}, protocol=2))
    with pytest.raises(CheckpointError, match="invalid magic number"):
        load(pickle.dumps(12345, protocol=2))


# ---------------------------------------------------------------- hostile files
def _replace(data, old, new):
    assert data.count(old) >= 1
    return data.replace(old, new, 1)


_GOOD = legacy({"w": torch.arange(4.0)})
_MAGIC_PKL = pickle.dumps(MAGIC, protocol=2)
_DEEP = b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b"."
_NESTED_TUPLES = b"\x80\x02" + b")" + b"\x85" * 3000 + b"."
_EVIL_BODIES = {
    "os.system": LegacyPk().glob("os", "system").val(f"touch {MARKER}").op(b"\x85R").bytes(),
    "posix.system": LegacyPk().glob("posix", "system").val(f"touch {MARKER}").op(b"\x85R").bytes(),
    "builtins.eval": LegacyPk().glob("builtins", "eval").val(f"open({MARKER!r}, 'w')").op(b"\x85R").bytes(),
    "stack_global": b"\x80\x04\x8c\x02os\x8c\x06system\x93" + LegacyPk().val(f"touch {MARKER}").bytes()[2:-1]
                    + b"\x85R.",
}


class _Reduces:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


HOSTILE = [
    ("truncated magic", _GOOD[:9], CheckpointError, "truncated legacy torch checkpoint"),
    ("bad magic", _replace(_GOOD, _MAGIC_PKL, pickle.dumps(MAGIC + 1, protocol=2)), CheckpointError,
     "invalid magic number"),
    ("magic only", _MAGIC_PKL, CheckpointError, "ends before protocol version"),
    ("protocol version", _replace(_GOOD, b"M\xe9\x03.", b"M\xea\x03."), CheckpointError, "invalid protocol version"),
    ("sys_info not a dict", craft(LegacyPk().tensor().bytes(), sys_info=b"\x80\x02K\x01."),
     CheckpointError, "sys_info is a int"),
    ("sys_info reduces", craft(LegacyPk().tensor().bytes(), sys_info=pickle.dumps(_Reduces(), protocol=2)),
     UnsafeCheckpointError, "never allowed"),
    ("keys reduce", tensor_file().replace(pickle.dumps(["0"], protocol=2), pickle.dumps(_Reduces(), protocol=2)),
     UnsafeCheckpointError, "never allowed"),
    ("keys not a list", craft(LegacyPk().tensor().bytes(), keys=pickle.dumps("0", protocol=2), data=b""),
     CheckpointError, "not a list"),
    ("key not listed", craft(LegacyPk().tensor(key="1").bytes()), CheckpointError, "not in the checkpoint's list"),
    ("listed key unused", craft(LegacyPk().tensor().bytes(), keys=("0", "1")), CheckpointError,
     "never uses"),
    ("key listed twice", craft(LegacyPk().tensor().bytes(), keys=("0", "0")), CheckpointError, "twice"),
    ("huge numel", tensor_file(numel=2**62), CheckpointError, "out of range"),
    ("numel past the data", tensor_file(numel=2**40), CheckpointError, "only 24 bytes of storage data"),
    ("negative numel", tensor_file(numel=-1), CheckpointError, "out of range"),
    ("storages claim the same bytes", craft(LegacyPk().mark().tensor().tensor(key="1").op(b"l").bytes(), keys=("0", "1"),
                                            data=struct.pack("<q", 4) + bytes(16)), CheckpointError,
     "storage '1' declares 4 float32 elements .* only 0 bytes"),
    ("count mismatch", craft(LegacyPk().tensor().bytes(), data=struct.pack("<q", 2**62) + bytes(16)),
     CheckpointError, "wrong size"),
    ("truncated data", _GOOD[:-3], CheckpointError, "only 21 bytes .* truncated"),
    ("no count", _GOOD[:-20], CheckpointError, "only 4 bytes .* truncated"),
    ("trailing garbage", _GOOD + b"\x00", CheckpointError, "trailing data"),
    ("negative size", tensor_file(size=(-1,)), CheckpointError, "negative size"),
    ("negative offset", tensor_file(offset=-1), CheckpointError, "invalid storage offset"),
    ("negative stride", tensor_file(size=(2,), stride=(-1,)), CheckpointError, "negative stride"),
    ("overflowing stride", tensor_file(size=(2, 2), stride=(2**62, 1)), CheckpointError, "overflows|need"),
    ("huge size", tensor_file(size=(2**40, 2**40), stride=(0, 0)), CheckpointError, "more bytes than"),
    ("view past storage", tensor_file(size=(5,)), CheckpointError, "need 5 elements"),
    ("offset past storage", tensor_file(offset=4, size=(1,)), CheckpointError, "need 5 elements"),
    ("two dtypes", craft(LegacyPk().mark().tensor().tensor(stype="LongStorage").op(b"l").bytes()),
     CheckpointError, "two dtypes"),
    ("storage view past root", tensor_file(view=("9", 2, 3)), CheckpointError, "reaches past"),
    ("storage view bad", tensor_file(view=("9", -1, 3)), CheckpointError, "out of range"),
    ("view past a storage view", tensor_file(view=("9", 1, 2), size=(3,)), CheckpointError, "need 3 elements"),
    ("five-item pid", craft(Pk().tensor().bytes()), UnsafeCheckpointError, "6-tuples"),
    ("unknown storage type", tensor_file(stype="NopeStorage"), UnsafeCheckpointError, "NopeStorage"),
    ("deep lists", craft(_DEEP, keys=(), data=b""), CheckpointError, "nest|deep"),
    ("deep tuples", craft(_NESTED_TUPLES, keys=(), data=b""), CheckpointError, "nest|deep"),
    ("reduce trick", craft(pickle.dumps(_Reduces(), protocol=2), keys=(), data=b""), UnsafeCheckpointError,
     "never allowed"),
    ("object pickle without STOP", craft(b"\x80\x02]", keys=(), data=b""), CheckpointError, "truncated"),
    ("conj bit", legacy({"c": torch.tensor([1 + 2j]).conj()}), CheckpointError, "conjugate"),
    ("sparse", legacy({"s": torch.eye(2).to_sparse()}), CheckpointError, "sparse tensor"),
] + [(f"global {k}", craft(b, keys=(), data=b""), UnsafeCheckpointError, "never allowed|refusing")
      for k, b in _EVIL_BODIES.items()]


@pytest.mark.parametrize("what,data,error,match", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_legacy_files_raise_checkpoint_errors(what, data, error, match):
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    with leaves_no_trace(), pytest.raises(error, match=match):
        load(data)
    assert not os.path.exists(MARKER)


# ---------------------------------------------------------------- fuzzing
def _same_bools(c):
    """``canon`` output with bool tensors' bytes as 0/1: torch keeps a bool byte of 9 as it is, gradstep
    makes it 1 (NumPy bools must be 0 or 1); both read as True."""
    if type(c) is tuple and len(c) == 6 and c[0] == "T" and c[1] == "bool" and type(c[3]) is bytes:
        return c[:3] + (bytes(int(x != 0) for x in c[3]),) + c[4:]
    if type(c) in (tuple, list):
        return type(c)(_same_bools(x) for x in c)
    return c


def _fuzz_seeds():
    torch.manual_seed(0)
    base = torch.arange(6.0)
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m(torch.ones(1, 2)).sum().backward()
    opt.step()
    objs = [state_dict_sample(), {"b": base, "v": base[1::2], "i": torch.arange(3)},
            {"opt": opt.state_dict(), "h": torch.ones(2, dtype=torch.float16), "f": torch.tensor([True]),
             "e": torch.empty(0), "n": [1, {"x": (2,)}]}]
    return [_stable_legacy(o) for o in objs]


def _stable_legacy(obj):
    """``torch.save(obj, _use_new_zipfile_serialization=False)`` with the storages renamed 0, 1, ... in the order
    the pickle first names them, their data in that order: torch names them by address, which changes from
    run to run, and so would the seeded cases."""
    data = legacy(obj)
    sizes = {}  # torch's key (the storage's address) -> element size

    def walk(o):
        if isinstance(o, torch.Tensor):
            sizes[str(o.untyped_storage()._cdata)] = o.element_size()
        for v in (o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple)) else ()):
            walk(v)

    walk(obj)
    f = io.BytesIO(data)
    for _ in range(4):
        pickletools.dis(f, out=io.StringIO())  # the header and object pickles
    head, keys = data[:f.tell()], pickle.load(f)  # the key list of a file torch just wrote
    chunks, pos = {}, f.tell()
    for k in keys:
        n = 8 + struct.unpack_from("<q", data, pos)[0] * sizes[k]
        chunks[k], pos = data[pos:pos + n], pos + n
    order = sorted(keys, key=lambda k: head.index(k.encode()))
    for i, k in enumerate(order):
        head = head.replace(b"X" + struct.pack("<I", len(k)) + k.encode(), b"X" + struct.pack("<I", len(str(i)))
                            + str(i).encode())
    return head + pickle.dumps([str(i) for i in range(len(order))], protocol=2) + b"".join(chunks[k] for k in order)


def _mutate(rng, data, seeds):
    b = bytearray(data)
    if len(b) < 16:  # (repeated mutations can eat a file)
        return bytes(b) + bytes(rng.randrange(256) for _ in range(8))
    how = rng.randrange(7)
    if how == 0:  # flip bits
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif how == 1:  # truncate
        del b[rng.randrange(len(b)):]
    elif how == 2:  # splice a piece of this or another seed over another place
        src = rng.choice(seeds)
        i, n = rng.randrange(len(src)), rng.randint(1, 64)
        j = rng.randrange(len(b))
        b[j:j + n] = src[i:i + n]
    elif how == 3:  # insert bytes
        j = rng.randrange(len(b))
        b[j:j] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif how == 4:  # an interesting integer over 8 bytes (a count, a numel)
        j = rng.randrange(len(b) - 8)
        b[j:j + 8] = struct.pack("<q", rng.choice([-1, 0, 2**31, 2**40, 2**62, 2**63 - 1]))
    elif how == 5:  # delete a piece
        j = rng.randrange(len(b))
        del b[j:j + rng.randint(1, 32)]
    else:  # flip a bit near the end (mostly the storages' bytes: the file stays valid)
        b[rng.randrange(len(b) * 3 // 4, len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)


def test_fuzzed_legacy_files_load_as_torch_or_raise_checkpoint_error():
    """Every mutated file loads to what torch loads from it, or raises CheckpointError; peak traced memory
    stays within a small multiple of the file (every case is a few KB; the bound leaves room for the
    unpickler's own objects)."""
    seeds = _fuzz_seeds()
    rng = random.Random(1234)
    loaded = refused = 0
    tracemalloc.start()
    try:
        for case in range(600):
            data = _mutate(rng, rng.choice(seeds), seeds)
            tracemalloc.reset_peak()
            try:
                ours = load(data)
            except CheckpointError:
                refused += 1
                continue
            finally:
                peak = tracemalloc.get_traced_memory()[1]
                assert peak < 64 * len(data) + (4 << 20), (case, peak, len(data))
            loaded += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch warns of protocol 0 where a mutation wrote a PROTO 0
                try:
                    theirs = torch.load(io.BytesIO(data))
                except pickle.UnpicklingError:  # an opcode torch's weights_only lacks (MEMOIZE): gradstep
                    # loaded the file, so it names only allowlisted globals, safe for torch's full unpickler
                    theirs = torch.load(io.BytesIO(data), weights_only=False)
            assert _same_bools(canon(ours)) == _same_bools(canon(theirs)), case
    finally:
        tracemalloc.stop()
    assert loaded > 20 and refused > 100, (loaded, refused)  # the mutations reach both outcomes

"""torch-file interop: save picks torch's format by extension, torch reads it, gradstep reads torch's files
(NumPy data and approved classes included), and load takes torch.load's arguments."""

import collections
import io
import os
import pickle

import numpy as np
import pytest
import torch

import gradstep as gs
import gradstep.serialization as S
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, canon, float_records, gradstep_sample, state_dict_sample, torch_zip


class Point:  # a user class, approved in some tests
    def __init__(self, x, y):
        self.x, self.y = x, y


@pytest.mark.parametrize("name,kind", [("m.pt", b"PK"), ("m.pth", b"PK"), ("m.bin", b"PK"), ("m.PT", b"PK"),
                                       ("m.gs", b"GRADSTEP"), ("m.ckpt", b"GRADSTEP"), ("m", b"GRADSTEP")])
def test_format_follows_the_extension(tmp_path, name, kind):
    sd = collections.OrderedDict(w=gs.randn(3, 2), b=gs.zeros(2, dtype=gs.float64), n=gs.tensor(5))
    gs.save(sd, tmp_path / name)
    data = (tmp_path / name).read_bytes()
    assert data.startswith(kind)
    back = gs.load(tmp_path / name)
    assert canon(back) == canon(sd)
    if kind == b"PK":
        t = torch.load(tmp_path / name)  # weights_only=True is torch's default
        assert canon(t) == canon(sd)


def test_explicit_format_wins(tmp_path):
    gs.save({"a": gs.ones(2)}, tmp_path / "x.pt", format="gradstep")
    assert (tmp_path / "x.pt").read_bytes().startswith(b"GRADSTEP")
    gs.save({"a": gs.ones(2)}, tmp_path / "x.gs", format="torch")
    assert torch.load(tmp_path / "x.gs")["a"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="unknown format"):
        gs.save({}, tmp_path / "y.gs", format="zip")


def test_file_objects(tmp_path):
    with open(tmp_path / "f.pt", "wb") as f:  # a named file: the extension decides, as for paths
        gs.save({"a": gs.arange(3)}, f)
    assert torch.load(tmp_path / "f.pt")["a"].tolist() == [0, 1, 2]
    buf = io.BytesIO()  # no name: native
    gs.save({"a": gs.arange(3)}, buf)
    assert buf.getvalue().startswith(b"GRADSTEP")
    buf = io.BytesIO()
    gs.save({"a": gs.arange(3)}, buf, format="torch")
    buf.seek(0)
    assert torch.load(buf)["a"].tolist() == [0, 1, 2]


def test_torch_save_keywords(tmp_path):
    for kw in ({"pickle_protocol": 4}, {"_use_new_zipfile_serialization": False}, {"pickle_module": pickle},
               {"_disable_byteorder_record": True}):
        gs.save({"a": gs.ones(2)}, tmp_path / "k.pt", **kw)
        assert torch.load(tmp_path / "k.pt")["a"].tolist() == [1.0, 1.0]
        assert gs.load(tmp_path / "k.pt")["a"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="pickle_protocol"):
        gs.save({}, tmp_path / "k.pt", pickle_protocol=1)


def test_gradstep_model_state_into_torch(tmp_path):
    gm = gs.nn.Sequential(gs.nn.Linear(3, 4), gs.nn.ReLU(), gs.nn.Linear(4, 2))
    gs.save(gm.state_dict(), tmp_path / "g.pt")
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    tm.load_state_dict(torch.load(tmp_path / "g.pt"))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    # same weights, same float32 ops: agreement to float32 rounding of a 3->4->2 MLP
    np.testing.assert_allclose(gm(gs.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_torch_state_dict_into_gradstep(tmp_path):
    sd = state_dict_sample()
    torch.save(sd, tmp_path / "t.pt")
    back = gs.load(tmp_path / "t.pt")
    assert canon(back) == canon(sd)
    assert back._metadata == sd._metadata
    assert back["expanded"]._data.strides[0] == 0  # stays a view
    assert type(back["param"]).__name__ == "Parameter" and back["param"].requires_grad


def test_numpy_data_in_torch_files(tmp_path):
    obj = {"a": np.arange(6, dtype=np.float64).reshape(2, 3), "f": np.asfortranarray(np.ones((2, 3), np.int16)),
           "s": np.float32(1.5), "i": np.int64(-3), "dt": np.dtype("uint8"), "b": np.array([True, False]),
           "c": np.array([1 + 2j], np.complex64), "empty": np.zeros((0, 3), np.float32)}
    torch.save(obj, tmp_path / "n.pt")
    back = gs.load(tmp_path / "n.pt", weights_only=False)
    assert canon(back) == canon(obj)
    assert back["a"].flags.writeable
    for load in (torch.load, gs.load):  # the default weights_only=True refuses NumPy's globals, as torch's
        with pytest.raises(pickle.UnpicklingError, match="GLOBAL numpy._core.multiarray._reconstruct was not"):
            load(tmp_path / "n.pt")


def test_gradstep_writes_numpy_like_torch(tmp_path):
    obj = gradstep_sample()
    gs.save(obj, tmp_path / "s.pt")
    assert canon(gs.load(tmp_path / "s.pt", weights_only=False)) == canon(obj)
    with torch.serialization.safe_globals([np._core.multiarray._reconstruct, np.ndarray, np.dtype,
                                           type(np.dtype(np.int32)), type(np.dtype(np.int64)),
                                           np._core.multiarray.scalar]):
        t = torch.load(tmp_path / "s.pt")
    assert canon(t["raw"]) == canon(obj["raw"]) and t["w"].tolist() == obj["w"].tolist()


def test_safe_globals_for_user_classes(tmp_path):
    torch.save({"pt": Point(1, [2.5])}, tmp_path / "u.pt")
    name = f"{Point.__module__}.{Point.__qualname__}"
    with pytest.raises(UnsafeCheckpointError, match=rf"(?s)'{name}'.*add_safe_globals\(\[{name}\]\)"):
        gs.load(tmp_path / "u.pt")
    with S.safe_globals([Point]):
        assert Point in S.get_safe_globals()
        back = gs.load(tmp_path / "u.pt")
    assert type(back["pt"]) is Point and back["pt"].x == 1 and back["pt"].y == [2.5]
    assert Point not in S.get_safe_globals()
    with pytest.raises(UnsafeCheckpointError):
        gs.load(tmp_path / "u.pt")
    S.add_safe_globals([(Point, name)])
    try:
        assert gs.load(tmp_path / "u.pt")["pt"].y == [2.5]
    finally:
        S.clear_safe_globals()
    assert S.get_safe_globals() == []
    with pytest.raises(ValueError, match="length 2"):
        S.add_safe_globals([(Point,)])


def test_approved_globals_cannot_reach_the_os():
    S.add_safe_globals([Point])
    try:
        pkl = Pk().glob("os", "system").val(("true",)).reduce().bytes()
        with pytest.raises(UnsafeCheckpointError, match="never allowed"):
            S.add_safe_globals([(print, "os.system")])
            gs.load(io.BytesIO(torch_zip(pkl)))
    finally:
        S.clear_safe_globals()


def _cuda_file():
    p = Pk().glob("torch._utils", "_rebuild_tensor_v2").mark().mark().val("storage").glob("torch", "FloatStorage")
    p.val("0").val("cuda:0").val(4).tuple().op(b"Q").val(0).val((4,)).val((1,)).val(False).odict().tuple().reduce()
    return torch_zip(p.bytes(), float_records())


@pytest.mark.parametrize("ml", ["cpu", gs.device("cpu"), torch.device("cpu"), {"cuda:0": "cpu"},
                                lambda storage, loc: storage, lambda storage, loc: None])
def test_map_location_to_the_cpu(ml):
    data = _cuda_file()
    if isinstance(ml, type(_cuda_file)) and ml(1, 2) is None:
        with pytest.raises(RuntimeError, match="CUDA"):  # None keeps the saved location
            gs.load(io.BytesIO(data), map_location=ml)
        return
    assert gs.load(io.BytesIO(data), map_location=ml).tolist() == [0.0, 1.0, 2.0, 3.0]
    if not isinstance(ml, gs.device):
        assert torch.load(io.BytesIO(data), map_location=ml).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_cuda_locations_raise_like_torch_on_a_cpu_machine():
    data = torch_zip(Pk().tensor().bytes(), float_records())
    for ml in ("cuda", "cuda:0", {"cpu": "cuda:0"}):
        with pytest.raises(RuntimeError):
            torch.load(io.BytesIO(data), map_location=ml)
        with pytest.raises(CheckpointError, match="CUDA"):
            gs.load(io.BytesIO(data), map_location=ml)
    with pytest.raises(CheckpointError, match="CUDA"):
        gs.load(io.BytesIO(_cuda_file()))
    native = io.BytesIO()
    gs.save({"a": gs.ones(1)}, native)
    with pytest.raises(CheckpointError, match="CUDA"):
        gs.load(io.BytesIO(native.getvalue()), map_location="cuda")
    assert gs.load(io.BytesIO(native.getvalue()), map_location="cpu", mmap=True)["a"].tolist() == [1.0]


def test_weights_only_false_loads_with_the_same_safe_rules(tmp_path):
    """torch >= 2.6 programs pass weights_only=False to load their own checkpoints: gradstep
    loads them, and still refuses (with advice) anything that would need code to run."""
    torch.save({"a": torch.ones(2), "epoch": 3, "state": {"lr": 0.1}}, tmp_path / "a.pt")
    got = gs.load(tmp_path / "a.pt", weights_only=False)
    assert got["a"].tolist() == [1.0, 1.0] and got["epoch"] == 3 and got["state"] == {"lr": 0.1}
    assert gs.load(tmp_path / "a.pt", weights_only=True)["epoch"] == 3
    torch.save({"f": os.getcwd}, tmp_path / "code.pt")  # a global function: code to run
    with pytest.raises(UnsafeCheckpointError, match="refusing to load.*\n.*never runs code"):
        gs.load(tmp_path / "code.pt", weights_only=False)
    with pytest.raises(TypeError, match="unexpected keyword"):
        gs.load(tmp_path / "a.pt", nonsense=1)


def test_tensor_and_parameter_attributes_round_trip():
    p = torch.nn.Parameter(torch.ones(2))
    p.foo = 3  # torch writes _rebuild_parameter_with_state
    t = torch.zeros(2)
    t.bar = "x"  # torch writes _rebuild_from_type_v2
    buf = io.BytesIO()
    torch.save({"p": p, "t": t}, buf)
    back = gs.load(io.BytesIO(buf.getvalue()))
    assert back["p"].foo == 3 and back["p"].requires_grad and back["t"].bar == "x"
    assert back["t"].tolist() == [0.0, 0.0]
    bad = Pk().glob("torch._utils", "_rebuild_parameter_with_state").mark().tensor().val(True).odict()
    bad = bad.op(b"}").val("grad").val(1).op(b"s").tuple().reduce().bytes()  # would shadow Tensor.grad
    with pytest.raises(UnsafeCheckpointError, match="refusing to set attribute 'grad'"):
        gs.load(io.BytesIO(torch_zip(bad, float_records())))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy_data_in_every_pickle_protocol(protocol):
    obj = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "f": np.asfortranarray(np.ones((2, 3))),
           "s": np.float64(0.25), "t": torch.arange(3)}
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    assert canon(gs.load(io.BytesIO(buf.getvalue()), weights_only=False)) == canon(obj)


def test_get_unsafe_globals_in_checkpoint(tmp_path):
    torch.save({"pt": Point(1, 2), "c": collections.Counter(a=1), "w": torch.ones(2)}, tmp_path / "u.pt")
    name = f"{Point.__module__}.{Point.__qualname__}"
    assert S.get_unsafe_globals_in_checkpoint(tmp_path / "u.pt") == \
        [g for g in torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "u.pt")] == [name]
    with S.safe_globals([Point]):
        assert S.get_unsafe_globals_in_checkpoint(tmp_path / "u.pt") == []
    buf = io.BytesIO()
    torch.save({"p": Point(1, 2)}, buf, pickle_protocol=4)  # STACK_GLOBAL
    assert S.get_unsafe_globals_in_checkpoint(io.BytesIO(buf.getvalue())) == [name]
    gs.save({"a": 1}, tmp_path / "a.gs")
    assert S.get_unsafe_globals_in_checkpoint(tmp_path / "a.gs") == []


Point2 = collections.namedtuple("Point2", ["x", "y"])


def test_training_objects_saved_beside_weights_round_trip_like_torch(tmp_path):
    """What training scripts put in checkpoints besides tensors: their argparse arguments, sets,
    complex numbers, devices, Counters. gradstep writes them as torch.save does, torch reads
    them (weights_only=False, as it needs for a Namespace), and gradstep reads them back."""
    import argparse

    def sample(L):
        return {"args": argparse.Namespace(lr=0.1, name="run", sizes=[1, 2]), "s": {1, 2},
                "f": frozenset({3}), "c": 1 + 2j, "d": L.device("cpu"),
                "n": collections.Counter(a=2), "w": L.ones(2), "size": L.Size([2, 3])}

    path = tmp_path / "ckpt.pt"
    gs.save(sample(gs), path)
    theirs = torch.load(path, weights_only=False)
    ours = gs.load(path, weights_only=False)
    for L in (torch, gs):  # the default weights_only=True refuses the Namespace first, as torch's
        with pytest.raises(pickle.UnpicklingError, match="GLOBAL argparse.Namespace was not an allowed"):
            L.load(path)
    for got in (theirs, ours):
        assert vars(got["args"]) == {"lr": 0.1, "name": "run", "sizes": [1, 2]}
        assert got["s"] == {1, 2} and got["f"] == frozenset({3}) and got["c"] == 1 + 2j
        assert str(got["d"]) == "cpu" and got["n"] == collections.Counter(a=2)
        assert got["w"].tolist() == [1.0, 1.0] and tuple(got["size"]) == (2, 3)
    torch.save(sample(torch), path)  # and the other way
    back = gs.load(path, weights_only=False)
    assert back["args"].name == "run" and back["s"] == {1, 2} and back["c"] == 1 + 2j


def test_a_namedtuple_saves_and_loads_where_its_class_is_approved(tmp_path):
    path = tmp_path / "nt.pt"
    gs.save({"p": Point2(1, 2)}, path)
    assert torch.load(path, weights_only=False)["p"] == Point2(1, 2)
    with pytest.raises(UnsafeCheckpointError, match="Point2"):
        gs.load(path)
    with S.safe_globals([Point2]):
        assert gs.load(path)["p"] == Point2(1, 2)


def test_torch_save_under_the_hook_writes_torch_format_whatever_the_name(tmp_path):
    """A torch program saving to ``checkpoint.pth.tar`` or a BytesIO gets torch's format, which
    real torch reads back."""
    import subprocess
    import sys

    code = (
        "import gradstep; gradstep.install_as_torch()\n"
        "import io, sys, torch\n"
        "torch.save({'w': torch.ones(2)}, sys.argv[1])\n"
        "buf = io.BytesIO(); torch.save({'w': torch.zeros(1)}, buf)\n"
        "open(sys.argv[1] + '.bytes', 'wb').write(buf.getvalue())\n")
    target = tmp_path / "checkpoint.pth.tar"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    r = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert torch.load(target)["w"].tolist() == [1.0, 1.0]
    assert torch.load(str(target) + ".bytes")["w"].tolist() == [0.0]
    assert gs.load(target)["w"].tolist() == [1.0, 1.0]


def _record_sizes(path):
    import zipfile

    with zipfile.ZipFile(path) as z:
        return sorted(z.getinfo(n).file_size for n in z.namelist() if "/data/" in n)


def test_shared_storages_are_written_once_as_torch_writes_them(tmp_path):
    """Tied weights (GPT-2's lm_head/wte) and views share one storage record: the file is torch's
    (same records, offsets and strides) and the tensors load sharing memory, under either library."""
    emb, head = gs.nn.Embedding(5, 3), gs.nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    sd = gs.nn.ModuleDict({"wte": emb, "lm_head": head}).state_dict()
    base, long = gs.randn(6, 4), gs.randn(50)
    views = {"base": base, "t": base.t(), "row": base[2], "col": base[:, 1],
             "expanded": gs.arange(4.0).expand(3, 4), "slice": long[5:7]}
    theirs = {"base": torch.from_numpy(base.numpy().copy())}
    theirs.update(t=theirs["base"].t(), row=theirs["base"][2], col=theirs["base"][:, 1],
                  expanded=torch.arange(4.0).expand(3, 4), slice=torch.from_numpy(long.numpy().copy())[5:7])
    gs.save({**sd, **views}, tmp_path / "g.pt")
    torch.save({"wte.weight": torch.zeros(5, 3), **theirs}, tmp_path / "t.pt")
    # same records as torch's: the tied pair writes one, the slice its whole storage of 50
    assert _record_sizes(tmp_path / "g.pt") == _record_sizes(tmp_path / "t.pt")
    for load in (gs.load, torch.load):
        back = load(tmp_path / "g.pt", weights_only=True)
        assert back["wte.weight"].data_ptr() == back["lm_head.weight"].data_ptr()
        assert [back[k].stride() for k in ("t", "row", "col", "expanded")] == [(1, 4), (1,), (4,), (0, 1)]
        back["base"][2, 1] = 100.0  # the views see it: one storage, as saved
        assert back["t"][1, 2].item() == back["row"][1].item() == back["col"][2].item() == 100.0
        np.testing.assert_array_equal(np.asarray(back["slice"].tolist()), views["slice"].numpy())

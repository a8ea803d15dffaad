"""gradstep.save / gradstep.load: round trips, corruption, atomicity, torch interop, safety."""

import collections
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
import torch

import gradstep as gs
from gradstep.serialization import CheckpointError, UnsafeCheckpointError


def _sample():
    return collections.OrderedDict(
        model={"w": gs.randn(3, 4), "b": gs.zeros(4, dtype=gs.float64), "idx": gs.arange(5)},
        optimizer={"state": {0: {"step": gs.tensor(3.0), "momentum_buffer": gs.ones(3, 4)}},
                   "param_groups": [{"lr": 0.1, "params": [0, 1], "betas": (0.9, 0.999), "nesterov": False}]},
        epoch=7, best=float("inf"), name="run", none=None, raw=np.arange(6, dtype=np.int32).reshape(2, 3),
        blob=b"\x00\x01", big=2**70, dtype=gs.float16,
    )


def _assert_same(a, b):
    if isinstance(a, gs.Tensor):
        assert isinstance(b, gs.Tensor) and a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b or (a != a and b != b)


def test_round_trip_nested(tmp_path):
    obj = _sample()
    gs.save(obj, tmp_path / "c.gs")
    _assert_same(obj, gs.load(tmp_path / "c.gs"))


def test_shared_tensor_stays_shared(tmp_path):
    w = gs.randn(2, 2)
    gs.save({"a": w, "b": w}, tmp_path / "c.gs")
    back = gs.load(tmp_path / "c.gs")
    assert back["a"] is back["b"]


def test_unsupported_object_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type object"):
        gs.save({"x": object()}, tmp_path / "c.gs")
    assert not (tmp_path / "c.gs").exists()


def test_other_objects_in_torch_format_are_refused_a_whole_module_is_written(tmp_path):
    # torch.save(model, f) as pytorch/examples' word_language_model does: written as torch pickles
    # it (tests/serialization/test_whole_module.py); an arbitrary object is refused, nothing written
    net = gs.nn.Sequential(gs.nn.Linear(2, 3))
    path = tmp_path / "model.pt"
    with pytest.raises(TypeError, match=r"an object of type object in torch format"):
        gs.save({"x": object()}, path)
    assert not path.exists()
    gs.save(net, path)
    assert torch.equal(torch.load(path, weights_only=False)[0].weight, torch.from_numpy(net[0].weight.detach().numpy()))
    gs.save(net.state_dict(), path)  # the state_dict way, read by torch's default load
    assert list(torch.load(path)) == ["0.weight", "0.bias"]


def test_truncated_file_raises(tmp_path):
    p = tmp_path / "c.gs"
    gs.save(_sample(), p)
    data = p.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 1):
        p.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated"):
            gs.load(p)


def test_corrupted_byte_raises(tmp_path):
    p = tmp_path / "c.gs"
    gs.save(_sample(), p)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        gs.load(p)


def test_unknown_file_and_missing_file(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"hello world, not a checkpoint")
    with pytest.raises(CheckpointError, match="not a gradstep or torch checkpoint"):
        gs.load(p)
    with pytest.raises(FileNotFoundError):
        gs.load(tmp_path / "nope.gs")


_SAVER = textwrap.dedent("""
    import sys, gradstep as gs
    path = sys.argv[1]
    i = 0
    print("ready", flush=True)
    while True:
        i += 1
        w = gs.full((512, 512), float(i))
        gs.save({"i": i, "w": w, "check": float(i) * 512 * 512}, path)
""")


def test_killed_while_saving_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "ckpt.gs"
    gs.save({"i": 0, "w": gs.zeros(512, 512), "check": 0.0}, path)
    rng = random.Random(0)
    leftovers = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        back = gs.load(path)
        assert float(back["w"].sum()) == back["check"]
        assert float(back["w"][0, 0]) == back["i"]
        # each saver's first save removes what the previous killed one left: at most one at a time
        tmps = list(tmp_path.glob(".ckpt.gs.*.tmp"))
        assert len(tmps) <= 1
        leftovers += len(tmps)
    # leftover temp files prove some kills landed in the middle of a save
    assert leftovers
    gs.save({"i": 0}, path)
    assert not list(tmp_path.glob(".ckpt.gs.*.tmp"))


def test_checkpoint_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        gs.save({"a": 1}, tmp_path / "a.gs")
        os.umask(0o077)
        gs.save({"a": 1}, tmp_path / "b.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "a.gs").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.pt").stat().st_mode & 0o777 == 0o600


def test_temp_file_of_a_live_process_is_kept(tmp_path):
    live = tmp_path / f".c.gs.{os.getppid()}-abcd.tmp"  # the parent (pytest's launcher) is alive
    mine = tmp_path / f".c.gs.{os.getpid()}-abcd.tmp"  # another thread of this process may be saving
    live.write_bytes(b"x")
    mine.write_bytes(b"x")
    gs.save({"a": 1}, tmp_path / "c.gs")
    assert live.exists() and mine.exists()


def test_torch_reads_what_gradstep_writes(tmp_path):
    p = tmp_path / "m.pt"
    sd = collections.OrderedDict(weight=gs.randn(3, 2), bias=gs.randn(3, dtype=gs.float64),
                                 steps=gs.tensor(5), flag=True, groups=[{"lr": 0.1, "params": [0, 1]}])
    gs.save(sd, p, format="torch")
    t = torch.load(p, weights_only=True)
    assert list(t) == list(sd)
    np.testing.assert_array_equal(t["weight"].numpy(), sd["weight"].numpy())
    assert t["bias"].dtype == torch.float64 and t["steps"].dtype == torch.int64
    assert t["groups"] == [{"lr": 0.1, "params": [0, 1]}] and t["flag"] is True


def test_gradstep_reads_what_torch_writes(tmp_path):
    p = tmp_path / "t.pth"
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    sd = model.state_dict()
    sd["sliced"] = torch.arange(10)[2:8:2]
    torch.save(sd, p)
    back = gs.load(p)
    assert list(back) == list(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())
        assert back[k].dtype.name == str(v.dtype).replace("torch.", "")


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/gradstep_pwned",))


def test_malicious_torch_pickle_is_refused_without_running(tmp_path):
    marker = "/tmp/gradstep_pwned"
    if os.path.exists(marker):
        os.remove(marker)
    p = tmp_path / "evil.pt"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("evil/data.pkl", pickle.dumps({"x": _Evil()}, protocol=2))
        zf.writestr("evil/byteorder", "little")
        zf.writestr("evil/version", "3\n")  # without it, torch and gradstep refuse the file before the pickle
    with pytest.raises(UnsafeCheckpointError, match="refusing to load 'posix.system'|refusing to load 'os.system'"):
        gs.load(p)
    assert not os.path.exists(marker)
    bare = tmp_path / "evil.pkl"
    bare.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(UnsafeCheckpointError):
        gs.load(bare)
    assert not os.path.exists(marker)

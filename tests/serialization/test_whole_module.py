"""torch.save(model, f) / torch.load(f, weights_only=False): whole modules, both ways with real torch.

The PyTorch tutorial's "save the entire model" and pytorch/examples' word_language_model save the
module object. gradstep writes torch's opcodes (class by name, NEWOBJ, BUILD of the attribute dict)
and loads them back only under weights_only=False, creating nn.Module subclasses of imported
modules without running constructors (gradstep/_module_pickle.py).
"""

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import gradstep as gs
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, torch_zip


def _layers(lib):
    nn = lib.nn
    return nn.ModuleDict({
        "seq": nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                             nn.Linear(8, 4), nn.LayerNorm(4), nn.GELU(), nn.Dropout(0.1), nn.Linear(4, 3)),
        "lstm": nn.LSTM(4, 3, 2, batch_first=True), "gru": nn.GRU(4, 3),
        "emb": nn.Embedding(10, 4, padding_idx=0),
        "tf": nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
                                    enable_nested_tensor=False),
        "mha": nn.MultiheadAttention(8, 2), "conv1": nn.Conv1d(4, 4, 3, padding=1),
        "gn": nn.GroupNorm(2, 4), "prelu": nn.PReLU(),
    })


_X = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
_X8 = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
_IMG = np.random.default_rng(2).standard_normal((2, 1, 4, 4)).astype(np.float32)
_RUNS = {
    "seq": lambda m, L: m["seq"](L.tensor(_IMG)),
    "lstm": lambda m, L: m["lstm"](L.tensor(_X))[0],
    "gru": lambda m, L: m["gru"](L.tensor(_X))[0],
    "emb": lambda m, L: m["emb"](L.tensor([[1, 0, 3]])),
    "tf": lambda m, L: m["tf"](L.tensor(_X8)),
    "mha": lambda m, L: m["mha"](L.tensor(_X8), L.tensor(_X8), L.tensor(_X8))[0],
    "conv1": lambda m, L: m["conv1"](L.tensor(_X).transpose(1, 2)),
    "gn": lambda m, L: m["gn"](L.tensor(_X).transpose(1, 2)),
    "prelu": lambda m, L: m["prelu"](L.tensor(_X)),
}


def _pair():
    torch.manual_seed(0)
    tm = _layers(torch).eval()
    gm = _layers(gs).eval()
    gm.load_state_dict({k: gs.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, gm


def _out(t):
    return t.detach().numpy()


# float32 outputs of the same weights: gradstep's and torch's kernels sum in other orders (GEMM
# blocking, LSTM gates); a few ulps of values of size ~1 after a handful of layers
_TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("direction", ["gradstep->torch", "torch->gradstep"])
def test_standard_layers_load_across_libraries(direction):
    tm, gm = _pair()
    gs.zeros(2, dtype=gs.uint16).view(gs.int16)  # the limited dtypes' op wrappers (installed at first use)
    buf = io.BytesIO()
    if direction == "gradstep->torch":  # ... do not hide an activation's public name
        gs.save(gm, buf, format="torch")
        loaded, lib = torch.load(io.BytesIO(buf.getvalue()), weights_only=False), torch
    else:
        torch.save(tm, buf)
        loaded, lib = gs.load(io.BytesIO(buf.getvalue()), weights_only=False), gs
    assert type(loaded).__name__ == "ModuleDict" and isinstance(loaded, lib.nn.Module)
    assert list(loaded.state_dict()) == list(tm.state_dict())
    for name, run in _RUNS.items():
        np.testing.assert_allclose(_out(run(loaded, lib)), _out(run(tm, torch)), **_TOL, err_msg=name)


def test_default_weights_only_refuses_a_model_as_torch_does():
    buf = io.BytesIO()
    gs.save(gs.nn.Sequential(gs.nn.Linear(2, 3)), buf)
    assert buf.getvalue().startswith(b"PK")  # an unnamed stream gets torch's format for a module
    with pytest.raises(UnsafeCheckpointError, match="Weights only load failed") as e:
        gs.load(io.BytesIO(buf.getvalue()))
    assert "torch.nn.modules.container.Sequential" in str(e.value)
    with pytest.raises(Exception, match="Weights only load failed"):  # torch says the same
        torch.load(io.BytesIO(buf.getvalue()))


class Net(gs.nn.Module):
    """A user model: tied weights, a shared submodule, a function attribute, a non-parameter tensor."""

    def __init__(self):
        super().__init__()
        self.encoder = gs.nn.Embedding(20, 8)
        self.rnn = gs.nn.LSTM(8, 8)
        self.decoder = gs.nn.Linear(8, 20)
        self.decoder.weight = self.encoder.weight
        self.shared = self.decoder
        self.act = gs.nn.functional.log_softmax
        self.register_buffer("scale", gs.tensor([2.0]))
        self.note = {"epochs": 3, "lr": 0.5}

    def forward(self, x):
        out, _ = self.rnn(self.encoder(x))
        return self.act(self.shared(out) * self.scale, dim=-1)


def test_a_user_model_round_trips_with_its_sharing(tmp_path):
    gs.manual_seed(0)
    net = Net()
    x = gs.randint(0, 20, (5, 2))
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        gs.save(net, f)
    back = gs.load(path, weights_only=False)
    assert type(back) is Net and back.shared is back.decoder
    assert back.decoder.weight is back.encoder.weight
    assert back.act is gs.nn.functional.log_softmax and back.note == {"epochs": 3, "lr": 0.5}
    assert gs.equal(back(x), net(x))
    back(x).sum().backward()  # a trainable model: gradients reach the loaded parameters
    assert back.encoder.weight.grad is not None


def test_a_module_inside_a_checkpoint_dict_and_the_gs_format(tmp_path):
    net = gs.nn.Linear(2, 2)
    ckpt = {"model": net, "epoch": 3}
    buf = io.BytesIO()
    gs.save(ckpt, buf)
    back = gs.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert back["epoch"] == 3 and gs.equal(back["model"].weight, net.weight)
    with pytest.raises(TypeError, match=r"whole module \(Linear\) in gradstep's \.gs format.*format='torch'"):
        gs.save(net, tmp_path / "m.gs")


def test_lambdas_and_local_classes_are_refused_as_pickle_refuses_them():
    import pickle

    net = gs.nn.Linear(2, 2)
    net.act = lambda t: t
    with pytest.raises(pickle.PicklingError, match="lambda"):
        gs.save(net, io.BytesIO(), format="torch")

    class Local(gs.nn.Module):
        pass

    with pytest.raises(pickle.PicklingError, match="local"):
        gs.save(Local(), io.BytesIO(), format="torch")


_MODEL_SRC = """
import torch
import torch.nn as nn
import torch.nn.functional as F


def swish(x):
    return x * torch.sigmoid(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 16, 5)
        self.act = swish

    def forward(self, x):
        return F.log_softmax(self.fc(self.act(self.conv(x)).flatten(1)), dim=1)
"""


def _run(tmp_path, code, *launcher):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    proc = subprocess.run([sys.executable, *launcher, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_a_user_model_class_across_gradstep_run_and_torch(tmp_path):
    """The same program file saves under `gradstep run` and loads under real torch, and back."""
    (tmp_path / "mymodel.py").write_text(_MODEL_SRC)
    np.save(tmp_path / "x.npy", _IMG)
    save = """
        import sys, numpy as np, torch
        from mymodel import Net
        torch.manual_seed(0)
        net = Net()
        torch.save(net, sys.argv[0] + ".pt")
        np.save(sys.argv[0] + ".out.npy", net(torch.from_numpy(np.load("x.npy"))).detach().numpy())
    """
    load = """
        import glob, numpy as np, torch
        import mymodel
        for path in glob.glob("*.pt"):
            net = torch.load(path, weights_only=False)
            got = net(torch.from_numpy(np.load("x.npy"))).detach().numpy()
            want = np.load(path[:-3] + ".out.npy")
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
            print(type(net).__module__, type(net).__name__, net.act.__name__)
    """
    _run(tmp_path, save, "-m", "gradstep", "run")
    assert _run(tmp_path, load).split() == ["mymodel", "Net", "swish"]  # torch loads gradstep's file
    (tmp_path / "script.py.pt").unlink()
    _run(tmp_path, save)  # torch saves ...
    assert _run(tmp_path, load, "-m", "gradstep", "run").split() == ["mymodel", "Net", "swish"]


# ---------------------------------------------------------------- hostile files under weights_only=False
def _load_pickle(pkl):
    return gs.load(io.BytesIO(torch_zip(bytes(pkl))), weights_only=False)


def _module(pk, module="torch.nn.modules.linear", name="Linear"):
    return pk.glob(module, name)


def test_a_module_class_is_only_created_empty():
    # NEWOBJ with arguments, or REDUCE (a call of the class): __init__ never runs with file arguments
    with pytest.raises(UnsafeCheckpointError, match="only created empty"):
        _load_pickle(_module(Pk()).val((10**9, 10**9)).op(b"\x81.").b)
    with pytest.raises(UnsafeCheckpointError, match="only created empty"):
        _load_pickle(_module(Pk()).val((2, 2)).reduce().op(b".").b)


def test_a_module_state_must_be_an_attribute_dict():
    with pytest.raises(CheckpointError, match="must be a dict of attribute names"):
        _load_pickle(_module(Pk()).op(b")\x81").val([1, 2]).build().op(b".").b)
    with pytest.raises(CheckpointError, match="must be a dict of attribute names"):
        _load_pickle(_module(Pk()).op(b")\x81").val({1: 2}).build().op(b".").b)


@pytest.mark.parametrize("module,name", [
    ("os", "system"), ("posix", "system"), ("shutil", "rmtree"), ("json", "dumps"),
    ("subprocess", "Popen"), ("builtins", "eval"), ("argparse", "ArgumentParser"),
    ("tests.serialization.not_a_module", "Net"), ("gradstep", "Tensor"), ("torch.serialization", "pickle"),
])
def test_other_globals_stay_refused_under_weights_only_false(module, name):
    with pytest.raises(UnsafeCheckpointError):
        _load_pickle(Pk().glob(module, name).op(b")\x81.").b)


def test_a_function_is_a_value_never_called():
    # a function may be an attribute's value (an activation); REDUCE on it is refused
    got = _load_pickle(Pk().glob("torch.nn.functional", "relu").op(b".").b)
    assert got is gs.nn.functional.relu
    with pytest.raises(UnsafeCheckpointError, match="not a constructor"):
        _load_pickle(Pk().glob("torch.nn.functional", "relu").val((1,)).reduce().op(b".").b)


def test_a_user_class_that_rejects_its_state_is_a_checkpoint_error():
    buf = io.BytesIO()
    gs.save(_Picky(), buf, format="torch")
    with pytest.raises(CheckpointError, match="setting the state of module _Picky raised ValueError"):
        gs.load(io.BytesIO(buf.getvalue()), weights_only=False)


class _Picky(gs.nn.Module):
    def __setstate__(self, state):
        raise ValueError("no")

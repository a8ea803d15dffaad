"""``install_as_torch()`` and ``gradstep run``: ``import torch`` gives gradstep's own modules.

The pytest process has the real torch imported (it is the oracle of other tests), so
the hook must refuse here; everything that installs it runs in a fresh subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch  # noqa: F401 - the real one, imported on purpose

import gradstep

REQUIRED = [
    "nn", "nn.functional", "nn.init", "nn.utils", "nn.modules", "nn.parameter", "optim",
    "optim.optimizer", "optim.lr_scheduler", "utils", "utils.data", "utils.data.dataloader",
    "autograd", "distributed", "cuda", "backends", "backends.cudnn", "backends.cuda", "onnx", "jit",
    "serialization", "mps", "xpu", "accelerator", "multiprocessing", "version", "_C",
    "fx", "jit.annotations",  # imported by timm at module level
]
# added by other parts of the work; mapped by the same rule once they exist
OPTIONAL = ["amp", "cuda.amp", "cpu", "cpu.amp", "nn.utils.rnn", "testing", "distributions",
            "linalg"]


def _python(code, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=env)


def test_refuses_when_the_real_torch_is_imported():
    assert sys.modules["torch"].__file__.startswith(os.path.dirname(os.path.dirname(torch.__file__)))
    with pytest.raises(gradstep.TorchAlreadyImportedError, match="real torch is already imported"):
        gradstep.install_as_torch()
    assert sys.modules["torch"] is torch and not gradstep.is_torch_hook_installed()
    assert gradstep.__version__ == "0.1.0"


def test_every_torch_module_is_the_gradstep_module():
    r = _python("""
        import importlib, importlib.util, json, sys
        import gradstep
        gradstep.install_as_torch()
        gradstep.install_as_torch()  # twice is harmless
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from torch.utils.data import DataLoader, TensorDataset
        out = {"torch": sys.modules["torch"] is gradstep and torch is gradstep,
               "isinstance": isinstance(nn.Linear(2, 2), gradstep.nn.Module),
               "F": F is gradstep.nn.functional, "DataLoader": DataLoader is gradstep.utils.data.DataLoader,
               "version": torch.__version__, "same": {}, "missing": {}}
        for name in sys.argv[1].split(","):
            if importlib.util.find_spec("gradstep." + name) is None:
                try:
                    importlib.import_module("torch." + name)
                    out["missing"][name] = "imported"
                except ModuleNotFoundError as e:
                    out["missing"][name] = [e.name, str(e)]
                continue
            mod = importlib.import_module("torch." + name)
            attr = torch
            for part in name.split("."):
                attr = getattr(attr, part)
            out["same"][name] = (mod is importlib.import_module("gradstep." + name)) and attr is mod
        print(json.dumps(out))
    """, ",".join(REQUIRED + OPTIONAL))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["torch"] and out["isinstance"] and out["F"] and out["DataLoader"]
    assert out["version"] == "2.13.0+gradstep.0.1.0"
    for name in REQUIRED:
        assert out["same"].get(name) is True, name
    for name in OPTIONAL:  # either mapped to the very same module or a clean ModuleNotFoundError
        if name in out["same"]:
            assert out["same"][name] is True, name
        else:
            e_name, msg = out["missing"][name]
            assert e_name == "torch." + name and "gradstep" in msg and f"'torch.{name}'" in msg


def test_unknown_module_and_uninstall():
    r = _python("""
        import sys
        import gradstep
        gradstep.install_as_torch()
        import torch
        try:
            import torch.no_such_module
        except ModuleNotFoundError as e:
            print("E", e.name, "|", e)
        try:
            from torch.cuda import no_such_thing
        except ImportError as e:
            print("I", type(e).__name__)
        import torch.nn
        gradstep.uninstall_torch_hook()
        print("U", "torch" in sys.modules, "torch.nn" in sys.modules, gradstep.__version__,
              gradstep.is_torch_hook_installed(), gradstep.nn.Linear.__module__)
    """)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("E torch.no_such_module | No module named 'torch.no_such_module'")
    assert "gradstep" in lines[0] and "'gradstep.no_such_module'" in lines[0]
    assert lines[1] == "I ImportError"
    assert lines[2] == "U False False 0.1.0 False gradstep.nn.modules.linear"


def test_version_parses_and_compares_like_torchs():
    pytest.importorskip("packaging")
    from packaging.version import Version

    v = gradstep.version.torch_version
    assert Version(v) == Version("2.13.0+gradstep.0.1.0") and Version(v).release == (2, 13, 0)
    theirs = torch.__version__  # TorchVersion("2.13.0+cpu")
    for other in ["2.2", "2.13", "2.14", "1.12.1", "3.0", (2, 0), (2, 13), (2, 14, 0), [1, 8]]:
        assert (v >= other, v < other, v > other) == (theirs >= other, theirs < other, theirs > other), other
    assert v.split(".")[:2] == theirs.split(".")[:2] and isinstance(v, str)


SCRIPT = """
import sys
import helper_mod  # beside the script: sys.path[0] is the script's folder
import torch
import torch.nn as nn
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cudnn.benchmark = True
model = nn.Linear(3, 2).to(device)
print("argv", sys.argv[1:], "name", __name__, "device", device, helper_mod.VALUE)
if "--fail" in sys.argv:
    raise ValueError("the program failed")
sys.exit(int(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else 0)
"""


@pytest.fixture
def script(tmp_path):
    (tmp_path / "helper_mod.py").write_text("VALUE = 'helper'\n")
    path = tmp_path / "prog.py"
    path.write_text(SCRIPT)
    return str(path)


@pytest.mark.parametrize("launcher", [["-m", "gradstep"], ["-c", "import sys; from gradstep.cli "
                                                                  "import main; sys.exit(main())"]])
def test_run_passes_args_and_exit_status(script, tmp_path, launcher):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [sys.executable, *launcher, "run", script, "--lr", "3", "--code", "7"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path.parent, env=env)
    assert r.returncode == 7, r.stderr
    assert r.stdout.strip() == "argv ['--lr', '3', '--code', '7'] name __main__ device cpu helper"


def test_run_prints_the_programs_traceback(script, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    r = subprocess.run([sys.executable, "-m", "gradstep", "run", script, "--fail"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1
    assert r.stderr.startswith("Traceback (most recent call last):\n")
    assert f'File "{script}", line 11, in <module>' in r.stderr
    assert r.stderr.rstrip().endswith("ValueError: the program failed")
    assert "runpy" not in r.stderr and "cli.py" not in r.stderr


def test_run_missing_script_is_one_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    r = subprocess.run([sys.executable, "-m", "gradstep", "run", str(tmp_path / "nope.py")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "can't open file" in r.stderr


SPAWN_SCRIPT = """
import multiprocessing as mp
import sys
import torch


def child(q):
    import torch
    q.put(torch.__name__)


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    print(torch.__name__, q.get(timeout=100))
    p.join()
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_run_spawned_children_get_gradstep_too(tmp_path, method):
    # a spawned (or forkserver) child re-imports the script before running; its import torch
    # must be gradstep (forkserver is Python 3.14's default start method on Linux)
    path = tmp_path / "spawner.py"
    path.write_text(SPAWN_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    r = subprocess.run([sys.executable, "-m", "gradstep", "run", str(path), method],
                       capture_output=True, text=True, timeout=200, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["gradstep", "gradstep"]


def test_dtype_and_size_print_as_torch_under_the_hook():
    code = """
        import sys
        if sys.argv[1] == "gradstep":
            import gradstep
            gradstep.install_as_torch()
        import torch
        t = torch.zeros(2, 3, dtype=torch.float64)
        print(repr(t.shape), str(t.dtype), repr(torch.int64), torch.Size([4]), f"{t.dtype}")
        print(repr(t[0]), torch.zeros(0, dtype=torch.int32), torch.max(t, 1), torch.sort(t[0]))
        if sys.argv[1] == "gradstep":
            gradstep.uninstall_torch_hook()
            print(repr(gradstep.float32), repr(gradstep.Size([1])))
    """
    ours, theirs = _python(code, "gradstep"), _python(code, "torch")
    assert ours.returncode == 0 and theirs.returncode == 0, ours.stderr + theirs.stderr
    assert ours.stdout.splitlines()[:-1] == theirs.stdout.strip().splitlines()
    assert ours.stdout.splitlines()[-1] == "gradstep.float32 gradstep.Size([1])"


def test_run_gives_the_script_python_s_file_argv_and_main(tmp_path):
    """``__file__`` absolute (Python 3.9+), ``sys.argv[0]`` as typed, the script's folder first
    on ``sys.path``, ``__name__``/``__spec__``/``__doc__`` as ``python SCRIPT`` sets them."""
    (tmp_path / "show.py").write_text(
        '"""doc"""\nimport os, sys, torch\n'
        'print(__file__, sys.argv, sys.path[0], __name__, __spec__, __doc__, '
        'type(__loader__).__name__, sys.modules["__main__"].__file__ == __file__)\n')
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    runs = [subprocess.run(cmd + ["show.py", "x"], capture_output=True, text=True, timeout=120,
                           env=env, cwd=tmp_path)
            for cmd in ([sys.executable], [sys.executable, "-m", "gradstep", "run"])]
    assert all(r.returncode == 0 for r in runs), runs[1].stderr
    assert runs[1].stdout == runs[0].stdout
    assert runs[0].stdout.startswith(str(tmp_path / "show.py") + " ['show.py', 'x']")


_PRINT_TYPES = """
    import pickle
    {prelude}
    import torch
    import torch.distributions
    x = torch.zeros(2)
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for o in (x, m.weight, m, opt, x.shape, x.dtype, x.device, torch.finfo(torch.float32),
              torch.no_grad(), torch.utils.data.DataLoader([1, 2]), torch.Generator(),
              torch.distributions.Normal(0.0, 1.0), torch.optim.lr_scheduler.StepLR(opt, 1),
              torch.nn.Sequential(), torch.nn.CrossEntropyLoss(), torch.nn.utils.rnn.PackedSequence):
        print(o if isinstance(o, type) else type(o))
    print(type(pickle.loads(pickle.dumps(m))))
    {after}
"""


def test_classes_print_torch_names_under_the_hook_and_theirs_after():
    """Tutorials print ``type(x)``: under the hook gradstep's classes carry torch's module
    names (``<class 'torch.Tensor'>``); exceptions keep gradstep's; uninstalling restores."""
    ours = _python(_PRINT_TYPES.format(prelude="import gradstep; gradstep.install_as_torch()", after="""
    try:
        torch.zeros(2).view(3)
    except RuntimeError as e:
        print(type(e).__module__.split(".")[0])
    gradstep.uninstall_torch_hook()
    print(type(gradstep.zeros(1)), gradstep.nn.Linear.__module__, gradstep.Size.__module__)
    """))
    theirs = _python(_PRINT_TYPES.format(prelude="", after=""))
    assert ours.returncode == 0, ours.stderr
    assert theirs.returncode == 0, theirs.stderr
    lines = ours.stdout.splitlines()
    assert lines[:-2] == theirs.stdout.splitlines()
    assert lines[-2] in ("builtins", "gradstep")  # never torch's name for gradstep's error
    assert lines[-1] == "<class 'gradstep._tensor.Tensor'> gradstep.nn.modules.linear gradstep._size"


def test_renamed_classes_keep_working_where_gradstep_tells_them_apart():
    """gradstep code that recognises its own classes by module asks _class_names.home: under
    the hook an optimizer still refuses a sparse gradient with torch's message, and a pytree
    module imported after the hook still treats torch.return_types as nodes of their own."""
    r = _python("""
        import gradstep
        gradstep.install_as_torch()
        import torch
        import torch.utils._pytree as pytree
        emb = torch.nn.Embedding(4, 2, sparse=True)
        emb(torch.tensor([1, 2])).sum().backward()
        try:
            torch.optim.Adam(emb.parameters()).step()
        except RuntimeError as e:
            print(e)
        leaves, spec = pytree.tree_flatten(torch.max(torch.ones(2, 3), 1))
        print(len(leaves), spec.type.__name__, spec.context)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "Adam does not support sparse gradients, please consider SparseAdam instead",
        "2 max None"]

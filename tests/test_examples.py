"""Every example in examples/ runs (short settings) and prints what it promises."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(name, *args, epochs="2"):
    env = dict(os.environ, EPOCHS=epochs)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *args], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_seed_loop_trains():
    out = _run("seed_loop.py", epochs="6")
    losses = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("epoch")]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert float(out.splitlines()[-1].split()[-1].rstrip("%")) > 80


def test_seed_loop_runs_under_real_torch(tmp_path):
    torch = pytest.importorskip("torch")  # noqa: F841
    src = open(os.path.join(ROOT, "examples", "seed_loop.py")).read().replace("import gradstep as torch",
                                                                              "import torch")
    script = tmp_path / "seed_loop_torch.py"
    script.write_text(src)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, EPOCHS="3"))
    assert proc.returncode == 0, proc.stderr


def test_cnn_example_on_bundled_digits():
    out = _run("cnn_mnist.py", epochs="2")
    assert "bundled 8x8 digits" in out and "epoch 2" in out


def test_accumulate_example():
    out = _run("accumulate.py", epochs="3")
    assert "max parameter difference" in out


def test_demo_example():
    out = _run("demo.py")
    assert "learned w" in out

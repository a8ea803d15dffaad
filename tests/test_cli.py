"""The ``gradstep`` command: train, resume, eval, info, and one-line errors for bad input."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import gradstep as gs
from gradstep.cli import main
from gradstep.training.config import TrainConfig
from gradstep.training.loop import run


def _cli(*args):
    proc = subprocess.run([sys.executable, "-m", "gradstep", *args], capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_default_train_reaches_97_percent(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--no-progress"]) == 0  # the defaults: SGD, lr 0.1, batch 16
    for name in ("config.json", "metrics.csv", "checkpoint.gs", "best.gs"):
        assert (out / name).exists(), name
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    accs = [float(r["test_acc"]) for r in rows]
    assert len(rows) == 20 and max(accs) >= 0.97 and accs[-1] >= 0.96
    cfg = json.load(open(out / "config.json"))
    assert cfg["optimizer"] == "SGD" and cfg["epochs"] == 20 and cfg["model"] == "mlp"


def _weights(path):
    return gs.load(path)["model"]


def test_resume_is_bit_for_bit(tmp_path):
    cfg = dict(epochs=4, batch_size=64, scheduler="OneCycleLR", optimizer="Adam", lr=0.01, momentum=None,
               weight_decay=None)
    full, part = tmp_path / "full", tmp_path / "part"
    run(TrainConfig(out=str(full), **cfg), str(full), printer=lambda *a: None, progress=False)
    run(TrainConfig(out=str(part), **cfg), str(part), printer=lambda *a: None, progress=False, stop_after=2)
    assert gs.load(part / "checkpoint.gs")["epoch"] == 2
    assert main(["train", "--resume", str(part), "--no-progress"]) == 0
    a, b = _weights(full / "checkpoint.gs"), _weights(part / "checkpoint.gs")
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    assert list(csv.DictReader(open(full / "metrics.csv")))[-1]["test_loss"] == \
        list(csv.DictReader(open(part / "metrics.csv")))[-1]["test_loss"]


def test_accumulate_clip_and_other_optimizer(tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["train", "--out", str(out), "--epochs", "2", "--accumulate", "2", "--clip-grad-norm", "1.0",
                 "--optimizer", "RMSprop", "--lr", "0.001", "--scheduler", "StepLR", "--sched-arg", "step_size=1",
                 "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "epoch   2/2" in text and "RMSprop" in text


def test_eval_and_info(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--out", str(out), "--epochs", "2", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "confusion matrix" in text
    matrix = [line.split() for line in text.splitlines()[-10:]]
    assert sum(int(v) for row in matrix for v in row[1:]) == 359
    assert main(["info", str(out / "best.gs")]) == 0
    assert "model mlp on digits" in capsys.readouterr().out


@pytest.mark.parametrize("args,needle", [
    (["train", "--optimizer", "Adamm"], "unknown optimizer 'Adamm' (did you mean 'Adam'?); valid: ASGD"),
    (["train", "--optimizer", "Adam", "--nesterov"], "Adam does not take nesterov; it takes:"),
    (["train", "--scheduler", "Nope"], "unknown scheduler 'Nope' (did you mean 'none'?); valid:"),
    (["train", "--data", "mnist:/no/such/dir"], "data folder '/no/such/dir' does not exist"),
    (["train", "--config", "/no/such.toml"], "config file '/no/such.toml' does not exist"),
    (["eval", "/no/such/run"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    code, out, err = _cli(*args, "--no-progress") if args[0] == "train" else _cli(*args)
    assert code == 2, err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreadable_config_and_other_model_checkpoint(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = [unclosed")
    code, _, err = _cli("train", "--config", str(bad))
    assert code == 2 and "cannot read config file" in err and "Traceback" not in err
    out = tmp_path / "r"
    assert main(["train", "--out", str(out), "--epochs", "1", "--no-progress"]) == 0
    code, _, err = _cli("train", "--resume", str(out), "--model", "cnn", "--no-progress")
    assert code == 2 and "differ from the run's: model 'mlp' -> 'cnn'" in err and "Traceback" not in err


def test_config_file_values_and_flag_override(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('epochs = 1\nbatch_size = 128\noptimizer = "Adam"\nlr = 0.002\n')
    out = tmp_path / "r"
    assert main(["train", "--config", str(cfg), "--lr", "0.003", "--out", str(out), "--no-progress",
                 "--opt-arg", "amsgrad=True"]) == 0
    saved = json.load(open(out / "config.json"))
    assert saved["batch_size"] == 128 and saved["lr"] == 0.003 and saved["opt_args"] == {"amsgrad": True}
    assert os.path.exists(out / "checkpoint.gs")


def test_info_shows_a_torch_checkpoint_holding_numpys_rng_state(tmp_path, capsys):
    """What resumable training scripts save: `gradstep info` reads it as weights_only=False would
    (NumPy data is data; the default weights_only=True load refuses it, as torch's)."""
    path = tmp_path / "ckpt.pt"
    gs.save({"epoch": 4, "w": gs.ones(2), "np_rng": np.random.RandomState(0).get_state()}, path)
    with pytest.raises(gs.serialization.UnsafeCheckpointError, match="GLOBAL numpy"):
        gs.load(path)
    assert main(["info", str(path)]) == 0
    assert "np_rng" in capsys.readouterr().out

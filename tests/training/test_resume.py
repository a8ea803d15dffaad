"""``gradstep train --resume``: extending a finished run, and config.json rewritten atomically."""

import csv
import json
import os

import numpy as np
import pytest

import gradstep as gs
from gradstep import cli


@pytest.fixture
def tiny_csv(tmp_path):
    path = tmp_path / "tiny.csv"
    rows = [f"{i % 3 + (i * 7 % 10) / 10},{(i * 3 % 10) / 10},{i % 3}" for i in range(30)]
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    return f"csv:{path}:y"


def _train(data, out, *args):
    assert cli.main(["train", "--data", data, "--out", str(out), "--no-progress", *map(str, args)]) == 0


def _lrs(run):
    return [float(r["lr"]) for r in csv.DictReader(open(run / "metrics.csv"))]


@pytest.mark.parametrize("sched", [
    ["--scheduler", "StepLR", "--sched-arg", "step_size=1", "--sched-arg", "gamma=0.5"],
    ["--scheduler", "ExponentialLR"],
    ["--scheduler", "none"],
    ["--scheduler", "CosineAnnealingLR", "--sched-arg", "T_max=10"],  # ends after epoch 4: may extend
])
def test_extending_a_finished_run_continues_its_schedule(tiny_csv, tmp_path, sched):
    """2 epochs, then --resume --epochs 4: the same weights and lrs as 4 epochs in one go."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    _train(tiny_csv, whole, "--epochs", 4, *sched)
    _train(tiny_csv, part, "--epochs", 2, *sched)
    _train(tiny_csv, part, "--resume", part, "--epochs", 4)
    assert json.loads((part / "config.json").read_text())["epochs"] == 4
    assert _lrs(part) == _lrs(whole) and len(set(_lrs(whole))) == (1 if "none" in sched else 4)
    a, b = gs.load(whole / "checkpoint.gs"), gs.load(part / "checkpoint.gs")
    assert a["epoch"] == b["epoch"] == 4
    for k in a["model"]:
        np.testing.assert_array_equal(a["model"][k].numpy(), b["model"][k].numpy(), err_msg=k)


def test_config_json_survives_a_kill_while_it_is_rewritten(tiny_csv, tmp_path, monkeypatch):
    """A failure between writing the new config.json and putting it in place keeps the old one."""
    run = tmp_path / "run"
    _train(tiny_csv, run, "--epochs", 2, "--scheduler", "StepLR", "--sched-arg", "step_size=1")
    before = (run / "config.json").read_text()
    real_replace = os.replace

    def killed(src, dst):
        if str(dst).endswith("config.json"):
            raise KeyboardInterrupt  # as a Ctrl-C or kill would land in the middle of the write
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed)
    assert cli.main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 130
    monkeypatch.setattr(os, "replace", real_replace)
    assert (run / "config.json").read_text() == before  # intact, not truncated
    assert not [n for n in os.listdir(run) if n.endswith(".tmp")]  # the temporary file is removed
    _train(tiny_csv, run, "--resume", run, "--epochs", 3)  # and the run can still be resumed
    assert json.loads((run / "config.json").read_text())["epochs"] == 3
    assert gs.load(run / "checkpoint.gs")["epoch"] == 3


@pytest.mark.parametrize("ckpt,needle", [
    ({"epochs": 2}, "the checkpoint is not a gradstep train checkpoint"),
    ({"format": "gradstep-train/1", "model_name": "mlp"}, "the checkpoint is a damaged gradstep train checkpoint"),
])
def test_run_checks_what_it_resumes_from(tiny_csv, tmp_path, ckpt, needle):
    from gradstep.training.config import TrainConfig, UsageError
    from gradstep.training.loop import run

    with pytest.raises(UsageError, match=needle):
        run(TrainConfig(data=tiny_csv, epochs=1), str(tmp_path / "r"), resume=ckpt, printer=lambda *a: None)
    assert not (tmp_path / "r").exists()

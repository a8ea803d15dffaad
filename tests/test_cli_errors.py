"""Every bad input a new user can give ``gradstep`` is one line on stderr and exit status 2.

Each case runs ``cli.main(argv)`` in this process (a traceback would fail the test
as an exception) and checks the status, that stderr is exactly one line without
"Traceback", and a substring that names the problem. Training runs use a 30-row
CSV and one or two epochs, so each takes a fraction of a second.
"""

import os
import shutil
import subprocess
import sys

import pytest

import gradstep as gs
from gradstep import cli


def _csv(path, rows, header="a,b,y"):
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A folder with a good 30-row, 3-class CSV (tiny.csv) and one finished 2-epoch run (run/)."""
    d = tmp_path_factory.mktemp("cli")
    _csv(d / "tiny.csv", [f"{i % 3 + (i * 7 % 10) / 10},{(i * 3 % 10) / 10},{i % 3}" for i in range(30)])
    assert cli.main(["train", "--data", f"csv:{d / 'tiny.csv'}:y", "--epochs", "2", "--out", str(d / "run"),
                     "--no-progress"]) == 0
    return d


def _error(capsys, argv, status=2):
    capsys.readouterr()
    assert cli.main([str(a) for a in argv]) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def _train(data, *args):
    return ["train", "--data", f"csv:{data / 'tiny.csv'}:y", "--epochs", "1", "--no-progress",
            "--out", str(data / "scratch"), *args]


@pytest.mark.parametrize("args,needle", [
    (["--scheduler", "StepLR", "--sched-arg", "step_size=x"],
     "--sched-arg step_size=x: StepLR's step_size expects an integer, got 'x'"),
    (["--opt-arg", "nesterov=maybe"],
     "--opt-arg nesterov=maybe: SGD's nesterov expects a bool (true/false/yes/no/1/0), got 'maybe'"),
    (["--optimizer", "Adam", "--opt-arg", "betas=0.9"], "Adam's betas expects a tuple of 2 numbers"),
    (["--opt-arg", "nesterv=1"], "SGD does not take 'nesterv' (did you mean 'nesterov'?)"),
    (["--scheduler", "StepLR", "--sched-arg", "step-sise=2"], "StepLR does not take 'step_sise' (did you mean"),
    (["--opt-arg", "nesterov"], "--opt-arg expects KEY=VALUE, got 'nesterov'"),
    (["--workers", "-1"], "--workers must be at least 0, got -1"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--epochs", "-3"], "--epochs must be at least 1, got -3"),
    (["--accumulate", "0"], "--accumulate must be at least 1, got 0"),
    (["--clip-grad-norm", "-1"], "--clip-grad-norm must be a positive number, got -1.0"),
    (["--lr", "-1"], "SGD: Invalid learning rate: -1.0"),
    (["--nproc", "0"], "--nproc must be at least 1, got 0"),
    (["--optimizer", "adam"], "unknown optimizer 'adam' (did you mean 'Adam'?); valid: ASGD"),
    (["--scheduler", "cosine"], "unknown scheduler 'cosine' (did you mean 'CosineAnnealingLR' or "
                                "'CosineAnnealingWarmRestarts'?)"),
    (["--scheduler", "LambdaLR"], "LambdaLR needs lr_lambda, a Python object, so it cannot be used"),
    (["--scheduler", "MultiplicativeLR"], "MultiplicativeLR needs lr_lambda, a Python object"),
    (["--scheduler", "SequentialLR"], "SequentialLR needs schedulers, a Python object"),
    (["--scheduler", "ChainedScheduler"], "ChainedScheduler needs schedulers, a Python object"),
    (["--scheduler", "CyclicLR", "--sched-arg", "scale_fn=abs"], "CyclicLR's scale_fn takes a Python function"),
    (["--model", "cnnn"], "unknown model 'cnnn' (did you mean 'cnn'?)"),
    (["--optimzer", "Adam"], "gradstep train: error: unrecognized option '--optimzer' (did you mean "
                             "'--optimizer'?); see 'gradstep train --help'"),
    (["--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
    (["stray"], "unexpected argument 'stray'"),
    (["--progress", "--no-progress"], "not allowed with argument"),
    (["--seed", str(2**70)], "--seed must be between -2**63 and 2**63 - 2"),
    (["--optimizer", "LBFGS"], "LBFGS.step() needs a closure that re-evaluates the loss"),
    (["--scheduler", "OneCycleLR", "--sched-arg", "total_steps=1"],
     "OneCycleLR's 1 total steps are fewer than the run's 2 (1 epochs x 2 optimizer steps)"),
    (["--scheduler", "ReduceLROnPlateau", "--sched-arg", "mode=maxx"], "ReduceLROnPlateau: mode maxx is unknown"),
    (["--config", "/"], "config file '/' is not a file"),
    (["--lr", "nan"], "--lr must be a finite number, got nan"),
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--weight-decay", "nan"], "--weight-decay must be a finite number, got nan"),
    (["--optimizer", "Adam", "--betas", "0.9", "nan"], "--betas must be a finite number, got nan"),
    (["--xray", "/nonexistent-folder/x.html"],
     "cannot write the x-ray page '/nonexistent-folder/x.html': folder '/nonexistent-folder' does not exist"),
    (["--xray", "/"], "cannot write the x-ray page to '/': it is a folder"),
])
def test_bad_flags(data, capsys, args, needle):
    assert needle in _error(capsys, _train(data, *args))


def test_run_folder_that_is_a_file(data, capsys):
    err = _error(capsys, _train(data, "--out", data / "tiny.csv"))
    assert f"cannot create the run folder '{data / 'tiny.csv'}'" in err


def test_unknown_command_and_data_kind(capsys):
    assert "unknown command 'trian' (did you mean 'train'?)" in _error(capsys, ["trian"])
    assert "arguments are required: command" in _error(capsys, [])
    assert "unknown --data 'dgits' (did you mean 'digits'?)" in _error(capsys, ["train", "--data", "dgits"])


@pytest.mark.parametrize("rows,header,needle", [
    (["1,2,0", "3,4,-1", "5,6,1"], "a,b,y", "the target column 'y' holds -1 on data row 2; class labels must be"),
    (["1,2,0", "3,nan,1", "5,6,1"], "a,b,y", "column 'b' holds nan on data row 2; features must be finite"),
    (["1,2,0", "3,inf,1", "5,6,1"], "a,b,y", "column 'b' holds inf on data row 2"),
    (["1,2,0.5", "3,4,1", "5,6,1"], "a,b,y", "the target column 'y' holds 0.5 on data row 1; gradstep train "
                                             "classifies"),
    (["1,2,0", "3,x,1", "5,6,1"], "a,b,y", "line 3, column 'b': 'x' is not a number"),
    (["1,2,0", "3,1", "5,6,1"], "a,b,y", "line 3: 2 values but the header has 3 columns"),
    (["1,2,0", "3,4,1"], "a,b,c", "no column named 'y'; the columns are 'a', 'b', 'c'"),
    (["1,2,0"], "a,b,y", "has 1 data row(s); it needs 2 at least"),
    ([], "a,b,y", "no data rows after the header"),
    (["0", "1", "0"], "y", "has no feature columns besides the target 'y'"),
    (["1,2,0", "3,4,100000"], "a,b,y", "the target column 'y' has 2 distinct labels but goes up to 100000"),
])
def test_bad_csv(tmp_path, capsys, rows, header, needle):
    path = _csv(tmp_path / "t.csv", rows, header)
    assert needle in _error(capsys, ["train", "--data", f"csv:{path}:y", "--no-progress", "--out", tmp_path / "r"])


def test_missing_and_binary_csv(tmp_path, capsys):
    err = _error(capsys, ["train", "--data", f"csv:{tmp_path / 'missing.csv'}:col"])
    assert f"data file '{tmp_path / 'missing.csv'}' does not exist" in err
    (tmp_path / "bin.csv").write_bytes(b"a,b\xff,y\n1,2,0\n")
    assert "is not UTF-8 text" in _error(capsys, ["train", "--data", f"csv:{tmp_path / 'bin.csv'}:y"])
    assert "--data csv needs a file and a target column" in _error(capsys, ["train", "--data", "csv:x.csv"])


@pytest.mark.parametrize("text,needle", [
    (b'epochs = "three"\n', "epochs must be an integer, got 'three' (a string)"),
    (b"epochs = 2.5\n", "epochs must be an integer, got 2.5 (float)"),
    (b"nesterov = 1\n", "nesterov must be true or false or none, got 1 (int)"),
    (b"betas = [0.9]\n", "betas must be a list of 2 numbers or none, got [0.9]"),
    (b'opt_args = "amsgrad"\n', "opt_args must be a table of KEY = VALUE"),
    (b"epohcs = 3\n", "unknown key 'epohcs' (did you mean 'epochs'?)"),
    (b"zzz = 3\n", "unknown key 'zzz'; valid keys: accumulate, alpha"),
    (b"epochs = 1\n# \xff\xfe\n", "cannot read config file"),
    (b"epochs = [unclosed\n", "cannot read config file"),
    (b"[opt_args]\nnesterov = \"maybe\"\n", "SGD's nesterov expects a bool (true/false/yes/no/1/0), got 'maybe'"),
])
def test_bad_toml(data, tmp_path, capsys, text, needle):
    (tmp_path / "c.toml").write_bytes(text)
    err = _error(capsys, _train(data, "--config", tmp_path / "c.toml"))
    assert needle in err


def _copy_run(data, tmp_path, name="run"):
    return shutil.copytree(data / name, tmp_path / name)


@pytest.mark.parametrize("content,needle", [
    ("[1, 2]", "config.json' must hold a JSON object of settings, got a list"),
    ('{"epochs": "2"}', "config.json': epochs must be an integer, got '2' (a string)"),
    ('{"epochs": 2', "cannot read"),
    ('{"optimiser": "SGD"}', "unknown key 'optimiser' (did you mean 'optimizer'?)"),
    ("[" * 100_000 + "]" * 100_000, "cannot read"),  # red team 3: a RecursionError was an internal error
    ('{"seed": ' + "9" * 5000 + "}", "cannot read"),  # past Python's 4300-digit int limit (a ValueError)
])
def test_bad_config_json(data, tmp_path, capsys, content, needle):
    run = _copy_run(data, tmp_path)
    (run / "config.json").write_text(content)
    assert needle in _error(capsys, ["train", "--resume", run, "--no-progress"])
    assert needle in _error(capsys, ["eval", run])


@pytest.mark.parametrize("args,needle", [
    (["--scheduler", "StepLR"], "these differ from the run's: scheduler 'CosineAnnealingLR' -> 'StepLR'"),
    (["--optimizer", "Adam"], "optimizer 'SGD' -> 'Adam'"),
    (["--lr", "0.01"], "lr 0.1 -> 0.01"),
    (["--opt-arg", "nesterov=true"], "opt_args {} -> {'nesterov': True}"),
    (["--batch-size", "8"], "batch_size 16 -> 8. Only --epochs, --workers, --doctor and --out may change"),
    (["--epochs", "6"], "--epochs 6: this run's CosineAnnealingLR schedule ends at epoch 2 (T_max=2) and "
                        "past it the learning rate would rise again"),
    ([], "the run already finished its 2 epochs; to train longer, resume with --epochs N (N > 2)"),
    (["--epochs", "1"], "--epochs 1: the run has already trained 2 epochs"),
])
def test_resume_refuses(data, tmp_path, capsys, args, needle):
    run = _copy_run(data, tmp_path)
    before = (run / "config.json").read_text()
    assert needle in _error(capsys, ["train", "--resume", run, "--no-progress", *args])
    assert (run / "config.json").read_text() == before


def test_resume_refuses_one_cycle_past_its_end(data, tmp_path, capsys):
    run = tmp_path / "oc"
    assert cli.main(_train(data, "--scheduler", "OneCycleLR", "--epochs", "2", "--batch-size", "4",
                           "--accumulate", "4", "--out", str(run))) == 0  # 6 batches: 2 steps an epoch
    err = _error(capsys, ["train", "--resume", run, "--epochs", "3", "--no-progress"])
    assert "OneCycleLR schedule ends at epoch 2 (total_steps=4) and past it OneCycleLR cannot step" in err


@pytest.mark.parametrize("make,needle", [
    (lambda run: (run / "best.gs").unlink(), "best.gs' does not exist: the run stopped before its first epoch"),
    (lambda run: (run / "config.json").unlink(), "config.json' does not exist; is"),
    (lambda run: gs.save({"w": gs.ones(2)}, run / "best.gs"), "best.gs' is not a gradstep train checkpoint"),
    (lambda run: gs.save({"format": "gradstep-train/1", "epoch": 1}, run / "best.gs"),
     "best.gs' is a damaged gradstep train checkpoint"),
    (lambda run: (run / "best.gs").write_bytes((run / "best.gs").read_bytes()[:-100]), "checksum mismatch"),
])
def test_eval_bad_run_folder(data, tmp_path, capsys, make, needle):
    run = _copy_run(data, tmp_path)
    make(run)
    assert needle in _error(capsys, ["eval", run])


def test_eval_not_a_folder_and_other_data(data, capsys):
    assert "is a file, not a run folder" in _error(capsys, ["eval", data / "tiny.csv"])
    err = _error(capsys, ["eval", data / "run", "--data", "digits"])
    assert "checkpoint is from a different model/data (mlp on [2], 3 classes)" in err


@pytest.mark.parametrize("make,needle", [
    (lambda d: d / "run", "is a folder; give a checkpoint file: gradstep info"),
    (lambda d: d / "missing.gs", "missing.gs' does not exist"),
    (lambda d: _write(d / "rand.bin", bytes(range(256)) * 4), "not a gradstep or torch checkpoint"),
    (lambda d: _write(d / "cut.gs", (d / "run" / "best.gs").read_bytes()[:3000]), "truncated or corrupted"),
    (lambda d: _write(d / "tiny.gs", b"GRADSTEP"), "truncated"),
])
def test_info_bad_file(data, tmp_path, capsys, make, needle):
    shutil.copytree(data / "run", tmp_path / "run")
    assert needle in _error(capsys, ["info", make(tmp_path)])


def _write(path, content):
    path.write_bytes(content)
    return path


def test_unexpected_error_is_one_line_with_status_1(data, capsys, monkeypatch):
    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_cmd_info", broken)
    err = _error(capsys, ["info", data / "run" / "best.gs"], status=1)
    assert "gradstep info: internal error: ZeroDivisionError: a bug (GRADSTEP_TRACEBACK=1" in err
    monkeypatch.setenv("GRADSTEP_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["info", str(data / "run" / "best.gs")])


def test_as_a_command_no_traceback_and_no_tqdm_frames_in_a_log(data, tmp_path):
    """Run as a user would (a real process, stderr a pipe): status 2 and one line; no bars in a log."""
    def run(*args):  # bytes: text mode would turn tqdm's \r into \n
        proc = subprocess.run([sys.executable, "-m", "gradstep", *map(str, args)], capture_output=True,
                              timeout=300)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    code, _, err = run("train", "--opt-arg", "nesterov=maybe")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and "got 'maybe'" in err
    tiny = ["train", "--data", f"csv:{data / 'tiny.csv'}:y", "--epochs", "1", "--out"]
    code, out, err = run(*tiny, tmp_path / "a")  # no --no-progress, but stderr is not a terminal
    assert code == 0 and "\r" not in err and "epoch   1/1" in out
    pytest.importorskip("tqdm")
    code, out, err = run(*tiny, tmp_path / "b", "--progress")
    assert code == 0 and "\r" in err and "epoch   1/1" in out


def test_help_documents_resuming(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "--resume RUN_DIR continues the run with its own settings" in out
    assert "(CosineAnnealingLR at T_max, OneCycleLR at total_steps, PolynomialLR at total_iters)" in out
    assert "--progress" in out and "LambdaLR" in out


def test_xray_page_that_cannot_be_written_is_refused_before_the_run(capsys, tmp_path):
    script = tmp_path / "prog.py"
    script.write_text("raise SystemExit('the script must not run')\n")
    err = _error(capsys, ["xray", "--out", tmp_path / "missing" / "x.html", script])
    assert f"cannot write the x-ray page '{tmp_path / 'missing' / 'x.html'}'" in err
    assert not (tmp_path / "missing").exists()


# red team 3: values past what the loop can take, optimizers and schedules that fail mid-run, files that never end
@pytest.mark.parametrize("args,needle", [
    (["--batch-size", str(10**20)], "--batch-size must be at most 2**63 - 1, got 100000000000000000000"),
    (["--epochs", str(10**23)], "--epochs must be at most 2**63 - 1"),
    (["--accumulate", str(2**63)], "--accumulate must be at most 2**63 - 1"),
    (["--workers", "100000"], "--workers must be at most"),  # would fork 100000 processes
    (["--optimizer", "SparseAdam"], "SparseAdam needs sparse gradients"),  # was an internal error mid-run
    (["--scheduler", "StepLR", "--sched-arg", "step_size=0"], "StepLR: step_size must be positive, got 0"),
    (["--scheduler", "CosineAnnealingLR", "--sched-arg", "T_max=0"], "CosineAnnealingLR: T_max must be positive"),
    (["--scheduler", "CyclicLR", "--sched-arg", "step_size_up=0"], "CyclicLR: float division by zero"),
])
def test_values_that_failed_inside_the_run_are_usage_errors(data, capsys, args, needle):
    assert needle in _error(capsys, _train(data, *args))


def test_unwritable_outputs_and_endless_inputs_are_one_line(data, tmp_path, capsys):
    blocker = _write(tmp_path / "file", b"x")  # a file where a folder is needed: unwritable even as root
    assert "cannot create the run folder" in _error(capsys, _train(data, "--out", blocker / "run"))
    assert "cannot write the x-ray page" in _error(capsys, _train(data, "--xray", blocker / "x.html"))
    if os.path.exists("/dev/zero"):
        assert "/dev/zero: a character device, not a checkpoint file" in _error(capsys, ["info", "/dev/zero"])

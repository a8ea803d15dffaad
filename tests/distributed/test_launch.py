"""Launching ranks: a failing rank ends the job, and ``gradstep train --nproc 2`` / under mpiexec."""

import os
import re
import sys

from gradstep.cli import _strip_nproc, main
from gradstep.distributed._launch import find_mpiexec, mpi_command
from tests.distributed.mpi import WORKER, require_mpi, run, run_scenario


def test_a_rank_that_raises_ends_the_job_with_its_error():
    """Rank 1 raises while rank 0 blocks in all_reduce: the job stops (the timeout would fail the
    test on a hang), the exit status is non-zero and the traceback is shown."""
    rc, out, err = run_scenario("crash", timeout=30)
    assert rc != 0
    assert "ValueError: rank 1 failed on purpose" in err
    assert "PASS" not in out


def test_without_the_mpi4py_runner_too():
    """Plain ``mpiexec -n 2 python script.py``: init_process_group's exception hook aborts the job."""
    require_mpi()
    cmd = mpi_command(2, [WORKER, "crash"])
    cmd.remove("-m")
    cmd.remove("mpi4py")
    rc, out, err = run(cmd, timeout=30)
    assert rc != 0 and "ValueError: rank 1 failed on purpose" in err


def test_train_nproc_2_rank_0_prints_and_writes_once(tmp_path):
    require_mpi()
    out_dir = tmp_path / "run"
    rc, out, err = run([sys.executable, "-m", "gradstep", "train", "--nproc", "2", "--epochs", "1",
                        "--accumulate", "2", "--batch-size", "32", "--no-progress", "--out", str(out_dir)], timeout=90)
    assert rc == 0, out + err
    assert out.count("epoch   1/1") == 1 and out.count("done in") == 1, out
    assert "batch 32 per rank x 2 ranks = global batch 64" in out
    assert sorted(os.listdir(out_dir)) == ["best.gs", "checkpoint.gs", "config.json", "curves.png",
                                           "metrics.csv"]
    assert main(["eval", str(out_dir)]) == 0  # the checkpoint is the plain model's (no "module.")


def test_train_under_users_mpiexec_and_bad_input_stops_all_ranks(tmp_path):
    require_mpi()
    rc, out, err = run(mpi_command(2, ["-m", "gradstep", "train", "--epochs", "1", "--no-progress",
                                       "--batch-size", "32", "--out", str(tmp_path / "run")]), timeout=90)
    assert rc == 0 and out.count("epoch   1/1") == 1 and "global batch 64" in out, out + err
    rc, out, err = run([sys.executable, "-m", "gradstep", "train", "--nproc", "2", "--model", "nope"],
                       timeout=60)
    assert rc != 0 and "unknown model 'nope'" in err
    plain = [find_mpiexec(), "-n", "2", sys.executable, "-m", "gradstep", "train", "--model", "nope"]
    rc, out, err = run(plain, timeout=60)  # without mpi4py's runner: the command aborts the job
    assert rc != 0 and re.search(r"error \(rank [01]\): unknown model 'nope'", err), err


def test_nproc_argument_handling(capsys):
    assert _strip_nproc(["train", "--nproc", "4", "--lr", "0.1", "--nproc=2"]) == ["train", "--lr", "0.1"]
    assert main(["train", "--nproc", "0"]) == 2
    assert "--nproc must be at least 1" in capsys.readouterr().err

"""Run a scenario of ``mpi_worker.py`` (or any command) on several MPI ranks, under a timeout.

The launcher gets its own session so a timeout can stop it and every rank it
started (by process group id), leaving nothing behind. Tests skip, saying why,
only when mpi4py or an ``mpiexec`` is really missing (``pip install '.[dist]'``).
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

import gradstep.distributed as dist
from gradstep.distributed._launch import find_mpiexec, mpi_command

WORKER = os.path.join(os.path.dirname(__file__), "mpi_worker.py")


def require_mpi():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed: pip install -e '.[dist]' to run the multi-rank tests")
    if find_mpiexec() is None:
        pytest.skip("no mpiexec beside the interpreter or on PATH: pip install -e '.[dist]' (mpich)")


def run(cmd, timeout=60, cwd=None):
    """(exit status, stdout, stderr) of ``cmd``; fails the test if it runs past ``timeout`` seconds."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher's session: mpiexec and its ranks
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} still running after {timeout}s (a hang)\n{out}\n{err}")
    return proc.returncode, out, err


def run_scenario(name, nproc=2, timeout=60):
    require_mpi()
    return run(mpi_command(nproc, [WORKER, name]), timeout)



@pytest.fixture
def world():
    """A process group of one (the test process has no launcher), torn down afterwards."""
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group("mpi")
    yield dist
    dist.destroy_process_group()

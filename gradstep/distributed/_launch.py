"""Starting ranks: find ``mpiexec`` and re-run a gradstep command under it.

``python -m mpi4py`` runs the program so that an uncaught exception (or a
non-zero ``sys.exit``) in any rank calls ``MPI_Abort``: the launcher then stops
every rank instead of leaving the others blocked in a collective.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def find_mpiexec():
    """The ``mpiexec`` beside this Python (the ``mpich`` wheel puts it there), else on PATH, else None."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name)
        if found:
            return found
    return None


def mpi_command(nproc, args, mpiexec=None):
    """``mpiexec -n NPROC python -m mpi4py ARGS...`` (ARGS: a script, or ``-m module ...``)."""
    mpiexec = mpiexec or find_mpiexec()
    if mpiexec is None:
        raise FileNotFoundError(
            "no mpiexec found (looked beside the Python interpreter and on PATH); "
            "pip install 'gradstep[dist]' brings one (the mpich package)")
    return [mpiexec, "-n", str(int(nproc)), sys.executable, "-m", "mpi4py", *args]


def relaunch(nproc, module_args):
    """Run ``python -m mpi4py -m <module_args>`` on ``nproc`` ranks; returns the exit status."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise FileNotFoundError(
            "running several processes needs mpi4py: pip install 'gradstep[dist]' (mpi4py and an "
            "mpiexec from the mpich package), or mpi4py alone to use the site's MPI") from None
    cmd = mpi_command(nproc, ["-m", *module_args])
    return subprocess.call(cmd)

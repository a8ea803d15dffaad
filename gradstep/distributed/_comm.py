"""The communicator seam: MPI through mpi4py, or a single process without MPI.

``gradstep.distributed`` talks to one of two backends with the same small
interface on contiguous arrays (reductions here are ``"sum"``, ``"prod"``,
``"min"``, ``"max"``, ``"band"``, ``"bor"``, ``"bxor"``; AVG is a sum the caller
divides). Each call with ``nonblocking=True`` returns a request with ``Test()``
and ``Wait()`` (mpi4py's ``Request`` for MPI), otherwise ``None``.

The MPI backend is used when mpi4py's ``MPI`` module is already loaded (``python
-m mpi4py`` loads it) or an MPI launcher started this process (``mpiexec``,
``mpirun``, ``srun``); otherwise a plain ``python`` process is a world of one and
never imports MPI, so nothing here needs mpi4py installed.
"""

from __future__ import annotations

import os
import sys

# Environment variables that MPI launchers set in every process they start:
# MPICH/Intel MPI (PMI_*), Open MPI (OMPI_COMM_WORLD_*), PMIx (srun --mpi=pmix, prterun).
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")
_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")


def launched_size():
    """The world size an MPI launcher announced, 0 if it did not say, None without a launcher."""
    for name in _SIZE_VARS:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    if any(name in os.environ for name in _RANK_VARS):
        return 0
    return None


def under_mpi():
    """True when this process should talk MPI (see the module docstring)."""
    return "mpi4py.MPI" in sys.modules or launched_size() is not None


class _Done:
    """The request of a collective that finished when it was posted."""

    def Test(self):  # noqa: N802 - mpi4py's Request interface
        return True

    def Wait(self):  # noqa: N802
        return None


_DONE = _Done()


class SingleProcess:
    """A world of one: every collective is a no-op or a copy, as it would be on one rank."""

    name = "single"
    rank = 0
    size = 1

    def allreduce(self, buf, op, nonblocking=False):
        return _DONE if nonblocking else None

    def bcast(self, buf, root, nonblocking=False):
        return _DONE if nonblocking else None

    def allgather(self, sendbuf, recvbuf, nonblocking=False):
        recvbuf[0] = sendbuf
        return _DONE if nonblocking else None

    def reduce_scatter(self, sendbuf, recvbuf, op, nonblocking=False):
        recvbuf[...] = sendbuf[0]
        return _DONE if nonblocking else None

    def barrier(self, nonblocking=False):
        return _DONE if nonblocking else None

    def abort(self, code=1):
        os._exit(code)


class MPIBackend:
    """``MPI.COMM_WORLD`` through mpi4py's buffer interface (no pickling)."""

    name = "mpi"

    def __init__(self):
        from mpi4py import MPI

        self._MPI = MPI
        self._comm = MPI.COMM_WORLD
        self.rank = self._comm.Get_rank()
        self.size = self._comm.Get_size()
        self._ops = {"sum": MPI.SUM, "prod": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX,
                     "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}

    def allreduce(self, buf, op, nonblocking=False):
        if nonblocking:
            return self._comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._ops[op])
        self._comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._ops[op])
        return None

    def bcast(self, buf, root, nonblocking=False):
        if nonblocking:
            return self._comm.Ibcast(buf, root=root)
        self._comm.Bcast(buf, root=root)
        return None

    def allgather(self, sendbuf, recvbuf, nonblocking=False):
        if nonblocking:
            return self._comm.Iallgather(sendbuf, recvbuf)
        self._comm.Allgather(sendbuf, recvbuf)
        return None

    def reduce_scatter(self, sendbuf, recvbuf, op, nonblocking=False):
        if nonblocking:
            return self._comm.Ireduce_scatter_block(sendbuf, recvbuf, op=self._ops[op])
        self._comm.Reduce_scatter_block(sendbuf, recvbuf, op=self._ops[op])
        return None

    def barrier(self, nonblocking=False):
        if nonblocking:
            return self._comm.Ibarrier()
        self._comm.Barrier()
        return None

    def abort(self, code=1):
        self._comm.Abort(code)


def make_backend():
    """The backend for this process: MPI when launched by MPI, else a single process."""
    if not under_mpi():
        return SingleProcess()
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        size = launched_size()
        if size == 1:
            return SingleProcess()
        ranks = f"{size} ranks" if size else "several ranks"
        raise RuntimeError(
            f"this process was started by an MPI launcher ({ranks}), but mpi4py is not installed: "
            "pip install 'gradstep[dist]' (or mpi4py alone to use the site's MPI)"
        ) from None
    return MPIBackend()

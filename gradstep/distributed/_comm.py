"""The communicator seam: MPI through mpi4py, or a single process without MPI.

``gradstep.distributed`` talks to one of two backends with the same small
interface on contiguous arrays (reductions here are ``"sum"``, ``"prod"``,
``"min"``, ``"max"``, ``"band"``, ``"bor"``, ``"bxor"``; AVG is a sum the caller
divides; roots and peers are ranks of this communicator). Each call with
``nonblocking=True`` returns a request with ``Test()`` and ``Wait()`` (mpi4py's
``Request`` for MPI), otherwise ``None``; ``isend``/``irecv`` always return one.

The MPI backend is used when mpi4py's ``MPI`` module is already loaded (``python
-m mpi4py`` loads it) or an MPI launcher started this process (``mpiexec``,
``mpirun``, ``srun``); otherwise a plain ``python`` process is a world of one and
never imports MPI, so nothing here needs mpi4py installed.

MPI has no bfloat16: such buffers travel as their 16-bit patterns, and their
reductions gather every rank's values and reduce them here, in rank order (the
same result on every rank).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

# Environment variables that MPI launchers set in every process they start:
# MPICH/Intel MPI (PMI_*), Open MPI (OMPI_COMM_WORLD_*), PMIx (srun --mpi=pmix, prterun).
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")
_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_MONITOR_TAG = 1  # monitored_barrier's messages, on a duplicate of the communicator
_POLL_S = 0.001
_LOCAL_OPS = {"sum": np.add, "prod": np.multiply, "min": np.minimum, "max": np.maximum,
              "band": np.bitwise_and, "bor": np.bitwise_or, "bxor": np.bitwise_xor}


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


def _unknown_to_mpi(buf):
    """bfloat16 (NumPy kind "V"): no MPI datatype."""
    return buf is not None and buf.dtype.kind == "V"


def _raw(buf):
    """``buf`` as MPI can move it: bfloat16 as its uint16 bit patterns."""
    return buf.view(np.uint16) if _unknown_to_mpi(buf) else buf


def _displacements(counts):
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _reduce_local(stacked, op):
    """Reduce ``stacked[0], stacked[1], ...`` in rank order."""
    out = stacked[0].copy()
    for part in stacked[1:]:
        _LOCAL_OPS[op](out, part, out=out)
    return out


def monitor_failure(failed, timeout_s):
    """torch's (gloo's) error for ranks that did not reach a monitored barrier in time."""
    ms = int(round(timeout_s * 1000))
    if len(failed) == 1:
        return RuntimeError(f"[Rank 0]: Rank {failed[0]} failed to pass monitoredBarrier in {ms} ms")
    return RuntimeError(f"[Rank 0]: Ranks {', '.join(map(str, failed))} failed to pass "
                        f"monitoredBarrier in {ms} ms")


class _Done:
    """The request of an operation that finished when it was posted."""

    source = 0

    def Test(self):  # noqa: N802 - mpi4py's Request interface
        return True

    def Wait(self):  # noqa: N802
        return None


_DONE = _Done()


class _LocalRecv:
    """A receive from this very process in a world of one; completed by the matching send."""

    source = 0

    def __init__(self, buf, tag):
        self.buf, self.tag, self.done = buf, tag, False

    def Test(self):  # noqa: N802
        return self.done

    def Wait(self):  # noqa: N802
        if not self.done:
            raise RuntimeError(f"waiting for a message with tag {self.tag} from rank 0, which is this "
                               "process, and it never sent one: in a world of one this would block "
                               "forever (post the isend to self before waiting on the irecv)")


class SingleProcess:
    """A world of one: every collective is a no-op or a copy, as it would be on one rank.

    Messages to self (``isend``/``irecv`` with peer 0) are matched by tag, in order.
    """

    name = "single"
    rank = 0
    size = 1

    def __init__(self):
        self._unmatched_sends = []  # (tag, copy of the data)
        self._unmatched_recvs = []  # _LocalRecv

    def allreduce(self, buf, op, nonblocking=False):
        return _DONE if nonblocking else None

    def bcast(self, buf, root, nonblocking=False):
        return _DONE if nonblocking else None

    def reduce(self, buf, op, root, nonblocking=False):
        return _DONE if nonblocking else None

    def allgather(self, sendbuf, recvbuf, nonblocking=False):
        recvbuf[0] = sendbuf
        return _DONE if nonblocking else None

    def gather(self, sendbuf, recvbuf, root, nonblocking=False):
        recvbuf[0] = sendbuf
        return _DONE if nonblocking else None

    def scatter(self, sendbuf, recvbuf, root, nonblocking=False):
        recvbuf[...] = sendbuf[0]
        return _DONE if nonblocking else None

    def reduce_scatter(self, sendbuf, recvbuf, op, nonblocking=False):
        recvbuf[...] = sendbuf[0]
        return _DONE if nonblocking else None

    def alltoallv(self, sendbuf, sendcounts, recvbuf, recvcounts, nonblocking=False):
        if int(sendcounts[0]) != int(recvcounts[0]):
            raise RuntimeError(f"all_to_all: this rank sends {int(sendcounts[0])} elements to itself "
                               f"but expects to receive {int(recvcounts[0])}")
        recvbuf[...] = sendbuf.reshape(recvbuf.shape)
        return _DONE if nonblocking else None

    def barrier(self, nonblocking=False):
        return _DONE if nonblocking else None

    def monitored_barrier(self, timeout_s, wait_all_ranks):
        return None

    def isend(self, buf, dst, tag):
        for i, recv in enumerate(self._unmatched_recvs):
            if recv.tag == tag:
                del self._unmatched_recvs[i]
                recv.buf[...] = buf.reshape(recv.buf.shape)
                recv.done = True
                return _DONE
        self._unmatched_sends.append((tag, buf.copy()))
        return _DONE

    def irecv(self, buf, src, tag):
        recv = _LocalRecv(buf, tag)
        for i, (sent_tag, data) in enumerate(self._unmatched_sends):
            if sent_tag == tag:
                del self._unmatched_sends[i]
                buf[...] = data.reshape(buf.shape)
                recv.done = True
                break
        else:
            self._unmatched_recvs.append(recv)
        return recv

    def subgroup(self, ranks):
        return SingleProcess() if list(ranks) == [0] else None

    def abort(self, code=1):
        os._exit(code)


class _MPIRecv:
    """An MPI receive request that remembers which rank the message came from."""

    def __init__(self, request, MPI):  # noqa: N803
        self._request = request
        self._status = MPI.Status()
        self.source = None

    def Test(self):  # noqa: N802
        done = self._request.Test(self._status)
        if done:
            self.source = self._status.Get_source()
        return done

    def Wait(self):  # noqa: N802
        self._request.Wait(self._status)
        self.source = self._status.Get_source()


class MPIBackend:
    """An MPI communicator (``MPI.COMM_WORLD`` or a group's) through mpi4py's buffer interface."""

    name = "mpi"

    def __init__(self, comm=None):
        from mpi4py import MPI

        self._MPI = MPI
        self._comm = MPI.COMM_WORLD if comm is None else comm
        # monitored_barrier's messages travel apart from the user's sends; made now, since a
        # rank that skips a monitored barrier must not leave the others blocked in a Dup
        self._control = self._comm.Dup()
        self.rank = self._comm.Get_rank()
        self.size = self._comm.Get_size()
        self._ops = {"sum": MPI.SUM, "prod": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX,
                     "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}

    # ------------------------------------------------------------ reductions
    def _gather_reduce(self, buf, op):
        """``op`` over every rank's ``buf`` (a dtype MPI cannot reduce), in rank order."""
        everyone = np.empty((self.size,) + buf.shape, dtype=np.uint16)
        self._comm.Allgather(_raw(buf), everyone)
        return _reduce_local(everyone.view(buf.dtype), op)

    def allreduce(self, buf, op, nonblocking=False):
        if _unknown_to_mpi(buf):
            buf[...] = self._gather_reduce(buf, op)
            return _DONE if nonblocking else None
        if nonblocking:
            return self._comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._ops[op])
        self._comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._ops[op])
        return None

    def reduce(self, buf, op, root, nonblocking=False):
        if _unknown_to_mpi(buf):
            result = self._gather_reduce(buf, op)
            if self.rank == root:
                buf[...] = result
            return _DONE if nonblocking else None
        send, recv = (self._MPI.IN_PLACE, buf) if self.rank == root else (buf, None)
        if nonblocking:
            return self._comm.Ireduce(send, recv, op=self._ops[op], root=root)
        self._comm.Reduce(send, recv, op=self._ops[op], root=root)
        return None

    def reduce_scatter(self, sendbuf, recvbuf, op, nonblocking=False):
        if _unknown_to_mpi(sendbuf):
            recvbuf[...] = self._gather_reduce(sendbuf, op)[self.rank]
            return _DONE if nonblocking else None
        if nonblocking:
            return self._comm.Ireduce_scatter_block(sendbuf, recvbuf, op=self._ops[op])
        self._comm.Reduce_scatter_block(sendbuf, recvbuf, op=self._ops[op])
        return None

    # ------------------------------------------------------------ data movement
    def bcast(self, buf, root, nonblocking=False):
        if nonblocking:
            return self._comm.Ibcast(_raw(buf), root=root)
        self._comm.Bcast(_raw(buf), root=root)
        return None

    def allgather(self, sendbuf, recvbuf, nonblocking=False):
        if nonblocking:
            return self._comm.Iallgather(_raw(sendbuf), _raw(recvbuf))
        self._comm.Allgather(_raw(sendbuf), _raw(recvbuf))
        return None

    def gather(self, sendbuf, recvbuf, root, nonblocking=False):
        """``recvbuf`` (size x ``sendbuf``, on the root only; None elsewhere)."""
        recv = _raw(recvbuf) if self.rank == root else None
        if nonblocking:
            return self._comm.Igather(_raw(sendbuf), recv, root=root)
        self._comm.Gather(_raw(sendbuf), recv, root=root)
        return None

    def scatter(self, sendbuf, recvbuf, root, nonblocking=False):
        """``sendbuf`` (size x ``recvbuf``) is read on the root only."""
        send = _raw(sendbuf) if self.rank == root else None
        if nonblocking:
            return self._comm.Iscatter(send, _raw(recvbuf), root=root)
        self._comm.Scatter(send, _raw(recvbuf), root=root)
        return None

    def alltoallv(self, sendbuf, sendcounts, recvbuf, recvcounts, nonblocking=False):
        """Rank r gets ``sendcounts[r]`` elements of ``sendbuf``; ``recvcounts[r]`` come from it."""
        send = [_raw(sendbuf), (sendcounts, _displacements(sendcounts))]
        recv = [_raw(recvbuf), (recvcounts, _displacements(recvcounts))]
        if nonblocking:
            return self._comm.Ialltoallv(send, recv)
        self._comm.Alltoallv(send, recv)
        return None

    def barrier(self, nonblocking=False):
        if nonblocking:
            return self._comm.Ibarrier()
        self._comm.Barrier()
        return None

    # ------------------------------------------------------------ point to point
    def isend(self, buf, dst, tag):
        return self._comm.Isend(_raw(buf), dest=dst, tag=tag)

    def irecv(self, buf, src, tag):
        source = self._MPI.ANY_SOURCE if src is None else src
        return _MPIRecv(self._comm.Irecv(_raw(buf), source=source, tag=tag), self._MPI)

    def monitored_barrier(self, timeout_s, wait_all_ranks):
        """torch's gloo protocol: every rank reports to rank 0, which answers once all did;
        rank 0 names the ranks that did not report within ``timeout_s``."""
        comm, token = self._control, np.zeros(1, np.uint8)
        deadline = time.monotonic() + timeout_s
        if self.rank != 0:
            comm.Send(token, dest=0, tag=_MONITOR_TAG)
            if not _wait_until(comm.Irecv(np.zeros(1, np.uint8), source=0, tag=_MONITOR_TAG),
                               deadline):
                raise RuntimeError(f"Rank {self.rank} successfully reached monitoredBarrier, but "
                                   "received errors while waiting for send/recv from rank 0. Please "
                                   "check rank 0 logs for faulty rank.")
            return
        pending = {r: comm.Irecv(np.zeros(1, np.uint8), source=r, tag=_MONITOR_TAG)
                   for r in range(1, self.size)}
        failed = [r for r in pending if not _wait_until(pending[r], deadline)]
        if failed:
            raise monitor_failure(failed if wait_all_ranks else failed[:1], timeout_s)
        for r in range(1, self.size):
            comm.Send(token, dest=r, tag=_MONITOR_TAG)

    def subgroup(self, ranks):
        """A backend over ``ranks`` (their order gives the new ranks), None on other ranks.

        Only the members take part (``MPI_Comm_create_group``), as torch allows.
        """
        if self.rank not in ranks:
            return None
        everyone = self._comm.Get_group()
        group = everyone.Incl(list(ranks))
        try:
            return MPIBackend(self._comm.Create_group(group))
        finally:
            group.Free()
            everyone.Free()

    def abort(self, code=1):
        self._comm.Abort(code)


def _wait_until(request, deadline):
    """Wait for an MPI ``request`` until ``deadline``; on a timeout cancel it and return False."""
    while not request.Test():
        if time.monotonic() >= deadline:
            request.Cancel()
            request.Wait()
            return False
        time.sleep(_POLL_S)
    return True


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

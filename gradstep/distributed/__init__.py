"""``gradstep.distributed``: process groups and collectives on MPI (torch.distributed's API).

Start several processes with an MPI launcher (``mpiexec -n 4 python -m mpi4py
train.py``, ``srun``) and call ``init_process_group()`` in each: rank and world
size come from MPI. A plain ``python train.py`` is a world of one, and every
collective below still runs (as the no-op or copy it is on one rank), with or
without mpi4py installed.

Collectives work in place on tensors like torch's and are not recorded by
autograd. ``async_op=True`` posts a non-blocking MPI call (``Iallreduce``, ...)
and returns a ``Work``; the tensor holds the result once ``wait()`` returns.
Every collective takes ``group=``: None (the default group) or a group made by
``new_group`` (see ``_groups``). The module is split by kind: ``_groups`` (process
groups), ``_collectives`` (reduce, gather, scatter, all-to-all, monitored_barrier),
``_p2p`` (send/recv), ``_objects`` (collectives of Python objects), ``_comm`` (the
MPI and single-process communicators).
"""

from __future__ import annotations

import enum
import os
import sys
import time

from .._tensor import Tensor
from ..backend import is_float_array, xp
from . import _comm, _groups
from ._groups import (
    GroupMember,
    ProcessGroup,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    group,
    new_group,
)
from ._work import Work

__all__ = [
    "Backend", "GradBucket", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work",
    "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all",
    "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
    "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank",
    "get_group_rank", "get_node_local_rank", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "irecv", "is_available",
    "is_backend_available", "is_gloo_available", "is_initialized", "is_mpi_available",
    "is_nccl_available", "is_torchelastic_launched", "isend", "monitored_barrier", "new_group",
    "recv", "recv_object_list", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
    "scatter_object_list", "send", "send_object_list",
]

ABORT_GRACE_S = 0.2  # between printing an uncaught exception and aborting the job


class ReduceOp:
    """Reduction operations of ``all_reduce`` and ``reduce_scatter``."""

    class RedOpType(enum.Enum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


_OP_NAMES = {ReduceOp.SUM: "sum", ReduceOp.AVG: "sum", ReduceOp.PRODUCT: "prod", ReduceOp.MIN: "min",
             ReduceOp.MAX: "max", ReduceOp.BAND: "band", ReduceOp.BOR: "bor", ReduceOp.BXOR: "bxor"}
# bool tensors travel as uint8 0/1, where a sum or max is a logical or, a product or min an and
_BOOL_OPS = {ReduceOp.SUM: "bor", ReduceOp.MAX: "bor", ReduceOp.BOR: "bor", ReduceOp.PRODUCT: "band",
             ReduceOp.MIN: "band", ReduceOp.BAND: "band", ReduceOp.BXOR: "bxor"}


# ---------------------------------------------------------------- process group


def is_available():
    """Always True: without MPI, gradstep.distributed runs as a world of one."""
    return True


def is_mpi_available():
    """True when mpi4py can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


class Backend(str):
    """Backend names as lower-case strings: ``Backend.GLOO == "gloo"``, ``Backend("GLOO")``.

    Any name parses; ``init_process_group``/``new_group`` accept "mpi" and "gloo" only."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    XCCL = "xccl"
    FAKE = "fake"
    backend_list = [UNDEFINED, GLOO, NCCL, XCCL, UCC, MPI, FAKE]
    default_device_backend_map = {"cpu": GLOO}

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError("Backend constructor parameter must be string-ish")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        return name.lower() if value == Backend.UNDEFINED else value


def is_backend_available(backend):
    """True for the backends gradstep runs: "gloo", and "mpi" when mpi4py can be imported."""
    name = str(backend).lower()
    return name == Backend.GLOO or (name == Backend.MPI and is_mpi_available())


def get_node_local_rank(fallback_rank=None):
    """This process's rank on its node: torchrun's LOCAL_RANK, else an MPI launcher's (MPICH's
    MPI_LOCALRANKID, Open MPI's OMPI_COMM_WORLD_LOCAL_RANK), else ``fallback_rank``."""
    for name in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"):
        if name in os.environ:
            return int(os.environ[name])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to "
                       "allow `get_node_local_rank` to work, assuming you are not running in a "
                       "multi-device context and want the code to run locally instead.")


def is_nccl_available():
    """False: gradstep runs on CPUs, with no NCCL."""
    return False


def is_gloo_available():
    """True: backend "gloo" is accepted (its collectives run over MPI, or in one process)."""
    return True


def is_torchelastic_launched():
    """True when torchrun (torchelastic) started this process (it sets TORCHELASTIC_RUN_ID)."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def is_initialized():
    return _groups.is_started()


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group; rank and world size come from the MPI launcher.

    ``backend`` is ``"mpi"``, ``"gloo"`` (torch's CPU backend: its collectives run over MPI
    here) or None. ``world_size`` and ``rank``, if given, must agree with what MPI reports.
    Without a launcher this process is rank 0 of 1, so the single-process setup of tests and
    examples (``init_process_group("gloo", init_method="tcp://...", world_size=1, rank=0)``)
    works; ``init_method`` is not needed. ``timeout`` is the default of ``monitored_barrier``.
    """
    if _groups.is_started():
        raise ValueError("trying to initialize the default process group twice!")
    name = _groups.check_backend(backend) or "mpi"
    timeout = _groups.check_timeout(timeout)
    world = _comm.make_backend()
    if world_size not in (-1, None) and world_size != world.size:
        raise ValueError(f"world_size={world_size} does not match the {world.size} process(es) "
                         "MPI started; with the mpi backend leave world_size out")
    if rank not in (-1, None) and rank != world.rank:
        raise ValueError(f"rank={rank} does not match MPI's rank {world.rank}; with the mpi backend "
                         "leave rank out")
    _groups.start(world, name, timeout)
    if world.size > 1:
        _abort_on_uncaught_exception(world)


def _abort_on_uncaught_exception(world):
    """An exception that ends one rank ends the job (as ``python -m mpi4py`` does), instead of
    leaving the other ranks blocked in their next collective forever."""
    previous = sys.excepthook
    if getattr(previous, "_gradstep_aborts", False):
        return

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.flush()
        # the launcher relays our stderr; an abort right away can cut the traceback short
        time.sleep(ABORT_GRACE_S)
        world.abort(1)

    hook._gradstep_aborts = True
    sys.excepthook = hook


def destroy_process_group(group=None):
    """Destroy ``group``; with None (or ``group.WORLD``) every group and the default one (MPI
    itself stays up until the process exits)."""
    _groups.destroy(group)


def _get_world():
    """The default group's communicator (``_comm.MPIBackend`` or ``_comm.SingleProcess``)."""
    return _groups.default_group()._comm


def get_backend(group=None):
    """The backend name init_process_group (or new_group) was given ("gloo" runs over MPI too)."""
    pg = _groups.default_group() if group is None else group
    if not isinstance(pg, ProcessGroup):
        raise ValueError("Invalid process group specified")
    return pg.name()


def get_rank(group=None):
    """This process's rank in ``group`` (the default group when None); -1 if not a member."""
    if group == GroupMember.NON_GROUP_MEMBER:
        return -1
    world = _groups.default_group()
    return world.rank() if group is None else _groups.resolve(group, "get_rank").rank()


def get_world_size(group=None):
    """The number of ranks in ``group`` (the default group when None); -1 if not a member."""
    if group == GroupMember.NON_GROUP_MEMBER:
        return -1
    return _groups.resolve(group, "get_world_size").size()


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Block until every rank of the group has reached this call."""
    pg = _groups.resolve(group, "barrier")
    if pg is None:
        return None
    req = pg._comm.barrier(nonblocking=True)  # non-blocking either way: see _run
    if async_op:
        return Work(req)
    req.Wait()
    return None


# ---------------------------------------------------------------- collectives


def _check_tensor(t, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"gradstep.Tensor but got {type(t)} instead.")


def _check_tensor_list(ts, name):
    if not isinstance(ts, list) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[gradstep.Tensor] but got {type(ts)} instead.")


def _buffer(t):
    """(contiguous array MPI can use, copy-back function or None) for tensor ``t``."""
    data = t._data
    if data.dtype == xp.bool_:
        if data.flags.c_contiguous:
            return data.view(xp.uint8), None
        buf = xp.ascontiguousarray(data).view(xp.uint8)
        return buf, lambda: data.__setitem__(Ellipsis, buf.view(xp.bool_))
    if data.flags.c_contiguous:
        return data, None
    buf = xp.ascontiguousarray(data)
    return buf, lambda: data.__setitem__(Ellipsis, buf)


def _reduction(op, dtype):
    """The backend's name for ``op`` on tensors of ``dtype``, with torch's dtype rules."""
    if op not in _OP_NAMES:
        raise ValueError(f"unsupported reduce op {op}; use a member of gradstep.distributed.ReduceOp "
                         f"({', '.join(o.name for o in _OP_NAMES)})")
    if dtype == xp.bool_:
        if op is ReduceOp.AVG:
            raise RuntimeError("Cannot use ReduceOp.AVG with boolean inputs")
        return _BOOL_OPS[op]
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind not in "iu":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    return _OP_NAMES[op]


def _average(buf, n):
    """``buf /= n`` in place; integers round toward zero (as NCCL's average does)."""
    if n == 1:
        return
    if is_float_array(buf):  # bfloat16 included
        buf /= n
    else:
        q = xp.abs(buf) // n
        buf[...] = xp.where(buf < 0, -q, q)


def _same_dtype(*tensors):
    """torch's check that every tensor of a collective (lists flattened) has one dtype."""
    flat = [t for x in tensors for t in (x if isinstance(x, list) else [x])]
    for t in flat[1:]:
        if t.dtype != flat[0].dtype:
            raise ValueError(f"Invalid usage of tensors with different dtypes: found "
                             f"{flat[0].dtype} and {t.dtype}")


def _run(post, finishers, async_op, outputs):
    """Post a collective; run the ``finishers`` (averaging, copy-back) once it is done.

    Always MPI's non-blocking form, waited on at once unless ``async_op``: MPI never matches
    a blocking collective with a non-blocking one, and torch lets one rank pass
    ``async_op=True`` where another does not.
    """
    req = post(True)

    def finish():
        for f in finishers:
            if f is not None:
                f()

    if async_op:
        return Work(req, finish, outputs)
    req.Wait()
    finish()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` across the group's ranks, in place, so every rank holds the result."""
    _check_tensor(tensor, "tensor")
    pg = _groups.resolve(group, "all_reduce")
    if pg is None:
        return None
    comm = pg._comm
    name = _reduction(op, tensor._data.dtype)
    buf, copy_back = _buffer(tensor)
    avg = (lambda: _average(buf, comm.size)) if op is ReduceOp.AVG else None
    return _run(lambda nb: comm.allreduce(buf, name, nb), [avg, copy_back], async_op, [tensor])


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` from rank ``src`` (global; or ``group_src``) into ``tensor`` on every
    other rank of the group."""
    _check_tensor(tensor, "tensor")
    pg = _groups.resolve(group, "broadcast")
    if pg is None:
        return None
    root = _groups.root_rank(pg, src, group_src, "src", "broadcast")
    buf, copy_back = _buffer(tensor)
    return _run(lambda nb: pg._comm.bcast(buf, root, nb), [copy_back], async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with the ``tensor`` of the group's rank ``r`` on every rank."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    pg = _groups.resolve(group, "all_gather")
    if pg is None:
        return None
    n = pg.size()
    if len(tensor_list) != n:
        raise RuntimeError(f"all_gather: invalid output tensor list (expected length {n}, "
                           f"got {len(tensor_list)})")
    for i, t in enumerate(tensor_list):
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise RuntimeError(f"all_gather: invalid tensor at index {i} (expected {tuple(tensor.shape)} "
                               f"{tensor.dtype.name}, got {tuple(t.shape)} {t.dtype.name})")
    send, _ = _buffer(tensor)
    recv = xp.empty((n,) + send.shape, dtype=send.dtype)

    def scatter_out():
        for t, part in zip(tensor_list, recv):
            t._data[...] = part.view(t._data.dtype)

    return _run(lambda nb: pg._comm.allgather(send, recv, nb), [scatter_out], async_op, tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Gather every rank's ``input_tensor`` into ``output_tensor`` (stacked or concatenated on dim 0)."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _groups.resolve(group, "all_gather_into_tensor")
    if pg is None:
        return None
    n = pg.size()
    if output_tensor.numel() != n * input_tensor.numel() or \
            output_tensor.dtype != input_tensor.dtype:
        raise ValueError(f"output tensor must have {n} x the input's {input_tensor.numel()} "
                         f"elements and its dtype, got {tuple(output_tensor.shape)} "
                         f"{output_tensor.dtype.name}")
    send, _ = _buffer(input_tensor)
    recv, copy_back = _buffer(output_tensor)
    out = recv.reshape((n,) + send.shape)
    return _run(lambda nb: pg._comm.allgather(send, out, nb), [copy_back], async_op, [output_tensor])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list[r]`` over the group's ranks into ``output`` on rank ``r``."""
    _check_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    pg = _groups.resolve(group, "reduce_scatter")
    if pg is None:
        return None
    if len(input_list) != pg.size():
        raise ValueError(f"reduce_scatter: input_list needs one tensor per rank ({pg.size()}), "
                         f"got {len(input_list)}")
    for i, t in enumerate(input_list):
        if t.shape != output.shape or t.dtype != output.dtype:
            raise ValueError(f"reduce_scatter: input_list[{i}] is {tuple(t.shape)} {t.dtype.name}, "
                             f"expected the output's {tuple(output.shape)} {output.dtype.name}")
    name = _reduction(op, output._data.dtype)
    send = xp.stack([_buffer(t)[0] for t in input_list])
    return _reduce_scatter(pg._comm, send, output, op, name, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (group size x ``output``) over the ranks; rank ``r`` gets the r-th slice."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _groups.resolve(group, "reduce_scatter_tensor")
    if pg is None:
        return None
    n = pg.size()
    if input.numel() != n * output.numel() or input.dtype != output.dtype:
        raise ValueError(f"input tensor must have {n} x the output's {output.numel()} "
                         f"elements and its dtype, got {tuple(input.shape)} {input.dtype.name}")
    name = _reduction(op, output._data.dtype)
    send = _buffer(input)[0].reshape((n,) + output._data.shape)
    return _reduce_scatter(pg._comm, send, output, op, name, async_op)


def _reduce_scatter(comm, send, output, op, name, async_op):
    recv, copy_back = _buffer(output)
    avg = (lambda: _average(recv, comm.size)) if op is ReduceOp.AVG else None
    return _run(lambda nb: comm.reduce_scatter(send, recv, name, nb), [avg, copy_back],
                async_op, [output])


# the rest of the API, in modules that use the helpers above
from ._collectives import (  # noqa: E402
    all_to_all,
    all_to_all_single,
    gather,
    monitored_barrier,
    reduce,
    scatter,
)
from ._grad_bucket import GradBucket  # noqa: E402
from ._objects import (  # noqa: E402
    all_gather_object,
    broadcast_object_list,
    gather_object,
    recv_object_list,
    scatter_object_list,
    send_object_list,
)
from ._p2p import P2POp, batch_isend_irecv, irecv, isend, recv, send  # noqa: E402

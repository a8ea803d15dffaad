"""``gradstep.distributed``: process group and collectives on MPI (torch.distributed's API).

Start several processes with an MPI launcher (``mpiexec -n 4 python -m mpi4py
train.py``, ``srun``) and call ``init_process_group()`` in each: rank and world
size come from MPI. A plain ``python train.py`` is a world of one, and every
collective below still runs (as the no-op or copy it is on one rank), with or
without mpi4py installed.

Collectives work in place on tensors like torch's and are not recorded by
autograd. ``async_op=True`` posts a non-blocking MPI call (``Iallreduce``, ...)
and returns a ``Work``; the tensor holds the result once ``wait()`` returns.
"""

from __future__ import annotations

import enum
import sys
import time

from .._tensor import Tensor
from ..backend import is_float_array, xp
from . import _comm

__all__ = [
    "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce",
    "barrier", "broadcast", "broadcast_object_list",
    "destroy_process_group", "get_backend", "get_rank", "get_world_size", "init_process_group",
    "is_available", "is_initialized", "is_mpi_available", "reduce_scatter", "reduce_scatter_tensor",
]

_world = None  # the backend (_comm.MPIBackend or _comm.SingleProcess) once initialized
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


class Work:
    """Handle of a collective: ``wait()`` blocks until it is done; then the tensors hold the result."""

    def __init__(self, request, finish=None, outputs=()):
        self._request = request
        self._finish = finish
        self._outputs = list(outputs)
        self._done = False

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def is_completed(self):
        """True once the operation has finished (never blocks)."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed()

    def wait(self, timeout=None):
        """Block until the operation has finished; returns True."""
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def result(self):
        """The output tensors of the operation."""
        return list(self._outputs)


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


def is_initialized():
    return _world is not None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group; rank and world size come from the MPI launcher.

    ``backend`` is ``"mpi"``, ``"gloo"`` (torch's CPU backend: its collectives run over MPI
    here) or None. ``world_size`` and ``rank``, if given, must agree with what MPI reports.
    Without a launcher this process is rank 0 of 1, so the single-process setup of tests and
    examples (``init_process_group("gloo", init_method="tcp://...", world_size=1, rank=0)``)
    works; ``init_method`` is not needed.
    """
    global _world
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend is not None and str(backend).lower() not in ("mpi", "gloo"):
        raise ValueError(f"gradstep.distributed runs over MPI (backend 'mpi' or 'gloo'), got "
                         f"backend={backend!r}; start the processes with mpiexec (or srun)")
    world = _comm.make_backend()
    if world_size not in (-1, None) and world_size != world.size:
        raise ValueError(f"world_size={world_size} does not match the {world.size} process(es) "
                         "MPI started; with the mpi backend leave world_size out")
    if rank not in (-1, None) and rank != world.rank:
        raise ValueError(f"rank={rank} does not match MPI's rank {world.rank}; with the mpi backend "
                         "leave rank out")
    _world = world
    world.backend_name = str(backend).lower() if backend is not None else "mpi"
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
    """Leave the default group (MPI itself stays up until the process exits)."""
    global _world
    _check_group(group)
    _world = None


def _get_world():
    if _world is None:
        raise ValueError("Default process group has not been initialized, "
                         "please make sure to call init_process_group.")
    return _world


def _check_group(group):
    if group is not None:
        raise ValueError("gradstep.distributed has only the default process group: pass group=None")


def get_backend(group=None):
    """The backend name init_process_group was given ("gloo" runs over MPI too)."""
    _check_group(group)
    return getattr(_get_world(), "backend_name", "mpi")


def get_rank(group=None):
    _check_group(group)
    return _get_world().rank


def get_world_size(group=None):
    _check_group(group)
    return _get_world().size


def barrier(group=None, async_op=False, device_ids=None, timeout=None):
    """Block until every rank has reached this call."""
    _check_group(group)
    req = _get_world().barrier(nonblocking=async_op)
    return Work(req) if async_op else None


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


def _run(world, post, finishers, async_op, outputs):
    """Post a collective; run the ``finishers`` (averaging, copy-back) once it is done."""
    req = post(async_op)

    def finish():
        for f in finishers:
            if f is not None:
                f()

    if async_op:
        return Work(req, finish, outputs)
    finish()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` across all ranks, in place, so every rank holds the result."""
    _check_tensor(tensor, "tensor")
    _check_group(group)
    world = _get_world()
    name = _reduction(op, tensor._data.dtype)
    buf, copy_back = _buffer(tensor)
    avg = (lambda: _average(buf, world.size)) if op is ReduceOp.AVG else None
    return _run(world, lambda nb: world.allreduce(buf, name, nb), [avg, copy_back], async_op, [tensor])


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` from rank ``src`` into ``tensor`` on every other rank."""
    _check_tensor(tensor, "tensor")
    _check_group(group)
    world = _get_world()
    src = group_src if src is None else src
    if src is None:
        raise ValueError("broadcast needs the source rank: pass src")
    if not 0 <= src < world.size:
        raise RuntimeError(f"broadcast: invalid root rank: {src} (world size {world.size})")
    buf, copy_back = _buffer(tensor)
    return _run(world, lambda nb: world.bcast(buf, src, nb), [copy_back], async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with rank ``r``'s ``tensor`` on every rank."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_tensor(tensor, "tensor")
    _check_group(group)
    world = _get_world()
    if len(tensor_list) != world.size:
        raise RuntimeError(f"all_gather: invalid output tensor list (expected length {world.size}, "
                           f"got {len(tensor_list)})")
    for i, t in enumerate(tensor_list):
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise RuntimeError(f"all_gather: invalid tensor at index {i} (expected {tuple(tensor.shape)} "
                               f"{tensor.dtype.name}, got {tuple(t.shape)} {t.dtype.name})")
    send, _ = _buffer(tensor)
    recv = xp.empty((world.size,) + send.shape, dtype=send.dtype)

    def scatter_out():
        for t, part in zip(tensor_list, recv):
            t._data[...] = part.view(t._data.dtype)

    return _run(world, lambda nb: world.allgather(send, recv, nb), [scatter_out], async_op,
                tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Gather every rank's ``input_tensor`` into ``output_tensor`` (stacked or concatenated on dim 0)."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    _check_group(group)
    world = _get_world()
    if output_tensor.numel() != world.size * input_tensor.numel() or \
            output_tensor.dtype != input_tensor.dtype:
        raise ValueError(f"output tensor must have {world.size} x the input's {input_tensor.numel()} "
                         f"elements and its dtype, got {tuple(output_tensor.shape)} "
                         f"{output_tensor.dtype.name}")
    send, _ = _buffer(input_tensor)
    recv, copy_back = _buffer(output_tensor)
    out = recv.reshape((world.size,) + send.shape)
    return _run(world, lambda nb: world.allgather(send, out, nb), [copy_back], async_op,
                [output_tensor])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list[r]`` over all ranks into ``output`` on rank ``r``."""
    _check_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    _check_group(group)
    world = _get_world()
    if len(input_list) != world.size:
        raise ValueError(f"reduce_scatter: input_list needs one tensor per rank ({world.size}), "
                         f"got {len(input_list)}")
    for i, t in enumerate(input_list):
        if t.shape != output.shape or t.dtype != output.dtype:
            raise ValueError(f"reduce_scatter: input_list[{i}] is {tuple(t.shape)} {t.dtype.name}, "
                             f"expected the output's {tuple(output.shape)} {output.dtype.name}")
    name = _reduction(op, output._data.dtype)
    send = xp.stack([_buffer(t)[0] for t in input_list])
    return _reduce_scatter(world, send, output, op, name, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (world size x ``output``) over all ranks; rank ``r`` gets the r-th slice."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_group(group)
    world = _get_world()
    if input.numel() != world.size * output.numel() or input.dtype != output.dtype:
        raise ValueError(f"input tensor must have {world.size} x the output's {output.numel()} "
                         f"elements and its dtype, got {tuple(input.shape)} {input.dtype.name}")
    name = _reduction(op, output._data.dtype)
    send = _buffer(input)[0].reshape((world.size,) + output._data.shape)
    return _reduce_scatter(world, send, output, op, name, async_op)


def _reduce_scatter(world, send, output, op, name, async_op):
    recv, copy_back = _buffer(output)
    avg = (lambda: _average(recv, world.size)) if op is ReduceOp.AVG else None
    return _run(world, lambda nb: world.reduce_scatter(send, recv, name, nb), [avg, copy_back],
                async_op, [output])


from ._objects import all_gather_object, broadcast_object_list  # noqa: E402 - need _get_world

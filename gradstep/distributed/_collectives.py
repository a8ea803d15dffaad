"""Rooted and all-to-all collectives: ``reduce``, ``gather``, ``scatter``, ``all_to_all``,
``all_to_all_single``, and ``monitored_barrier``.

As in torch, ``dst``/``src`` are global ranks and ``group_dst``/``group_src`` ranks of
``group``; a rank outside ``group`` gets a warning and nothing happens. Messages and
exception types follow torch's (its gloo backend's, for checks made in C++ there).
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np

from . import (
    ReduceOp,
    _average,
    _buffer,
    _check_tensor,
    _check_tensor_list,
    _groups,
    _reduction,
    _run,
    _same_dtype,
)
from ._groups import resolve, root_rank

__all__ = ["all_to_all", "all_to_all_single", "gather", "monitored_barrier", "reduce", "scatter"]


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` over the group's ranks into ``tensor`` on rank ``dst`` only."""
    _check_tensor(tensor, "tensor")
    pg = resolve(group, "reduce")
    if pg is None:
        return None
    root = root_rank(pg, dst, group_dst, "dst", "reduce")
    name = _reduction(op, tensor._data.dtype)
    buf, copy_back = _buffer(tensor)
    at_root = pg.rank() == root
    avg = (lambda: _average(buf, pg.size())) if op is ReduceOp.AVG and at_root else None
    return _run(lambda nb: pg._comm.reduce(buf, name, root, nb),
                [avg, copy_back if at_root else None], async_op, [tensor])


def _root_list(tensors, name, my_rank, root, role):
    """torch's rule: the list is given on the root rank, and only there."""
    if my_rank == root and not tensors:
        raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
    if my_rank != root and tensors:
        raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")


def _shape(t):
    """A shape as torch's C++ messages print it: (4) or (2, 3)."""
    return "(" + ", ".join(str(d) for d in t.shape) + ")"


def _check_root_list(op_name, tensors, tensor, n, what):
    if len(tensors) != n:
        raise RuntimeError(f"{op_name}: Incorrect {what} list size {len(tensors)}. {what.title()} "
                           f"list size should be {n}, same as size of the process group.")
    for i, t in enumerate(tensors):
        if t.shape != tensor.shape:
            raise RuntimeError(f"{op_name}: invalid tensor size at index {i} (expected "
                               f"{_shape(tensor)}, got {_shape(t)})")


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """``gather_list[r]`` on rank ``dst`` (global rank 0 by default) gets rank ``r``'s ``tensor``."""
    _check_tensor(tensor, "tensor")
    if gather_list:
        _check_tensor_list(gather_list, "gather_list")
    gather_list = list(gather_list or [])
    _same_dtype(tensor, gather_list)
    pg = resolve(group, "gather")
    if pg is None:
        return None
    root = root_rank(pg, dst, group_dst, "dst", "gather", default=0)
    _root_list(gather_list, "gather_list", pg.rank(), root, "destination")
    send, _ = _buffer(tensor)
    recv = fill = None
    if pg.rank() == root:
        _check_root_list("gather", gather_list, tensor, pg.size(), "output")
        recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)

        def fill():
            for t, part in zip(gather_list, recv):
                t._data[...] = part.view(t._data.dtype)

    return _run(lambda nb: pg._comm.gather(send, recv, root, nb), [fill], async_op, gather_list)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Rank ``r`` gets ``scatter_list[r]`` of rank ``src`` (global rank 0 by default) in ``tensor``."""
    _check_tensor(tensor, "tensor")
    if scatter_list:
        _check_tensor_list(scatter_list, "scatter_list")
    scatter_list = list(scatter_list or [])
    _same_dtype(tensor, scatter_list)
    pg = resolve(group, "scatter")
    if pg is None:
        return None
    root = root_rank(pg, src, group_src, "src", "scatter", default=0)
    _root_list(scatter_list, "scatter_list", pg.rank(), root, "source")
    send = None
    if pg.rank() == root:
        _check_root_list("scatter", scatter_list, tensor, pg.size(), "input")
        send = np.stack([_buffer(t)[0] for t in scatter_list])
    recv, copy_back = _buffer(tensor)
    return _run(lambda nb: pg._comm.scatter(send, recv, root, nb), [copy_back], async_op, [tensor])


def _flat(tensors):
    """One 1-D array of ``tensors``' elements as they travel (bool as uint8)."""
    parts = [_buffer(t)[0].reshape(-1) for t in tensors]
    return np.concatenate(parts) if parts else np.empty(0, np.uint8)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """``output_tensor_list[r]`` gets ``input_tensor_list[me]`` of rank ``r`` (sizes may differ)."""
    pg = resolve(group, "all_to_all")
    if pg is None:
        return None
    _check_tensor_list(output_tensor_list, "output_tensor_list")
    _check_tensor_list(input_tensor_list, "input_tensor_list")
    _same_dtype(output_tensor_list, input_tensor_list)
    n = pg.size()
    for name, ts in (("output_tensor_list", output_tensor_list), ("input_tensor_list",
                                                                  input_tensor_list)):
        if len(ts) != n:
            raise RuntimeError(f"all_to_all: {name} needs one tensor per rank of the group ({n}), "
                               f"got {len(ts)}")
    send = _flat(input_tensor_list)
    send_counts = np.array([t.numel() for t in input_tensor_list], np.int64)
    recv_counts = np.array([t.numel() for t in output_tensor_list], np.int64)
    recv = np.empty(int(recv_counts.sum()), dtype=send.dtype)

    def fill():
        start = 0
        for t, count in zip(output_tensor_list, recv_counts):
            t._data[...] = recv[start:start + count].view(t._data.dtype).reshape(t._data.shape)
            start += count

    return _run(lambda nb: pg._comm.alltoallv(send, send_counts, recv, recv_counts, nb), [fill],
                async_op, output_tensor_list)


def _split_counts(t, split_sizes, n):
    """Elements going to (or coming from) each rank: dim-0 splits times the size of a row."""
    if t.dim() == 0:
        raise RuntimeError("all_to_all_single needs tensors with at least one dimension (it splits "
                           "dim 0)")
    rows = t.shape[0]
    if not split_sizes:
        if rows % n:
            raise RuntimeError("Tensor's dim 0 does not divide equally across group size")
        split_sizes = [rows // n] * n
    elif len(split_sizes) != n:
        raise RuntimeError("Number of tensor splits not equal to group size")
    elif sum(split_sizes) != rows:
        raise RuntimeError("Split sizes doesn't match total dim 0 size")
    row = t.numel() // rows if rows else 0
    return np.array([int(s) * row for s in split_sizes], np.int64)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,  # noqa: A002
                      group=None, async_op=False):
    """Split ``input`` on dim 0 (evenly, or by ``input_split_sizes``), send split ``r`` to rank
    ``r``, and concatenate what each rank sent into ``output`` (``output_split_sizes`` rows)."""
    pg = resolve(group, "all_to_all_single")
    if pg is None:
        return None
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _same_dtype(output, input)
    n = pg.size()
    send_counts = _split_counts(input, input_split_sizes, n)
    recv_counts = _split_counts(output, output_split_sizes, n)
    send = _buffer(input)[0].reshape(-1)
    recv, copy_back = _buffer(output)
    return _run(lambda nb: pg._comm.alltoallv(send, send_counts, recv.reshape(-1), recv_counts, nb),
                [copy_back], async_op, [output])


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that fails instead of hanging: rank 0 raises naming the rank(s) that did not
    arrive within ``timeout`` (the group's timeout by default; with ``wait_all_ranks`` all of
    them), and the others raise if rank 0 does not answer in time.

    torch implements it for gloo only; here it runs over MPI for either backend name.
    """
    pg = resolve(group, "monitored_barrier")
    if pg is None:
        return None
    if timeout is None:
        timeout = pg._timeout
    elif isinstance(timeout, float):
        warnings.warn("Please specify timeout arg as a timedelta. Converting current value of "
                      f"{timeout} assuming it represents seconds", stacklevel=2)
        timeout = timedelta(seconds=timeout)
    timeout = _groups.check_timeout(timeout)
    pg._comm.monitored_barrier(timeout.total_seconds(), wait_all_ranks)
    return None

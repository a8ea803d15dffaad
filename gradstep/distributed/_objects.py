"""Collectives of picklable Python objects: ``all_gather_object``, ``gather_object``,
``broadcast_object_list``, ``scatter_object_list``, ``send_object_list``, ``recv_object_list``.

Evaluation code gathers predictions and scripts share a config this way. As in torch, the
objects travel pickled between the ranks of one job (which trust each other: unpickling
runs code, so these are not for data from outside the job); the bytes go through the same
buffer collectives as tensors, the sizes first.
"""

from __future__ import annotations

import pickle

import numpy as np

from ._groups import get_global_rank, group_peer, resolve, root_rank

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object", "recv_object_list",
           "scatter_object_list", "send_object_list"]

_TAG = 0  # sizes, then bytes, with the default tag, as torch's send_object_list sends them


def _bytes(obj):
    return np.frombuffer(pickle.dumps(obj), np.uint8)


def _padded(parts):
    """(sizes, rows padded with zeros to the longest) of a list of byte arrays."""
    sizes = np.array([p.size for p in parts], np.int64)
    rows = np.zeros((len(parts), int(sizes.max()) if parts else 0), np.uint8)
    for row, p in zip(rows, parts):
        row[:p.size] = p
    return sizes, rows


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` becomes the ``obj`` of the group's rank ``r`` on every rank."""
    pg = resolve(group, "all_gather_object")
    if pg is None:
        return None
    comm, n = pg._comm, pg.size()
    if len(object_list) != n:
        raise ValueError(f"all_gather_object: object_list must have one entry per rank "
                         f"({n}), got {len(object_list)}")
    data = _bytes(obj)
    sizes = np.zeros((n, 1), np.int64)
    comm.allgather(np.array([data.size], np.int64), sizes)
    send = np.zeros(int(sizes.max()), np.uint8)
    send[:data.size] = data
    recv = np.zeros((n, send.size), np.uint8)
    comm.allgather(send, recv)
    for r in range(n):
        object_list[r] = pickle.loads(recv[r, :int(sizes[r, 0])].tobytes())
    return None


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """On rank ``dst`` (global rank 0 by default), ``object_gather_list[r]`` becomes rank ``r``'s
    ``obj``; the list must be None on the other ranks."""
    pg = resolve(group, "gather_object")
    if pg is None:
        return None
    root = root_rank(pg, dst, group_dst, "dst", "gather_object", default=0)
    at_root = pg.rank() == root
    if at_root and not object_gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if not at_root and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    comm, n = pg._comm, pg.size()
    data = _bytes(obj)
    sizes = np.zeros((n, 1), np.int64)
    comm.allgather(np.array([data.size], np.int64), sizes)
    send = np.zeros(int(sizes.max()), np.uint8)
    send[:data.size] = data
    recv = np.zeros((n, send.size), np.uint8) if at_root else None
    comm.gather(send, recv, root)
    if not at_root:
        return None
    if len(object_gather_list) < n:
        raise ValueError(f"gather_object: object_gather_list must have one entry per rank ({n}), "
                         f"got {len(object_gather_list)}")
    for r in range(n):
        object_gather_list[r] = pickle.loads(recv[r, :int(sizes[r, 0])].tobytes())
    return None


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Every rank's ``object_list`` becomes rank ``src``'s (in place, same length)."""
    pg = resolve(group, "broadcast_object_list")
    if pg is None:
        return None
    root = group_peer(pg, src, group_src, "src")
    if not 0 <= root < pg.size():
        raise ValueError(f"broadcast_object_list: invalid source rank {root} (group size "
                         f"{pg.size()})")
    comm = pg._comm
    payload = pickle.dumps(list(object_list)) if pg.rank() == root else b""
    size = np.array([len(payload)], np.int64)
    comm.bcast(size, root)
    buf = np.zeros(int(size[0]), np.uint8)
    if pg.rank() == root:
        buf[:] = np.frombuffer(payload, np.uint8)
    comm.bcast(buf, root)
    values = pickle.loads(buf.tobytes())
    if len(values) != len(object_list):
        raise ValueError("broadcast_object_list: the lists must have the same length on every rank")
    object_list[:] = values
    return None


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    """``scatter_object_output_list[0]`` on rank ``r`` becomes ``scatter_object_input_list[r]``
    of rank ``src`` (global rank 0 by default)."""
    pg = resolve(group, "scatter_object_list")
    if pg is None:
        return None
    root = root_rank(pg, src, group_src, "src", "scatter_object_list", default=0)
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    comm, n = pg._comm, pg.size()
    sizes = rows = None
    width = np.zeros(1, np.int64)
    if pg.rank() == root:
        if scatter_object_input_list is None:
            raise ValueError("source rank must provide non-None scatter_object_input_list")
        if len(scatter_object_input_list) != n:
            raise RuntimeError(f"scatter_object_list: Incorrect input list size "
                               f"{len(scatter_object_input_list)}. Input list size should be {n}, "
                               "same as size of the process group.")
        sizes, rows = _padded([_bytes(o) for o in scatter_object_input_list])
        width[0] = rows.shape[1]
    comm.bcast(width, root)
    mine = np.zeros(int(width[0]), np.uint8)
    comm.scatter(rows, mine, root)
    my_size = np.zeros(1, np.int64)
    comm.scatter(None if sizes is None else sizes.reshape(n, 1), my_size, root)
    scatter_object_output_list[0] = pickle.loads(mine[:int(my_size[0])].tobytes())
    return None


def send_object_list(object_list, dst=None, group=None, device=None, group_dst=None,
                     use_batch=False):
    """Send the objects of ``object_list`` to rank ``dst`` (which calls ``recv_object_list`` with
    a list of the same length)."""
    pg = resolve(group, "send_object_list")
    if pg is None:
        return None
    peer = group_peer(pg, dst, group_dst, "dst")
    if pg.rank() == peer:
        raise ValueError("Invalid destination rank: destination rank should not be the same as "
                         "the rank of the current process.")
    parts = [_bytes(o) for o in object_list]
    sizes = np.array([p.size for p in parts], np.int64)
    data = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    comm = pg._comm
    comm.isend(sizes, peer, _TAG).Wait()
    comm.isend(data, peer, _TAG).Wait()
    return None


def recv_object_list(object_list, src=None, group=None, device=None, group_src=None,
                     use_batch=False):
    """Fill ``object_list`` with the objects rank ``src`` (any rank when None) sent; returns the
    sender's global rank."""
    pg = resolve(group, "recv_object_list")
    if pg is None:
        return -1
    peer = None if src is None and group_src is None else group_peer(pg, src, group_src, "src")
    comm = pg._comm
    sizes = np.zeros(len(object_list), np.int64)
    req = comm.irecv(sizes, peer, _TAG)
    req.Wait()
    sender = req.source if peer is None else peer
    data = np.zeros(int(sizes.sum()), np.uint8)
    comm.irecv(data, sender, _TAG).Wait()
    start = 0
    for i, size in enumerate(sizes):
        object_list[i] = pickle.loads(data[start:start + int(size)].tobytes())
        start += int(size)
    return get_global_rank(pg, sender)

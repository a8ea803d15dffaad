"""Collectives of picklable Python objects: ``all_gather_object`` and ``broadcast_object_list``.

Evaluation code gathers predictions and scripts share a config this way. As in torch, the
objects travel pickled between the ranks of one job (which trust each other: unpickling
runs code, so these are not for data from outside the job); the bytes go through the same
buffer collectives as tensors, the sizes first.
"""

from __future__ import annotations

import pickle

import numpy as np

__all__ = ["all_gather_object", "broadcast_object_list"]


def _world(group):
    from . import _check_group, _get_world

    _check_group(group)
    return _get_world()


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` becomes rank ``r``'s ``obj`` on every rank."""
    world = _world(group)
    if len(object_list) != world.size:
        raise ValueError(f"all_gather_object: object_list must have one entry per rank "
                         f"({world.size}), got {len(object_list)}")
    data = np.frombuffer(pickle.dumps(obj), np.uint8)
    sizes = np.zeros((world.size, 1), np.int64)
    world.allgather(np.array([data.size], np.int64), sizes)
    width = int(sizes.max())
    send = np.zeros(width, np.uint8)
    send[:data.size] = data
    recv = np.zeros((world.size, width), np.uint8)
    world.allgather(send, recv)
    for r in range(world.size):
        object_list[r] = pickle.loads(recv[r, :int(sizes[r, 0])].tobytes())


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Every rank's ``object_list`` becomes rank ``src``'s (in place, same length)."""
    world = _world(group)
    src = group_src if src is None else src
    if src is None or not 0 <= src < world.size:
        raise ValueError(f"broadcast_object_list: invalid source rank {src} (world size "
                         f"{world.size})")
    payload = pickle.dumps(list(object_list)) if world.rank == src else b""
    size = np.array([len(payload)], np.int64)
    world.bcast(size, src)
    buf = np.zeros(int(size[0]), np.uint8)
    if world.rank == src:
        buf[:] = np.frombuffer(payload, np.uint8)
    world.bcast(buf, src)
    values = pickle.loads(buf.tobytes())
    if len(values) != len(object_list):
        raise ValueError("broadcast_object_list: the lists must have the same length on every rank")
    object_list[:] = values

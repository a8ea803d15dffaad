"""Point-to-point: ``send``/``recv``, ``isend``/``irecv``, ``P2POp`` and ``batch_isend_irecv``.

Messages go over MPI (``Isend``/``Irecv`` on the group's communicator) and match by
peer and ``tag``, in order. ``isend``/``irecv`` may name this rank itself (torch allows
it; ``send``/``recv`` do not). In a world of one, a message to self is matched by tag.
"""

from __future__ import annotations

from . import Work, _buffer, _check_tensor
from ._groups import default_group, get_global_rank, resolve
from ._groups import group_peer as _to_group_rank

__all__ = ["P2POp", "batch_isend_irecv", "irecv", "isend", "recv", "send"]


def _check_peer(pg, peer, what):
    if not 0 <= peer < pg.size():
        raise RuntimeError(f"Invalid {what} rank {peer}: the group has ranks 0 to {pg.size() - 1}")


def _check_not_self(pg, peer, what):
    if pg.rank() == peer:
        raise ValueError(f"Invalid {what} rank: {what} rank should not be the same as the rank of "
                         "the current process.")


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Post a send of ``tensor`` to rank ``dst``; returns a ``Work`` (do not change ``tensor``
    before it completes)."""
    _check_tensor(tensor, "tensor")
    pg = resolve(group, "isend")
    if pg is None:
        return None
    peer = _to_group_rank(pg, dst, group_dst, "dst")
    _check_peer(pg, peer, "destination")
    buf, _ = _buffer(tensor)
    work = Work(pg._comm.isend(buf, peer, tag), outputs=[tensor])
    work._buffer = buf  # the data MPI reads until the send completes
    return work


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Post a receive into ``tensor`` from rank ``src`` (any rank when src and group_src are
    None); returns a ``Work``."""
    _check_tensor(tensor, "tensor")
    pg = resolve(group, "irecv")
    if pg is None:
        return None
    peer = None
    if src is not None or group_src is not None:
        peer = _to_group_rank(pg, src, group_src, "src")
        _check_peer(pg, peer, "source")
    buf, copy_back = _buffer(tensor)
    return Work(pg._comm.irecv(buf, peer, tag), copy_back, [tensor])


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst`` and wait until the send is done."""
    pg = resolve(group, "send")
    if pg is None:
        return None
    peer = _to_group_rank(pg, dst, group_dst, "dst")
    _check_not_self(pg, peer, "destination")
    isend(tensor, group=pg, tag=tag, group_dst=peer).wait()
    return None


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any rank when None); the sender's global rank,
    or -1 on a rank outside ``group``."""
    work = irecv(tensor, src=src, group=group, tag=tag, group_src=group_src)
    if work is None:
        return -1
    work.wait()
    if src is not None:
        return src
    pg = default_group() if group is None else group
    if group_src is None:
        group_src = work._source_rank()
    _check_not_self(pg, group_src, "source")
    return get_global_rank(pg, group_src)


class P2POp:
    """One send or receive of ``batch_isend_irecv``: ``op`` is ``isend`` or ``irecv``."""

    def __new__(cls, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type "
                             "``torch.distributed.isend`` or ``torch.distributed.irecv``.")
        _check_tensor(tensor, "tensor")
        return object.__new__(cls)

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        self.op = op
        self.tensor = tensor
        self.group = default_group() if group is None else group
        self.tag = tag
        self.group_peer = _to_group_rank(self.group, peer, group_peer, "peer")
        self.peer = peer if peer is not None else get_global_rank(self.group, self.group_peer)

    def __repr__(self):
        return (f"P2POp({self.op.__name__} group_peer={self.group_peer}, "
                f"{tuple(self.tensor.shape)}, {self.tensor.dtype})")


def batch_isend_irecv(p2p_op_list):
    """Post every send and receive of ``p2p_op_list`` (one group); the list of their ``Work``.

    All are posted non-blocking before any is waited on, so their order does not matter.
    """
    if not isinstance(p2p_op_list, list) or not p2p_op_list or \
            not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    if not all(p.group is p2p_op_list[0].group for p in p2p_op_list):
        raise ValueError("All ops need to use the same group.")
    works = []
    for p in p2p_op_list:
        key = "group_dst" if p.op is isend else "group_src"
        work = p.op(p.tensor, group=p.group, tag=p.tag, **{key: p.group_peer})
        if work is not None:
            works.append(work)
    return works

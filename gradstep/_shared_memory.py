"""Shared memory for tensors (``share_memory_``, ``Module.share_memory``), and how shared
tensors travel to other processes.

A shared storage is a ``MAP_SHARED`` mapping of a ``memfd`` (Linux; an anonymous mapping
elsewhere). Processes forked afterwards see the same pages. A process that receives a
shared tensor through ``multiprocessing`` pickling (``Process`` arguments under the
``spawn``/``forkserver`` start methods, ``Queue``) gets a duplicate of the file descriptor and
maps the same memory, as torch's ``file_descriptor`` sharing strategy does: Hogwild training
(pytorch/examples' ``mnist_hogwild``, which sets ``spawn``) trains the parent's weights.
These reductions are registered with ``multiprocessing.reduction.ForkingPickler`` only: an
ordinary ``pickle.dumps`` or ``torch.save`` of a shared tensor still writes its values.
"""

from __future__ import annotations

import mmap
import os
import weakref
from multiprocessing import reduction

from .backend import xp


class _Segment(mmap.mmap):
    """A shared mapping that remembers the file descriptor it maps (None: anonymous)."""

    fd = None


def _new_segment(nbytes):
    size = max(int(nbytes), 1)
    if not hasattr(os, "memfd_create"):
        return _Segment(-1, size)
    fd = os.memfd_create("gradstep-storage", getattr(os, "MFD_CLOEXEC", 0))
    try:
        os.ftruncate(fd, size)
        seg = _map(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return seg


def _map(fd, size):
    seg = _Segment(fd, size)
    seg.fd = fd
    weakref.finalize(seg, os.close, fd)
    return seg


def _segment_of(owner):
    """The ``mmap`` under the root array ``owner`` (``np.frombuffer`` of it), or None."""
    base = owner.base
    if isinstance(base, mmap.mmap):
        return base
    obj = getattr(base, "obj", None)  # a memoryview of the mapping
    return obj if isinstance(obj, mmap.mmap) else None


def is_shared_array(owner):
    return _segment_of(owner) is not None


def shared_copy(raw):
    """A copy of the 1-D uint8 array ``raw`` in shared memory."""
    out = xp.frombuffer(_new_segment(raw.size), dtype=xp.uint8, count=raw.size)
    out[...] = raw
    return out


# ---------------------------------------------------------------- to other processes
def _reduce(tensor, owner_of):
    """``(rebuild, args)`` sending ``tensor``'s shared memory by file descriptor, or None if
    its storage is not a memfd mapping (then the tensor is pickled by value)."""
    arr = tensor._data
    owner = owner_of(arr)
    seg = _segment_of(owner)
    if seg is None or seg.fd is None:
        return None
    start = arr.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    layout = (len(seg), start, arr.shape, arr.strides, arr.dtype.str)
    return reduction.DupFd(seg.fd), layout


def _rebuild_array(dup, layout):
    size, start, shape, strides, dtype = layout
    seg = _map(dup.detach(), size)
    raw = xp.frombuffer(seg, dtype=xp.uint8)
    return xp.ndarray(shape, xp.dtype(dtype), buffer=raw, offset=start, strides=strides)


def _rebuild_tensor(dup, layout, requires_grad):
    from ._tensor import Tensor

    t = Tensor._make(_rebuild_array(dup, layout))
    t._rg = requires_grad
    return t


def _rebuild_parameter(dup, layout, requires_grad):
    from .nn.parameter import Parameter

    return Parameter(_rebuild_tensor(dup, layout, False), requires_grad)


def _rebuild_buffer(dup, layout, requires_grad, persistent):
    from .nn.parameter import Buffer

    return Buffer(_rebuild_tensor(dup, layout, requires_grad), persistent=persistent)


def register_reductions(owner_of):
    """Teach ``ForkingPickler`` to send shared tensors, Parameters and Buffers by handle;
    ``owner_of(arr)`` gives the root array of ``arr``'s storage."""
    from ._tensor import Tensor
    from .nn.parameter import Buffer, Parameter

    def tensor(t):
        shared = _reduce(t, owner_of)
        return t.__reduce_ex__(2) if shared is None else (_rebuild_tensor, (*shared, t._rg))

    def parameter(p):
        shared = _reduce(p, owner_of)
        return p.__reduce_ex__(2) if shared is None else (_rebuild_parameter, (*shared, p._rg))

    def buffer(b):
        shared = _reduce(b, owner_of)
        return b.__reduce_ex__(2) if shared is None else (
            _rebuild_buffer, (*shared, b._rg, b.persistent))

    for cls, fn in ((Tensor, tensor), (Parameter, parameter), (Buffer, buffer)):
        reduction.ForkingPickler.register(cls, fn)

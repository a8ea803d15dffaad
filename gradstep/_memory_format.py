"""``memory_format`` objects: ``preserve_format``, ``contiguous_format``, ``channels_last``...

gradstep always stores tensors row-major (``contiguous_format``). The other formats are
accepted wherever torch takes ``memory_format=`` so GPU-tuned code runs; they change no
values, only the rank check torch makes (``channels_last`` needs a 4-d tensor,
``channels_last_3d`` a 5-d one) and whether a conversion copies (``needs_format_copy``).
"""

from __future__ import annotations


class memory_format:
    """One of torch's four memory formats (compared by identity, as torch's are)."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        from . import backend

        return f"{backend.display_name}.{self._name}"

    def __reduce__(self):
        return self._name  # pickles as the module-level singleton


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

_RANK = {channels_last: 4, channels_last_3d: 5}


def check_memory_format(fmt, ndim, *, allow_preserve=True):
    """Raise as torch does for a format that cannot describe a tensor of ``ndim`` dimensions."""
    if fmt is None or fmt is contiguous_format:
        return
    if fmt is preserve_format:
        if not allow_preserve:
            raise RuntimeError("unsupported memory format Preserve")
        return
    if not isinstance(fmt, memory_format):
        raise TypeError(f"memory_format must be a gradstep.memory_format, not {type(fmt).__name__}")
    rank = _RANK[fmt]
    if ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt._name} format")


def needs_format_copy(arr, fmt, *, by_strides=True):
    """Whether ``contiguous`` (``by_strides``) or ``to`` (not) with ``memory_format=fmt``
    returns a new tensor in torch.

    torch copies into a channels-last layout unless the input already has it: ``contiguous``
    asks the strides (a C == 1 or H == W == 1 tensor passes), ``to`` the layout torch
    suggests for the tensor, never channels-last for one gradstep stores (row-major).
    gradstep keeps the values row-major but copies where torch does, so a later in-place
    write to the result leaves the original alone exactly when torch's does.
    """
    return fmt in _RANK and not (by_strides and is_contiguous_as(arr, fmt))


def is_contiguous_as(arr, fmt):
    """Whether the array ``arr``'s strides are those of ``fmt`` (torch's ``is_contiguous``)."""
    if fmt is None or fmt in (contiguous_format, preserve_format):
        return bool(arr.flags.c_contiguous)
    rank = _RANK.get(fmt)
    if rank is None or arr.ndim != rank:
        return False
    order = (0, *range(2, rank), 1)  # channels last: N, spatial..., C innermost
    expected = 1
    for axis in reversed(order):
        size = arr.shape[axis]
        if size != 1 and arr.strides[axis] != expected * arr.itemsize:
            return False
        expected *= size
    return True

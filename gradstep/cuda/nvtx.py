"""``torch.cuda.nvtx``: NVTX annotations need a CUDA build; torch's CPU build raises on use."""

from __future__ import annotations

import contextlib

__all__ = ["mark", "range_push", "range_pop", "range_start", "range_end", "range"]


def _not_installed(*args, **kwargs):
    raise RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build?")


range_push = range_pop = mark = range_start = range_end = _not_installed


@contextlib.contextmanager
def range(msg, *args, **kwargs):  # noqa: A001  (torch's name)
    """``with nvtx.range("step"):`` pushes a range on entry: refused as ``range_push`` is."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()

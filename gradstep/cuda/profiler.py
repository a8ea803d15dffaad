"""``torch.cuda.profiler``: the CUDA profiler needs the CUDA runtime (torch's CPU build refuses
``start``/``stop``; ``profile()`` is a context that starts it on entry)."""

from __future__ import annotations

import contextlib

from ._surface import check_error, cudart

__all__ = ["init", "start", "stop", "profile"]
DEFAULT_FLAGS = ["gpustarttimestamp", "gpuendtimestamp", "gridsize3d", "threadblocksize",
                 "streamid", "enableonstart 0", "conckerneltrace"]


def init(*args, **kwargs):
    cudart()


def start():
    cudart()


def stop():
    cudart()


@contextlib.contextmanager
def profile():
    try:
        start()
        yield
    finally:
        stop()


_ = check_error

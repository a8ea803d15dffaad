"""Keep freed array memory inside the process between training steps (glibc malloc).

A training step allocates and frees the same large temporaries (activations,
gradients, im2col columns) every step. With glibc's default, adaptive settings,
memory freed at the top of the heap is handed back to the kernel once more than
``M_TRIM_THRESHOLD`` of it is free, and blocks above ``M_MMAP_THRESHOLD`` get a
fresh ``mmap`` each time; so every step page-faults its working set back in.
Measured on a 2-core Zen 5 VM (one thread): the LeNet step spent 4 of its 9 ms
and the transformer step 27 of its 163 ms in the kernel, serving about 2,500 and
15,000 page faults per step; with the thresholds below both fall to zero and peak
RSS is unchanged (the memory is the same, it is only not given back and re-faulted).

``retain_freed_memory()`` runs once at import (``gradstep.backend``). It changes
malloc for the whole process: up to ``TRIM_THRESHOLD`` bytes of free heap stay
mapped. Set the environment variable ``GRADSTEP_MALLOC_TUNING=0`` to leave malloc
alone; off glibc (macOS, musl, Windows) nothing happens.
"""

from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 32 * 1024 * 1024  # blocks below this come from the heap (glibc's own cap)
TRIM_THRESHOLD = 256 * 1024 * 1024  # free heap kept mapped before trimming
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers (malloc.h)


def retain_freed_memory():
    """Raise glibc's mmap/trim thresholds; returns whether malloc was changed."""
    if os.environ.get("GRADSTEP_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok

"""Where a checkpoint's storages go: ``map_location`` as torch reads it, on a machine with only a CPU.

``load`` checks the argument's type before it reads the file (:func:`check_map_location_type`);
the torch-format loader asks :func:`location_target` for each storage. A ``map_location``
callable is the caller's code: whatever it raises, or a result of the wrong kind, reaches
the caller as that error (through :class:`CallerError`), never as a malformed-file error.
"""

from __future__ import annotations

import numpy as np

from ._tensor import Tensor, device
from .serialization import CheckpointError


class CallerError(Exception):
    """The caller's ``map_location`` failed (``error``): re-raised as it is after the load, not reported as
    a malformed pickle (the restricted unpickler turns TypeError and ValueError into CheckpointError)."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


def check_map_location_type(map_location):
    """``map_location`` is something ``load`` understands (torch's kinds), checked before the file is read."""
    if map_location is None or isinstance(map_location, (str, dict, device)) or hasattr(map_location, "type") \
            or callable(map_location):
        return
    raise TypeError(f"map_location must be a str, device, dict or callable, not {type(map_location).__name__}")


def location_target(location, map_location, storage):
    """Where a storage saved on ``location`` goes; only the CPU exists here (torch's error otherwise)."""
    target = location
    if map_location is None:
        pass
    elif isinstance(map_location, dict):
        target = map_location.get(location, location)
    elif isinstance(map_location, (str, device)) or hasattr(map_location, "type"):
        target = map_location
    elif callable(map_location):
        try:
            result = map_location(Tensor._make(storage.array), location)
        except Exception as e:  # noqa: BLE001 - the caller's code: its error, not a malformed file
            raise CallerError(e) from None
        if result is not None:
            if not isinstance(result, Tensor) or result._data.dtype != storage.array.dtype \
                    or result._data.size != storage.array.size:
                raise CallerError(TypeError("map_location's callable must return None or the storage it was "
                                            "given (a 1-D tensor) on the CPU"))
            storage.array = np.ascontiguousarray(result._data).reshape(-1)
            target = "cpu"
    else:
        raise TypeError(f"map_location must be a str, device, dict or callable, not {type(map_location).__name__}")
    kind = str(getattr(target, "type", target)).split(":")[0]
    if kind == "cuda":
        raise CheckpointError(
            "Attempting to deserialize object on a CUDA device but gradstep runs on the CPU only. "
            "Use gradstep.load with map_location='cpu' to map your storages to the CPU.")
    if kind != "cpu":
        raise CheckpointError(f"don't know how to restore data location {target!r}; gradstep runs on the "
                              "CPU only (use map_location='cpu')")


def check_map_location(map_location):
    """For files without storage locations (the native format): CPU data goes where ``map_location`` says."""
    if callable(map_location) and not isinstance(map_location, (str, dict, device)):
        return
    location_target("cpu", map_location, None)

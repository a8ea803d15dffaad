"""``parallel_apply``: run each module on its input, one thread per accelerator. On a
CPU-only build there is no device stream to run on: after torch's argument checks it
fails where torch's fails (asking for the current stream, or for the accelerator)."""

from __future__ import annotations

from ._devices import cuda_device_index

__all__ = ["get_a_var", "parallel_apply"]


def get_a_var(obj):
    """The first tensor found in ``obj`` (a tensor, or nested lists, tuples and dicts)."""
    from ..._tensor import Tensor

    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for result in map(get_a_var, obj):
            if isinstance(result, Tensor):
                return result
    if isinstance(obj, dict):
        for result in map(get_a_var, obj.items()):
            if isinstance(result, Tensor):
                return result
    return None


def parallel_apply(modules, inputs, kwargs_tup=None, devices=None):
    """Apply ``modules[i]`` to ``inputs[i]`` on ``devices[i]`` (all of the same length)."""
    from ... import accelerator

    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                             f"number of inputs {len(inputs)}")
    if kwargs_tup is not None and len(modules) != len(kwargs_tup):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                             f"number of kwargs_tup {len(kwargs_tup)}")
    if devices is not None:
        if len(modules) != len(devices):
            raise AssertionError(f"The number of modules {len(modules)} is not equal to the "
                                 f"number of devices {len(devices)}")
    else:
        devices = [None] * len(modules)
    devices = [cuda_device_index(d, True) for d in devices]
    for d in devices:
        accelerator.current_stream(d)  # raises: no accelerator
    raise AssertionError("No available accelerator found.")

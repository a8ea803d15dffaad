"""``scatter``, ``scatter_kwargs`` and ``gather`` as a CPU-only torch runs them.

The structure is walked as torch walks it (tuples, lists, dicts and namedtuples are split
per device, other objects repeated); a tensor needs the scatter or gather kernels of an
accelerator, which a CPU-only build has not: scattering one fails where torch's fails
(its ``torch._C`` has no ``_scatter``), and gathering CPU tensors is refused as torch's
``Gather`` refuses it.
"""

from __future__ import annotations

import warnings

from ._devices import device_index

__all__ = ["gather", "is_namedtuple", "scatter", "scatter_kwargs"]


def is_namedtuple(obj):
    """Deprecated alias of the namedtuple check, kept as torch keeps it."""
    warnings.warn("is_namedtuple is deprecated, please use the python checks instead",
                  FutureWarning, stacklevel=2)
    return _is_namedtuple(obj)


def _is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def _scatter_tensor(tensor, target_gpus, dim):
    """torch's ``Scatter`` for one tensor: device indices checked, then the kernel."""
    for d in target_gpus:
        device_index(d, True)
    from ... import backend

    # torch's comm.scatter calls torch._C._scatter, which a CPU-only build lacks
    raise AttributeError(f"module '{backend.display_name}._C' has no attribute '_scatter'")


def scatter(inputs, target_gpus, dim=0):
    """Slice tensors into chunks along ``dim`` over ``target_gpus`` (duplicating the rest)."""
    from ..._tensor import Tensor

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            return _scatter_tensor(obj, target_gpus, dim)
        if _is_namedtuple(obj):
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj))]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in target_gpus]

    try:
        return scatter_map(inputs)
    finally:
        scatter_map = None  # noqa: F841 - breaks the closure's reference cycle, as torch does


def scatter_kwargs(inputs, kwargs, target_gpus, dim=0):
    """Scatter positional and keyword inputs alike, padding the shorter list."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) - len(scattered_inputs)))
    elif len(scattered_kwargs) < len(inputs):
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) - len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def gather(outputs, target_device, dim=0):
    """Gather tensors from several devices onto ``target_device`` (CPU tensors refused)."""
    from ..._tensor import Tensor

    def gather_map(outs):
        out = outs[0]
        if isinstance(out, Tensor):
            # torch's Gather asserts that no input is a CPU tensor: every gradstep tensor is
            raise AssertionError("Gather function not implemented for CPU tensors")
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outs])) for k in out)
        if _is_namedtuple(out):
            return type(out)._make(map(gather_map, zip(*outs)))
        return type(out)(map(gather_map, zip(*outs)))

    try:
        return gather_map(outputs)
    finally:
        gather_map = None  # noqa: F841

"""``torch._utils``: the helpers of it that published training code imports.

Older distributed and mixed-precision optimizers (apex-style) flatten a list of tensors into
one buffer and back with ``_flatten_dense_tensors`` / ``_unflatten_dense_tensors``.
"""

from __future__ import annotations


def _flatten_dense_tensors(tensors):
    """All of ``tensors`` flattened and concatenated into one new 1-D tensor."""
    from .ops.shape import cat

    return cat([t.reshape(-1) for t in tensors])


def _unflatten_dense_tensors(flat, tensors):
    """Views of ``flat`` shaped like each of ``tensors`` in turn (the inverse of the above)."""
    out, offset = [], 0
    for t in tensors:
        n = t.numel()
        out.append(flat.narrow(0, offset, n).view(t.shape))
        offset += n
    return tuple(out)


def _get_device_index(device, optional=False, allow_cpu=False):
    """A device's index: -1 for the CPU (when ``allow_cpu``), an int as it is (torch's helper)."""
    from ._device import device as device_cls

    if isinstance(device, str):
        device = device_cls(device)
    index = None
    if isinstance(device, device_cls):
        if not allow_cpu and device.type == "cpu":
            raise ValueError(f"Expected a non cpu device, but got: {device}")
        index = -1 if device.type == "cpu" else device.index
    if isinstance(device, int):
        index = device
    if index is None:
        if optional:
            return -1  # the only device there is: the CPU
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but "
                         f"got:{device}")
    return index


def typename(obj):
    """``torch.typename``: a tensor's legacy type name (``torch.FloatTensor``), else the
    object's dotted module and qualified name (builtins by bare name)."""
    from . import backend as B
    from ._tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.type()
    if hasattr(obj, "__qualname__"):
        module, qualname = getattr(obj, "__module__", "") or "", obj.__qualname__
    elif hasattr(obj, "__name__"):
        module, qualname = getattr(obj, "__module__", "") or "", obj.__name__
    else:
        module, qualname = type(obj).__module__ or "", type(obj).__qualname__
    if module in ("", "builtins"):
        return qualname
    if module.split(".")[0] == "gradstep":  # torch.nn.modules.linear.Linear under the hook
        module = B.display_name + module[len("gradstep"):]
    return f"{module}.{qualname}"


def is_compiling():
    """Deprecated ``torch._utils.is_compiling`` (timm's and other optimizers still call it):
    warns as torch does, then answers ``torch.compiler.is_compiling()``."""
    import warnings

    from .compiler import is_compiling as compiler_is_compiling

    warnings.warn("`torch._utils.is_compiling` is deprecated. Use "
                  "`torch.compiler.is_compiling` instead.", stacklevel=2)
    return compiler_is_compiling()

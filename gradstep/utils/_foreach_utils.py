"""``torch.utils._foreach_utils``: the grouping helpers that forks of torch's optimizers call.

Code copied from torch's ``_multi_tensor_*`` implementations groups its tensor lists with
``Optimizer._group_tensors_by_device_and_dtype`` (which lands here) and asks which devices
have foreach or fused kernels. gradstep has one device (``cpu``), so a group is keyed by the
first list's ``(device, dtype)`` and keeps the lists' order.
"""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.parameter import Parameter

#: the tensor types the foreach kernels accept (subclasses take the per-tensor path)
_foreach_supported_types = [Tensor, Parameter]

_PRIVATEUSE1 = "privateuseone"  # torch._C._get_privateuse1_backend_name() of a plain build


def _get_foreach_kernels_supported_devices() -> list[str]:
    """The device types with foreach kernels (torch's list; ``cpu`` is not on it)."""
    return ["cuda", "xpu", "mtia", _PRIVATEUSE1]


def _get_fused_kernels_supported_devices() -> list[str]:
    """The device types with fused optimizer kernels (torch's list)."""
    return ["mps", "cuda", "xpu", "hpu", "cpu", "mtia", _PRIVATEUSE1]


@no_grad()
def _group_tensors_by_device_and_dtype(tensorlistlist, with_indices=False):
    """``{(device, dtype): ([each list's tensors of that group], indices)}``, grouped by the
    first list's tensors; an empty list stays empty in every group. ``indices`` are the
    positions in the first list (empty unless ``with_indices``), as torch's C++ helper gives."""
    count = len(tensorlistlist[0])
    if any(len(tensors) not in (count, 0) for tensors in tensorlistlist):
        raise RuntimeError(
            "Expected std::all_of( nested_tensorlist.cbegin(), nested_tensorlist.cend(), "
            "[&](const auto& tensorlist) -> bool { return tensorlist.size() == num_tensors || "
            "tensorlist.size() == 0; }) to be true, but got false.  (Could this error message "
            "be improved?  If so, please report an enhancement request to PyTorch.)")
    groups: dict = {}
    for i, first in enumerate(tensorlistlist[0]):
        key = (first.device, first.dtype)
        if key not in groups:
            groups[key] = ([[] for _ in tensorlistlist], [])
        lists, indices = groups[key]
        for out, tensors in zip(lists, tensorlistlist):
            if tensors:
                out.append(tensors[i])
        if with_indices:
            indices.append(i)
    return groups


def _device_has_foreach_support(device) -> bool:
    return device.type in (_get_foreach_kernels_supported_devices() + ["cpu"])


def _has_foreach_support(tensors, device) -> bool:
    return _device_has_foreach_support(device) and all(
        t is None or type(t) in _foreach_supported_types for t in tensors)

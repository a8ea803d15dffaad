"""Device indices as torch.nn.parallel reads them (``torch._utils._get_device_index`` and
``torch.cuda._utils._get_device_index``), for a build with no accelerator."""

from __future__ import annotations


def _as_device(device):
    from ..._device import device as Device

    return Device(device) if isinstance(device, str) else device


def device_index(device, optional=False):
    """Any device (torch._utils' rule): an int as is, a CPU device refused, a device's
    index, else (``optional``) the current device's, which a CPU-only build has not."""
    from ..._device import device as Device

    device = _as_device(device)
    if isinstance(device, Device):
        if device.type == "cpu":
            raise ValueError(f"Expected a non cpu device, but got: {device}")
        if device.index is not None:
            return device.index
    elif isinstance(device, int):
        return device
    if not optional:
        raise ValueError("Expected a torch.device with a specified index or an integer, "
                         f"but got:{device}")
    return None  # no accelerator: no current device index


def cuda_device_index(device, optional=False):
    """A CUDA device (torch.cuda._utils' rule, used by parallel_apply): other types refused."""
    from ..._device import device as Device

    if isinstance(device, int):
        return device
    device = _as_device(device)
    if isinstance(device, Device) and device.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {device}")
    return device_index(device, optional)

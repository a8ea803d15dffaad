"""``replicate``: copies of a module for each device, as a CPU-only torch runs it.

No devices gives no replicas; a CPU device is refused; parameters and buffers need the
broadcast kernel of an accelerator (refused as torch's ``Broadcast`` refuses CPU tensors).
A module with neither is replicated as torch replicates it: each module shallow-copied
(``_replicate_for_data_parallel``) with its children replaced by their replicas.
"""

from __future__ import annotations

from ._devices import device_index

__all__ = ["replicate"]


def _replica(module):
    """torch's ``Module._replicate_for_data_parallel``: a shallow copy sharing state."""
    rep = module.__new__(type(module))
    rep.__dict__ = module.__dict__.copy()
    rep._parameters = {}
    rep._buffers = rep._buffers.copy()
    rep._modules = rep._modules.copy()
    rep._is_replica = True
    return rep


def replicate(network, devices, detach=False):
    """One copy of ``network`` per device in ``devices`` (for DataParallel)."""
    if not devices:
        return []
    devices = [device_index(d, True) for d in devices]
    tensors = list(network.parameters()) + list(network.buffers())
    if tensors:
        raise AssertionError("Broadcast function not implemented for CPU tensors")
    copies = []
    for _ in devices:
        reps = {}
        for module in network.modules():
            reps[id(module)] = _replica(module)
        for module in network.modules():
            rep = reps[id(module)]
            for key, child in module._modules.items():
                rep._modules[key] = None if child is None else reps[id(child)]
        copies.append(reps[id(network)])
    return copies

"""``DataParallel`` as torch runs it without an accelerator: a transparent wrapper.

torch's ``DataParallel`` replicates the module over the visible CUDA devices; with
none (gradstep runs on the CPU) it keeps ``device_ids = []`` and calls the wrapped
module directly. The wrapped module is the child ``module``, so state_dict keys
carry torch's ``module.`` prefix.
"""

from __future__ import annotations

from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    """Wrap ``module``; ``forward`` calls it with the same arguments (no device to split over)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """torch's functional form needs an accelerator; on the CPU it raises as torch does."""
    raise RuntimeError("device type could not be determined")

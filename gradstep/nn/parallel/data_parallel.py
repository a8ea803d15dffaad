"""``DataParallel`` as torch runs it without an accelerator: a transparent wrapper.

torch's ``DataParallel`` replicates the module over the visible CUDA devices; with
none (gradstep runs on the CPU) it keeps ``device_ids = []`` and calls the wrapped
module directly (whatever ``device_ids`` it was given). The wrapped module is the child
``module``, so state_dict keys carry torch's ``module.`` prefix. Its ``replicate``,
``scatter``, ``gather`` and ``parallel_apply`` methods are torch's, which on such a build
fail as torch's do (``scatter``/``gather`` read a ``dim`` that is never set).
"""

from __future__ import annotations

from ..modules.module import Module
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import gather, scatter_kwargs

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    """Wrap ``module``; ``forward`` calls it with the same arguments (no device to split over)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)

    def replicate(self, module, device_ids):
        from ...autograd.grad_mode import is_grad_enabled

        return replicate(module, device_ids, not is_grad_enabled())

    def scatter(self, inputs, kwargs, device_ids):
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def parallel_apply(self, replicas, inputs, kwargs):
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[:len(replicas)])

    def gather(self, outputs, output_device):
        return gather(outputs, output_device, dim=self.dim)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """torch's functional form needs an accelerator; on the CPU it raises as torch does."""
    raise RuntimeError("device type could not be determined")

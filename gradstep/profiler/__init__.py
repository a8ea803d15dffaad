"""``torch.profiler``: where the time of a training step goes, op by op.

``with profile(...) as prof:`` records each op run through gradstep's op dispatch
(``aten::mm``, ...), each backward node (``MmBackward0``) and each ``record_function`` block,
with real timings, then ``prof.key_averages().table()``, ``prof.export_chrome_trace(path)``,
``schedule(...)``/``prof.step()`` and ``tensorboard_trace_handler`` work as in torch. Nothing
is checked on the op path while no profiler runs (see ``_recorder``). There is no device:
``ProfilerActivity.CUDA`` warns and the CPU is recorded.
"""

from ._events import DeviceType
from ._recorder import record_function
from .profiler import (
    ProfilerAction,
    ProfilerActivity,
    _KinetoProfile,
    profile,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)


def kineto_available() -> bool:
    """Whether ``profile``'s trace API (torch builds it on Kineto) is there: it is, on
    gradstep's own recorder."""
    return True


__all__ = [
    "profile", "schedule", "supported_activities", "tensorboard_trace_handler", "ProfilerAction",
    "ProfilerActivity", "kineto_available", "DeviceType", "record_function",
]

"""``torch.autograd.profiler_util``: the profiler's result classes (they live in
:mod:`gradstep.profiler._events`, with the table in ``_table``)."""

from ..profiler._events import (  # noqa: F401
    DeviceType,
    EventList,
    FunctionEvent,
    FunctionEventAvg,
    Interval,
    _format_memory,
    _format_time,
    _format_time_share,
)
from ..profiler._table import build_table as _build_table  # noqa: F401

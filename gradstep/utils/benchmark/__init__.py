"""``torch.utils.benchmark``: ``Timer``, ``Measurement`` and ``Compare``, as in torch.

``Timer(stmt, setup, globals=...).blocked_autorange()`` times a Python statement in blocks that
hide the timer's own cost and returns a ``Measurement`` (``median``, ``mean``, ``iqr``,
``times``); ``Compare([...]).print()`` lays many out as a table. Torch's fuzzers and its C++ and
Callgrind timing (which need libtorch) are not here.
"""

from .utils.common import (
    Measurement,
    TaskSpec,
    ordered_unique,
    select_unit,
    set_torch_threads,
    trim_sigfig,
    unit_to_english,
)
from .utils.compare import Colorize, Compare
from .utils.timer import Language, Timer, timer

__all__ = ["Timer", "timer", "Language", "Measurement", "TaskSpec", "Compare", "Colorize",
           "select_unit", "unit_to_english", "trim_sigfig", "ordered_unique",
           "set_torch_threads"]

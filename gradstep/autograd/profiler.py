"""``torch.autograd.profiler``: the legacy profiler API, on gradstep's recorder.

``with profile() as prof: ...`` records every op run through the op dispatch, every backward
node and every ``record_function`` block (see :mod:`gradstep.profiler._recorder`);
``prof.key_averages().table(...)``, ``prof.export_chrome_trace(path)`` and the rest report
them as torch does. There is no GPU: a CUDA request warns and records the CPU alone.
``emit_nvtx``/``emit_itt`` (annotations for NVIDIA's and Intel's external profilers) have no
tool to talk to here and do nothing.
"""

from __future__ import annotations

import warnings

from ..profiler._events import EventList, FunctionEvent, FunctionEventAvg
from ..profiler._recorder import Session, record_function
from ..profiler._results import build_events, write_chrome_trace

__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt", "EventList", "FunctionEvent",
           "FunctionEventAvg", "KinetoStepTracker"]


def _no_cuda(what):
    warnings.warn(f"CUDA is not available, disabling CUDA profiling ({what}: gradstep runs on "
                  "the CPU, whose activity is recorded)", stacklevel=3)


class profile:
    """Context manager that records the ops run inside it (torch's legacy profiler).

    Args are torch's; ``use_cuda``/``use_device`` warn (no device here), ``with_flops``,
    ``with_modules`` and ``use_kineto`` are accepted and change nothing. ``profile_memory``
    counts the bytes each op's result allocated. ``acc_events`` keeps the events of earlier
    start/stop cycles.
    """

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None,
                 activity_filters=None):
        self.enabled = enabled
        if not enabled:
            return
        if use_cuda:
            warnings.warn("The attribute `use_cuda` will be deprecated soon, please use "
                          "``use_device = 'cuda'`` instead.", FutureWarning, stacklevel=2)
            use_device = "cuda"
        if use_device is not None and use_device != "cpu":
            _no_cuda(f"use_device={use_device!r}")
        self.use_device = None
        self.use_cpu = use_cpu
        self.record_shapes = record_shapes
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.use_kineto = use_kineto
        self.experimental_config = experimental_config
        self.acc_events = acc_events
        self.custom_trace_id_callback = custom_trace_id_callback
        self.entered = False
        self._session = None
        self._function_events = None
        self._old_function_events = None

    # -- the recording window ----------------------------------------------------------
    def __enter__(self):
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self._prepare_trace()
        self._start_trace()
        return self

    def _prepare_trace(self):
        self.entered = True
        self._session = Session(self.record_shapes and self.use_cpu,
                                self.profile_memory and self.use_cpu,
                                self.with_stack and self.use_cpu)

    def _start_trace(self):
        self.entered = True
        if self._session is None:
            self._prepare_trace()
        if self.use_cpu:
            self._session.start()

    def __exit__(self, exc_type, exc_val, exc_tb):
        if not self.enabled:
            return False
        if self._function_events is not None and self.acc_events:
            self._old_function_events = self._function_events
        self._function_events = None
        if self._session is not None:
            self._session.stop()
        if self.acc_events:
            self._ensure_function_events()
        return False

    # -- results -----------------------------------------------------------------------
    def _ensure_function_events(self):
        if self._function_events is not None:
            return
        if self._session is None:
            raise RuntimeError("Profiler didn't finish running")
        events = build_events(self._session, self.use_device, self.with_flops)
        if self._old_function_events and self.acc_events:
            events.extend(self._old_function_events)
            self._old_function_events = None
        self._function_events = events

    @property
    def function_events(self):
        self._ensure_function_events()
        return self._function_events

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        return self.function_events.table(
            sort_by=sort_by, row_limit=row_limit, max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width, header=header,
            top_level_events_only=top_level_events_only)

    table.__doc__ = EventList.table.__doc__

    def export_chrome_trace(self, path, metadata=None, use_python_export=False):
        """Write the trace as a Chrome/Perfetto JSON file (gzip when ``path`` ends in .gz)."""
        write_chrome_trace(self._session, self.function_events, path, metadata)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total"):
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        return self.function_events.export_stacks(path, metric)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n,
                                                 group_by_overload_name)

    key_averages.__doc__ = EventList.key_averages.__doc__

    def total_average(self):
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self):
        """The self times of all events added up: the time the profiled code took."""
        return self.function_events.self_cpu_time_total

    def __repr__(self):
        if self._session is None or self._session.running:
            return "<unfinished torch.autograd.profile>"
        return repr(self.function_events)

    def __str__(self):
        if self._session is None or self._session.running:
            return "<unfinished torch.autograd.profile>"
        return str(self.function_events)


class _NoExternalTool:
    """Annotations for an external profiler (NVTX, ITT) that gradstep has none of: the
    context runs its block unchanged."""

    _what = ""

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.entered = False

    def __enter__(self):
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError(f"{self._what} annotation context manager is not reentrant")
        self.entered = True
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.entered = False
        return False


class emit_nvtx(_NoExternalTool):
    """NVTX ranges for nvprof/Nsight: no NVIDIA tool runs here, so nothing is emitted."""

    _what = "NVTX"


class emit_itt(_NoExternalTool):
    """ITT ranges for Intel VTune: not emitted here (no ITT library)."""

    _what = "ITT"


class KinetoStepTracker:
    """Step counts that several requesters (the profiler, an optimizer hook) advance; the
    global step is the largest of them."""

    _step_dict: dict = {}
    _current_step = 0

    @classmethod
    def init_step_count(cls, requester: str):
        cls._step_dict[requester] = cls._current_step

    @classmethod
    def erase_step_count(cls, requester: str) -> bool:
        return cls._step_dict.pop(requester, None) is not None

    @classmethod
    def increment_step(cls, requester: str) -> int:
        if requester not in cls._step_dict:
            cls.init_step_count(requester)
        cls._step_dict[requester] += 1
        cls._current_step = max(cls._current_step, max(cls._step_dict.values()))
        return cls._current_step

    @classmethod
    def current_step(cls) -> int:
        return cls._current_step

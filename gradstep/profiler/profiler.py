"""``torch.profiler.profile``: the profiler with a step schedule and a trace callback.

Each recording cycle is a legacy :class:`gradstep.autograd.profiler.profile` (as in torch): made
when the schedule first asks for WARMUP or RECORD, started at RECORD, stopped after the cycle's
RECORD_AND_SAVE step, which then calls ``on_trace_ready(prof)``. The actions and their
transitions are torch's, so ``on_trace_ready`` fires at the same steps.
"""

from __future__ import annotations

import os
import warnings
from enum import Enum
from functools import partial

from ..autograd import profiler as _legacy
from ._recorder import record_function

__all__ = ["ProfilerActivity", "ProfilerAction", "profile", "schedule", "supported_activities",
           "tensorboard_trace_handler"]


class ProfilerActivity(Enum):
    """What a profiler collects; the values are torch's."""

    CPU = 0
    XPU = 1
    CUDA = 2
    HPU = 3
    MTIA = 4
    PrivateUse1 = 5


class ProfilerAction(Enum):
    """What the profiler does at a step (a schedule returns one per step)."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4  # torch's: device collection stopped early (never with no device)


def supported_activities():
    """The activities this build can record: the CPU alone."""
    return {ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """The step -> ``ProfilerAction`` function torch's ``schedule`` makes.

    Skip ``skip_first`` steps, then cycle: ``wait`` steps of NONE, ``warmup`` of WARMUP,
    ``active`` of RECORD (the last RECORD_AND_SAVE), ``repeat`` times (0: without end).
    ``skip_first_wait`` leaves out the first cycle's wait.
    """
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup="
            f"{warmup} (need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)
    cycle = wait + warmup + active

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _default_schedule_fn(_step):
    """No schedule: record from start to stop."""
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False, use_python_export: bool = False):
    """An ``on_trace_ready`` that writes ``<dir_name>/<worker>.<ns time>.pt.trace.json[.gz]``
    (``worker`` defaults to ``<hostname>_<pid>``), the files TensorBoard's profiler plugin reads."""
    import socket
    import time

    def handler_fn(prof) -> None:
        nonlocal worker_name
        if not os.path.isdir(dir_name):
            try:
                os.makedirs(dir_name, exist_ok=True)
            except Exception as e:
                raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{worker_name}.{time.time_ns()}.pt.trace.json"
        if use_gzip:
            file_name += ".gz"
        prof.export_chrome_trace(os.path.join(dir_name, file_name))

    return handler_fn


_warned_cycle = False


def _warn_cycle_once():
    global _warned_cycle
    if not _warned_cycle:
        _warned_cycle = True
        warnings.warn("Warning: Profiler clears events at the end of each cycle. Only events "
                      "from the current cycle will be reported. To keep events across cycles, "
                      "set acc_events=True.", stacklevel=4)


def _parse_activities(activities):
    """The set of activities; a CUDA (or other device) one warns: only the CPU is recorded."""
    if activities is None:
        return supported_activities()
    out = set()
    for item in activities:
        keys = list(item) if isinstance(item, dict) else [item]
        for a in keys:
            if not isinstance(a, ProfilerActivity):
                raise TypeError(f"Expected ProfilerActivity or dict, got {type(a)}")
            if a in out:
                raise ValueError(f"Activity {a} specified more than once")
            out.add(a)
    if not out:
        raise AssertionError("No valid profiler activities found")
    devices = sorted(a.name for a in out if a is not ProfilerActivity.CPU)
    if devices:
        warnings.warn(f"ProfilerActivity.{', '.join(devices)} requested: gradstep has no device "
                      "and runs every op on the CPU, so the CPU activity is recorded instead",
                      stacklevel=4)
    return out


class _KinetoProfile:
    """A profiler without a schedule: ``start()``/``stop()`` and the results (torch's base)."""

    def __init__(self, *, activities=None, record_shapes=False, profile_memory=False,
                 with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None):
        self.activities = _parse_activities(activities)
        self.record_shapes = record_shapes
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.experimental_config = experimental_config
        self.execution_trace_observer = execution_trace_observer
        self.acc_events = acc_events
        self.custom_trace_id_callback = custom_trace_id_callback
        self.profiler = None
        self.use_device = None
        self._metadata = {}

    def start(self) -> None:
        self.prepare_trace()
        self.start_trace()

    def stop(self) -> None:
        self.stop_trace()

    def prepare_trace(self) -> None:
        if self.profiler is not None and not self.acc_events:
            _warn_cycle_once()
        if self.profiler is None or not self.acc_events:
            self.profiler = _legacy.profile(
                use_cpu=True, record_shapes=self.record_shapes, with_flops=self.with_flops,
                profile_memory=self.profile_memory, with_stack=self.with_stack,
                with_modules=self.with_modules, use_kineto=True, acc_events=self.acc_events)
        self.profiler._prepare_trace()

    def start_trace(self) -> None:
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before starting trace")
        self.profiler._start_trace()

    def stop_trace(self) -> None:
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before stopping trace")
        self.profiler.__exit__(None, None, None)

    def _need(self, what):
        if self.profiler is None:
            raise AssertionError(f"Profiler must be initialized before {what}")
        return self.profiler

    def export_chrome_trace(self, path: str, use_python_export: bool = False):
        """Write the last cycle's trace (Chrome JSON; gzip when ``path`` ends in .gz)."""
        self._need("exporting chrome trace").export_chrome_trace(path, self._metadata)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total"):
        return self._need("exporting stacks").export_stacks(path, metric)

    def export_memory_timeline(self, path: str, device: str | None = None) -> None:
        raise NotImplementedError("export_memory_timeline: gradstep's profiler keeps no "
                                  "allocator timeline; use profile_memory=True and the table's "
                                  "CPU Mem columns")

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False):
        """The events averaged by name (and input shapes, stack, overload when asked)."""
        return self._need("getting key averages").key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def events(self):
        """The unaggregated ``FunctionEvent``\\ s of the last cycle."""
        return self._need("accessing events").function_events

    def add_metadata(self, key: str, value: str) -> None:
        """A string entry for the trace file's top level."""
        self._metadata[key] = value

    def add_metadata_json(self, key: str, value: str) -> None:
        """A JSON entry (given as its text) for the trace file's top level."""
        import json

        self._metadata[key] = json.loads(value)

    def toggle_collection_dynamic(self, enable: bool, activities) -> None:
        """Pause (``enable=False``) or resume collecting the CPU activity."""
        if self.profiler is None or ProfilerActivity.CPU not in set(activities):
            return
        session = self.profiler._session
        if session is not None:
            (session.resume if enable else session.pause)()


class profile(_KinetoProfile):
    """Profiler context manager (``torch.profiler.profile``).

    ``schedule(step) -> ProfilerAction`` decides, at each ``prof.step()``, whether to wait,
    warm up or record; ``on_trace_ready(prof)`` runs at the end of each recording cycle (and at
    exit if it was recording). With a schedule, each step is a ``ProfilerStep#N`` range.
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None,
                 post_processing_timeout_s=None):
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead",
                          FutureWarning, stacklevel=2)
            if use_cuda:
                activities = list(activities or supported_activities()) + [ProfilerActivity.CUDA]
        super().__init__(activities=activities, record_shapes=record_shapes,
                         profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops, with_modules=with_modules,
                         experimental_config=experimental_config,
                         execution_trace_observer=execution_trace_observer,
                         acc_events=acc_events, custom_trace_id_callback=custom_trace_id_callback)
        self.schedule = schedule or _default_schedule_fn
        self.record_steps = bool(schedule)  # ProfilerStep#N ranges only with a schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.step_rec_fn = None
        self.current_action = self._checked_action(0)
        self.action_map = self._action_map()

    def _checked_action(self, step):
        action = self.schedule(step)
        if action == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler "
                             "and must not be returned by a user-provided schedule")
        return action

    def _action_map(self):
        """(previous action, next action) -> what to do; ``None`` as next: the profiler stops."""
        A = ProfilerAction
        prep, start, stop, ready = (self.prepare_trace, self.start_trace, self.stop_trace,
                                    self._trace_ready)
        cycle_end = [stop, ready]
        return {
            (A.NONE, A.NONE): [], (A.NONE, A.WARMUP): [prep],
            (A.NONE, A.RECORD): [prep, start], (A.NONE, A.RECORD_AND_SAVE): [prep, start],
            (A.WARMUP, A.NONE): [partial(warnings.warn, "Incorrect schedule: WARMUP followed "
                                         "by NONE"), start, stop],
            (A.WARMUP, A.WARMUP): [], (A.WARMUP, A.RECORD): [start],
            (A.WARMUP, A.RECORD_AND_SAVE): [start],
            (A.RECORD, A.NONE): [partial(warnings.warn, "Incorrect schedule: RECORD followed "
                                         "by NONE"), stop],
            (A.RECORD, A.WARMUP): [partial(warnings.warn, "Incorrect schedule: RECORD followed "
                                           "by WARMUP"), stop],
            (A.RECORD, A.RECORD): [], (A.RECORD, A.RECORD_AND_SAVE): [],
            (A.RECORD_AND_SAVE, A.NONE): cycle_end,
            (A.RECORD_AND_SAVE, A.WARMUP): cycle_end + [prep],
            (A.RECORD_AND_SAVE, A.RECORD): cycle_end + [prep, start],
            (A.RECORD_AND_SAVE, A.RECORD_AND_SAVE): cycle_end + [prep, start],
            (A.WARMUP, None): [start, stop], (A.RECORD, None): cycle_end,
            (A.RECORD_AND_SAVE, None): cycle_end,
        }

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        return False

    def start(self) -> None:
        self._transit_action(ProfilerAction.NONE, self.current_action)
        self._open_step()

    def stop(self) -> None:
        self._close_step()
        self._transit_action(self.current_action, None)

    def step(self) -> None:
        """Signal that the next step begins: advance the schedule and act on it."""
        self._close_step()
        prev_action = self.current_action
        self.current_action = self._checked_action(self.step_num + 1)
        self.step_num += 1
        self._transit_action(prev_action, self.current_action)
        self._open_step()

    def _open_step(self):
        if self.record_steps:
            self.step_rec_fn = record_function("ProfilerStep#" + str(self.step_num))
            self.step_rec_fn.__enter__()

    def _close_step(self):
        if self.record_steps and self.step_rec_fn is not None:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None

    def _trace_ready(self) -> None:
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def _transit_action(self, prev_action, current_action) -> None:
        for action in self.action_map.get((prev_action, current_action), ()):
            action()

"""The profiler's results, with torch's classes and attribute names (``torch.autograd.profiler_util``).

``FunctionEvent``: one recorded range. ``FunctionEventAvg``: the events of one key added up.
``EventList``: a list of either, with ``table()``, ``key_averages()``, ``total_average()``,
``export_chrome_trace()`` and ``export_stacks()``. Times are microseconds (floats). There is no
device here: every device time is 0 and ``device_type`` is always ``DeviceType.CPU``.
"""

from __future__ import annotations

import enum
import warnings
from collections import defaultdict


class DeviceType(enum.Enum):
    """torch's ``DeviceType`` (the values torch gives them)."""

    CPU = 0
    CUDA = 1
    MKLDNN = 2
    OPENGL = 3
    OPENCL = 4
    IDEEP = 5
    HIP = 6
    FPGA = 7
    MAIA = 8
    XLA = 9
    Vulkan = 10
    Metal = 11
    XPU = 12
    MPS = 13
    Meta = 14
    HPU = 15
    VE = 16
    Lazy = 17
    IPU = 18
    MTIA = 19
    PrivateUse1 = 20


def _format_time(time_us):
    """``1.234ms``: three decimals in the largest unit that keeps the number >= 1."""
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_time_share(time_us, total_time_us):
    if total_time_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_time_us:.2f}%"


def _format_memory(nbytes):
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _time_str(attr):
    return property(lambda self: _format_time(getattr(self, attr)))


class _FormattedTimes:
    """``cpu_time`` (the average a call) and the ``*_str`` forms torch's events have."""

    cpu_time_str = _time_str("cpu_time")
    device_time_str = _time_str("device_time")
    cpu_time_total_str = _time_str("cpu_time_total")
    device_time_total_str = _time_str("device_time_total")
    self_cpu_time_total_str = _time_str("self_cpu_time_total")
    self_device_time_total_str = _time_str("self_device_time_total")

    @property
    def cpu_time(self):
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def device_time(self):
        return 0.0 if self.count == 0 else self.device_time_total / self.count

    @property
    def cuda_time(self):
        warnings.warn("`cuda_time` is deprecated, please use `device_time` instead.",
                      FutureWarning, stacklevel=2)
        return self.device_time


class Interval:
    def __init__(self, start, end):
        self.start = start
        self.end = end

    def elapsed_us(self):
        return self.end - self.start


class FunctionEvent(_FormattedTimes):
    """One recorded range: an op, a backward node or a ``record_function`` block."""

    def __init__(self, id, name, thread, start_us, end_us, overload_name="", fwd_thread=None,
                 input_shapes=None, stack=None, scope=0, use_device=None, cpu_memory_usage=0,
                 device_memory_usage=0, is_async=False, is_remote=False, sequence_nr=-1,
                 node_id=-1, device_type=DeviceType.CPU, device_index=0, is_legacy=False,
                 flops=None, trace_name=None, is_user_annotation=False):
        self.id = id
        self.node_id = node_id
        self.name = name
        self.overload_name = overload_name
        self.trace_name = trace_name if trace_name is not None else name
        self.time_range = Interval(start_us, end_us)
        self.thread = thread
        self.fwd_thread = fwd_thread
        self.kernels = []
        self.count = 1
        self.cpu_children = []
        self.cpu_parent = None
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.concrete_inputs = []
        self.kwinputs = {}
        self.stack = stack if stack is not None else []
        self.scope = scope
        self.use_device = use_device
        self.cpu_memory_usage = cpu_memory_usage
        self.device_memory_usage = device_memory_usage
        self.is_async = is_async
        self.is_remote = is_remote
        self.sequence_nr = sequence_nr
        self.device_type = device_type
        self.device_index = device_index
        self.device_resource_id = thread
        self.is_legacy = is_legacy
        self.flops = flops
        self.is_user_annotation = is_user_annotation
        self.is_python_function = False
        self.self_cpu_percent = -1
        self.total_cpu_percent = -1
        self.total_device_percent = -1

    def append_cpu_child(self, child):
        """Add a direct child (only direct ones, so self time comes out right)."""
        if not isinstance(child, FunctionEvent):
            raise TypeError(f"a CPU child must be a FunctionEvent, not {type(child).__name__}")
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent):
        if not isinstance(parent, FunctionEvent):
            raise TypeError(f"a CPU parent must be a FunctionEvent, not {type(parent).__name__}")
        self.cpu_parent = parent

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        """The time in this range less its direct children's."""
        if self.is_async:
            return 0
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self):
        if self.is_async:
            return 0
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    device_time_total = 0
    self_device_time_total = 0
    self_device_memory_usage = 0

    @property
    def cuda_time_total(self):
        warnings.warn("`cuda_time_total` is deprecated. Use `device_time_total` instead.",
                      FutureWarning, stacklevel=2)
        return self.device_time_total

    @property
    def self_cuda_time_total(self):
        warnings.warn("`self_cuda_time_total` is deprecated. Use `self_device_time_total` "
                      "instead.", FutureWarning, stacklevel=2)
        return self.self_device_time_total

    def __repr__(self):
        dev = self.use_device
        return (
            f"<FunctionEvent id={self.id} name={self.name} overload_name={self.overload_name} "
            f"device_type={self.device_type} node_id={self.node_id} cpu_time={self.cpu_time_str} "
            f"start_us={self.time_range.start} end_us={self.time_range.end} "
            f"cpu_children={[c.id for c in self.cpu_children]} {dev}_time={self.device_time_str} "
            f"name={self.name} thread={self.thread} input_shapes={self.input_shapes} "
            f"cpu_memory_usage={self.cpu_memory_usage} {dev}_memory_usage="
            f"{self.device_memory_usage} is_async={self.is_async} is_remote={self.is_remote} "
            f"seq_nr={self.sequence_nr} is_legacy={self.is_legacy}>")


class FunctionEventAvg(_FormattedTimes):
    """The events sharing one key, added up (``count`` of them)."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.node_id = 0
        self.is_async = False
        self.is_remote = False
        self.use_device = None
        self.cpu_time_total = 0
        self.device_time_total = 0
        self.self_cpu_time_total = 0
        self.self_device_time_total = 0
        self.input_shapes = None
        self.overload_name = None
        self.stack = None
        self.scope = None
        self.cpu_memory_usage = 0
        self.device_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.self_device_memory_usage = 0
        self.cpu_children = None
        self.cpu_parent = None
        self.device_type = DeviceType.CPU
        self.is_legacy = False
        self.is_user_annotation = False
        self.flops = 0

    def add(self, other):
        if not isinstance(other, (FunctionEvent, FunctionEventAvg)):
            raise TypeError("FunctionEventAvg.add takes a FunctionEvent or a FunctionEventAvg, "
                            f"not {type(other).__name__}")
        if self.key is None:  # the first one: its description is the group's
            for attr in ("key", "node_id", "is_async", "is_remote", "cpu_parent", "cpu_children",
                         "overload_name", "input_shapes", "stack", "scope", "device_type",
                         "is_legacy", "use_device", "is_user_annotation"):
                setattr(self, attr, getattr(other, attr))
        elif other.key != self.key:
            raise ValueError(f"cannot add an event of key {other.key!r} to the average of "
                             f"key {self.key!r}")
        for attr in ("cpu_time_total", "device_time_total", "self_cpu_time_total",
                     "self_device_time_total", "cpu_memory_usage", "device_memory_usage",
                     "self_cpu_memory_usage", "self_device_memory_usage", "count"):
            setattr(self, attr, getattr(self, attr) + getattr(other, attr))
        if other.flops is not None:
            self.flops = (self.flops or 0) + other.flops
        return self

    def __iadd__(self, other):
        return self.add(other)

    def __repr__(self):
        dev = self.use_device or "cuda"
        return (
            f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
            f"cpu_time={self.cpu_time_str}  self_{dev}_time={self.self_device_time_total_str} "
            f"{dev}_time={self.device_time_str} input_shapes={self.input_shapes} "
            f"cpu_memory_usage={self.cpu_memory_usage} {dev}_memory_usage="
            f"{self.device_memory_usage}>")


class EventList(list):
    """A list of ``FunctionEvent`` (or of ``FunctionEventAvg``) with the profiler's reports."""

    def __init__(self, *args, use_device=None, profile_memory=False, with_flops=False):
        super().__init__(*args)
        self._use_device = use_device
        self._profile_memory = profile_memory
        self._with_flops = with_flops
        self._tree_built = False

    def __str__(self):
        return self.table()

    def _build_tree(self):
        """Parents and children are known when recorded; fold same-name single-child nests."""
        self._remove_dup_nodes()
        self._tree_built = True

    def _remove_dup_nodes(self):
        """A range whose parent has its name and no other child is dropped into the parent (as
        torch does: a function that only calls itself shows once)."""
        while True:
            drop = set()
            for i, ev in enumerate(self):
                p = ev.cpu_parent
                if p is not None and p.name == ev.name and len(p.cpu_children) == 1:
                    p.cpu_children = ev.cpu_children
                    for ch in ev.cpu_children:
                        ch.cpu_parent = p
                    drop.add(i)
            if not drop:
                return
            keep = [ev for i, ev in enumerate(self) if i not in drop]
            self.clear()
            self.extend(keep)

    @property
    def self_cpu_time_total(self):
        return sum(ev.self_cpu_time_total for ev in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None):
        """The events as torch's text table (see ``torch.autograd.profiler_util.EventList``).

        ``sort_by``: an event attribute, largest first (``cpu_time_total``,
        ``self_cpu_time_total``, ``count``, ...; ``cuda_*`` names read the device times, 0 here).
        """
        from ._table import build_table

        return build_table(
            self, sort_by=sort_by, header=header, row_limit=row_limit,
            max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width,
            profile_memory=self._profile_memory, with_flops=self._with_flops,
            top_level_events_only=top_level_events_only, time_unit=time_unit)

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (the JSON array form), for ``chrome://tracing``."""
        import json

        out = [{"name": ev.trace_name, "ph": "X", "ts": ev.time_range.start,
                "dur": ev.time_range.elapsed_us(), "tid": ev.thread, "pid": "CPU functions",
                "args": {}} for ev in self if ev.trace_name is not None]
        with open(path, "w") as f:
            json.dump(out, f)

    def supported_export_stacks_metrics(self):
        return ["self_cpu_time_total", "self_cuda_time_total", "self_xpu_time_total",
                "self_privateuse1_time_total"]

    def export_stacks(self, path: str, metric: str):
        """One line per event with a stack: ``outer;...;inner value`` (flame graph input)."""
        if metric not in self.supported_export_stacks_metrics():
            raise ValueError("metric should be one of: "
                             + str(self.supported_export_stacks_metrics()))
        attr = metric.replace("cuda", "device").replace("xpu", "device").replace(
            "privateuse1", "device")
        clean = str.maketrans(" ;\t\n", "____")
        with open(path, "w") as f:
            for ev in self:
                value = int(getattr(ev, attr))
                if ev.stack and value > 0:
                    frames = ";".join(s.translate(clean) for s in reversed(ev.stack))
                    f.write(f"{frames} {value}\n")

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """One ``FunctionEventAvg`` per key (the name; with the input shapes, the top stack
        frames or the overload name too when asked), in order of first appearance."""
        if not self._tree_built:
            self._build_tree()
        stats = defaultdict(FunctionEventAvg)
        for ev in self:
            key = [str(ev.key), str(ev.node_id), str(ev.device_type), str(ev.is_legacy),
                   str(ev.is_user_annotation)]
            if group_by_overload_name:
                key.append(ev.overload_name)
            if group_by_input_shapes:
                key.append(str(ev.input_shapes))
            if group_by_stack_n > 0:
                key += ev.stack[:group_by_stack_n]
            stats[tuple(key)].add(ev)
        out = EventList(stats.values(), use_device=self._use_device,
                        profile_memory=self._profile_memory, with_flops=self._with_flops)
        for avg in out:
            avg.stack = avg.stack[:group_by_stack_n]
            if not group_by_input_shapes:
                avg.input_shapes = ""
            if not group_by_overload_name:
                avg.overload_name = ""
        out._tree_built = True
        return out

    def total_average(self):
        """Every event added into one ``FunctionEventAvg`` of key ``"Total"``."""
        total = FunctionEventAvg()
        for ev in self:
            total.add(ev)
            total.key = None  # the next one adds whatever its key
        total.key = "Total"
        return total

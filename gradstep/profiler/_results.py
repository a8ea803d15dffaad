"""From a recording session to torch's results: the ``EventList`` and the Chrome trace file."""

from __future__ import annotations

import os
import time

from ._events import EventList, FunctionEvent
from ._recorder import USER_SCOPE


def _wildcard(name):
    """torch's table name for a range: every ``ProfilerStep#N`` is ``ProfilerStep*``."""
    return "ProfilerStep*" if name.startswith("ProfilerStep#") else name


def build_events(session, use_device=None, with_flops=False):
    """The session's ranges as ``FunctionEvent``\\ s (times in us from the session's start),
    each with its parent and children: the innermost range that was open on its thread when
    it began, among this session's."""
    out = EventList(use_device=use_device, profile_memory=session.profile_memory,
                    with_flops=with_flops)
    t0 = session.start_ns
    if t0 is None:  # never started (a CPU-less legacy profiler)
        out._tree_built = True
        return out
    by_range = {}
    stop = session.stop_ns
    for i, r in enumerate(list(session.ranges)):
        if stop is not None and r.start > stop:  # a thread's op that began as it stopped
            continue
        ev = FunctionEvent(
            id=i + 1, name=_wildcard(r.name), trace_name=r.name, thread=r.thread,
            start_us=(r.start - t0) / 1000, end_us=(session.end_of(r) - t0) / 1000,
            input_shapes=r.shapes or [], stack=r.stack or [], scope=r.scope,
            use_device=use_device, cpu_memory_usage=r.memory,
            is_user_annotation=r.scope == USER_SCOPE)
        by_range[id(r)] = ev
        p = r.parent
        while p is not None and id(p) not in by_range:  # opened before this session
            p = p.parent
        if p is not None:
            parent = by_range[id(p)]
            ev.set_cpu_parent(parent)
            parent.append_cpu_child(ev)
        out.append(ev)
    out._build_tree()
    return out


def chrome_trace(session, events, metadata=None, trace_name=None):
    """The trace as torch's profiler writes it (a JSON object whose ``traceEvents`` hold one
    ``"ph": "X"`` complete event per range, ``ts``/``dur`` in microseconds)."""
    wall_ns = session.wall_start_ns if session.wall_start_ns is not None else time.time_ns()
    base_ns = wall_ns // 10**9 * 10**9  # whole seconds, as kineto's base
    offset_us = (wall_ns - base_ns) / 1000
    pid = os.getpid()
    threads = sorted({ev.thread for ev in events})
    trace = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "ts": offset_us,
              "args": {"name": "python"}}]
    trace += [{"ph": "M", "name": "thread_name", "pid": pid, "tid": t, "ts": offset_us,
               "args": {"name": f"thread {t} (python)"}} for t in threads]
    for i, ev in enumerate(events):
        args = {"External id": ev.id, "Ev Idx": i}
        if session.record_shapes and not ev.is_user_annotation:
            args["Input Dims"] = ev.input_shapes
        if ev.stack:
            args["Call stack"] = ";".join(ev.stack)
        trace.append({"ph": "X", "cat": "user_annotation" if ev.is_user_annotation else "cpu_op",
                      "name": ev.trace_name, "pid": pid, "tid": ev.thread,
                      "ts": round(offset_us + ev.time_range.start, 3),
                      "dur": round(ev.time_range.elapsed_us(), 3), "args": args})
    out = {"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
           "baseTimeNanoseconds": base_ns}
    if session.record_shapes:
        out["record_shapes"] = 1
    out.update(metadata or {})
    out["traceEvents"] = trace
    if trace_name is not None:
        out["traceName"] = trace_name
    return out


def write_chrome_trace(session, events, path, metadata=None):
    """Write ``chrome_trace`` to ``path`` (gzip-compressed when it ends in ``.gz``)."""
    import json

    text = json.dumps(chrome_trace(session, events, metadata, trace_name=str(path)))
    if str(path).endswith(".gz"):
        import gzip

        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        with open(path, "w") as f:
            f.write(text)

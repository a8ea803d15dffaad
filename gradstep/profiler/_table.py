"""``EventList.table()``: torch's text table of profiler events, column for column.

The CPU columns (``Name``, ``Self CPU %``, ``Self CPU``, ``CPU total %``, ``CPU total``,
``CPU time avg``, ``# of Calls``) always; ``CPU Mem``/``Self CPU Mem`` with ``profile_memory``;
``Input Shapes`` when the events have them; ``Source Location`` when they have stacks. There is
no device, so the device columns never appear.
"""

from __future__ import annotations

from ._events import _format_memory, _format_time, _format_time_share

_COLUMN_WIDTH = 12
_SPACING = 2


class _Layout:
    """The row format, the ``----`` separator and the line length, grown a column at a time."""

    def __init__(self):
        self.row_format = ""
        self.separator = ""
        self.width = -_SPACING

    def add(self, width, align=">"):
        self.row_format += "{: " + align + str(width) + "}" + " " * _SPACING
        self.separator += "-" * width + " " * _SPACING
        self.width += width + _SPACING


def _in_unit(time_us, time_unit):
    """A time as the table shows it: in ``time_unit`` (``s``/``ms``/``us``) if given."""
    if time_unit == "s":
        return f"{time_us / 1e6:.3f}s"
    if time_unit == "ms":
        return f"{time_us / 1e3:.3f}ms"
    if time_unit == "us":
        return f"{time_us:.3f}us"
    return _format_time(time_us)


def _trim_path(path, width):
    if len(path) > width:
        path = path[len(path) - width:]
        if len(path) > 3:
            path = "..." + path[3:]
    return path


def _clip(text, max_width):
    if max_width is not None and len(text) >= max_width - 3:
        return text[: max_width - 3] + "..."
    return text


def _sorted(events, sort_by):
    attr = sort_by.replace("cuda", "device").replace("xpu", "device").replace(
        "privateuse1", "device")
    if events and not hasattr(events[0], attr):
        raise AttributeError(f"sort_by={sort_by!r}: profiler events have no attribute {attr!r}")
    return sorted(events, key=lambda ev: getattr(ev, attr), reverse=True)


def _flops_scale(events):
    """(scale, header) for the FLOPs column, or None when no event counted any."""
    flops = [ev.flops for ev in events if ev.flops and ev.flops > 0]
    if not flops:
        return None
    import math

    names = ["FLOPs", "KFLOPs", "MFLOPs", "GFLOPs", "TFLOPs", "PFLOPs"]
    step = int(max(0, min(math.log10(min(flops)) / 3, len(names) - 1)))
    return 10 ** (-3.0 * step), f"Total {names[step]}"


def build_table(events, sort_by=None, header=None, row_limit=100, max_src_column_width=75,
                max_name_column_width=55, max_shapes_column_width=80, with_flops=False,
                profile_memory=False, top_level_events_only=False, time_unit=None):
    """The table string ("" for no events)."""
    if len(events) == 0:
        return ""
    if sort_by is not None:
        events = _sorted(events, sort_by)
    has_shapes = any(ev.input_shapes is not None and len(ev.input_shapes) > 0 for ev in events)
    has_overloads = any(ev.overload_name for ev in events)
    stacks = [ev.stack for ev in events if ev.stack]
    flops = _flops_scale(events) if with_flops else None
    with_node_id = any(ev.node_id != -1 for ev in events)

    name_width = max(len(ev.key) for ev in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    layout = _Layout()
    headers = ["Name"]
    layout.add(name_width)
    if has_overloads:
        headers.append("Overload Name")
        layout.add(name_width)
    numeric = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if profile_memory:
        numeric += ["CPU Mem", "Self CPU Mem"]
    numeric.append("# of Calls")
    if with_node_id:
        numeric.append("Node ID")
    for h in numeric:
        headers.append(h)
        layout.add(_COLUMN_WIDTH)
    if has_shapes:
        shapes_width = max(len(str(ev.input_shapes)) for ev in events) + 4
        if max_shapes_column_width is not None:
            shapes_width = min(shapes_width, max_shapes_column_width)
        headers.append("Input Shapes")
        layout.add(shapes_width)
    src_width = None
    if stacks:
        src_width = max(len(entry) for s in stacks for entry in s) + 4
        if max_src_column_width is not None:
            src_width = min(src_width, max_src_column_width)
        headers.append("Source Location")
        layout.add(src_width, align="<")
    if flops is not None:
        headers.append(flops[1])
        layout.add(_COLUMN_WIDTH)

    total_self = sum(ev.self_cpu_time_total for ev in events)
    lines = []
    if header is not None:
        lines += ["=" * layout.width, header]
    if top_level_events_only:
        lines += ["=" * layout.width, "This report only display top-level ops statistics"]
    lines += [layout.separator, layout.row_format.format(*headers), layout.separator]

    shown = 0
    for ev in events:
        if shown == row_limit:
            break
        if top_level_events_only and ev.cpu_parent is not None:
            continue
        shown += 1
        row = _row(ev, total_self, has_overloads, max_name_column_width, profile_memory,
                   with_node_id, time_unit)
        if has_shapes:
            row.append(str(ev.input_shapes)[:shapes_width])
        if stacks:
            row.append(_trim_path(ev.stack[0], src_width) if ev.stack else "")
        if flops is not None:
            row.append("--" if not ev.flops or ev.flops <= 0 else f"{ev.flops * flops[0]:8.3f}")
        lines.append(layout.row_format.format(*row))
        if stacks:
            blank = [""] * (len(headers) - 1)
            for entry in ev.stack[1:]:
                lines.append(layout.row_format.format(*blank, _trim_path(entry, src_width)))
            lines.append(layout.row_format.format(*blank, ""))
    lines += [layout.separator, f"Self CPU time total: {_in_unit(total_self, time_unit)}"]
    return "".join(line + "\n" for line in lines)


def _row(ev, total_self, has_overloads, max_name_width, profile_memory, with_node_id, time_unit):
    """The name and numeric cells of one event's row (the percentages are kept on the event,
    as torch does)."""
    ev.self_cpu_percent = _format_time_share(ev.self_cpu_time_total, total_self)
    ev.total_cpu_percent = (0 if ev.is_async
                            else _format_time_share(ev.cpu_time_total, total_self))
    row = [_clip(ev.key, max_name_width)]
    if has_overloads:
        row.append(_clip(ev.overload_name or "", max_name_width))
    row += [ev.self_cpu_percent, _in_unit(ev.self_cpu_time_total, time_unit),
            ev.total_cpu_percent, _in_unit(ev.cpu_time_total, time_unit),
            _in_unit(ev.cpu_time, time_unit)]
    if profile_memory:
        row += [_format_memory(ev.cpu_memory_usage), _format_memory(ev.self_cpu_memory_usage)]
    row.append(ev.count)
    if with_node_id:
        row.append(ev.node_id)
    return row

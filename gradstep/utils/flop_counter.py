"""``torch.utils.flop_counter``: count the FLOPs of matrix products and convolutions.

``with FlopCounterMode(display=False) as fc: loss = model(x).sum(); loss.backward()`` then
``fc.get_total_flops()`` gives what torch's CPU build counts for the same step: ``mm``,
``addmm``, ``bmm``, ``baddbmm`` (2 FLOPs per multiply-add), ``convolution`` and
``convolution_backward`` (multiplies of the input and weight channels, bias and groups
ignored), forward and backward, each backward product only for a gradient that is needed.
Ops torch's CPU build has no formula for count nothing, as there: ``mv``/``dot``, RNN cells,
and ``scaled_dot_product_attention`` (its CPU kernel is not in torch's registry).

The ops call in through :mod:`gradstep.ops._flops`; per-module counts come from a
:class:`~gradstep.utils.module_tracker.ModuleTracker`. Counts are keyed by op packets that
print as torch's (``aten.mm``).
"""

from __future__ import annotations

import warnings
from collections import defaultdict

from ..ops import _flops
from .module_tracker import ModuleTracker

__all__ = ["FlopCounterMode", "register_flop_formula"]


class OpOverloadPacket:
    """The key of a count: prints as torch's ``torch.ops.aten.<name>``."""

    _by_name: dict = {}

    def __new__(cls, name):
        packet = cls._by_name.get(name)
        if packet is None:
            packet = cls._by_name[name] = super().__new__(cls)
            packet._qualified_op_name = f"aten::{name}"
            packet.__name__ = name
        return packet

    def __str__(self):
        return f"aten.{self.__name__}"

    def __repr__(self):
        return f"<OpOverloadPacket(op='aten.{self.__name__}')>"


def register_flop_formula(targets, get_raw=False):
    """Accepted for torch's API: gradstep counts a fixed set of ops (see the module doc)."""
    def register(formula):
        return formula

    return register


suffixes = ["", "K", "M", "B", "T"]


def get_suffix_str(number):
    index = max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))
    return suffixes[index]


def convert_num_with_suffix(number, suffix):
    index = suffixes.index(suffix)
    return f"{number / 1000 ** index:.3f}" + suffixes[index]


def convert_to_percent_str(num, denom):
    if denom == 0:
        return "0%"
    return f"{num / denom:.2%}"


class FlopCounterMode:
    """Counts FLOPs of the ops run inside it, globally and per module (see module doc)."""

    def __init__(self, mods=None, depth=2, display=True, custom_mapping=None):
        self.flop_counts = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.mode = None
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it",
                          stacklevel=2)
        self.mod_tracker = ModuleTracker()
        self._previous = None

    def get_total_flops(self):
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self):
        """{module name: {op: flops}}, "Global" holding every count."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def _count(self, op_name, flops):
        packet = OpOverloadPacket(op_name)
        for parent in set(self.mod_tracker.parents):
            self.flop_counts[parent][packet] += flops

    def get_table(self, depth=None):
        depth = self.depth if depth is None else depth
        if depth is None:
            depth = 999999
        global_flops = self.get_total_flops()
        suffix = get_suffix_str(global_flops)
        subsumed = False

        def rows_of(name, indent):
            nonlocal subsumed
            total = sum(self.flop_counts[name].values())
            subsumed |= total >= global_flops
            pad = " " * indent
            rows = [[pad + name, convert_num_with_suffix(total, suffix),
                     convert_to_percent_str(total, global_flops)]]
            for op, v in self.flop_counts[name].items():
                rows.append([pad + " - " + str(op), convert_num_with_suffix(v, suffix),
                             convert_to_percent_str(v, global_flops)])
            return rows

        values = []
        for mod in sorted(self.flop_counts):
            if mod == "Global" or mod.count(".") + 1 > depth:
                continue
            values.extend(rows_of(mod, mod.count(".")))
        if "Global" in self.flop_counts and not subsumed:
            for row in values:
                row[0] = " " + row[0]
            values = rows_of("Global", 0) + values
        if not values:
            values = [["Global", "0", "0%"]]
        return _tabulate(values, ["Module", "FLOP", "% Total"])

    def __enter__(self):
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self._previous = _flops.COUNTER
        _flops.COUNTER = self._count
        self.mode = self
        return self

    def __exit__(self, *args):
        _flops.COUNTER = self._previous
        self._previous = None
        self.mode = None
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))
        return False


def _tabulate(rows, headers):
    """tabulate's "simple" table, first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells):
        out = [str(cells[0]).ljust(widths[0])]
        out += [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths)]
                     + [line(r) for r in rows])

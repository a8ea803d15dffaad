"""Walks over a pickle and over loaded data that run in bounded time and memory, for the restricted loader.

* :func:`globals_in` lists the names a pickle's GLOBAL / STACK_GLOBAL opcodes
  ask for without running it (``get_unsafe_globals_in_checkpoint``).
* :func:`check_graph` checks the data a load returns: no container may hold
  itself and nesting is bounded. Checking once at the end is what makes the
  bound real: a pickle can create empty containers first and link them later
  (``d_i["k"] = d_{i+1}``), so depths recorded while items are added say
  nothing about the final graph.
"""

from __future__ import annotations

import _compat_pickle
import argparse
import itertools
import pickletools

from .serialization import CheckpointError

RENAMED = {"__builtin__": "builtins", "copy_reg": "copyreg", "numpy.core.multiarray": "numpy._core.multiarray",
           "numpy.core.numeric": "numpy._core.numeric"}
_STRING_OPS = {"UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
_TEXT_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING"}  # protocol 0/1 strings, which torch reads as UTF-8
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}


def resolve(module, name):
    """``(module, name)`` as Python 3 names it: protocol 2 pickles written by Python 3 name some
    builtins the Python 2 way (``range`` is ``__builtin__.xrange``, ``str`` ``__builtin__.unicode``),
    which pickle and torch's loader map back (``_compat_pickle``); then gradstep's own renames."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        module, name = mapped
    else:
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return RENAMED.get(module, module), name


def full_name(module, name):
    module, name = resolve(module, name)
    return f"{module}.{name}"


def text_arg(arg):
    """A protocol 0/1 string opcode's value as torch reads it (UTF-8 in latin-1), or None if it is not UTF-8."""
    try:
        return arg.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


class _Scan:
    """A shadow of the pickle stack and memo that records only which items are strings."""

    def __init__(self, limits):
        self.limits = limits
        self.stack, self.marks, self.memo = [], [], {}

    def step(self, op, arg):
        name = op.name
        if name == "MARK":
            self.marks.append(self.stack)
            self.stack = []
        elif name in _PUT_OPS:
            index = len(self.memo) if name == "MEMOIZE" else arg
            if index not in self.memo:
                self.limits.new_memo_entry(len(self.memo))
            self.memo[index] = self.stack[-1] if self.stack and type(self.stack[-1]) is str else None
        elif name in _GET_OPS:
            self.stack.append(self.memo.get(arg))
        elif name == "DUP":
            self.stack.append(self.stack[-1] if self.stack else None)
        else:
            self._generic(op, arg)
        self.limits.stack_size(len(self.stack) + len(self.marks))

    def _generic(self, op, arg):
        before = op.stack_before
        if pickletools.markobject in before:
            self.stack = self.marks.pop() if self.marks else []
            before = before[:before.index(pickletools.markobject)]
        if before:
            del self.stack[max(len(self.stack) - len(before), 0):]
        value = arg if op.name in _STRING_OPS else text_arg(arg) if op.name in _TEXT_OPS else None
        self.stack.extend([value] * len(op.stack_after))


def globals_in(pkl, limits):
    """The full names a pickle's GLOBAL / STACK_GLOBAL opcodes ask for, found without running it.

    STACK_GLOBAL takes its two names from the stack, where they may have come
    from the memo (BINGET) or a DUP, so a shadow stack follows which items are
    strings. ``limits`` bounds the opcodes, stack and memo as in a load.
    """
    found, scan = [], _Scan(limits)
    for op, arg, _ in pickletools.genops(pkl):
        limits.opcode()
        if op.name == "GLOBAL":
            module, _, name = arg.partition(" ")
            found.append(full_name(module, name))
        elif op.name == "STACK_GLOBAL":
            module, name = ([None, None] + scan.stack)[-2:]
            if type(module) is str and type(name) is str:  # anything else is a malformed pickle, refused on load
                found.append(full_name(module, name))
        scan.step(op, arg)
    return found


# ---------------------------------------------------------------- the loaded data
_SCALARS = frozenset({str, int, float, bool, type(None), bytes, complex})
_CYCLE = ("the data contains itself (a container that holds itself, directly or through others). torch.load "
          "accepts such data; gradstep refuses it, because its code that walks state dicts (load_state_dict, "
          "save, printing) would recurse forever")


def _children_of(tensor_type):
    def children(x):
        """An iterator over what ``x`` holds that code walking state dicts may recurse into, or None."""
        if type(x) in _SCALARS:
            return None
        if isinstance(x, dict):  # keys, values and an OrderedDict's _metadata
            return itertools.chain(x.keys(), x.values(), getattr(x, "__dict__", {}).values())
        if isinstance(x, (list, tuple, set, frozenset)):
            return iter(x)
        if type(x) is argparse.Namespace:  # its attributes, set by BUILD
            return iter(list(vars(x).values()))
        if isinstance(x, tensor_type):  # the attributes _rebuild_parameter_with_state may set
            extra = list(x.__dict__.values())
            return iter(extra) if extra else None
        return None
    return children


def check_graph(root, max_depth):
    """Refuse ``root`` if a container in it holds itself or containers nest more than ``max_depth`` deep.

    One iterative walk, each container visited once however often it is shared
    (an ``id`` memo of finished containers and their heights), so a DAG with
    2**60 paths costs as much as its few objects.
    """
    from ._tensor import Tensor

    children = _children_of(Tensor)
    items = children(root)
    if items is None:
        return
    heights = {}  # id -> containers nested below a finished container (0: it holds none)
    on_path = {id(root)}
    stack = [[root, items, 0]]
    while stack:
        top = stack[-1]
        for child in top[1]:
            h = heights.get(id(child))
            if h is not None:
                if len(stack) + h > max_depth:
                    raise CheckpointError(f"containers nested more than {max_depth} deep")
                top[2] = max(top[2], h + 1)
                continue
            items = children(child)
            if items is None:
                continue
            if id(child) in on_path:
                raise CheckpointError(_CYCLE)
            if len(stack) > max_depth:
                raise CheckpointError(f"containers nested more than {max_depth} deep")
            on_path.add(id(child))
            stack.append([child, items, 0])
            break
        else:
            stack.pop()
            on_path.discard(id(top[0]))
            heights[id(top[0])] = top[2]
            if stack:
                stack[-1][2] = max(stack[-1][2], top[2] + 1)

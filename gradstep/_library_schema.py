"""Operator schemas for ``torch.library``: infer one from type hints, parse one from text.

gradstep has no C++ dispatcher, so a schema is used for what eager calls need: the
argument names, which are keyword-only, their defaults, which Tensors are mutated,
and the checks torch makes when an op is called with the wrong arguments.
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import typing
from dataclasses import dataclass, field
from types import GenericAlias

from . import types as _types
from ._device import device as _device
from ._tensor import Tensor
from .backend import dtype as _dtype

UNKNOWN_MUTATES = "unknown"


@dataclass
class Argument:
    name: str
    type: str
    default: object = inspect.Parameter.empty
    kwarg_only: bool = False

    @property
    def is_mutated(self) -> bool:
        return "!" in self.type

    @property
    def has_default(self) -> bool:
        return self.default is not inspect.Parameter.empty


@dataclass
class Schema:
    name: str
    overload: str
    arguments: list[Argument] = field(default_factory=list)
    returns: str = "()"
    text: str = ""

    @property
    def positional(self) -> list[Argument]:
        return [a for a in self.arguments if not a.kwarg_only]

    @property
    def is_mutable(self) -> bool:
        return any(a.is_mutated for a in self.arguments)


# ------------------------------------------------------------------ infer_schema
def _derived(base, text, list_base, optional_base_list, optional_list_base):
    out = [(base, text), (typing.Optional[base], f"{text}?")]  # noqa: UP045

    def seqs(t):
        return (typing.Sequence[t], typing.List[t],  # noqa: UP006
                GenericAlias(collections.abc.Sequence, (t,)), GenericAlias(list, (t,)))
    if list_base:
        out += [(s, f"{text}[]") for s in seqs(base)]
    if optional_base_list:
        out += [(s, f"{text}?[]") for s in seqs(typing.Optional[base])]  # noqa: UP045
    if optional_list_base:
        out += [(typing.Optional[s], f"{text}[]?") for s in seqs(base)]  # noqa: UP045
    return out


def _param_types():
    rows = [(Tensor, "Tensor", True, True, False), (int, "SymInt", True, False, True),
            (float, "float", True, False, True), (bool, "bool", True, False, True),
            (str, "str", False, False, False), (_types.Number, "Scalar", True, False, False),
            (_dtype, "ScalarType", False, False, False), (_device, "Device", False, False, False)]
    return dict(item for row in rows for item in _derived(*row))


SUPPORTED_PARAM_TYPES = _param_types()
SUPPORTED_RETURN_TYPES = {Tensor: "Tensor", typing.List[Tensor]: "Tensor[]",  # noqa: UP006
                          list[Tensor]: "Tensor[]", int: "SymInt", float: "float",
                          bool: "bool", _types.Number: "Scalar"}


def _resolve(annotation, fn, error):
    """String annotations (``from __future__ import annotations``) are evaluated in fn's globals."""
    if isinstance(annotation, str):
        try:
            return eval(annotation, fn.__globals__)  # noqa: S307 - torch does the same
        except Exception as e:  # noqa: BLE001
            error(f"Unsupported type annotation {annotation}. It is not a type. "
                  f"({type(e).__name__}: {e})")
    origin = typing.get_origin(annotation)
    if origin is not None:
        args = typing.get_args(annotation)
        if any(isinstance(a, str) for a in args):
            return GenericAlias(origin, tuple(_resolve(a, fn, error) for a in args))
    return annotation


def _default_text(name, value, error):
    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    if isinstance(value, (str, _device)):
        return f'"{value}"'
    if isinstance(value, _dtype):
        return str(value).rpartition(".")[2]
    return error(f"Parameter {name} has an unsupported default value type {type(value)}. "
                 "Please file an issue on GitHub so we can prioritize this.")


def _param_text(idx, name, param, annotation, mutates_args, error):
    if annotation not in SUPPORTED_PARAM_TYPES:
        if typing.get_origin(annotation) is tuple:
            error(f"Parameter {name} has unsupported type {param.annotation}. We do not support "
                  "Tuple inputs in schema. As a workaround, please try to use List instead. "
                  f"The valid types are: {SUPPORTED_PARAM_TYPES.keys()}.")
        error(f"Parameter {name} has unsupported type {param.annotation}. "
              f"The valid types are: {SUPPORTED_PARAM_TYPES.keys()}.")
    text = SUPPORTED_PARAM_TYPES[annotation]
    if isinstance(mutates_args, str):
        mutated = text.startswith("Tensor")
    elif name in mutates_args:
        if not text.startswith("Tensor"):
            error(f"Parameter {name} is in mutable_args but only Tensors or collections of "
                  "Tensors can be mutated")
        mutated = True
    else:
        mutated = False
    if mutated:
        text = f"Tensor(a{idx}!){text[len('Tensor'):]}"
    if param.default is inspect.Parameter.empty:
        return f"{text} {name}"
    return f"{text} {name}={_default_text(name, param.default, error)}"


def _return_text(annotation, error):
    if annotation is None:
        return "()"
    if annotation is inspect.Parameter.empty:
        error("No return type annotation was provided. Please add one.")
    if typing.get_origin(annotation) is not tuple:
        if annotation not in SUPPORTED_RETURN_TYPES:
            error(f"Return has unsupported type {annotation}. "
                  f"The valid types are: {SUPPORTED_RETURN_TYPES}.")
        return SUPPORTED_RETURN_TYPES[annotation]
    args = typing.get_args(annotation)
    for arg in args:
        if arg not in SUPPORTED_RETURN_TYPES:
            error(f"Return has unsupported type {annotation}. "
                  f"The valid types are: {SUPPORTED_RETURN_TYPES}.")
    inner = ", ".join(SUPPORTED_RETURN_TYPES[a] for a in args)
    return f"(({inner}))" if len(args) == 1 else f"({inner})"


def infer_schema(prototype_function, /, *, mutates_args, op_name=None, tags=None) -> str:
    """torch.library.infer_schema: the schema text of a type-annotated function."""
    sig = inspect.signature(prototype_function)

    def error(what):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    if isinstance(mutates_args, str):
        if mutates_args != UNKNOWN_MUTATES:
            raise ValueError("mutates_args must either be a sequence of the names of the "
                             "arguments that are mutated or the string 'unknown'. ")
    else:
        mutates_args = tuple(mutates_args)
    params, seen, saw_kwarg_only = [], set(), False
    for idx, (name, param) in enumerate(sig.parameters.items()):
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            error("We do not support positional-only args, varargs, or varkwargs.")
        if param.kind == param.KEYWORD_ONLY and not saw_kwarg_only:
            params.append("*")
            saw_kwarg_only = True
        if param.annotation is inspect.Parameter.empty:
            error(f"Parameter {name} must have a type annotation.")
        annotation = _resolve(param.annotation, prototype_function, error)
        params.append(_param_text(idx, name, param, annotation, mutates_args, error))
        seen.add(name)
    if not isinstance(mutates_args, str) and set(mutates_args) - seen:
        error(f"{set(mutates_args) - seen} in mutates_args were not found in the custom op's "
              "signature. mutates_args should contain the names of all args that the custom op "
              "mutates, or just the string 'unknown' if you don't know.")
    ret = _return_text(_resolve(sig.return_annotation, prototype_function, error), error)
    prefix = "" if op_name is None else op_name
    return f"{prefix}({', '.join(params)}) -> {ret}"


# ------------------------------------------------------------------ parse_schema
_NAME = re.compile(r"^\s*([A-Za-z_][\w:]*)(?:\.(\w+))?\s*\((.*)\)\s*->\s*(.+?)\s*$", re.S)
_ARG = re.compile(r"^(.+?)\s+([A-Za-z_]\w*)\s*(?:=\s*(.+))?$", re.S)


def _split_top_level(text):
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts]


def _parse_default(text):
    text = text.strip()
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    if text[:1] in "'\"":
        return text[1:-1]
    if text.startswith("["):
        return [_parse_default(p) for p in _split_top_level(text[1:-1])]
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # an enum-like default such as a dtype name or "contiguous_format"


def parse_schema(text: str, *, require_name: bool = True) -> Schema:
    """Parse ``name.overload(Type arg=default, *, ...) -> Ret``; RuntimeError like torch's parser."""
    if not require_name and text.lstrip().startswith("("):
        text = "_" + text.lstrip()
    m = _NAME.match(text)
    if m is None or m.group(3).count("(") != m.group(3).count(")"):
        raise RuntimeError(f"could not parse the operator schema {text!r}: expected "
                           "'name(Type arg, ...) -> ReturnType'")
    schema = Schema(m.group(1), m.group(2) or "", returns=m.group(4), text=text.strip())
    kwarg_only = False
    for part in _split_top_level(m.group(3)):
        if part == "*":
            kwarg_only = True
            continue
        a = _ARG.match(part)
        if a is None:
            raise RuntimeError(f"could not parse the argument {part!r} of the schema {text!r}: "
                               "expected 'Type name' or 'Type name=default'")
        default = inspect.Parameter.empty if a.group(3) is None else _parse_default(a.group(3))
        schema.arguments.append(Argument(a.group(2), a.group(1).strip(), default, kwarg_only))
    return schema

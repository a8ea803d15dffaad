"""``--opt-arg KEY=VALUE`` / ``--sched-arg KEY=VALUE``: values typed by the class's signature.

The type of an option comes from its annotation when the signature has one, else
from its default (``nesterov=False`` takes a bool, ``betas=(0.9, 0.999)`` a pair
of numbers), with a short table for the options whose default says nothing
(``T_max``, ``milestones``, ``foreach=None``...). Text parses by that type:

- bool: true/false, yes/no, 1/0 (any case) and nothing else;
- int, float: numbers (an int option refuses ``1.5``);
- tuple/list: ``0.9,0.99``, ``(0.9, 0.99)`` or ``[3, 6]``;
- None, where the option allows it: ``none`` / ``null``;
- a Python function (``lr_lambda``, ``scale_fn``): cannot be given as text.

Values that are already typed (from a TOML file or a saved ``config.json``) are
checked against the same type, so converting twice gives the same result.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect

from .config import UsageError, suggest

_BOOL_TEXT = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_NONE_TEXT = ("none", "null")

# options that take ints although their default is None or missing (torch annotates them `int`)
_INT_NAMES = {"step_size", "T_max", "T_0", "T_mult", "total_iters", "total_steps", "epochs",
              "steps_per_epoch", "step_size_up", "step_size_down", "patience", "cooldown", "max_iter",
              "max_eval", "history_size", "ns_steps", "last_epoch"}
# options whose default (None or missing) says nothing about their type
_KNOWN = {
    "gamma": "float", "base_lr": "float | list[float]", "max_lr": "float | list[float]",
    "milestones": "list[int]", "foreach": "bool | None", "fused": "bool | None",
    "line_search_fn": "str | None", "adjust_lr_fn": "str | None",
    "lr_lambda": "Callable", "scale_fn": "Callable | None", "schedulers": "list[LRScheduler]",
}


@dataclasses.dataclass(frozen=True)
class Kind:
    """One alternative of an option's type: bool, int, float, str, tuple, list, callable, object, any."""

    base: str
    elem: Kind | None = None
    length: int | None = None
    elem_none: bool = False  # items may be None, as in Adafactor's eps=(None, 1e-3)

    def describe(self):
        if self.base in ("tuple", "list") and self.elem.base == "object":
            return "Python objects"
        if self.base in ("tuple", "list"):
            n = f"{self.length} " if self.length else ""
            sample = ",".join(["0.9", "0.99", "0.5"][:self.length or 2]) if self.elem.base != "int" else "3,6"
            return f"a {self.base} of {n}{self.elem.describe_plural()} like {sample}"
        return {"bool": "a bool (true/false/yes/no/1/0)", "int": "an integer", "float": "a number",
                "str": "a string", "callable": "a Python function", "object": "a Python object",
                "any": "a Python literal"}[self.base]

    def describe_plural(self):
        return {"int": "integers", "float": "numbers"}.get(self.base, self.base + " values")


@dataclasses.dataclass(frozen=True)
class OptionType:
    kinds: tuple
    optional: bool = False

    def describe(self):
        text = " or ".join(k.describe() for k in self.kinds)
        return text + " or none" if self.optional else text

    @property
    def python_only(self):
        """Functions, or containers of objects (SequentialLR's schedulers): not text."""
        return all(k.base == "callable" or (k.elem is not None and k.elem.base == "object") for k in self.kinds)


# ---------------------------------------------------------------- types from signatures
def _kind_of_node(node):
    """Kinds and optional-ness of an annotation written as text (``Union[float, Tensor]``...)."""
    if isinstance(node, ast.Constant) and node.value is None:
        return [], True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a forward reference: "Tensor"
        return _kind_of_node(ast.parse(node.value, mode="eval").body)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ForwardRef" and node.args:
        return _kind_of_node(node.args[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        (a, oa), (b, ob) = _kind_of_node(node.left), _kind_of_node(node.right)
        return a + b, oa or ob
    if isinstance(node, ast.Subscript):
        return _subscript_kinds(_name(node.value), node.slice)
    name = _name(node)
    if name in ("None", "NoneType"):
        return [], True
    if name in ("bool", "int", "float", "str"):
        return [Kind(name)], False
    simple = {"Tensor": "float", "Callable": "callable", "LRScheduler": "object", "Optimizer": "object",
              "Module": "object"}
    return [Kind(simple.get(name, "any"))], False


def _name(node):
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _subscript_kinds(outer, index):
    """``Union[...]``, ``Optional[...]``, ``Literal[...]``, ``tuple[...]``, ``list[...]``..."""
    args = index.elts if isinstance(index, ast.Tuple) else [index]
    if outer in ("Union", "Optional"):
        kinds, optional = [], outer == "Optional"
        for a in args:
            k, o = _kind_of_node(a)
            kinds, optional = kinds + k, optional or o
        return kinds, optional
    if outer == "Literal":
        return [Kind("str")], False
    if outer == "Callable":
        return [Kind("callable")], False
    if outer.lower() not in ("tuple", "list", "sequence", "iterable"):
        return [Kind("any")], False
    elem = (_kind_of_node(args[0])[0] or [Kind("any")])[0]
    if outer.lower() != "tuple":
        return [Kind("list", elem)], False
    open_ended = any(isinstance(a, ast.Constant) and a.value is Ellipsis for a in args)
    return [Kind("tuple", elem, None if open_ended else len(args))], False


def _from_annotation(annotation):
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    try:
        kinds, optional = _kind_of_node(ast.parse(text, mode="eval").body)
    except SyntaxError:
        return None
    kinds = tuple(dict.fromkeys(kinds))  # float | Tensor -> float once
    if len(kinds) > 1:
        kinds = tuple(k for k in kinds if k.base != "any") or kinds  # Union[float, Unknown] -> float
    return OptionType(kinds or (Kind("any"),), optional)


def _from_default(default):
    """The type a default implies (numbers are floats: ints are named in _INT_NAMES)."""
    if isinstance(default, bool):
        return OptionType((Kind("bool"),))
    if isinstance(default, (int, float)):
        return OptionType((Kind("float"),))
    if isinstance(default, str):
        return OptionType((Kind("str"),))
    if isinstance(default, (tuple, list)):
        none = any(v is None for v in default)
        kind = Kind("tuple", Kind("float"), len(default), none) if isinstance(default, tuple) else \
            Kind("list", Kind("float"), None, none)
        return OptionType((kind,))
    return None


def option_type(param: inspect.Parameter):
    """The OptionType of one signature parameter."""
    if param.annotation is not inspect.Parameter.empty:
        found = _from_annotation(param.annotation)
        if found is not None:
            return found
    if param.name in _KNOWN:
        return _from_annotation(_KNOWN[param.name])
    if param.name in _INT_NAMES:
        return OptionType((Kind("int"),), param.default is None)
    if param.default is not inspect.Parameter.empty and param.default is not None:
        found = _from_default(param.default)
        if found is not None:
            return found
    return OptionType((Kind("any"),), True)


def signature_options(cls, skip):
    """``{name: inspect.Parameter}`` of ``cls.__init__`` less ``skip`` and ``*args``/``**kwargs``."""
    params = inspect.signature(cls.__init__).parameters
    return {n: p for n, p in params.items() if n not in skip
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}


# ---------------------------------------------------------------- values
class _Mismatch(ValueError):
    pass


def _parse_text(kind: Kind, text):
    t = text.strip()
    if kind.base == "bool":
        if t.lower() not in _BOOL_TEXT:
            raise _Mismatch
        return _BOOL_TEXT[t.lower()]
    if kind.base == "int":
        try:
            return int(t)
        except ValueError:
            raise _Mismatch from None
    if kind.base == "float":
        try:
            return float(t)
        except ValueError:
            raise _Mismatch from None
    if kind.base == "str":
        return t[1:-1] if len(t) > 1 and t[0] == t[-1] and t[0] in "'\"" else t
    if kind.base in ("tuple", "list"):
        inner = t[1:-1] if t[:1] + t[-1:] in ("()", "[]") else t
        items = [s for s in inner.split(",")] if inner.strip() else []
        if items and not items[-1].strip():
            items.pop()  # "3," -> one item
        return _check_seq(kind, [_parse_elem(kind, s) for s in items])
    if kind.base == "any":
        try:
            return ast.literal_eval(t)
        except (ValueError, SyntaxError):
            return t
    raise _Mismatch  # callable


def _parse_elem(seq: Kind, text):
    if seq.elem_none and text.strip().lower() in _NONE_TEXT:
        return None
    return _parse_text(seq.elem, text)


def _check_seq(kind, values):
    if kind.length is not None and len(values) != kind.length:
        raise _Mismatch
    return tuple(values) if kind.base == "tuple" else list(values)


def _check_value(kind: Kind, value):
    if isinstance(value, str):
        return _parse_text(kind, value)
    if kind.base == "bool" and isinstance(value, bool):
        return value
    if kind.base == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind.base == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind.base in ("tuple", "list") and isinstance(value, (tuple, list)):
        return _check_seq(kind, [None if v is None and kind.elem_none else _check_value(kind.elem, v)
                                 for v in value])
    if kind.base == "any":
        return value
    raise _Mismatch


def convert(otype: OptionType, value):
    """``value`` (text, or already typed) as ``otype``; raises ValueError when it does not fit."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_TEXT):
        if otype.optional:
            return None
        raise ValueError("none")
    for kind in otype.kinds:
        try:
            return _check_value(kind, value)
        except _Mismatch:
            continue
    raise ValueError(value)


def typed_options(cls, values: dict, skip, owner, flag):
    """``values`` converted by ``cls``'s signature; a bad key or value is a UsageError.

    ``owner`` names the class in messages (``SGD``), ``flag`` the option (``--opt-arg``).
    """
    params = signature_options(cls, skip)
    out = {}
    for key, value in values.items():
        if key not in params:
            raise UsageError(f"{owner} does not take '{key}'{suggest(key, params)}; "
                             f"it takes: {', '.join(params)}")
        otype = option_type(params[key])
        is_none = value is None or (isinstance(value, str) and value.strip().lower() in _NONE_TEXT)
        if otype.python_only and not (otype.optional and is_none):
            raise UsageError(f"{owner}'s {key} takes {otype.describe()}, which cannot be given by {flag} "
                             "or a config file")
        try:
            out[key] = convert(otype, value)
        except ValueError:
            shown = value if isinstance(value, str) else repr(value)
            raise UsageError(f"{flag} {key}={shown}: {owner}'s {key} expects {otype.describe()}, "
                             f"got '{shown}'") from None
    return out


def parse_kv(items, flag):
    """``["gamma=0.5", "milestones=3,6"]`` -> ``{"gamma": "0.5", ...}``: text, typed later."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UsageError(f"{flag} expects KEY=VALUE, got '{item}'")
        out[key] = value
    return out

"""torch's argument checks for ``int`` and ``tuple of ints`` parameters (its python_arg_parser).

torch's C++ parser decides what a size or dim argument may be, and its messages are what
programs (and their tests) see. The rules, learnt from torch 2.13's behaviour:

- an ``int`` parameter (a dim, ``k``, ``chunks``) takes a Python int (not a bool), a NumPy
  integer, or a 0-d integer tensor; anything else is "argument 'dim' (position 1) must be
  int, not float".
- a ``tuple of ints`` parameter (a size) takes a tuple or list whose FIRST element is
  int-like (an ``__index__`` that is not a bool, or a one-element integer tensor): only that
  element decides whether the argument matches. The other elements are unpacked afterwards
  with ``__index__`` (so a bool passes there), and one that fails gives "failed to unpack
  the object at pos N" (N counting from 1, torch's quirk).
- where the sizes are the only positional parameter (``view``, ``zeros``, ``permute``), they
  may be spread out (``view(3, 2)``) when the first one is int-like; otherwise two or more
  positional arguments are "takes 1 positional argument but 2 were given".
- a function with several signatures (``view(dtype)``, ``sum(dtype=)``) reports a mismatch
  as "received an invalid combination of arguments - got (float, int), but expected one of:".

Every entry point has a fast path for exact ``int`` values (one ``type(v) is int`` per
element): the messages are built only on the slow path.

The errors are TypeErrors worded for a positional argument of the Tensor method
(``x.sum(dim)``: dim is position 1). torch's wording depends on how the op was called:
the function form counts ``input`` (``torch.sum(x, dim)``: position 2), a keyword argument has
no "(position N)", and "invalid combination" lists what the call passed (``got (Tensor,
dim=float)``). The wrappers that give ops torch's keywords (``gradstep/_signatures.py``) know
the call, and ``reword`` rewords the message there, once.
"""

from __future__ import annotations

import operator

_SEQ = (tuple, list)
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes defined in Python have tp_name == __name__


# gradstep's classes that stand for torch's C types, whose tp_name has the module in it
_TORCH_C_TYPES = frozenset(("dtype", "device", "Size", "Generator", "layout", "memory_format"))


def type_name(v):
    """``Py_TYPE(v)->tp_name`` as torch prints it: ``float``, ``Tensor``, ``numpy.float64``,
    ``torch.dtype``."""
    t = type(v)
    if t.__module__.startswith("gradstep"):
        for c in t.__mro__:  # bfloat16's class is a lazy subclass of dtype
            if c.__name__ in _TORCH_C_TYPES:
                return f"torch.{c.__name__}"
    if t.__module__ == "builtins" or t.__flags__ & _HEAPTYPE:
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def _tensor_kind(v):
    """For a gradstep Tensor: (numel, is_integral, is_bool); None for anything else."""
    from ._tensor import Tensor

    if not isinstance(v, Tensor):
        return None
    cat = v.dtype._category  # 0 bool, 1 integer, 2 floating, 3 complex
    return v.numel(), cat <= 1, cat == 0


def is_index(v):
    """torch's ``is_int_or_symint``: may ``v`` be (the first) element of a tuple of ints?"""
    if type(v) is int:
        return True
    tk = _tensor_kind(v)
    if tk is not None:
        return tk[0] == 1 and tk[1]
    if isinstance(v, bool):
        return False
    try:
        operator.index(v)
    except TypeError:
        return False
    return True


def is_int(v):
    """May ``v`` be an ``int`` parameter (torch's ``INT64`` check)?"""
    if isinstance(v, int):
        return not isinstance(v, bool)
    tk = _tensor_kind(v)
    if tk is not None:
        return v.ndim == 0 and tk[1] and not tk[2] and not v.requires_grad
    t = type(v)
    return t.__module__ == "numpy" and hasattr(v, "dtype") and v.dtype.kind in "iu" and \
        getattr(v, "ndim", 0) == 0 and t.__name__ != "ndarray"


# how an op was called, for reword: as a Tensor method, as a function that is also
# a Tensor method (``torch.sum(x, dim)``: positions count ``input``), or a function only (``zeros``)
METHOD, TWIN, FUNCTION = 0, 1, 2


class _Refusal:
    """One argument refused: "argument 'dim' (position 1) must be int, not float".

    ``pos``: the argument's position in the Tensor method form, or in the function form of a
    function that has no method twin (None: torch names no position); ``text``: the message
    after the position; ``kw_text``: after the name when the argument came by keyword.
    """

    def __init__(self, fname, argname, pos, text, kw_text=None):
        self.fname, self.argname, self.pos, self.text = fname, argname, pos, text
        self.kw_text = text if kw_text is None else kw_text

    def message(self, pos, keyword):
        if keyword:
            return f"{self.fname}(): argument '{self.argname}'{self.kw_text}"
        where = "" if pos is None else f" (position {pos})"
        return f"{self.fname}(): argument '{self.argname}'{where}{self.text}"

    def for_call(self, args, kwargs, form, renames):
        pos = self.pos
        if pos is not None and form == TWIN:
            pos += 1
        return self.message(pos, self.argname in kwargs)


class Signatures(tuple):
    """A method's signatures as torch lists them, with ``outs``: what each one's function
    form adds as its ``out`` parameter ("" for none), e.g. ``"Tensor out = None"``."""

    def __new__(cls, signatures, outs):
        self = super().__new__(cls, signatures)
        self.outs = tuple(outs)
        return self


def _function_signature(sig, out):
    """The function form of a method's signature: ``Tensor input`` first, its ``out`` last."""
    parts = ["Tensor input"] + ([sig] if sig else [])
    if out:
        parts.append(out if "*" in sig else f"*, {out}")
    return ", ".join(parts)


class _Combination:
    """torch's "received an invalid combination of arguments - got (...), but expected one of".

    ``signatures`` are the Tensor method's (or a function-only op's); the function form of a
    method twin lists them with ``Tensor input`` first."""

    def __init__(self, fname, signatures):
        self.fname, self.signatures = fname, signatures

    def message(self, types, kw_types, form):
        got = "".join(f"{t}, " for t in types) + "".join(f"{k}={t}, " for k, t in kw_types)
        if types:  # torch's quirk: the trailing ", " stays when only keywords were given
            got = got[:-2]
        sigs = self.signatures
        if form == TWIN:
            outs = getattr(sigs, "outs", None) or ("",) * len(sigs)
            sigs = [_function_signature(s, out) for s, out in zip(sigs, outs)]
        listed = "".join(f" * ({s})\n" for s in sigs)
        return (f"{self.fname}() received an invalid combination of arguments - got ({got}), "
                f"but expected one of:\n{listed}")

    def for_call(self, args, kwargs, form, renames):
        # our name -> torch's (``a`` -> ``input``); NumPy's axis/keepdims are aliases only
        names = {v: k for k, v in (renames or {}).items() if k not in ("axis", "keepdims")}
        types = [type_name(a) for a in (args[1:] if form == METHOD else args)]
        # torch walks the keywords in its hash map's order: the reverse of the call's, mostly
        kw_types = [(names.get(k, k), type_name(v)) for k, v in reversed(kwargs.items())]
        return self.message(types, kw_types, form)


def arg_error(fname, argname, pos, text, kw_text=None):
    """torch's TypeError for one refused argument, worded for the Tensor method's positional
    form (``reword`` fits it to the actual call). ``pos`` None with a ``kw_text``: the caller
    knows the argument came by keyword."""
    refusal = _Refusal(fname, argname, pos, text, kw_text)
    err = TypeError(refusal.message(pos, pos is None and kw_text is not None))
    err._gs_refusal = refusal
    return err


def reword(err, args, kwargs, form, renames=None):
    """Fit a refusal raised by an op to the public call that got it (``args``/``kwargs`` as
    given, ``args[0]`` the tensor of a method; ``form``: METHOD, TWIN or FUNCTION). The
    innermost public call rewords it; the outer ones find nothing left to do."""
    refusal = getattr(err, "_gs_refusal", None)
    if refusal is not None:
        err._gs_refusal = None
        err.args = (refusal.for_call(args, kwargs, form, renames),)


def int_arg(v, fname, argname, pos):
    """``v`` as an int, or torch's TypeError. Callers test ``type(v) is int`` first."""
    if not is_int(v):
        raise arg_error(fname, argname, pos, f" must be int, not {type_name(v)}")
    return operator.index(v)


def bool_error(v, fname, argname, pos):
    """torch's "argument 'keepdim' (position 2) must be bool, not float" (only True and False
    pass: not 1, not ``numpy.bool_``). Callers test ``type(v) is not bool`` first."""
    return arg_error(fname, argname, pos, f" must be bool, not {type_name(v)}")


def tensor_error(v, fname, argname, pos):
    """torch's "argument 'index' (position 2) must be Tensor, not int"."""
    return arg_error(fname, argname, pos, f" must be Tensor, not {type_name(v)}")


def dtype_error(v, fname):
    """torch's "argument 'dtype' must be torch.dtype, not str" (a keyword-only argument)."""
    return arg_error(fname, "dtype", None, f" must be torch.dtype, not {type_name(v)}",
                     f" must be torch.dtype, not {type_name(v)}")


def invalid_combination(fname, args, signatures, final=False):
    """torch's TypeError for arguments that match none of a function's signatures (``args``:
    the positional arguments of the method form; ``reword`` fits them to the actual call,
    unless ``final``: torch's own Python wrapper made the call, e.g. ``split``)."""
    combination = _Combination(fname, signatures)
    err = TypeError(combination.message([type_name(a) for a in args], (), METHOD))
    err._gs_refusal = None if final else combination
    return err


def _unpack(seq, fname, argname):
    out = []
    for i, v in enumerate(seq):
        if type(v) is int:
            out.append(v)
            continue
        tk = _tensor_kind(v)
        if tk is not None and tk[2]:
            raise RuntimeError("Expected scalar.isIntegral( false) to be true, but got false.  "
                               "(Could this error message be improved?  If so, please report an "
                               "enhancement request to PyTorch.)")
        try:
            out.append(operator.index(v))
        except TypeError:
            raise arg_error(fname, argname, None, f" failed to unpack the object at pos {i + 1} "
                           f"with error \"type must be tuple of ints,but got "
                           f"{type_name(v)}\"") from None
    return tuple(out)


def int_list_arg(obj, fname, argname, pos=1, signatures=None, single_int=False, got=None):
    """One ``tuple of ints`` argument ``obj`` (e.g. ``flip(dims)``) as a tuple of ints.

    ``pos``: the argument's position, None for a keyword argument.
    ``single_int``: the parameter has a fixed length (torch's ``int[1]``) or is the only
    one (varargs), so a lone int stands for a one-element tuple. ``signatures``: the function
    has overloads, so a mismatch is torch's "invalid combination" error, listing the
    arguments ``got`` (default: ``obj`` alone).
    """
    if type(obj) is int and single_int:
        return (obj,)
    got = (obj,) if got is None else got
    if type(obj) in _SEQ or isinstance(obj, _SEQ):
        for v in obj:
            if type(v) is not int:
                break
        else:
            return tuple(obj)
        if not is_index(obj[0]):
            if signatures:
                raise invalid_combination(fname, got, signatures)
            # torch names the sequence's own type for a keyword argument
            raise arg_error(fname, argname, pos, f" must be tuple of ints, but found element of "
                           f"type {type_name(obj[0])} at pos 0",
                           f" must be tuple of ints, not {type_name(obj)}")
        return _unpack(obj, fname, argname)
    if single_int and is_index(obj):
        return _unpack((obj,), fname, argname)
    if signatures:
        raise invalid_combination(fname, got, signatures)
    raise arg_error(fname, argname, pos, f" must be tuple of ints, not {type_name(obj)}")


def int_list(args, fname, argname, signatures=None):
    """The positional ``*args`` of a sizes-only method (``view(2, 3)``, ``view((2, 3))``) as a
    tuple of ints, checked as torch does. ``args`` must not be empty (callers raise torch's
    "missing" error)."""
    seq = args
    if len(args) == 1:
        s = args[0]
        if type(s) is int:
            return args
        if type(s) in _SEQ:
            seq = s
    for v in seq:
        if type(v) is not int:
            return _int_list_slow(args, fname, argname, signatures)
    return seq if type(seq) is tuple else tuple(seq)


def _int_list_slow(args, fname, argname, signatures):
    first = args[0]
    if len(args) > 1:
        if not is_index(first):
            if signatures:
                raise invalid_combination(fname, args, signatures)
            raise TypeError(f"{fname}() takes 1 positional argument but {len(args)} were given")
        return _unpack(args, fname, argname)
    return int_list_arg(first, fname, argname, 1, signatures, single_int=True)

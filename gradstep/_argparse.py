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
"""

from __future__ import annotations

import operator

_SEQ = (tuple, list)
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes defined in Python have tp_name == __name__


def type_name(v):
    """``Py_TYPE(v)->tp_name`` as torch prints it: ``float``, ``Tensor``, ``numpy.float64``."""
    t = type(v)
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


def int_arg(v, fname, argname, pos):
    """``v`` as an int, or torch's TypeError. Callers test ``type(v) is int`` first."""
    if not is_int(v):
        raise TypeError(f"{fname}(): argument '{argname}' (position {pos}) must be int, "
                        f"not {type_name(v)}")
    return operator.index(v)


def invalid_combination(fname, args, signatures):
    """torch's TypeError for arguments that match none of a function's signatures."""
    got = ", ".join(type_name(a) for a in args)
    sigs = "".join(f" * ({s})\n" for s in signatures)
    return TypeError(f"{fname}() received an invalid combination of arguments - got ({got}), "
                     f"but expected one of:\n{sigs}")


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
            raise TypeError(f"{fname}(): argument '{argname}' failed to unpack the object at pos "
                            f"{i + 1} with error \"type must be tuple of ints,but got "
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
            if pos is None:  # torch names the sequence's own type for a keyword argument
                raise TypeError(f"{fname}(): argument '{argname}' must be tuple of ints, not "
                                f"{type_name(obj)}")
            raise TypeError(f"{fname}(): argument '{argname}' (position {pos}) must be tuple of "
                            f"ints, but found element of type {type_name(obj[0])} at pos 0")
        return _unpack(obj, fname, argname)
    if single_int and is_index(obj):
        return _unpack((obj,), fname, argname)
    if signatures:
        raise invalid_combination(fname, got, signatures)
    where = "" if pos is None else f" (position {pos})"
    raise TypeError(f"{fname}(): argument '{argname}'{where} must be tuple of ints, "
                    f"not {type_name(obj)}")


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

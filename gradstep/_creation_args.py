"""torch's argument checks for the factories (zeros, full, arange, linspace, eye, *_like):
``dtype=`` must be a ``torch.dtype``, numbers must be Numbers, ``input`` a Tensor.

The factories call these only off their common path (a non-None dtype, a fill value or
bound that is not a plain int/float); the messages are torch 2.13's.
"""

from __future__ import annotations

import numbers

from ._argparse import arg_error, dtype_error, invalid_combination, is_int, tensor_error, type_name


def _tensor_cls():
    from ._tensor import Tensor

    return Tensor


def is_number(v):
    """torch's ``Number``: a Python or NumPy number, or a one-element tensor."""
    if isinstance(v, numbers.Number):
        return True
    tensor = _tensor_cls()
    return isinstance(v, tensor) and v.numel() == 1


_PYTHON_DTYPES = (bool, int, float, complex)  # torch takes these classes as dtypes (bool -> torch.bool)


def check_dtype(dtype, fname, signatures=None, got=()):
    """``dtype=`` of a factory; ``signatures``: it has several that take the call's number
    of arguments, so torch's message is "invalid combination" (``got``: the positional
    arguments; the public wrapper rewords it with the keywords)."""
    from .backend import dtype as dtype_cls

    if not isinstance(dtype, dtype_cls) and dtype not in _PYTHON_DTYPES:
        if signatures:
            raise invalid_combination(fname, got, signatures)
        raise dtype_error(dtype, fname)


def new_dtype(dtype, default, fname):
    """``Tensor.new_zeros(dtype=)``'s dtype, ``default`` (the tensor's) when None."""
    if dtype is None:
        return default
    check_dtype(dtype, fname)
    return dtype


def check_like_input(t, fname):
    if not isinstance(t, _tensor_cls()):
        raise tensor_error(t, fname, "input", 1)


def check_fill(fill_value, fname):
    if not is_number(fill_value):
        raise arg_error(fname, "fill_value", 2, f" must be Number, not {type_name(fill_value)}")


def _options(args):
    return ", *, Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, " \
           "torch.device device = None, bool pin_memory = False, bool requires_grad = False" \
        if args else ""


SAMPLE_SIGNATURES = tuple(f"tuple of ints size, *, {g}Tensor out = None, torch.dtype dtype = None, "
                          "torch.layout layout = None, torch.device device = None, "
                          "bool pin_memory = False, bool requires_grad = False"
                          for g in ("torch.Generator generator, ", ""))

ARANGE_SIGNATURES = (
    "Number end" + _options(1),
    "Number start, Number end, *, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False",
    "Number start, Number end, Number step = 1" + _options(1))


def check_arange(start, end, step):
    """``arange(end)``: one signature takes one argument (a specific message); two or three
    arguments: "invalid combination". ``end`` None: the one-argument form."""
    if end is None:
        if not is_number(start):
            raise arg_error("arange", "end", 1, f" must be Number, not {type_name(start)}")
        return
    if not (is_number(start) and is_number(end) and is_number(step)):
        raise invalid_combination("arange", (start, end) if step == 1 else (start, end, step),
                                  ARANGE_SIGNATURES)


LINSPACE_SIGNATURES = tuple(f"{a} start, {b} end, int steps" + _options(1)
                             for a, b in (("Tensor", "Tensor"), ("Number", "Tensor"),
                                          ("Tensor", "Number"), ("Number", "Number")))


def check_linspace(start, end, steps):
    if not (is_int(steps) and is_number(start) and is_number(end)):
        raise invalid_combination("linspace", (start, end, steps), LINSPACE_SIGNATURES)


_EYE_SIGNATURES = ("int n" + _options(1), "int n, int m" + _options(1))


def check_eye(n, m):
    if m is None:
        if not is_int(n):
            raise arg_error("eye", "n", 1, f" must be int, not {type_name(n)}")
    elif not (is_int(n) and is_int(m)):
        raise invalid_combination("eye", (n, m), _EYE_SIGNATURES)

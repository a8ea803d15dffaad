"""The scalar-first overloads that torch 2.13 still parses for code written for torch < 1.5.

torch 1.x spelled the scale factor of ``add``/``sub``/``addcmul``/``addcdiv`` as a leading
positional number: ``p.data.add_(-lr, d_p)``, ``exp_avg_sq.mul_(b2).addcmul_(1 - b2, g, g)``,
``p.data.addcdiv_(-step_size, exp_avg, denom)``. torch 1.5 deprecated these signatures in favour
of a keyword (``alpha=`` / ``value=``) but still accepts them: it binds the number to the keyword
and emits one ``UserWarning`` per process (``TORCH_WARN_ONCE`` in its argument parser, one flag
shared by every deprecated signature). This module is the only place that knows about them;
the Python entry points of those ops call :func:`scalar_first` (see ``_tensor_inplace.py``).
"""

from __future__ import annotations

import functools
import numbers

from ._warn_once import warn_once

# op -> (keyword the leading number binds to, names of the tensors after it, deprecated since)
DEPRECATED = {
    "add": ("alpha", ("other",), "1.5"),
    "sub": ("alpha", ("other",), "1.5"),
    "addcmul": ("value", ("tensor1", "tensor2"), "1.5"),
    "addcdiv": ("value", ("tensor1", "tensor2"), "1.5"),
}

def _signatures(name, function):
    """torch's text for the deprecated signature of ``name`` and the one to use instead."""
    keyword, tensors, _ = DEPRECATED[name.rstrip("_")]
    head = ["Tensor input"] if function else []
    tail = ", Tensor out = None" if function else ""
    args = ", ".join(f"Tensor {t}" for t in tensors)
    old = f"{name}({', '.join(head + [f'Number {keyword}', args])}{', *' + tail if tail else ''})"
    new = f"{name}({', '.join(head + [args])}, *, Number {keyword} = 1{tail})"
    return old, new


def _warn(name, function):
    """torch's one warning per process for all deprecated signatures together."""
    def text():
        old, new = _signatures(name, function)
        return (f"This overload of {name} is deprecated:\n\t{old}\nConsider using one of the "
                f"following signatures instead:\n\t{new}")

    warn_once("scalar-first-overloads", text)


def _as_number(x):
    """``x`` as a Python number if torch would bind it to a ``Number`` parameter, else None."""
    from ._tensor import Tensor

    if isinstance(x, numbers.Number):
        return x
    if isinstance(x, Tensor) and x.ndim == 0:
        return x.item()
    if hasattr(x, "dtype") and getattr(x, "shape", None) == ():  # a NumPy scalar
        return x.item()
    return None


def scalar_first(name, args, kwargs, function=False):
    """``(args, kwargs)`` with a deprecated leading number moved to its keyword.

    ``args`` are the positional arguments after ``self`` (method) or ``input`` (function).
    Calls already in the current form are returned unchanged.
    """
    keyword, tensors, _ = DEPRECATED[name.rstrip("_")]
    if len(args) <= len(tensors):
        return args, kwargs
    number = _as_number(args[0]) if len(args) == len(tensors) + 1 else None
    if number is None or keyword in kwargs:
        given = len(args) + (1 if function else 0)
        allowed = len(tensors) + (1 if function else 0)
        raise TypeError(f"{name}() takes {allowed} positional arguments but {given} were given")
    _warn(name, function)
    return args[1:], {**kwargs, keyword: number}


def method(name, fn):
    """``Tensor.<name>`` accepting the deprecated overload as well as the current one."""
    limit = len(DEPRECATED[name.rstrip("_")][1])  # more positional tensors: the old overload

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        if len(args) > limit:
            args, kwargs = scalar_first(name, args, kwargs)
        return fn(self, *args, **kwargs)

    return wrapper


def function(name, fn):
    """``torch.<name>(input, ...)`` accepting the deprecated overload as well as the current one."""
    limit = len(DEPRECATED[name][1])

    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):  # noqa: A002 - torch's name
        if len(args) > limit:
            args, kwargs = scalar_first(name, args, kwargs, function=True)
        return fn(input, *args, **kwargs)

    return wrapper


def _torch_functions():
    from .ops import arithmetic, pointwise

    return (function("add", arithmetic.add), function("sub", arithmetic.sub),
            function("addcmul", pointwise.addcmul), function("addcdiv", pointwise.addcdiv))


# torch.add, torch.sub, torch.addcmul, torch.addcdiv
add, sub, addcmul, addcdiv = _torch_functions()

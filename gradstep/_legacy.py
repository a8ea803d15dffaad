"""The scalar-first overloads that torch 2.13 still parses for code written for torch < 1.5.

torch 1.x spelled the scale factor of ``add``/``sub``/``addcmul``/``addcdiv`` as a leading
positional number: ``p.data.add_(-lr, d_p)``, ``exp_avg_sq.mul_(b2).addcmul_(1 - b2, g, g)``,
``p.data.addcdiv_(-step_size, exp_avg, denom)``. torch 1.5 deprecated these signatures in favour
of a keyword (``alpha=`` / ``value=``) but still accepts them: it binds the number to the keyword
and emits one ``UserWarning`` per process (``TORCH_WARN_ONCE`` in its argument parser, one flag
shared by every deprecated signature). This module is the only place that knows about them;
the Python entry points of those ops call :func:`scalar_first` (see ``_tensor_inplace.py``).

The matrix products ``addmm``/``addmv``/``addr``/``addbmm``/``baddbmm`` had leading ``beta``
and ``alpha`` numbers too: ``c.addmm_(0.5, 2, a, b)``, ``torch.addmm(beta, c, alpha, a, b)``.
:func:`install_matrix_product_overloads` wraps their methods and functions once, at import.
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


# -- the matrix products: (beta[, alpha], t1, t2) ------------------------------------------
SCALED_PRODUCTS = {"addmm": ("mat1", "mat2"), "addmv": ("mat", "vec"), "addr": ("vec1", "vec2"),
                   "addbmm": ("batch1", "batch2"), "baddbmm": ("batch1", "batch2")}
_OUT_DTYPE = ("addmm", "baddbmm")  # torch's functions list a second current signature for these


def _product_signatures(name, with_alpha, function):
    base = name.rstrip("_")
    pair = [f"Tensor {t}" for t in SCALED_PRODUCTS[base]]
    tail = ", Tensor out = None" if function and not name.endswith("_") else ""
    old = ["Number beta"] + (["Tensor input"] if function else [])
    old += (["Number alpha"] if with_alpha else []) + pair
    current = (["Tensor input"] if function else []) + pair
    scales = "Number beta = 1, Number alpha = 1"
    news = [f"{name}({', '.join(current)}, *, {scales}{tail})"]
    if function and tail and base in _OUT_DTYPE:
        news.append(f"{name}({', '.join(current)}, torch.dtype out_dtype, *, {scales}{tail})")
    star = ", *" + tail if tail else ""
    return f"{name}({', '.join(old)}{star})", "\n\t".join(news)


def _product_scales(name, args, kwargs, function):
    """``(args, kwargs)`` with leading ``beta`` (and ``alpha``) moved to their keywords, or
    None when the call is in the current form. ``args`` follow ``self`` for a method and are
    all the positional arguments for a function, where beta comes before ``input``."""
    if function:
        if not args or not isinstance(args[0], numbers.Number) or len(args) not in (4, 5):
            return None
        beta, rest = args[0], args[1:]
        alpha = _as_number(rest[1]) if len(rest) == 4 else None
        if len(rest) == 4 and alpha is None:
            return None
        tensors = (rest[0],) + rest[-2:]
    else:
        if len(args) not in (3, 4):
            return None
        beta = _as_number(args[0])
        alpha = _as_number(args[1]) if len(args) == 4 else None
        if beta is None or (len(args) == 4 and alpha is None):
            return None
        tensors = args[-2:]
    if "beta" in kwargs or (alpha is not None and "alpha" in kwargs):
        return None
    old, new = _product_signatures(name, alpha is not None, function)
    warn_once("scalar-first-overloads", lambda: (
        f"This overload of {name} is deprecated:\n\t{old}\nConsider using one of the following "
        f"signatures instead:\n\t{new}"))
    scales = {"beta": beta} if alpha is None else {"beta": beta, "alpha": alpha}
    return tensors, {**kwargs, **scales}


def _product_method(name, fn):
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        if len(args) > 2:
            moved = _product_scales(name, args, kwargs, function=False)
            if moved is not None:
                args, kwargs = moved
        return fn(self, *args, **kwargs)

    return method


def _product_function(name, fn):
    @functools.wraps(fn)
    def function(*args, **kwargs):
        if len(args) > 3:
            moved = _product_scales(name, args, kwargs, function=True)
            if moved is not None:
                args, kwargs = moved
        return fn(*args, **kwargs)

    return function


def install_matrix_product_overloads(tensor_cls, namespace):
    """Wrap ``Tensor.addmm``/``addmm_``/... and ``torch.addmm``/... (and ``torch.addmv_``)
    so the leading-number overloads work; called once, after every binding is in place."""
    for base in SCALED_PRODUCTS:
        for name in (base, base + "_"):
            if name in vars(tensor_cls):
                setattr(tensor_cls, name, _product_method(name, vars(tensor_cls)[name]))
            if name in namespace:
                namespace[name] = _product_function(name, namespace[name])

"""torch's keyword names and ``out=`` for the ``gradstep.*`` functions, in one place.

Ops are written with short positional names (``add(a, b)``); torch programs call them as
``torch.add(input=x, other=y, out=z)``. ``apply(namespace)`` (run once at the end of
``gradstep/__init__.py``) wraps each function whose signature differs from torch's:

* keyword names: a leading ``a`` is also accepted as ``input``, a second ``b`` as ``other``,
  NumPy's ``axis=``/``keepdims=`` as ``dim=``/``keepdim=`` (functions and Tensor methods, as
  torch's parser does), and the few other spellings in ``_RENAMES`` (``exponent=`` for ``pow``, ...);
* ``out=`` for the functions in ``OUT`` (torch has it on them): the result is computed
  normally and written into ``out`` (resized to the result's shape as torch does, with its
  warning when a non-empty ``out`` changes shape; the result dtype must cast to ``out``'s).
  As in torch, ``out=`` is refused while recording a graph through an input that requires grad.

Functions that already take ``input``/``out`` are left as they are.
"""

from __future__ import annotations

import functools
import inspect
import warnings

from ._argparse import FUNCTION, METHOD, TWIN, reword, type_name
from .autograd.grad_mode import _GradState
from .backend import xp

# functions that take out= in torch (tuple results take a tuple of tensors)
OUT = frozenset("""
abs absolute acos acosh add angle arccos arccosh arcsin arcsinh arctan arctan2 arctanh asin
asinh atan atan2 atanh bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift
bitwise_xor ceil clamp clip copysign cos cosh deg2rad digamma div divide eq erf erfc erfinv exp
exp2 expm1 fix float_power floor floor_divide fmax fmin fmod frac gcd ge greater greater_equal gt
heaviside hypot i0 igamma igammac lcm ldexp le lerp less less_equal lgamma log log10 log1p log2
logaddexp logaddexp2 logical_and logical_not logical_or logical_xor logit lt maximum minimum mul
multiply mvlgamma nan_to_num ne neg negative nextafter not_equal polygamma pow rad2deg reciprocal
remainder round rsqrt sgn sigmoid sign signbit sin sinc sinh sqrt square sub subtract tan tanh
true_divide trunc xlogy
sum mean prod amax amin argmax argmin logsumexp cumsum cumprod std var norm all any nansum
nanmean
cat concat concatenate stack hstack vstack matmul mm bmm mv dot outer addmm where
gather index_select masked_select sort topk triu tril
zeros ones full arange linspace logspace eye empty rand randn randint randperm
""".split())

# factories torch resizes ``out`` for without its warning (it warns for arange)
_SILENT_RESIZE = frozenset("zeros ones full eye empty rand randn randint randperm linspace "
                           "logspace".split())

# reductions that compute in ``out``'s dtype when given no dtype (torch infers it from out)
_OUT_DTYPE = frozenset("sum prod cumsum cumprod".split())

# torch's name -> this library's parameter name, beyond input=a / other=b
_RENAMES = {
    "pow": {"exponent": "p"}, "where": {"condition": "cond", "input": "a", "other": "b"},
    "mv": {"vec": "v"}, "mm": {"mat2": "b"}, "bmm": {"mat2": "b"},
    "lerp": {"end": "end"}, "clamp": {}, "clip": {},
}


def _numpy_aliases(params):
    """torch's argument parser takes NumPy's ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``."""
    table = {}
    if "dim" in params:
        table["axis"] = "dim"
    if "keepdim" in params:
        table["keepdims"] = "keepdim"
    return table


# torch's keyword for a size argument this library takes as ``*varargs`` (``x.view(size=(2, 3))``)
_VARARG_KEYWORDS = {"reshape": "shape", "view": "size", "permute": "dims", "expand": "size",
                    "repeat": "repeats", "new_zeros": "size", "new_ones": "size", "new_empty": "size"}


def _vararg_keyword(name, fn):
    """The torch keyword that may carry ``fn``'s ``*varargs`` sizes, or None."""
    keyword = _VARARG_KEYWORDS.get(name)
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    return keyword if has_varargs else None


def _renames(name, params):
    table = dict(_RENAMES.get(name, {}))
    table.update(_numpy_aliases(params))
    if params[:1] == ["a"]:
        table.setdefault("input", "a")
    if params[1:2] == ["b"]:
        table.setdefault("other", "b")
    return {k: v for k, v in table.items() if k != v and k not in params}


def _tensors_in(values):
    from ._tensor import Tensor

    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors_in(v)


def _write_out(name, out, result):
    from ._tensor import Tensor

    if isinstance(result, tuple) and isinstance(out, (tuple, list)):
        for o, r in zip(out, result):
            _write_out(name, o, r)
        return out
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type_name(out)}")
    data = result._data if isinstance(result, Tensor) else xp.asarray(result)
    if out._data.shape != data.shape:
        if out._data.size and name not in _SILENT_RESIZE:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(data.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=4)
        out._data = xp.empty(data.shape, out._data.dtype)
    out._write(data)
    return out


def _check_no_grad(name, args, kwargs, out):
    if not _GradState.enabled:
        return
    inputs = list(_tensors_in(args)) + list(_tensors_in(kwargs.values()))
    if any(t.requires_grad for t in inputs) or any(t.requires_grad for t in _tensors_in([out])):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad.")


def _rename_keywords(kwargs, renames):
    """Move each torch keyword in ``kwargs`` to gradstep's name for it, in place."""
    for torch_name, ours in renames.items():
        if torch_name in kwargs:
            kwargs[ours] = kwargs.pop(torch_name)


def wrap(fn, name, with_out):
    try:
        params = list(inspect.signature(fn).parameters)  # the innermost op's names
        outer = list(inspect.signature(fn, follow_wrapped=False).parameters)
    except (TypeError, ValueError):
        return fn
    # a wrapper taking ``input`` itself (the legacy overloads) keeps it; the rest still maps
    renames = {k: v for k, v in _renames(name, params).items() if k not in outer}
    with_out = with_out and "out" not in params
    sizes = _vararg_keyword(name, fn)
    if not renames and not with_out and not sizes:
        return fn

    form = TWIN if _is_method(name) else FUNCTION

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:  # free unless raised (3.11's zero-cost try)
            if not kwargs:  # the common call: positional arguments only
                return fn(*args)
            _rename_keywords(kwargs, renames)
            call_args, kw = args, kwargs
            if sizes in kw:  # a copy: the wording of an error needs the call as given
                kw = dict(kw)
                size = kw.pop(sizes)
                if params[:1] and params[0] in kw:  # input= given by keyword too
                    call_args = (kw.pop(params[0]), *args)
                call_args = (*call_args, size)
            out = kw.pop("out", None) if with_out else None
            if out is not None:
                _check_no_grad(name, call_args, kw, out)
                if name in _OUT_DTYPE and kw.get("dtype") is None:
                    kw["dtype"] = getattr(out, "dtype", None)
                return _write_out(name, out, fn(*call_args, **kw))
            return fn(*call_args, **kw)
        except TypeError as e:  # torch's wording depends on the call's form: reword it
            reword(e, args, kwargs, form, renames)
            raise

    wrapper.__torch_keywords__ = renames
    return wrapper


def reworded(fn, form=FUNCTION):
    """``fn`` with torch's wording of its argument errors for each call (positions, keyword
    names, "got (...)"): for ops reached through no other wrapper (``F.conv2d``). One call
    frame more; the ``try`` is free unless raised."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TypeError as e:
            reword(e, args, kwargs, form)
            raise

    return call


def _is_method(name):
    """Is ``torch.<name>`` also a Tensor method (so its positions count ``input``)?"""
    from ._tensor import Tensor

    return hasattr(Tensor, name)


def apply(namespace):
    """Wrap the public functions of ``namespace`` (a module's ``globals()``) in place."""
    for name, fn in list(namespace.items()):
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        if not getattr(fn, "__module__", "").startswith("gradstep"):
            continue
        namespace[name] = wrap(fn, name, name in OUT)


def _method_renames(name, params):
    table = {"other": "b"} if params[1:2] == ["b"] else {}
    table.update(_numpy_aliases(params))
    if name == "split" and "split_size_or_sections" in params:
        table["split_size"] = "split_size_or_sections"  # the method's name for it
    if name == "pow" and params[1:2] == ["p"]:
        table["exponent"] = "p"
    return {k: v for k, v in table.items() if k not in params}


def apply_methods(cls):
    """Let ``Tensor`` methods take torch's ``other=`` (and ``exponent=``) keywords."""
    for name, fn in list(vars(cls).items()):
        if not inspect.isfunction(fn) or (name.startswith("__") and name.endswith("__")):
            continue
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            continue
        renames = _method_renames(name, params)
        sizes = _vararg_keyword(name, fn)
        if renames or sizes:
            setattr(cls, name, _renamed(fn, renames, sizes))


def _renamed(fn, renames, sizes=None):
    @functools.wraps(fn)
    def method(*args, **kwargs):
        try:  # free unless raised (3.11's zero-cost try)
            if not kwargs:  # the common call: positional arguments only
                return fn(*args)
            _rename_keywords(kwargs, renames)
            if sizes in kwargs:  # a copy: the wording of an error needs the call as given
                kw = dict(kwargs)
                return fn(*args, kw.pop(sizes), **kw)
            return fn(*args, **kwargs)
        except TypeError as e:  # a keyword argument: torch's wording names no position
            reword(e, args, kwargs, METHOD, renames)
            raise

    return method

"""``torch.*`` spellings of ops that live elsewhere: the in-place function forms
(``torch.tan_(x)`` is ``x.tan_()``), comparison aliases, and the activation/dropout functions
torch also exports at top level with their ``torch.*`` signatures (``torch.dropout(input, p,
train)``, ``torch.threshold(input, threshold, value)``, ...). Merged into ``gradstep`` by
``gradstep/__init__.py``; one visible table instead of shims across the op files."""

from __future__ import annotations

from .nn import functional as F
from .ops import compare as C
from .ops import unary as U

# torch.<name>(input, *args) == input.<name>(*args)
INPLACE_FUNCTIONS = (
    "abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ "
    "atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ erf_ erfc_ exp2_ exp_ "
    "expm1_ fix_ floor_ frac_ gcd_ i0_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ "
    "nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ "
    "sqrt_ square_ tan_ tanh_ trunc_ xlogy_ zero_ fill_ detach_ resize_as_ relu_"
).split()


def _method_form(name):
    def fn(input, *args, **kwargs):  # noqa: A002 - torch's keyword name
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``."
    return fn


def detach(input):  # noqa: A002
    return input.detach()


def fix(input):  # noqa: A002
    return U.trunc(input)


def negative(input):  # noqa: A002
    return -input


def selu(input):  # noqa: A002
    return F.selu(input)


def selu_(input):  # noqa: A002
    return F.selu(input, inplace=True)


def celu(input, alpha=1.0):  # noqa: A002
    return F.celu(input, alpha)


def celu_(input, alpha=1.0):  # noqa: A002
    return F.celu(input, alpha, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):  # noqa: A002
    return F.rrelu(input, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):  # noqa: A002
    return F.rrelu_(input, lower, upper, training)


def threshold(input, threshold, value):  # noqa: A002
    return F.threshold(input, threshold, value)


def threshold_(input, threshold, value):  # noqa: A002
    return F.threshold(input, threshold, value, inplace=True)


def hardshrink(input, lambd=0.5):  # noqa: A002
    return F.hardshrink(input, lambd)


def prelu(input, weight):  # noqa: A002
    return F.prelu(input, weight)


def dropout(input, p, train):  # noqa: A002
    return F.dropout(input, p, train)


def dropout_(input, p, train):  # noqa: A002
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input, p, train):  # noqa: A002
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train):  # noqa: A002
    return F.alpha_dropout(input, p, train, inplace=True)


FUNCTIONS = {name: _method_form(name) for name in INPLACE_FUNCTIONS}
FUNCTIONS.update({
    "greater": C.gt, "greater_equal": C.ge, "less": C.lt, "less_equal": C.le,
    "not_equal": C.ne, "negative": negative, "fix": fix, "detach": detach,
    "selu": selu, "selu_": selu_, "celu": celu, "celu_": celu_, "rrelu": rrelu,
    "rrelu_": rrelu_, "threshold": threshold, "threshold_": threshold_,
    "hardshrink": hardshrink, "prelu": prelu, "dropout": dropout, "dropout_": dropout_,
    "alpha_dropout": alpha_dropout, "alpha_dropout_": alpha_dropout_,
})

# Tensor methods torch has under these names that were missing
METHODS = {
    "greater_equal": C.ge, "less_equal": C.le, "not_equal": C.ne,
    "hardshrink": hardshrink, "prelu": prelu,
}


def bind():
    from ._tensor import Tensor

    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)

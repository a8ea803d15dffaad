"""``Tensor`` methods (and in-place ``_`` forms) of the math families: trigonometric and
hyperbolic functions, exponents and logarithms, special functions, bitwise ops and shifts,
IEEE helpers and the NaN reductions. Bound onto ``Tensor`` at import by ``bind()``.

In-place forms reuse ``_tensor_inplace``'s machinery (leaf check, version bump, graph).
"""

from __future__ import annotations

from ._tensor import Tensor
from ._tensor_inplace import inplace_from, inplace_untracked
from .ops import bitwise as B
from .ops import explog as X
from .ops import floatmisc as F
from .ops import queries as Q
from .ops import realview as RV
from .ops import special as SP
from .ops import trig as TR

# method name -> function (the Tensor is the first argument)
METHODS = {
    "tan": TR.tan, "asin": TR.asin, "arcsin": TR.asin, "acos": TR.acos, "arccos": TR.acos,
    "atan": TR.atan, "arctan": TR.atan, "sinh": TR.sinh, "cosh": TR.cosh, "asinh": TR.asinh,
    "arcsinh": TR.asinh, "acosh": TR.acosh, "arccosh": TR.acosh, "atanh": TR.atanh,
    "arctanh": TR.atanh, "atan2": TR.atan2, "arctan2": TR.atan2, "hypot": TR.hypot,
    "deg2rad": TR.deg2rad, "rad2deg": TR.rad2deg,
    "exp2": X.exp2, "logaddexp": X.logaddexp, "logaddexp2": X.logaddexp2, "xlogy": X.xlogy,
    "sinc": X.sinc, "logit": X.logit, "float_power": X.float_power, "ldexp": X.ldexp,
    "frexp": X.frexp,
    "lgamma": SP.lgamma, "digamma": SP.digamma, "polygamma": lambda self, n: SP.polygamma(n, self),
    "mvlgamma": SP.mvlgamma, "erfc": SP.erfc, "erfinv": SP.erfinv, "i0": SP.i0,
    "igamma": SP.igamma, "igammac": SP.igammac,
    "copysign": F.copysign, "fmax": F.fmax, "fmin": F.fmin, "heaviside": F.heaviside,
    "nextafter": F.nextafter, "signbit": F.signbit, "isposinf": F.isposinf,
    "isneginf": F.isneginf, "isreal": F.isreal, "positive": F.positive,
    "nansum": F.nansum, "nanmean": F.nanmean,
    "bitwise_left_shift": B.bitwise_left_shift, "bitwise_right_shift": B.bitwise_right_shift,
    "gcd": B.gcd, "lcm": B.lcm,
    "__lshift__": B.bitwise_left_shift, "__rshift__": B.bitwise_right_shift,
    "__rlshift__": lambda self, other: B.bitwise_left_shift(other, self),
    "__rrshift__": lambda self, other: B.bitwise_right_shift(other, self),
    "angle": RV.angle, "conj": RV.conj, "conj_physical": RV.conj_physical,
    "conj_physical_": RV.conj_physical_, "resolve_conj": RV.resolve_conj,
    "resolve_neg": RV.resolve_neg, "is_conj": RV.is_conj, "is_neg": RV.is_neg,
    "real": property(RV.real), "imag": property(RV.imag),
    "is_nonzero": Q.is_nonzero, "is_same_size": Q.is_same_size, "is_signed": Q.is_signed,
    "renorm": Q.renorm,
}

# in-place forms that record a graph like their out-of-place op
INPLACE = {
    "tan_": TR.tan, "asin_": TR.asin, "arcsin_": TR.asin, "acos_": TR.acos,
    "arccos_": TR.acos, "atan_": TR.atan, "arctan_": TR.atan, "sinh_": TR.sinh,
    "cosh_": TR.cosh, "asinh_": TR.asinh, "arcsinh_": TR.asinh, "acosh_": TR.acosh,
    "arccosh_": TR.acosh, "atanh_": TR.atanh, "arctanh_": TR.atanh, "atan2_": TR.atan2,
    "arctan2_": TR.atan2, "hypot_": TR.hypot, "deg2rad_": TR.deg2rad, "rad2deg_": TR.rad2deg,
    "exp2_": X.exp2, "xlogy_": X.xlogy, "sinc_": X.sinc, "logit_": X.logit,
    "float_power_": lambda self, exponent: X.float_power(_double_base(self), exponent),
    "ldexp_": X.ldexp,
    "lgamma_": SP.lgamma, "digamma_": SP.digamma,
    "polygamma_": lambda self, n: SP.polygamma(n, self), "mvlgamma_": SP.mvlgamma,
    "erfc_": SP.erfc, "erfinv_": SP.erfinv, "i0_": SP.i0, "igamma_": SP.igamma,
    "igammac_": SP.igammac,
    "copysign_": F.copysign, "nextafter_": F.nextafter, "renorm_": Q.renorm,
}

# in-place forms torch does not differentiate (integer results)
UNTRACKED = {
    "bitwise_left_shift_": B.bitwise_left_shift, "bitwise_right_shift_": B.bitwise_right_shift,
    "__ilshift__": B.bitwise_left_shift, "__irshift__": B.bitwise_right_shift,
    "gcd_": B.gcd, "lcm_": B.lcm, "heaviside_": F.heaviside,
}


def _double_base(self):
    """float_power_ writes a float64 result: torch refuses any other ``self`` dtype."""
    if self.dtype.name != "float64":
        title = {"float32": "Float", "float16": "Half", "bfloat16": "BFloat16"}.get(
            self.dtype.name, self.dtype.name.capitalize())
        raise RuntimeError(f"the base given to float_power_ has dtype {title} but the "
                           "operation's result requires dtype Double")
    return self


def _named(fn, name):
    fn.__name__ = name
    return fn


def bind():
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    for name, fn in INPLACE.items():
        setattr(Tensor, name, _named(inplace_from(fn), name))
    for name, fn in UNTRACKED.items():
        setattr(Tensor, name, _named(inplace_untracked(fn), name))


bind()

"""torch.finfo and torch.iinfo: the numeric limits of gradstep's dtypes, with torch's fields."""

from __future__ import annotations

import math

from . import backend as B


def _dtype(t, fallback_default):
    if t is None:
        return B.get_default_dtype() if fallback_default else None
    return t


def _ml_dtypes_finfo(np_dtype):
    import ml_dtypes

    return ml_dtypes.finfo(np_dtype)


class finfo:  # noqa: N801 - torch's name
    """bits, eps, max, min, tiny (= smallest_normal), resolution, dtype (a string)."""

    def __init__(self, type=None):  # noqa: A002
        dt = _dtype(type, True)
        if isinstance(dt, B.dtype) and dt.is_complex:
            dt = B.to_real(dt)  # torch: complex64 has its float32 parts' limits
        if not isinstance(dt, B.dtype) or not dt.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        ml = dt.name == "bfloat16" or dt.name.startswith("float8")
        info = _ml_dtypes_finfo(dt.np) if ml else B.xp.finfo(dt.np)
        self.bits = int(info.bits)
        # torch's float8_e5m2fnuz eps is 2**-3 (its numeric_limits say so), ml_dtypes' 2**-2
        self.eps = 0.125 if dt.name == "float8_e5m2fnuz" else float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(-math.log10(self.eps))  # torch's: 10^-(decimal digits)
        self.dtype = dt.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))


class iinfo:  # noqa: N801 - torch's name
    """bits, max, min, dtype (a string)."""

    def __init__(self, type):  # noqa: A002
        if not isinstance(type, B.dtype) or type.is_floating_point or type.is_complex:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = B.xp.iinfo(B.xp.uint8 if type.name == "bool" else type.np)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = type.name

    def __repr__(self):
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

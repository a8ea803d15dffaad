"""Conversions to and from the float8 dtypes, bit for bit as torch's CPU casts.

ml_dtypes rounds to nearest even as torch does, but differs at the edges: torch goes through
float32 first (a float64 is rounded twice), saturates float8_e4m3fn's overflow (and inf) to
±448 where ml_dtypes gives NaN, writes float8_e5m2's NaN as 0x7f, and gives its own NaN bits
when widening (see c10/util/Float8_*.h). The edges are patched here on top of ml_dtypes.
"""

from __future__ import annotations

from .backend import xp

_LUTS = {}  # float8 name -> its 256 values as float32 (torch's NaN bits)


def to_float8(a, np_dt):
    """Backend array ``a`` (any real dtype) as float8 dtype ``np_dt``."""
    f = a if a.dtype == xp.float32 else a.astype(xp.float32)
    with xp.errstate(invalid="ignore", over="ignore"):
        out = f.astype(np_dt)
    name = np_dt.name
    if name in ("float8_e4m3fn", "float8_e5m2"):
        bits = f.view(xp.uint32)
        mag = bits & 0x7FFFFFFF
        sign = (bits >> 24).astype(xp.uint8) & 0x80
        raw = out.view(xp.uint8)
        if name == "float8_e4m3fn":  # |x| >= 448 (inf too): the largest finite, 448
            xp.copyto(raw, sign | 0x7E, where=(mag >= 0x43E00000) & (mag <= 0x7F800000))
        xp.copyto(raw, sign | 0x7F, where=mag > 0x7F800000)  # NaN
    return out


def from_float8(a, np_target):
    """Float8 array ``a`` as ``np_target`` (through float32, as torch converts)."""
    f = _lut(a.dtype)[a.view(xp.uint8)]
    return f if np_target == xp.float32 else f.astype(np_target)


def _lut(np_dt):
    lut = _LUTS.get(np_dt.name)
    if lut is None:
        codes = xp.arange(256, dtype=xp.uint16).astype(xp.uint8)
        bits = codes.view(np_dt).astype(xp.float32).view(xp.uint32)
        sign = (codes.astype(xp.uint32) & 0x80) << 24
        low = codes & 0x7F
        if np_dt.name == "float8_e4m3fn":
            bits = xp.where(low == 0x7F, sign | 0x7FF00000, bits)
        elif np_dt.name == "float8_e5m2":
            nan_bits = sign | 0x7FC00000 | ((codes.astype(xp.uint32) & 3) << 21)
            bits = xp.where(low > 0x7C, nan_bits, bits)
        else:  # the fnuz types: 0x80 is their one NaN
            bits = xp.where(codes == 0x80, xp.uint32(0x7F800001), bits)
        lut = _LUTS[np_dt.name] = bits.astype(xp.uint32).view(xp.float32)
    return lut


def is_float8(np_dt) -> bool:
    return np_dt.itemsize == 1 and np_dt.name.startswith("float8")

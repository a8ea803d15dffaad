"""The array-module seam and gradstep's dtypes.

Every array operation in gradstep goes through ``xp`` (NumPy today). A CuPy
backend can be dropped in by pointing ``xp`` at another module with the NumPy
API; no op imports numpy directly for array math.
"""

from __future__ import annotations

import numpy as _np

from . import _malloc

xp = _np
_malloc.retain_freed_memory()  # see gradstep/_malloc.py: no per-step page faults (glibc)

_builtin_int = int
_builtin_float = float

# The package name that dtype and Size reprs show: "torch" while gradstep stands in for torch
# (set by gradstep._torch_hook), so programs print torch.float32 / torch.Size([...]) as under torch.
display_name = "gradstep"


def get_array_module(*arrays):
    """The array module for ``arrays`` (Chainer's ``get_array_module``)."""
    return xp


class dtype:
    """A gradstep dtype: a thin, hashable wrapper around the backend dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = _np.dtype(np_dtype)
        self._category = category  # 0 bool, 1 integer, 2 floating, 3 complex
        self.is_floating_point = category == 2
        self.is_signed = category >= 2 or self.np.kind == "i"  # bfloat16's NumPy kind is "V"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"{display_name}.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    @property
    def is_complex(self) -> bool:
        return self._category == 3


class _LazyMlDtype(dtype):
    """A floating dtype whose NumPy dtype comes from ml_dtypes (bfloat16, the float8s), imported
    on first use.

    ml_dtypes 0.7 takes over half a second to import (it registers its casts and ufunc
    loops one by one with NumPy), more than all of gradstep; a program that never touches
    bfloat16 should not pay that in ``import gradstep``.
    """

    __slots__ = ()

    def __init__(self, name="bfloat16", itemsize=2):  # noqa: D107 - no NumPy dtype needed yet
        self.name = name
        self._category = 2
        self.is_floating_point = True
        self.is_signed = True
        self.itemsize = itemsize

    @property
    def np(self):
        if self.name == "bfloat16":
            return _bf16_np or _load_bfloat16()
        return _load_ml_dtype(self)


_LazyBfloat16 = _LazyMlDtype  # the name it had when bfloat16 was the only one
_bf16_np = None
_ML_NP = {}  # float8 name -> its ml_dtypes NumPy dtype, once loaded


def _load_bfloat16():
    """Import ml_dtypes and let NumPy's bfloat16 map to gradstep's (once)."""
    global _bf16_np
    import ml_dtypes

    if _bf16_np is None:
        _BY_NP[_np.dtype(ml_dtypes.bfloat16)] = bfloat16
        _bf16_np = _np.dtype(ml_dtypes.bfloat16)  # ml_dtypes rounds float32 to nearest even, as torch
    return _bf16_np


def _load_ml_dtype(d):
    """A float8 dtype's NumPy dtype (ml_dtypes), and torch's limited-dtype rules switched on."""
    np_dt = _ML_NP.get(d.name)
    if np_dt is None:
        import ml_dtypes

        np_dt = _ML_NP[d.name] = _np.dtype(getattr(ml_dtypes, d.name))
        _activate_limited()
    return np_dt


def _is_ml_float(np_dtype) -> bool:
    """Whether a NumPy dtype is ml_dtypes' bfloat16 or a float8 (without importing ml_dtypes)."""
    return np_dtype.kind == "V" and (np_dtype.name == "bfloat16" or np_dtype.name.startswith("float8"))


def _is_bfloat16(np_dtype) -> bool:
    """Whether a NumPy dtype is ml_dtypes' bfloat16 (without importing ml_dtypes)."""
    return np_dtype.kind == "V" and np_dtype.name == "bfloat16"


float32 = dtype("float32", _np.float32, 2)
float64 = dtype("float64", _np.float64, 2)
float16 = dtype("float16", _np.float16, 2)
bfloat16 = _LazyMlDtype()
int64 = dtype("int64", _np.int64, 1)
int32 = dtype("int32", _np.int32, 1)
int16 = dtype("int16", _np.int16, 1)
int8 = dtype("int8", _np.int8, 1)
uint8 = dtype("uint8", _np.uint8, 1)
bool_ = dtype("bool", _np.bool_, 0)
complex64 = dtype("complex64", _np.complex64, 3)
complex128 = dtype("complex128", _np.complex128, 3)

float = float32  # noqa: A001 - torch's aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
cfloat = complex64
cdouble = complex128

ALL_DTYPES = (float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool_,
              complex64, complex128)
_BY_NP = {d.np: d for d in ALL_DTYPES if d is not bfloat16}  # bfloat16's joins when loaded
_BY_NAME = {d.name: d for d in ALL_DTYPES}

# torch's "limited support" dtypes: few kernels, and no promotion with other dtypes (the uints
# with floats only). They join _BY_NP/_BY_NAME when first seen (_activate_limited), which also
# installs gradstep._limited_dtypes' table of the ops torch refuses for them: a program that
# never makes one keeps every op free of that check.
uint16 = dtype("uint16", _np.uint16, 1)
uint32 = dtype("uint32", _np.uint32, 1)
uint64 = dtype("uint64", _np.uint64, 1)
float8_e4m3fn = _LazyMlDtype("float8_e4m3fn", 1)
float8_e5m2 = _LazyMlDtype("float8_e5m2", 1)
float8_e4m3fnuz = _LazyMlDtype("float8_e4m3fnuz", 1)
float8_e5m2fnuz = _LazyMlDtype("float8_e5m2fnuz", 1)
LIMITED_UINTS = (uint16, uint32, uint64)
FLOAT8S = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz)
_LIMITED_BY_NAME = {d.name: d for d in LIMITED_UINTS + FLOAT8S}
_limited_active = False


def _activate_limited():
    """Make the limited dtypes known by NumPy dtype and name, and install the refusal table."""
    global _limited_active
    if _limited_active:
        return
    _limited_active = True
    for d in LIMITED_UINTS:
        _BY_NP[d.np] = d
    for d in FLOAT8S:
        _BY_NP[d.np] = d  # loads ml_dtypes (d.np) and re-enters here harmlessly
    _BY_NAME.update(_LIMITED_BY_NAME)
    from . import _limited_dtypes

    _limited_dtypes.install()


def is_differentiable_array(a) -> bool:
    """Whether backend array ``a`` may require grad: floating point (bfloat16 too) or complex."""
    dt = a.dtype
    return dt.kind in "fc" or _is_ml_float(dt)


def is_float_array(a) -> bool:
    """Whether backend array ``a`` holds floating-point numbers (bfloat16 included)."""
    dt = a.dtype
    return dt.kind == "f" or _is_ml_float(dt)


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


class _Defaults:
    float_dtype = float32


def get_default_dtype() -> dtype:
    return _Defaults.float_dtype


def set_default_dtype(d: dtype) -> None:
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _Defaults.float_dtype = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The gradstep dtype for a backend dtype; raises TypeError for unsupported ones."""
    np_dtype = _np.dtype(np_dtype)
    if _is_bfloat16(np_dtype):
        _load_bfloat16()  # an ml_dtypes array made before gradstep needed bfloat16
    elif not _limited_active and (np_dtype.kind == "u" or np_dtype.name.startswith("float8")):
        _activate_limited()  # a uint16/32/64 or float8 array, the first one seen
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert array of type {_np.dtype(np_dtype)}; the supported types are: "
            + ", ".join(d.name for d in ALL_DTYPES)
        ) from None


def as_dtype(d) -> dtype:
    """Accept a gradstep dtype, a numpy dtype, a Python type, or a name."""
    if isinstance(d, dtype):
        return d
    if d is None:
        return get_default_dtype()
    if d is bool:
        return bool_
    if d is _builtin_int:
        return int64
    if d is _builtin_float:  # Python's float is a double: torch.ones(2, dtype=float) is float64
        return float64
    if d is complex and "complex128" in _BY_NAME:
        return _BY_NAME["complex128"]
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    if isinstance(d, str) and d in _LIMITED_BY_NAME:
        _activate_limited()
        return _LIMITED_BY_NAME[d]
    return from_numpy_dtype(d)


# ---------------------------------------------------------------- promotion
def _scalar_dtype(x) -> dtype:
    if isinstance(x, bool):
        return bool_
    if isinstance(x, _builtin_int):
        return int64
    if isinstance(x, complex):
        return to_complex(get_default_dtype())
    return get_default_dtype()


def to_complex(d: dtype) -> dtype:
    """The complex dtype whose parts are ``d`` (float16 and bfloat16 widen: no complex32 here)."""
    return complex128 if d is float64 or d is complex128 else complex64


def to_real(d: dtype) -> dtype:
    """The dtype of a complex dtype's real and imaginary parts (a real dtype itself)."""
    return {complex64: float32, complex128: float64}.get(d, d)


def _combine_complex(groups) -> dtype:
    """torch's ``combine_categories`` when the result is complex: a complex operand of a
    lower priority group takes the precision of a floating operand of a higher one
    (a float64 tensor + 1j is complex128; a float32 tensor + a 0-dim complex128 is complex64)."""
    for d in groups:
        if d is None:
            continue
        if d._category == 3:
            return d
        if d._category == 2:
            return to_complex(d)
    raise AssertionError("unreachable")


def result_type(*operands) -> dtype:
    """torch's type promotion.

    Operands fall into three priority groups: tensors with dimensions, zero-dim
    tensors, and Python scalars. The result's category (bool < integer < float)
    is the highest among all operands; its exact dtype comes from the highest
    priority group that reaches that category. So a Python float does not widen
    a float32 tensor, and an int tensor times a Python float is the default
    float dtype.
    """
    groups: list[dtype | None] = [None, None, None]
    for x in operands:
        dt = getattr(x, "dtype", None)
        if isinstance(dt, dtype):
            g = 0 if x.ndim else 1
        else:
            dt, g = _scalar_dtype(x), 2
        cur = groups[g]
        groups[g] = dt if cur is None else promote_types(cur, dt)
    top = max(d._category for d in groups if d is not None)
    if top == 3:
        return _combine_complex(groups)
    for d in groups:
        if d is not None and d._category == top:
            return d
    raise AssertionError("unreachable")


def promote_types(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if _limited_active and (a.name in _LIMITED_BY_NAME or b.name in _LIMITED_BY_NAME):
        from ._limited_dtypes import promote

        return promote(a, b)
    # across categories torch keeps the higher one's dtype (int64 with float32 is
    # float32), where NumPy would widen to float64
    if a._category != b._category:
        if a._category + b._category == 5:  # complex with floating: the wider precision
            return _BY_NP[_np.promote_types(a.np, b.np)] if a.itemsize > 2 < b.itemsize \
                else (a if a._category == 3 else b)
        return a if a._category > b._category else b
    return _BY_NP[_np.promote_types(a.np, b.np)]

"""Complex tensors: the accessors (``real``, ``imag``, ``conj``, ``abs``, ``angle``), the
constructors (``complex``, ``polar``, ``view_as_complex``) and ``view_as_real``, casts to and
from complex dtypes, and the complex twins of holomorphic ops.

torch's gradient convention: for a real loss L of ``z = x + iy``, ``z.grad`` is
``dL/dx + i dL/dy``. A holomorphic op ``w = f(z)`` then sends ``grad_w * conj(f'(z))`` back,
which is ``conj`` of the real-dtype formula applied to ``conj(grad_w)``: ``holomorphic(cls)``
builds that twin of an op's Node once, and the ops choose it only for complex inputs, so the
real-dtype paths do not change. Non-holomorphic ops (abs, angle, real, imag, conj, polar,
complex) have their own nodes below.

``conj`` materializes (torch returns a lazy conjugate view): values match, ``is_conj()`` is
False. There is no complex32 (NumPy has none): float16 data promotes to complex64.
"""

from __future__ import annotations

import warnings

from . import backend as B
from ._tensor import Tensor
from .autograd.function import Node
from .backend import xp
from .ops import realview as _RV
from .ops._util import dtype_title

_COMPLEX_TITLES = {"complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_TWINS: dict = {}


def _is_complex(t) -> bool:
    return t._data.dtype.kind == "c"


def _title(dt):
    return _COMPLEX_TITLES.get(dt.name) or dtype_title(dt)


def warn_discard_imag(stacklevel=3):
    """torch's warning when a complex tensor is cast to a real dtype (the imaginary part is lost)."""
    warnings.warn("Casting complex values to real discards the imaginary part", UserWarning,
                  stacklevel=stacklevel)


# ---------------------------------------------------------------- holomorphic twins
def holomorphic(cls):
    """The complex twin of Node class ``cls``: ``backward(g)`` is ``conj(cls.backward(conj(g)))``
    (torch's ``grad * conj(f'(z))`` for every input), the forward and name unchanged."""
    twin = _TWINS.get(cls)
    if twin is None:
        def backward(self, g):
            grads = cls.backward(self, conj(g))
            if isinstance(grads, tuple):
                return tuple(None if x is None else conj(x) for x in grads)
            return conj(grads)

        twin = type(cls.__name__, (cls,), {"backward": backward, "__module__": cls.__module__})
        _TWINS[cls] = twin
    return twin


# ---------------------------------------------------------------- casts
class ComplexCast(Node):
    """A cast whose source or target is complex. Back to a real source the gradient keeps its
    real part (torch's ``ToCopyBackward0``: ``at::real(grad)``)."""

    _name = "ToCopyBackward0"

    def forward(self, a):
        self.src = a.dtype
        if a.dtype.kind == "c" and self.dtype._category != 3:
            warn_discard_imag(stacklevel=6)
            a = a.real
        return a.astype(self.dtype.np)

    def backward(self, g):
        src = B.from_numpy_dtype(self.src)
        if src._category != 3 and _is_complex(g):
            g = real(g)
        return g if g.dtype is src else cast(g, src)


def cast(t, dtype):
    """``t.to(dtype)`` where ``t`` or ``dtype`` is complex (``Cast.apply`` sends these here)."""
    if t.dtype is dtype:
        return t
    if dtype._category < 2:  # to an integer or bool: no graph, as torch
        arr = t._data
        if arr.dtype.kind == "c":
            warn_discard_imag(stacklevel=5)
            arr = arr.real
        return Tensor._make(arr.astype(dtype.np))
    return ComplexCast.apply(t, dtype=dtype)


def real_part_of_grad(g):
    """The gradient of a real input reached by a complex gradient (its real part, no warning)."""
    return real(g) if _is_complex(g) else g


# ---------------------------------------------------------------- real, imag, conj
class Real(Node):
    is_view = True

    def forward(self, a):
        return a.real

    def backward(self, g):
        return complex(g, zeros_like_real(g))


class Imag(Node):
    is_view = True

    def forward(self, a):
        return a.imag

    def backward(self, g):
        return complex(zeros_like_real(g), g)


class Conj(Node):
    def forward(self, a):
        return xp.conj(a)

    def backward(self, g):
        return conj(g)


def zeros_like_real(t):
    return Tensor._make(xp.zeros_like(t._data))


def real(input):  # noqa: A002 - torch's keyword name
    t = _RV._t(input)
    return Real.apply(t) if _is_complex(t) else t


def imag(input):  # noqa: A002
    t = _RV._t(input)
    return Imag.apply(t) if _is_complex(t) else _RV.imag(t)


def conj(input):  # noqa: A002
    t = _RV._t(input)
    return Conj.apply(t) if _is_complex(t) else t


def conj_physical_(input):  # noqa: A002
    t = _RV._t(input)
    if _is_complex(t):
        t._check_writable()
        xp.conjugate(t._data, out=t._data)
        t._vc[0] += 1
    return t


def _set_real(self, value):
    real(self).copy_(value) if _is_complex(self) else self.copy_(value)


def _set_imag(self, value):
    imag(self).copy_(value)


# ---------------------------------------------------------------- abs, angle, sgn
def _sgn_array(z):
    """``z / |z|``, 0 where ``z`` is 0 (torch's ``sgn``): each part divided by the real
    ``hypot(re, im)``, as torch's kernel divides, not a complex division (which would turn
    ``inf + 0j`` into ``nan + nanj`` where torch gives ``nan + 0j``, and round otherwise)."""
    re, im = z.real, z.imag
    r = xp.hypot(re, im)
    zero = r == 0
    safe = xp.where(zero, 1, r)
    out = xp.empty_like(z)
    out.real = xp.where(zero, 0, re / safe)
    out.imag = xp.where(zero, 0, im / safe)
    return out


class ComplexAbs(Node):
    _name = "AbsBackward0"
    saves = (0,)

    def forward(self, a):
        return xp.abs(a)

    def backward(self, g):
        (z,) = self.saved_tensors
        return g * sgn(z)


class Sgn(Node):
    """``z / |z|``; the gradient is torch's ``sgn_backward``: ``(g - Re(g conj(s)) s) / |z|``."""

    saves = (0,)
    saves_output = True

    def forward(self, a):
        return _sgn_array(a)

    def backward(self, g):
        (z,) = self.saved_tensors
        s = self.saved_output
        r = abs(z)
        safe = Tensor._make(xp.where(r._data == 0, 1, r._data).astype(r._data.dtype))
        out = (g - real(g * conj(s)) * s) / safe
        return out * Tensor._make(r._data != 0)


class ComplexAngle(Node):
    """``atan2(y, x)``; torch's gradient ``i g z / |z|^2``, 0 at ``z = 0``."""

    _name = "AngleBackward0"
    saves = (0,)

    def forward(self, a):
        return xp.angle(a).astype(a.real.dtype)

    def backward(self, g):
        (z,) = self.saved_tensors
        r2 = real(z * conj(z))
        nonzero = Tensor._make(r2._data != 0)
        safe = Tensor._make(xp.where(r2._data == 0, 1, r2._data).astype(r2._data.dtype))
        return g * z * 1j / safe * nonzero


def abs(input):  # noqa: A001, A002
    return ComplexAbs.apply(input)


def angle(input):  # noqa: A002
    t = _RV._t(input)
    return ComplexAngle.apply(t) if _is_complex(t) else _RV.angle(t)


def sgn(input):  # noqa: A002
    t = _RV._t(input)
    if not _is_complex(t):
        from .ops.pointwise import sgn as real_sgn

        return real_sgn(t)
    return Sgn.apply(t)


# ---------------------------------------------------------------- complex, polar
def _check_parts(a, b, fn):
    names = ("Half", "Float", "Double")
    ta, tb = dtype_title(a.dtype), dtype_title(b.dtype)
    if ta not in names or tb not in names:
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got {ta} "
                           f"and {tb}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"Expected object of scalar type {ta} but got scalar type {tb} for "
                           "second argument")


class Complex(Node):
    """``real + i imag``; the gradients are the real and imaginary parts of ``grad``."""

    def forward(self, re, im):
        dt = xp.complex128 if re.dtype == xp.float64 else xp.complex64
        out = xp.empty(xp.broadcast_shapes(re.shape, im.shape), dt)
        out.real, out.imag = re, im
        return out

    def backward(self, g):
        return real(g), imag(g)


class Polar(Node):
    """``abs * (cos(angle) + i sin(angle))``."""

    saves = (0, 1)
    saves_output = True

    def forward(self, r, theta):
        return Complex.forward(self, r * xp.cos(theta), r * xp.sin(theta))

    def backward(self, g):
        r, theta = self.saved_tensors
        unit = complex(theta.cos(), theta.sin())
        return real(g * conj(unit)), real(g * conj(self.saved_output * 1j))


def complex(real, imag):  # noqa: A001 - torch's names
    real, imag = _RV._t(real), _RV._t(imag)
    _check_parts(real, imag, "complex")
    return Complex.apply(real, imag)


def polar(abs, angle):  # noqa: A002
    abs, angle = _RV._t(abs), _RV._t(angle)
    _check_parts(abs, angle, "polar")
    return Polar.apply(abs, angle)


# ---------------------------------------------------------------- view_as_real / complex
class ViewAsReal(Node):
    is_view = True

    def forward(self, a):
        return a[..., None].view(a.real.dtype)

    def backward(self, g):
        return view_as_complex(g.contiguous())


class ViewAsComplex(Node):
    is_view = True

    def forward(self, a):
        return a.view(xp.complex128 if a.dtype == xp.float64 else xp.complex64)[..., 0]

    def backward(self, g):
        return view_as_real(g)


def view_as_real(input):  # noqa: A002
    t = _RV._t(input)
    if not _is_complex(t):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(t)


def _storage_offset(arr):
    """Elements from the start of the root NumPy array that ``arr`` views (0 if unknown)."""
    root = arr
    while isinstance(root.base, xp.ndarray):
        root = root.base
    return (arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // arr.itemsize


def view_as_complex(input):  # noqa: A002
    t = _RV._t(input)
    a = t._data
    if a.dtype not in (xp.float32, xp.float64):
        raise RuntimeError("view_as_complex is only supported for half, float and double tensors, "
                           f"but got a tensor of scalar type: {_title(t.dtype)}")
    if a.ndim == 0 or a.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if a.strides[-1] != a.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any((s // a.itemsize) % 2 for s, n in zip(a.strides[:-1], a.shape[:-1]) if n > 1):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if _storage_offset(a) % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply(t)


# ---------------------------------------------------------------- binding
FUNCTIONS = {
    "real": real, "imag": imag, "conj": conj, "conj_physical": conj, "resolve_conj": conj,
    "conj_physical_": conj_physical_, "angle": angle, "sgn": sgn, "complex": complex,
    "polar": polar, "view_as_real": view_as_real, "view_as_complex": view_as_complex,
}


def _resolve_conj(t):
    return t  # conj() materializes, so there is never a lazy conjugate to resolve


def _cfloat(self, memory_format=None):
    """``self.to(torch.complex64)`` (torch's ``Tensor.cfloat``)."""
    return self.to(B.complex64, memory_format=memory_format)


def _cdouble(self, memory_format=None):
    """``self.to(torch.complex128)`` (torch's ``Tensor.cdouble``)."""
    return self.to(B.complex128, memory_format=memory_format)


def _chalf(self, memory_format=None):
    """torch's ``complex32``: NumPy, so gradstep, has no half-precision complex dtype."""
    raise TypeError("chalf(): gradstep has no complex32 (ComplexHalf) dtype, as NumPy has none; "
                    "use cfloat() for complex64")


def bind():
    """Tensor methods: complex-aware accessors over the real-only ones of ``ops/realview``,
    and the complex casts ``cfloat``/``cdouble`` (``chalf`` refuses: no complex32)."""
    Tensor.cfloat, Tensor.cdouble, Tensor.chalf = _cfloat, _cdouble, _chalf
    Tensor.real = property(real, _set_real)
    Tensor.imag = property(imag, _set_imag)
    Tensor.conj = Tensor.conj_physical = conj
    Tensor.resolve_conj = _resolve_conj
    Tensor.conj_physical_ = conj_physical_
    Tensor.angle = angle
    Tensor.sgn = sgn

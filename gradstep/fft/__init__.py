"""``torch.fft``: discrete Fourier transforms through NumPy's pocketfft, with torch's
signatures, dtypes (float32 in, complex64 out) and gradients.

Every transform is a zero-pad/crop to the requested sizes (``Resize``) followed by one
unpadded transform node, so a backward is the adjoint transform followed by the adjoint
resize. With ``norm`` scaling the forward transform by ``c``, the adjoint of the complex
transform is the opposite-direction transform scaled by ``c`` too: the swapped ``norm``.

* ``fftn``/``ifftn`` (``C2C``): the gradient is the swapped transform of the gradient.
* ``rfftn`` (``R2C``): the half spectrum is padded with zeros to the full length, transformed
  back, and its real part taken (torch's ``fft_r2c_backward``).
* ``irfftn`` (``C2R``): the gradient's ``rfftn`` (swapped norm), with the bins that stand for
  two conjugate bins of the full spectrum (1 .. n - n//2 - 1 of the last dim) doubled
  (torch's ``fft_c2r_backward``).

NumPy 2 computes float32/complex64 transforms in single precision; results are cast to torch's
dtypes all the same, so an older NumPy that widens still gives complex64.
"""

from __future__ import annotations

from .. import backend as B
from .._complex import cast as _complex_cast
from .._complex import real as _real
from ..autograd.function import Node
from ..backend import xp
from ..ops._util import dtype_title, normalize_dim, to_tensor

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}

__all__ = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


# ---------------------------------------------------------------- nodes
class Resize(Node):
    """Crop or zero-pad each of ``dims`` to ``sizes``; the gradient is fitted back."""

    _name = "ConstantPadNdBackward0"

    def forward(self, a):
        self.in_sizes = tuple(a.shape[d] for d in self.dims)
        return _resize_array(a, self.dims, self.sizes)

    def backward(self, g):
        return resize(g, self.dims, self.in_sizes)


def _resize_array(a, dims, sizes):
    crop = tuple(slice(0, sizes[dims.index(i)]) if i in dims else slice(None) for i in range(a.ndim))
    a = a[crop]
    pad = [(0, max(0, sizes[dims.index(i)] - a.shape[i])) if i in dims else (0, 0)
           for i in range(a.ndim)]
    return xp.pad(a, pad) if any(p[1] for p in pad) else a


def resize(t, dims, sizes):
    if all(t.shape[d] == n for d, n in zip(dims, sizes)):
        return t
    return Resize.apply(t, dims=tuple(dims), sizes=tuple(sizes))


class C2C(Node):
    """``fftn`` (``inverse=False``) or ``ifftn`` over ``dims`` of a complex tensor."""

    def forward(self, a):
        fn = xp.fft.ifftn if self.inverse else xp.fft.fftn
        return fn(a, axes=self.dims, norm=self.norm).astype(a.dtype, copy=False)

    def backward(self, g):
        return C2C.apply(g, dims=self.dims, norm=_SWAP[self.norm], inverse=not self.inverse)

    def _default_name(self):
        return "FftC2CBackward0"


class R2C(Node):
    """``rfftn`` over ``dims`` (the last one halved) of a real tensor."""

    def forward(self, a):
        self.n = a.shape[self.dims[-1]]
        out = xp.fft.rfftn(a, axes=self.dims, norm=self.norm)
        return out.astype(_COMPLEX_OF[a.dtype.char], copy=False)

    def backward(self, g):
        sizes = tuple(g.shape[d] for d in self.dims[:-1]) + (self.n,)
        full = resize(g, self.dims, sizes)
        return _real(C2C.apply(full, dims=self.dims, norm=_SWAP[self.norm], inverse=True))

    def _default_name(self):
        return "FftR2CBackward0"


class C2R(Node):
    """``irfftn`` over ``dims`` to a last size ``n`` (the input's last dim is ``n//2 + 1``)."""

    def forward(self, a):
        s = tuple(a.shape[d] for d in self.dims[:-1]) + (self.n,)
        out = xp.fft.irfftn(a, s=s, axes=self.dims, norm=self.norm)
        return out.astype(a.real.dtype, copy=False)

    def backward(self, g):
        gi = R2C.apply(g, dims=self.dims, norm=_SWAP[self.norm])
        doubled = self.n - (self.n // 2 + 1)  # bins standing for a conjugate pair
        if doubled <= 0:
            return gi
        last = self.dims[-1]
        w = xp.ones(self.n // 2 + 1, g._data.dtype)
        w[1:1 + doubled] = 2
        shape = [1] * g.ndim
        shape[last] = w.size
        return gi * to_tensor(w.reshape(shape))

    def _default_name(self):
        return "FftC2RBackward0"


_COMPLEX_OF = {"f": xp.complex64, "d": xp.complex128}


# ---------------------------------------------------------------- argument handling
def _check_norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _as_input(x, real_only=None):
    """``x`` as a float32/float64/complex tensor (integers and bool promote, as torch)."""
    t = to_tensor(x)
    dt = t.dtype
    if dt.name in ("float16", "bfloat16"):
        raise RuntimeError(f"Unsupported dtype {dtype_title(dt)}")
    if real_only and dt._category == 3:
        raise RuntimeError(f"{real_only} expects a real{'-valued' if real_only == 'rfftn' else ''} "
                           f"input tensor, but got {dtype_title(dt)}")
    if dt._category < 2:
        t = t.to(B.get_default_dtype())
    return t


def _as_complex(t):
    return t if t.dtype._category == 3 else _complex_cast(t, B.to_complex(t.dtype))


def _check_size(n):
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def _dims_and_sizes(t, s, dim):
    """torch's ``canonicalize_fft_shape_and_dim_args``: the transformed dims and their sizes
    (``None`` in ``sizes`` keeps the input's size; the caller fills it in)."""
    if isinstance(dim, int):
        dim = (dim,)
    if s is not None and isinstance(s, int):
        s = (s,)
    if dim is not None:
        dims = tuple(normalize_dim(d, t.ndim) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
        if s is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
    elif s is not None:
        if len(s) > t.ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{t.ndim} dimensions.")
        dims = tuple(range(t.ndim - len(s), t.ndim))
    else:
        dims = tuple(range(t.ndim))
    sizes = tuple(None if s is None or s[i] == -1 else _check_size(s[i]) for i in range(len(dims)))
    return dims, sizes


def _filled(t, dims, sizes):
    return tuple(t.shape[d] if n is None else n for d, n in zip(dims, sizes))


def _one_dim(t, n, dim):
    if t.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return (n,) if n is not None else None, (dim,)


# ---------------------------------------------------------------- complex-to-complex
def fftn(input, s=None, dim=None, norm=None):  # noqa: A002 - torch's names
    return _c2c(input, s, dim, norm, inverse=False)


def ifftn(input, s=None, dim=None, norm=None):  # noqa: A002
    return _c2c(input, s, dim, norm, inverse=True)


def _c2c(x, s, dim, norm, inverse):
    norm = _check_norm(norm)
    t = _as_input(x)
    dims, sizes = _dims_and_sizes(t, s, dim)
    t = resize(_as_complex(t), dims, _filled(t, dims, sizes))
    if not dims:
        return t.clone()
    return C2C.apply(t, dims=dims, norm=norm, inverse=inverse)


def fft(input, n=None, dim=-1, norm=None):  # noqa: A002
    t = _as_input(input)
    return fftn(t, *_one_dim(t, n, dim), norm=norm)


def ifft(input, n=None, dim=-1, norm=None):  # noqa: A002
    t = _as_input(input)
    return ifftn(t, *_one_dim(t, n, dim), norm=norm)


def fft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    return fftn(input, s, dim, norm)


def ifft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    return ifftn(input, s, dim, norm)


# ---------------------------------------------------------------- real-to-complex and back
def rfftn(input, s=None, dim=None, norm=None, _name="rfftn"):  # noqa: A002
    norm = _check_norm(norm)
    t = _as_input(input, real_only=_name)
    dims, sizes = _dims_and_sizes(t, s, dim)
    if not dims:
        raise RuntimeError("rfftn must transform at least one axis")
    t = resize(t, dims, _filled(t, dims, sizes))
    return R2C.apply(t, dims=dims, norm=norm)


def irfftn(input, s=None, dim=None, norm=None):  # noqa: A002
    norm = _check_norm(norm)
    t = _as_complex(_as_input(input))
    dims, sizes = _dims_and_sizes(t, s, dim)
    if not dims:
        raise RuntimeError("irfftn must transform at least one axis")
    last = sizes[-1] if sizes[-1] is not None else 2 * (t.shape[dims[-1]] - 1)
    n = _check_size(last)
    half = _filled(t, dims, sizes[:-1] + (n // 2 + 1,))
    t = resize(t, dims, half)
    return C2R.apply(t, dims=dims, norm=norm, n=n)


def rfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    t = _as_input(input, real_only="rfft")
    return rfftn(t, *_one_dim(t, n, dim), norm=norm)


def irfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    t = _as_input(input)
    return irfftn(t, *_one_dim(t, n, dim), norm=norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    return rfftn(input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    return irfftn(input, s, dim, norm)


def hfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The real spectrum of a Hermitian signal given by its first half: ``irfft(conj(x))``
    with the opposite normalization (as NumPy's and torch's)."""
    t = _as_complex(_as_input(input))
    return irfft(t.conj(), n, dim, _SWAP[_check_norm(norm)])


def ihfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The inverse of ``hfft``: ``conj(rfft(x))`` with the opposite normalization."""
    t = _as_input(input, real_only="ihfft")
    return rfft(t, n, dim, _SWAP[_check_norm(norm)]).conj()


# ---------------------------------------------------------------- helpers
def _freq_tensor(values, scale, dtype, requires_grad):
    from .._creation import _finish

    dt = B.as_dtype(dtype)
    if dt._category != 2:
        raise RuntimeError(f"fftfreq requires a floating point dtype, got {dtype_title(dt)}")
    out = values.astype(dt.np) * dt.np.type(scale)  # in the dtype, as torch's arange * (1/(n*d))
    return _finish(out, requires_grad)


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False,
            pin_memory=False, out=None):
    """The sample frequencies of ``fft``: ``[0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d n)``."""
    k = xp.concatenate((xp.arange((n - 1) // 2 + 1), xp.arange(-(n // 2), 0)))
    return _freq_tensor(k, 1.0 / (n * d), dtype, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False, out=None):
    """The sample frequencies of ``rfft``: ``[0, 1, ..., n//2] / (d n)``."""
    return _freq_tensor(xp.arange(n // 2 + 1), 1.0 / (n * d), dtype, requires_grad)


def _shift(input, dim, inverse):
    t = to_tensor(input)
    dims = tuple(range(t.ndim)) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        return t.clone()
    shifts = tuple((t.shape[d] + inverse) // 2 for d in dims)
    return t.roll(shifts, dims)


def fftshift(input, dim=None):  # noqa: A002
    """Move the zero frequency to the middle (a roll by ``n // 2`` along each dim)."""
    return _shift(input, dim, inverse=0)


def ifftshift(input, dim=None):  # noqa: A002
    """Undo ``fftshift`` (a roll by ``(n + 1) // 2``)."""
    return _shift(input, dim, inverse=1)

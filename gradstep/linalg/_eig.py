"""torch.linalg.eig and eigvals: the eigen-decomposition of a general square matrix.

Both run LAPACK's ``geev`` (through the backend's ``linalg.eig``/``eigvals``), as torch's CPU
kernels do, so the eigenvalues come in geev's order and each eigenvector has geev's
normalisation: Euclidean norm 1, its largest component real. The results are always complex
(complex64 for float32/complex64 input, complex128 otherwise). Different LAPACK builds (torch's
wheels link MKL) may list the eigenvalues of a float32 matrix in another order, or give the
eigenvector of a complex-conjugate pair of a real matrix the opposite sign; both are valid
geev results.

The gradient is torch's ``linalg_eig_backward``: ``gA = V^-H (VhgV / conj(E) + diag(gL)) V^H``
with ``VhgV`` projected onto the tangent space of unit-norm columns, refusing (as torch does)
a loss that depends on the arbitrary phase of the eigenvectors. It is computed on arrays:
first derivatives only.
"""

from __future__ import annotations

from .. import return_types as rt
from ..autograd.function import Node
from ..autograd.grad_mode import _GradState
from ..backend import xp
from ..ops._util import to_tensor
from ._nodes import pack, unpack

_COMPLEX = {"float32": "complex64", "complex64": "complex64"}


def _complex_dtype(arr):
    return xp.dtype(_COMPLEX.get(arr.dtype.name, "complex128"))


def _check(A, name, finite=True):  # noqa: N803
    A = to_tensor(A)
    if not (A.dtype.is_floating_point or A.dtype.is_complex):  # torch: before any shape check
        from ..ops._util import dtype_title

        raise RuntimeError(f"Unknown Complex ScalarType for {dtype_title(A.dtype)}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if A.dtype.name in ("float16", "bfloat16"):
        title = "Half" if A.dtype.name == "float16" else "BFloat16"
        raise NotImplementedError(f'"linalg_eig_out_cpu" not implemented for \'{title}\'')
    if finite and A.numel() and not bool(xp.isfinite(A._data).all()):
        raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
    return A


class Eig(Node):
    """Packed (eigenvalues, eigenvectors), complex."""

    _name = "LinalgEigBackward0"
    saves_output = True

    def forward(self, a):
        ct = _complex_dtype(a)
        self.real_input = a.dtype.kind != "c"
        if a.size == 0:
            w, v = xp.zeros(a.shape[:-1], ct), xp.zeros(a.shape, ct)
        else:
            w, v = xp.linalg.eig(a)
        out, self.layout = pack([w.astype(ct, copy=False), v.astype(ct, copy=False)],
                                a.shape[:-2])
        return out

    def backward(self, g):
        from .._tensor import Tensor

        lam, v = (t._data for t in unpack(self.saved_output, self.layout))
        g_lam, g_v = (t._data for t in unpack(g, self.layout))
        ga = _eig_backward(g_lam, g_v, lam, v)
        if self.real_input:
            ga = ga.real.copy()
        return Tensor._make(ga)


def _mh(x):
    return xp.conj(xp.swapaxes(x, -1, -2))


def _eig_backward(g_lam, g_v, lam, v):
    """torch's linalg_eig_backward (non-Hermitian case) on arrays."""
    vh = _mh(v)
    if not g_v.any():  # only the eigenvalues were used: V^-H diag(gL) V^H
        return xp.linalg.solve(vh, g_lam[..., :, None] * vh)
    vhgv = vh @ g_v
    diag = xp.diagonal(vhgv, 0, -2, -1)
    imag = diag.imag
    if not bool((xp.abs(imag) <= 1e-2).all()):  # torch: allclose(imag, 0, rtol=1e-2, atol=1e-2)
        raise RuntimeError("linalg_eig_backward: The eigenvectors in the complex case are "
                           "specified up to multiplication by e^{i phi}. The specified loss "
                           "function depends on this phase term, making it ill-defined.")
    vhgv = vhgv - vh @ (v * diag.real[..., None, :])
    lc = xp.conj(lam)
    e = lc[..., None, :] - lc[..., :, None]
    n = lam.shape[-1]
    idx = xp.arange(n)
    e[..., idx, idx] = 1
    ret = vhgv / e
    if g_lam.any():
        ret[..., idx, idx] = g_lam
    return xp.linalg.solve(vh, ret @ vh)


def eig(A, *, out=None):  # noqa: N803
    """``torch.linalg.eig``: (eigenvalues, eigenvectors) of square matrices, complex."""
    A = _check(A, "linalg.eig")
    n = A.shape[-1]
    w, v = unpack(Eig.apply(A), ((n,), (n, n)))
    return rt.linalg_eig(w, v)


def eigvals(A, *, out=None):  # noqa: N803
    """``torch.linalg.eigvals``: geev without eigenvectors unless a gradient will be needed
    (torch's choice too: the eigenvalues can differ in the last bits between the two)."""
    A = _check(A, "linalg.eigvals", finite=False)
    if _GradState.enabled and A.requires_grad:
        return eig(A).eigenvalues
    from .._tensor import Tensor

    ct = _complex_dtype(A._data)
    data = A._data
    if A.numel() == 0:
        return Tensor._make(xp.zeros(A.shape[:-1], ct))
    bad = ~xp.isfinite(data).all(axis=(-2, -1))
    if bad.any():  # torch's geev gives NaN eigenvalues for a matrix holding inf or NaN
        data = xp.where(bad[..., None, None], 0, data)
    w = xp.linalg.eigvals(data).astype(ct, copy=False)
    if bad.any():
        w[bad] = complex("nan+nanj")
    return Tensor._make(w)

"""Graph nodes of torch.linalg: inverse, determinants, solves, and the decompositions.

Decompositions with several outputs (eigh, svd, qr) return one packed array (each output
flattened over its matrix dims and concatenated on the last axis); the caller slices the
outputs out of it, so autograd hands ``backward`` one packed gradient, zero where an
output was not used. Backward formulas are torch's (FunctionsManual.cpp), written in
Tensor ops so that double backward works.
"""

from __future__ import annotations

from ..autograd.function import Node
from ..backend import xp
from ..ops._util import sum_to


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a numerical failure (singular or non-positive-definite input)."""


def _adj(x):
    """The adjoint (conjugate transpose) that torch's backward formulas use; mT if real."""
    return x.mH if x._data.dtype.kind == "c" else x.mT


def _eye_like(a):
    from .._tensor import Tensor

    n = a.shape[-1]
    return Tensor._make(xp.eye(n, dtype=a._data.dtype))


class Inv(Node):
    _name = "LinalgInvExBackward0"
    saves_output = True

    def forward(self, a):
        return xp.linalg.inv(a)

    def backward(self, g):
        y = _adj(self.saved_output)
        return -(y @ g @ y)


class Det(Node):
    _name = "LinalgDetBackward0"
    saves = (0,)
    saves_output = True

    def forward(self, a):
        return xp.linalg.det(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        d = self.saved_output
        if a.numel() and not bool(xp.all(xp.linalg.cond(a._data) < 1 / xp.finfo(a._data.dtype).eps)):
            return _det_grad_svd(a, g)
        if d._data.dtype.kind == "c":
            d = d.conj()
        return (g * d)[..., None, None] * _adj(Inv.apply(a))


def _det_grad_svd(a, g):
    """The cofactor matrix from A = U S Vh (defined for singular A, as torch does):
    d det / dA = det(U) det(Vh) U diag(prod_{j != i} s_j) Vh."""
    from .._tensor import Tensor

    n = a.shape[-1]
    packed = Svd.apply(a, full=False)
    u, s, vh = unpack(packed, ((n, n), (n,), (n, n)))
    eye = xp.eye(n, dtype=bool)
    others = s.unsqueeze(-2).expand(tuple(s.shape[:-1]) + (n, n))
    others = others.masked_fill(Tensor._make(eye), 1.0).prod(-1)
    sign = Tensor._make((xp.linalg.det(u._data) * xp.linalg.det(vh._data)).astype(a._data.dtype))
    return (g * sign)[..., None, None] * ((u * others.unsqueeze(-2)) @ vh)


class LogAbsDet(Node):
    _name = "LinalgSlogdetBackward0"
    saves = (0,)

    def forward(self, a):
        return xp.linalg.slogdet(a)[1]

    def backward(self, g):
        (a,) = self.saved_tensors
        return g[..., None, None] * _adj(Inv.apply(a))


class Solve(Node):
    """X = A^-1 B for matrices B (..., n, k); batch dims broadcast."""

    _name = "LinalgSolveExBackward0"
    saves = (0,)
    saves_output = True

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]),
                               xp.broadcast_to(b, batch + b.shape[-2:]))

    def backward(self, g):
        (a,) = self.saved_tensors
        gb = Solve.apply(_adj(a), g)
        ga = -(gb @ _adj(self.saved_output))
        return sum_to(ga, self.shapes[0]), sum_to(gb, self.shapes[1])


def _triangle(x, upper, unit):
    x = x.triu() if upper else x.tril()
    if unit:
        from ..ops.diagonal import diagonal

        x = x - _diag_part(x, diagonal)
    return x


def _diag_part(x, diagonal):
    from ..ops.diagonal import diag_embed

    return diag_embed(diagonal(x, 0, -2, -1))


class SolveTriangular(Node):
    """A X = B (left) or X A = B with A triangular; only A's triangle is read."""

    _name = "LinalgSolveTriangularBackward0"
    saves = (0,)
    saves_output = True

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        t = xp.triu(a) if self.upper else xp.tril(a)
        if self.unit:
            n = a.shape[-1]
            t = t.copy()
            t[..., xp.arange(n), xp.arange(n)] = 1
        batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        t = xp.broadcast_to(t, batch + t.shape[-2:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        if self.left:
            return xp.linalg.solve(t, b)
        return xp.swapaxes(xp.linalg.solve(xp.swapaxes(t, -1, -2), xp.swapaxes(b, -1, -2)),
                           -1, -2)

    def backward(self, g):
        (a,) = self.saved_tensors
        x = self.saved_output
        up, unit, left = self.upper, self.unit, self.left
        gb = SolveTriangular.apply(_adj(a), g, upper=not up, unit=unit, left=left)
        ga = -(gb @ _adj(x)) if left else -(_adj(x) @ gb)
        ga = _triangle(ga, up, unit)
        return sum_to(ga, self.shapes[0]), sum_to(gb, self.shapes[1])


def solve_triangular_t(a, b, upper, left=True, unit=False):
    return SolveTriangular.apply(a, b, upper=upper, left=left, unit=unit)


class Cholesky(Node):
    _name = "LinalgCholeskyExBackward0"
    saves_output = True

    def forward(self, a):
        return xp.linalg.cholesky(a)

    def backward(self, g):
        from ..ops.diagonal import diagonal

        ell = self.saved_output
        phi = (_adj(ell) @ g).tril()
        if phi._data.dtype.kind == "c":  # torch's form: 0.5 (phi + tril(phi, -1)^H), no symmetrising
            phi = 0.5 * (phi + _adj(phi.tril(-1)))
            ga = solve_triangular_t(_adj(ell), phi, upper=True)
            return solve_triangular_t(ell, ga, upper=False, left=False)
        phi = phi - 0.5 * _diag_part(phi, diagonal)
        # L^-T phi L^-1 with two triangular solves
        ga = solve_triangular_t(_adj(ell), phi, upper=True)
        ga = solve_triangular_t(ell, ga, upper=False, left=False)
        return 0.5 * (ga + ga.mT)


def pack(arrays, batch):
    """Arrays with leading dims ``batch`` -> one array (batch..., total) and the layout."""
    layout, flat = [], []
    for a in arrays:
        tail = a.shape[len(batch):]
        layout.append(tail)
        size = 1
        for t in tail:
            size *= t
        flat.append(a.reshape(batch + (size,)))
    return xp.concatenate(flat, axis=-1), tuple(layout)


def unpack(t, layout):
    """Tensor parts of a packed tensor ``t`` (differentiable slices)."""
    out, start = [], 0
    batch = tuple(t.shape[:-1])
    for tail in layout:
        n = 1
        for s in tail:
            n *= s
        out.append(t[..., start:start + n].reshape(batch + tuple(tail)))
        start += n
    return out


class Eigh(Node):
    """Packed (eigenvalues, eigenvectors) of a symmetric matrix."""

    _name = "LinalgEighBackward0"
    saves_output = True

    def forward(self, a):
        w, q = xp.linalg.eigh(a, UPLO=self.uplo)
        out, self.layout = pack([w, q], a.shape[:-2])
        return out

    def backward(self, g):
        from ..ops.diagonal import diag_embed

        lam, q = unpack(self.saved_output, self.layout)
        glam, gq = unpack(g, self.layout)
        vhgv = _adj(q) @ gq
        vhgv = 0.5 * (vhgv - _adj(vhgv))
        e = lam.unsqueeze(-2) - lam.unsqueeze(-1)
        eye = _eye_like(e)
        ret = vhgv / (e + eye) * (1 - eye) + diag_embed(glam)
        return q @ ret @ _adj(q)


class Svd(Node):
    """Packed (U, S, Vh); full_matrices pads U/Vh, whose extra columns get no gradient."""

    _name = "LinalgSvdBackward0"
    saves_output = True

    def forward(self, a):
        u, s, vh = xp.linalg.svd(a, full_matrices=self.full)
        self.mn = a.shape[-2:]
        out, self.layout = pack([u, s, vh], a.shape[:-2])
        return out

    def backward(self, g):
        m, n = self.mn
        u, s, vh = unpack(self.saved_output, self.layout)
        gu, gs, gvh = unpack(g, self.layout)
        k = s.shape[-1]
        u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
        with_u = bool(xp.any(gu._data))
        with_v = bool(xp.any(gvh._data))
        from ..ops.diagonal import diag_embed

        ret = diag_embed(gs)
        if with_u or with_v:
            s2 = s * s
            e = s2.unsqueeze(-2) - s2.unsqueeze(-1)
            e = e + _eye_like(e)
            uhgu = _adj(u) @ gu
            vhgv = vh @ _adj(gvh)
            ret = ret + ((uhgu - _adj(uhgu)) * s.unsqueeze(-2)
                         + s.unsqueeze(-1) * (vhgv - _adj(vhgv))) / e
            if uhgu._data.dtype.kind == "c":
                raise NotImplementedError("gradstep: the gradient of linalg.svd through U or Vh "
                                          "is implemented for real inputs only (S: any)")
        if m > k and with_u:
            ga = u @ ret
            gus = gu / s.unsqueeze(-2)
            ga = ga + gus - u @ (_adj(u) @ gus)
            return ga @ vh
        if n > k and with_v:
            ga = ret @ vh
            sgvh = gvh / s.unsqueeze(-1)
            ga = ga + sgvh - (sgvh @ _adj(vh)) @ vh
            return u @ ga
        return u @ ret @ vh


class Qr(Node):
    """Packed (Q, R); the gradient is defined for m >= n (reduced or square complete)."""

    _name = "LinalgQrBackward0"
    saves_output = True

    def forward(self, a):
        q, r = xp.linalg.qr(a, mode="complete" if self.mode == "complete" else "reduced")
        self.mn = a.shape[-2:]
        out, self.layout = pack([q, r], a.shape[:-2])
        return out

    def backward(self, g):
        m, n = self.mn
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        if m < n or g._data.dtype.kind == "c":
            raise NotImplementedError("gradstep: the gradient of linalg.qr is implemented for "
                                      "real inputs with m >= n only")
        q, r = unpack(self.saved_output, self.layout)
        gq, gr = unpack(g, self.layout)
        mm = r @ _adj(gr) - _adj(gq) @ q
        low = mm.tril(-1)
        from ..ops.diagonal import diagonal

        copyltu = low + low.mT + _diag_part(mm, diagonal)
        b = gq + q @ copyltu
        return solve_triangular_t(_adj(r), b, upper=False, left=False)

"""torch.linalg on complex inputs against torch: values, and the .grad of a real loss
(torch's conjugate-Wirtinger convention). Losses that depend on LAPACK's free phases of
singular/eigen vectors are avoided (U U^H and V V^H are phase-free)."""

import numpy as np
import pytest
import torch

import gradstep

_r = np.random.default_rng(0)
A = _r.standard_normal((4, 4)) + 1j * _r.standard_normal((4, 4))
H = A @ A.conj().T + 4 * np.eye(4)  # Hermitian positive definite
B = _r.standard_normal((4, 2)) + 1j * _r.standard_normal((4, 2))

CASES = {
    "inv": (A, lambda L, a: L.linalg.inv(a)),
    "det": (A, lambda L, a: L.linalg.det(a)),
    "slogdet": (A, lambda L, a: L.linalg.slogdet(a)[1]),
    "solve": (A, lambda L, a: L.linalg.solve(a, L.tensor(B).to(a.dtype))),
    "svdvals": (A, lambda L, a: L.linalg.svdvals(a)),
    "eigvalsh": (H, lambda L, a: L.linalg.eigvalsh(a)),
    "eigh_projector": (H, lambda L, a: (lambda v: v[:, :2] @ v[:, :2].mH)(L.linalg.eigh(a)[1])),
    "cholesky": (H, lambda L, a: L.linalg.cholesky(a)),
    "matrix_norm_fro": (A, lambda L, a: L.linalg.matrix_norm(a)),
    "matrix_norm_nuc": (A, lambda L, a: L.linalg.matrix_norm(a, "nuc")),
    "vector_norm": (A, lambda L, a: L.linalg.vector_norm(a, 3)),
    "matrix_power_neg": (A, lambda L, a: L.linalg.matrix_power(a, -2)),
    "mH": (A, lambda L, a: a.mH @ a[:, :2]),
    "adjoint": (A, lambda L, a: L.adjoint(a) @ a),
}


def _run(L, name, dtype):
    x, fn = CASES[name]
    a = L.tensor(x).to(getattr(L, dtype)).requires_grad_()
    y = fn(L, a)
    w = np.random.default_rng(1).standard_normal(tuple(y.shape) + (2,))
    w = L.tensor(w[..., 0] + 1j * w[..., 1]).to(a.dtype)
    loss = (y * w).real.sum() if y.is_complex() else (y * w.real).sum()
    loss.backward()
    return y.detach().numpy(), a.grad.numpy()


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_value_and_grad(name, dtype):
    want, got = _run(torch, name, dtype), _run(gradstep, name, dtype)
    # LAPACK/BLAS orders differ between the libraries: a few ulps of the dtype times the
    # condition of these well-conditioned 4x4 problems
    tol = 1e-4 if dtype == "complex64" else 1e-10
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def test_qr_complex_values():
    a = A[:, :3]
    q, r = torch.linalg.qr(torch.tensor(a))
    gq, gr = gradstep.linalg.qr(gradstep.tensor(a))
    np.testing.assert_allclose(gq.numpy(), q.numpy(), atol=1e-12)  # same Householder convention
    np.testing.assert_allclose(gr.numpy(), r.numpy(), atol=1e-12)


def test_integer_input_message_names_the_dtype():
    with pytest.raises(RuntimeError, match="floating point or complex tensor as input. Got Long"):
        gradstep.linalg.qr(gradstep.ones(2, 2, dtype=gradstep.int64))

"""torch.linalg.eig / eigvals against torch 2.13.

Both libraries run LAPACK geev, but torch links MKL and NumPy OpenBLAS: the eigenvalues agree
to rounding (tolerances below: geev is backward stable, so with well-separated eigenvalues of
O(1) random matrices the error is a few hundred ulps of the dtype at most), while the order of
nearly simultaneous convergences and the sign of a complex pair's eigenvectors may differ.
So eigenvalues are matched to their nearest partner and eigenvectors compared up to a phase;
gradients are compared through losses that do not depend on the eigenvectors' phase.
"""

import numpy as np
import pytest
import torch

import gradstep as gs

TOL = {"float32": 2e-4, "complex64": 2e-4, "float64": 1e-10, "complex128": 1e-10}


def _matrix(dtype, shape=(2, 4, 4), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=getattr(torch, dtype))


def _match(w_ref, w):
    """Permutation p with w[..., p] closest to w_ref (per batch element)."""
    return np.argmin(np.abs(w_ref[..., :, None] - w[..., None, :]), axis=-1)


@pytest.mark.parametrize("dtype", list(TOL))
def test_eig_matches_torch_up_to_order_and_phase(dtype):
    for seed in range(4):
        a = _matrix(dtype, seed=seed)
        lt, vt = (x.numpy() for x in torch.linalg.eig(a))
        res = gs.linalg.eig(gs.tensor(a.numpy()))
        lg, vg = res.eigenvalues.numpy(), res.eigenvectors.numpy()
        assert res.eigenvalues.dtype.name == str(lt.dtype)
        assert res.eigenvectors.dtype.name == str(vt.dtype)
        p = _match(lt, lg)
        lg = np.take_along_axis(lg, p, -1)
        vg = np.take_along_axis(vg, p[..., None, :], -1)
        np.testing.assert_allclose(lg, lt, atol=TOL[dtype], rtol=0)
        phase = (np.conj(vg) * vt).sum(-2, keepdims=True)
        vg = vg * phase / np.abs(phase)
        np.testing.assert_allclose(vg, vt, atol=TOL[dtype], rtol=0)
        # geev's normalisation: unit columns whose largest component is real
        np.testing.assert_allclose(np.linalg.norm(res.eigenvectors.numpy(), axis=-2), 1,
                                   atol=TOL[dtype])


def test_eig_float64_same_order_as_torch():
    a = _matrix("float64", (4, 4), seed=0)  # real eigenvalues: geev's order and signs agree
    lt, vt = torch.linalg.eig(a)
    lg, vg = gs.linalg.eig(gs.tensor(a.numpy()))
    np.testing.assert_allclose(lg.numpy(), lt.numpy(), atol=1e-12)
    np.testing.assert_allclose(vg.numpy(), vt.numpy(), atol=1e-12)


@pytest.mark.parametrize("dtype", list(TOL))
def test_eigvals(dtype):
    a = _matrix(dtype, seed=3)
    lt = torch.linalg.eigvals(a).numpy()
    lg = gs.linalg.eigvals(gs.tensor(a.numpy())).numpy()
    np.testing.assert_allclose(np.take_along_axis(lg, _match(lt, lg), -1), lt, atol=TOL[dtype])


def _loss(lib, a):
    """Phase-invariant: |V|^2 weighted by Re(L), plus functions of the eigenvalues."""
    w, v = lib.linalg.eig(a)
    return ((v.abs() ** 2 * w.real.unsqueeze(-2)).sum() + (w * w).real.sum()
            + (lib.linalg.eigvals(a).imag ** 2).sum())


@pytest.mark.parametrize("dtype", list(TOL))
def test_eig_backward_matches_torch(dtype):
    a = _matrix(dtype, (3, 3), seed=1)
    at = a.clone().requires_grad_()
    ag = gs.tensor(a.numpy(), requires_grad=True)
    _loss(torch, at).backward()
    _loss(gs, ag).backward()
    assert ag.grad.dtype.name == dtype
    # the gradient divides by eigenvalue gaps (O(1) here): a few times the forward tolerance
    np.testing.assert_allclose(ag.grad.numpy(), at.grad.numpy(), atol=10 * TOL[dtype], rtol=0)


def test_eigvals_backward_matches_torch():
    a = _matrix("float64", (2, 5, 5), seed=2)
    at = a.clone().requires_grad_()
    ag = gs.tensor(a.numpy(), requires_grad=True)
    torch.linalg.eigvals(at).abs().sum().backward()
    gs.linalg.eigvals(ag).abs().sum().backward()
    np.testing.assert_allclose(ag.grad.numpy(), at.grad.numpy(), atol=1e-10)


def test_eig_backward_refuses_phase_dependent_loss():
    a = gs.tensor(_matrix("complex128", (3, 3), seed=4).numpy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="specified up to multiplication by e\\^\\{i phi\\}"):
        gs.linalg.eig(a).eigenvectors.sum().imag.backward()
    at = torch.tensor(a.detach().numpy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="specified up to multiplication by e\\^\\{i phi\\}"):
        torch.linalg.eig(at).eigenvectors.sum().imag.backward()


@pytest.mark.parametrize("make, match, exc", [
    (lambda lib: lib.ones(2, 3), "A must be batches of square matrices, but they are 2 by 3",
     RuntimeError),
    (lambda lib: lib.ones(3), "must have at least 2 dimensions", RuntimeError),
    (lambda lib: lib.ones(2, 2, dtype=lib.int64), "Unknown Complex ScalarType for Long",
     RuntimeError),
    (lambda lib: lib.ones(3, dtype=lib.int64), "Unknown Complex ScalarType for Long",
     RuntimeError),
    (lambda lib: lib.ones(2, 2, dtype=lib.float16), "not implemented for 'Half'",
     NotImplementedError),
    (lambda lib: lib.tensor([[1.0, float("nan")], [0.0, 1.0]]),
     "input tensor should not contain infs or NaNs", RuntimeError),
])
def test_eig_errors_as_torch(make, match, exc):
    for lib in (torch, gs):
        with pytest.raises(exc, match=match):
            lib.linalg.eig(make(lib))


def test_eigvals_nonfinite_and_empty_as_torch():
    bad = [[1.0, float("inf")], [0.0, 1.0]]
    assert torch.linalg.eigvals(torch.tensor(bad)).isnan().all()
    assert gs.linalg.eigvals(gs.tensor(bad)).isnan().all()
    res = gs.linalg.eig(gs.ones(2, 0, 0))
    assert tuple(res.eigenvalues.shape) == (2, 0) and res.eigenvalues.dtype == gs.complex64
    assert type(res).__name__ == "linalg_eig"

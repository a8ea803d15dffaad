"""svd_lowrank / pca_lowrank: torch's randomized algorithm draws its own Gaussian sketch, and
gradstep's generator differs from torch's, so the factors are compared through what does not
depend on the draw: shapes, orthonormal columns, and, where ``q`` is at least the rank of the
matrix (the sketch then spans its whole column space, with probability one), the exact SVD
(singular values, reconstruction, the gradient of the singular values). For a matrix of
full rank with a fast-decaying spectrum, the rank-q error must be close to the best rank-q
error (Eckart-Young). All in float64, where the tolerances below are ~1e3 ulps of the values.
"""

import math

import numpy as np
import pytest
import torch

import gradstep


def _low_rank(m, n, rank, seed=0, batch=()):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch + (m, rank)) @ rng.standard_normal(batch + (rank, n))
    return gradstep.tensor(a), torch.tensor(a)


def _reconstruct(U, S, V):
    return (U * S.unsqueeze(-2)) @ V.mT


@pytest.mark.parametrize("m,n,q,batch", [(20, 12, 6, ()), (12, 20, 6, ()), (10, 4, 6, ()),
                                         (10, 4, 3, (3,)), (4, 10, None, ()), (8, 8, 8, (2, 2))])
def test_shapes_match_torch(m, n, q, batch):
    a, t = _low_rank(m, n, min(m, n), batch=batch)
    kwargs = {} if q is None else {"q": q}
    ours = gradstep.svd_lowrank(a, **kwargs)
    theirs = torch.svd_lowrank(t, **kwargs)
    assert [tuple(x.shape) for x in ours] == [tuple(x.shape) for x in theirs]
    assert all(x.dtype == gradstep.float64 for x in ours)
    kwargs = {} if q is None else {"q": min(q, m, n)}  # pca_lowrank refuses q > min(m, n)
    ours = gradstep.pca_lowrank(a, **kwargs)
    theirs = torch.pca_lowrank(t, **kwargs)
    assert [tuple(x.shape) for x in ours] == [tuple(x.shape) for x in theirs]


@pytest.mark.parametrize("m,n", [(30, 12), (12, 30)])
@pytest.mark.parametrize("niter", [0, 2])
def test_exact_when_q_covers_the_rank(m, n, niter):
    a, t = _low_rank(m, n, 5, seed=1)
    U, S, V = gradstep.svd_lowrank(a, q=7, niter=niter)
    scale = float(torch.linalg.matrix_norm(t, 2))
    np.testing.assert_allclose(_reconstruct(U, S, V).numpy(), a.numpy(), atol=1e-12 * scale)
    exact = torch.linalg.svdvals(t).numpy()[:7]
    np.testing.assert_allclose(S.numpy(), exact, atol=1e-12 * scale)
    for Q in (U, V):
        np.testing.assert_allclose((Q.mT @ Q).numpy(), np.eye(7), atol=1e-12)


def test_near_optimal_for_decaying_spectrum():
    rng = np.random.default_rng(2)
    left = np.linalg.qr(rng.standard_normal((40, 20)))[0]
    right = np.linalg.qr(rng.standard_normal((25, 20)))[0]
    sigma = 0.5 ** np.arange(20)
    a = gradstep.tensor((left * sigma) @ right.T)
    gradstep.manual_seed(0)
    U, S, V = gradstep.svd_lowrank(a, q=6, niter=2)
    err = np.linalg.norm(_reconstruct(U, S, V).numpy() - a.numpy())
    best = math.sqrt(float((sigma[6:] ** 2).sum()))
    assert err <= 1.05 * best
    np.testing.assert_allclose(S.numpy()[:4], sigma[:4], rtol=1e-6)


def test_pca_centers_columns():
    a, t = _low_rank(25, 8, 4, seed=3)
    a = a + 10.0  # an offset the centring must remove
    t = t + 10.0
    U, S, V = gradstep.pca_lowrank(a, q=6)
    centred = t - t.mean(dim=0, keepdim=True)
    exact = torch.linalg.svdvals(centred).numpy()[:6]
    np.testing.assert_allclose(S.numpy(), exact, atol=1e-10)
    np.testing.assert_allclose(_reconstruct(U, S, V).numpy(), centred.numpy(), atol=1e-10)
    _, S_raw, _ = gradstep.pca_lowrank(a, q=6, center=False)
    np.testing.assert_allclose(S_raw.numpy(), torch.linalg.svdvals(t).numpy()[:6], atol=1e-10)


def test_gradient_of_singular_values_matches_exact_svd():
    rng = np.random.default_rng(4)
    arr = rng.standard_normal((6, 4))
    a = gradstep.tensor(arr, requires_grad=True)
    t = torch.tensor(arr, requires_grad=True)
    gradstep.svd_lowrank(a, q=4)[1].sum().backward()
    torch.linalg.svdvals(t).sum().backward()  # d(nuclear norm)/dA = U V^T
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-10)


def test_m_argument_and_reproducibility():
    a, t = _low_rank(15, 9, 3, seed=5)
    shift = gradstep.ones(15, 9, dtype=gradstep.float64)
    U, S, V = gradstep.svd_lowrank(a + shift, q=6, M=shift)
    np.testing.assert_allclose(S.numpy(), torch.linalg.svdvals(t).numpy()[:6], atol=1e-10)
    gradstep.manual_seed(9)
    first = gradstep.svd_lowrank(a, q=2)
    gradstep.manual_seed(9)
    again = gradstep.svd_lowrank(a, q=2)
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_float32():
    a, t = _low_rank(12, 7, 3, seed=6)
    U, S, V = gradstep.svd_lowrank(a.float(), q=5)
    assert U.dtype == S.dtype == V.dtype == gradstep.float32
    np.testing.assert_allclose(S.numpy()[:3], torch.linalg.svdvals(t).numpy()[:3], rtol=1e-4)


def test_errors_match_torch():
    for L in (gradstep, torch):
        x = L.ones(10, 4)
        with pytest.raises(ValueError, match=r"q\(=20\) must be non-negative integer and not "
                                             r"greater than min\(m, n\)=4"):
            L.pca_lowrank(x, q=20)
        with pytest.raises(ValueError, match=r"niter\(=-1\) must be non-negative integer"):
            L.pca_lowrank(x, niter=-1)
        with pytest.raises(ValueError):
            L.svd_lowrank(L.ones(4))
        with pytest.raises(RuntimeError):
            L.svd_lowrank(L.ones(10, 4, dtype=L.int64))

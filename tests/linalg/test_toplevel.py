"""torch.* spellings of linear algebra (older signatures) and their Tensor methods vs torch.

Same conditioning as test_linalg.py (diagonal shifted by N), so scale=10 on the float32
tolerance; the product forms (addmv, addr, baddbmm, ...) are one short sum per output.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check
from tests.linalg.test_linalg import N, spd, well


def test_determinants_and_inverse():
    check(lambda lib, a: lib.det(well(lib, a)), [(2, N, N)], low=-1, high=1, scale=10)
    check(lambda lib, a: well(lib, a).logdet(), [(N, N)], low=-1, high=1, scale=10)
    check(lambda lib, a: lib.logdet(-well(lib, a)[:3, :3]), [(N, N)], low=-1, high=1, scale=10)
    check(lambda lib, a: tuple(lib.slogdet(well(lib, a))), [(N, N)], low=-1, high=1, scale=10)
    check(lambda lib, a: lib.inverse(well(lib, a)), [(N, N)], low=-1, high=1, scale=10)
    check(lambda lib, a: lib.pinverse(a), [(5, 3)], scale=100)
    check(lambda lib, a: well(lib, a).matrix_power(3), [(N, N)], low=-1, high=1, scale=10)
    check(lambda lib, a: a.matrix_exp(), [(N, N)], scale=100)


@pytest.mark.parametrize("some", [True, False])
def test_old_svd_qr(some):
    def fn(lib, a):
        u, s, v = lib.svd(a, some=some)
        k = s.shape[-1]
        return s, (u[..., :k] * s.unsqueeze(-2)) @ v[..., :k].mT
    check(fn, [(5, 3)], scale=10)
    check(lambda lib, a: tuple(lib.qr(a, some=some)), [(5, 3)], scale=10, grad=some)
    check(lambda lib, a: lib.svd(a, compute_uv=False)[0], [(3, 3)], grad=False)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_family(upper):
    def factor(lib, a):
        return lib.cholesky(spd(lib, a), upper=upper)
    check(factor, [(2, N, N)], low=-1, high=1, scale=10)
    check(lambda lib, a, b: lib.cholesky_solve(b, factor(lib, a), upper), [(N, N), (N, 2)],
          low=-1, high=1, scale=10)
    check(lambda lib, a: lib.cholesky_inverse(factor(lib, a), upper), [(N, N)], low=-1, high=1,
          scale=10)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_triangular_solve(upper, transpose):
    check(lambda lib, b, a: tuple(lib.triangular_solve(b, well(lib, a), upper, transpose)),
          [(N, 2), (N, N)], low=-1, high=1, scale=10)


def test_products(monkeypatch):
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())  # the deprecations below warn once
    check(lambda lib, a, b: lib.cross(a, b, dim=1), [(2, 3), (2, 3)])
    with pytest.warns(UserWarning, match="without specifying the dim"):
        gradstep.cross(gradstep.zeros(3, 3), gradstep.zeros(3, 3))
    check(lambda lib, a, b: lib.dist(a, b), [(3, 4), (4,)])
    check(lambda lib, a, b: lib.dist(a, b, 3), [(3, 4), (3, 4)])
    check(lambda lib, a, b: lib.ger(a, b), [(3,), (4,)])
    check(lambda lib, a, b: lib.inner(a, b), [(2, 3), (4, 3)])
    check(lambda lib, a, b: lib.inner(a, b), [(), (4, 3)])
    check(lambda lib, a, b: lib.vdot(a, b), [(3,), (3,)])
    check(lambda lib, c, a, b: lib.addmv(c, a, b, beta=0.5, alpha=2), [(3,), (3, 4), (4,)])
    check(lambda lib, c, a, b: lib.addr(c, a, b), [(3, 4), (3,), (4,)])
    check(lambda lib, c, a, b: lib.addbmm(c, a, b, alpha=3), [(3, 5), (2, 3, 4), (2, 4, 5)])
    check(lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0), [(1, 5), (2, 3, 4), (2, 4, 5)])
    check(lambda lib, c, a, b: c.clone().baddbmm_(a, b), [(2, 3, 5), (2, 3, 4), (2, 4, 5)])
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        gradstep.chain_matmul(gradstep.eye(2), gradstep.eye(2))
    check(lambda lib, a, b, c: lib.chain_matmul(a, b, c), [(2, 3), (3, 4), (4, 2)])


def test_removed_functions_raise_as_torch():
    for name in ("matrix_rank", "lstsq", "solve", "eig"):
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch, name)(torch.eye(2), torch.eye(2))
        with pytest.raises(RuntimeError) as ours:
            getattr(gradstep, name)(gradstep.eye(2), gradstep.eye(2))
        assert str(ours.value) == str(theirs.value)
        if name != "matrix_rank":
            with pytest.raises(RuntimeError) as ours:
                getattr(gradstep.eye(2), name)(gradstep.eye(2))
            assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 4), (3, 5)])
def test_householder_forms(shape):
    check(lambda lib, a: lib.geqrf(a), [shape], grad=False)

    def q_of(lib, a):
        h, tau = lib.geqrf(a.detach())
        return h, tau

    m = shape[-2]
    if shape[-1] <= m:  # orgqr needs at least as many rows as columns
        check(lambda lib, a: lib.orgqr(*q_of(lib, a)), [shape], grad=False)
    for left in (True, False):
        for transpose in (False, True):
            oshape = shape[:-2] + ((m, 2) if left else (2, m))
            check(lambda lib, a, c, lt=left, tr=transpose: lib.ormqr(*q_of(lib, a), c, lt, tr),
                  [shape, oshape])


def test_out_arguments_are_written():
    cases = [
        (lambda lib, o: lib.linalg.inv(lib.eye(2) * 2, out=o), 1),
        (lambda lib, o: lib.linalg.slogdet(lib.eye(2) * 2, out=o), 2),
        (lambda lib, o: lib.linalg.vector_norm(lib.ones(3), out=o), 1),
        (lambda lib, o: lib.linalg.det(lib.eye(2) * 3, out=o), 1),
        (lambda lib, o: lib.kron(lib.ones(2), lib.ones(3), out=o), 1),
        (lambda lib, o: lib.quantile(lib.arange(5.0), 0.5, out=o), 1),
        (lambda lib, o: lib.cholesky_solve(lib.ones(2, 1), lib.eye(2), out=o), 1),
    ]
    for fn, n in cases:
        results = []
        for lib in (gradstep, torch):
            outs = tuple(lib.empty(0) for _ in range(n))
            res = fn(lib, outs if n > 1 else outs[0])
            res = res if n > 1 else (res,)
            assert all(r is o for r, o in zip(res, outs))
            results.append([o.numpy() for o in outs])
        for ours, theirs in zip(*results):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.inv(torch.eye(2, requires_grad=True), out=torch.empty(0))
    with pytest.raises(RuntimeError) as ours:
        gradstep.linalg.inv(gradstep.eye(2, requires_grad=True), out=gradstep.empty(0))
    assert "don't support automatic differentiation" in str(ours.value) and \
        "don't support automatic differentiation" in str(theirs.value)


DEPRECATED_SPELLINGS = {
    "qr": lambda L, a: L.qr(a),
    "cholesky": lambda L, a: L.cholesky(a @ a.mT + L.eye(3)),
    "triangular_solve": lambda L, a: L.triangular_solve(a, a.triu() + 3 * L.eye(3)),
    "lu": lambda L, a: L.lu(a),
    "lu_solve": lambda L, a: L.lu_solve(a, *L.linalg.lu_factor(a + 3 * L.eye(3))),
    "chain_matmul": lambda L, a: L.chain_matmul(a, a),
    "cross": lambda L, a: L.cross(a, a),
}


@pytest.mark.parametrize("name", DEPRECATED_SPELLINGS)
def test_deprecated_spellings_warn_once_with_torchs_text(name, monkeypatch):
    """torch's TORCH_WARN_ONCE: a Glow or PINN script calling ``torch.qr`` in a loop sees the
    deprecation once per process, not once per call."""
    import warnings

    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    texts = {}
    for L in (torch, gradstep):
        a = L.tensor(np.arange(9.0).reshape(3, 3) / 9 + np.eye(3), dtype=L.float32)
        torch._C._set_warnAlways(L is torch)  # torch's own once may have fired in this process
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                DEPRECATED_SPELLINGS[name](L, a)
                if L is gradstep:
                    DEPRECATED_SPELLINGS[name](L, a)
        finally:
            torch._C._set_warnAlways(False)
        texts[L] = [str(w.message).split(" (Triggered internally")[0] for w in caught]
    assert len(texts[torch]) == 1 and texts[gradstep] == texts[torch]

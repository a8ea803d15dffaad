"""torch.linalg against torch: values and gradients (float32/float64), gradcheck, errors.

Inputs are kept well conditioned (random entries in [-1, 1) plus ``n`` on the diagonal, or
A A^T + n I for symmetric positive-definite ones), so the condition number stays below ~10
and the forward and backward rounding errors are a few ulps times that; ``scale=10`` on the
float32 tolerance of tests/helpers.py covers it. Decompositions whose factors have a sign
gauge (svd, eigh) are compared through gauge-invariant functions of the factors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check

N = 4


def well(lib, a):
    return a + N * lib.eye(a.shape[-1], dtype=a.dtype)


def spd(lib, a):
    return a @ a.mT + N * lib.eye(a.shape[-1], dtype=a.dtype)


@pytest.mark.parametrize("shape", [(N, N), (2, 3, 3), (0, 2, 2)])
def test_inv_det_slogdet(shape):
    check(lambda lib, a: lib.linalg.inv(well(lib, a)), [shape], low=-1, high=1, scale=10)
    check(lambda lib, a: lib.linalg.det(well(lib, a)), [shape], low=-1, high=1, scale=10)
    check(lambda lib, a: lib.linalg.slogdet(well(lib, a) * -1), [shape], low=-1, high=1,
          scale=10)


@pytest.mark.parametrize("sa,sb,left", [
    ((N, N), (N, 2), True), ((N, N), (N,), True), ((2, N, N), (N, 3), True),
    ((2, N, N), (2, N), True), ((1, N, N), (3, N, 1), True), ((0, N, N), (0, N, 2), True),
    ((N, N), (2, N), False), ((2, N, N), (3, N), False), ((1, N, N), (3, 2, N), False)])
def test_solve(sa, sb, left):
    check(lambda lib, a, b: lib.linalg.solve(well(lib, a), b, left=left), [sa, sb], low=-1,
          high=1, scale=10)


def test_solve_vector_needs_left():
    a, b = torch.eye(N).expand(2, N, N), torch.ones(2, N)
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.solve(a, b, left=False)
    with pytest.raises(RuntimeError) as ours:
        gradstep.linalg.solve(gradstep.eye(N).expand(2, N, N), gradstep.ones(2, N), left=False)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular(upper, left, unit):
    sb = (2, N, 3) if left else (2, 3, N)
    check(lambda lib, a, b: lib.linalg.solve_triangular(well(lib, a), b, upper=upper, left=left,
                                                        unitriangular=unit),
          [(N, N), sb], low=-1, high=1, scale=10)


@pytest.mark.parametrize("shape", [(N, N), (2, 3, 3)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper):
    check(lambda lib, a: lib.linalg.cholesky(spd(lib, a), upper=upper), [shape], low=-1, high=1,
          scale=10)
    check(lambda lib, a: lib.linalg.cholesky_ex(spd(lib, a)).L, [shape], low=-1, high=1,
          scale=10)


def _sym_fn(lib, a):
    w, q = lib.linalg.eigh(a + a.mT)
    return w, (q * w.tanh().unsqueeze(-2)) @ q.mT  # Q f(L) Q^T: sign-gauge invariant


@pytest.mark.parametrize("shape", [(N, N), (2, 3, 3), (0, 2, 2)])
def test_eigh(shape):
    check(_sym_fn, [shape], scale=10)
    check(lambda lib, a: lib.linalg.eigvalsh(a + a.mT, UPLO="U"), [shape], scale=10)


def _svd_fn(full):
    def fn(lib, a):
        u, s, vh = lib.linalg.svd(a, full_matrices=full)
        k = s.shape[-1]
        return s, (u[..., :k] * s.sin().unsqueeze(-2)) @ vh[..., :k, :]
    return fn


@pytest.mark.parametrize("shape", [(N, N), (5, 3), (3, 5), (2, 4, 3), (0, 3, 2)])
@pytest.mark.parametrize("full", [False, True])
def test_svd(shape, full):
    check(_svd_fn(full), [shape], scale=10)
    check(lambda lib, a: lib.linalg.svdvals(a), [shape], scale=10)


@pytest.mark.parametrize("shape", [(N, N), (5, 3), (2, 4, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr(shape, mode):
    grad = mode == "reduced" or shape[-1] == shape[-2]
    check(lambda lib, a: tuple(lib.linalg.qr(a, mode=mode)), [shape], scale=10, grad=grad)


def test_qr_wide_forward_and_r_mode():
    check(lambda lib, a: tuple(lib.linalg.qr(a)), [(3, 5)], grad=False)
    check(lambda lib, a: lib.linalg.qr(a, mode="r").R, [(5, 3)], grad=False)


@pytest.mark.parametrize("shape", [(N, N), (5, 3), (3, 5)])
def test_pinv_rank_lstsq(shape):
    check(lambda lib, a: lib.linalg.pinv(a), [shape], scale=100)
    check(lambda lib, a: lib.linalg.pinv(spd(lib, a[..., :3, :3]), hermitian=True), [shape],
          scale=100)
    check(lambda lib, a: lib.linalg.matrix_rank(a @ a.mT), [shape], grad=False)
    m = shape[0]  # wide systems: torch's default driver (gelsy) gives the minimum-norm solution
    check(lambda lib, a, b: lib.linalg.lstsq(a, b).solution, [shape, (m, 2)], scale=100)


@pytest.mark.parametrize("n", [0, 1, 3, -2])
def test_matrix_power(n):
    check(lambda lib, a: lib.linalg.matrix_power(well(lib, a), n), [(2, 3, 3)], low=-1, high=1,
          scale=10)


def test_matrix_exp():
    check(lambda lib, a: lib.linalg.matrix_exp(a), [(2, 3, 3)], scale=100)
    check(lambda lib, a: lib.linalg.matrix_exp(a * 5), [(N, N)], scale=100)


def test_products_cross_diagonal():
    check(lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), [(3,), (3, 4), (4,)])
    check(lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), [(2, 3), (3, 4), (4, 5)])
    check(lambda lib, a, b: lib.linalg.vecdot(a, b, dim=0), [(3, 4), (3, 1)])
    check(lambda lib, a, b: lib.linalg.cross(a, b), [(2, 3), (1, 3)])
    check(lambda lib, a, b: lib.linalg.cross(a, b, dim=0), [(3, 2), (3, 2)])
    check(lambda lib, a: lib.linalg.diagonal(a, offset=1), [(2, 3, 4)])


@pytest.mark.parametrize("shapes", [((3, 3), (3, 1)), ((0, 4, 3), (3,)), ((2, 3), (4, 3))],
                         ids=str)
def test_cross_checks_match_torch(shapes):
    # gradstep broadcast a length-1 dim -1 and operands of different ranks (ops fuzzer)
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.cross(torch.ones(shapes[0]), torch.ones(shapes[1]))
    with pytest.raises(RuntimeError) as ours:
        gradstep.linalg.cross(gradstep.ones(shapes[0]), gradstep.ones(shapes[1]))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("dims", [(3, 1, 2, 2), (1, 4, 1, 3, 2), (4, 2, 3, 1, 2, 3)], ids=str)
def test_multi_dot_multiplies_in_torchs_order(dims):
    # with an inf, the order decides inf * finite (inf) against inf - inf (NaN): gradstep went
    # left to right, torch picks the cheapest chain (ops fuzzer: nan vs torch inf)
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal((dims[i], dims[i + 1])) for i in range(len(dims) - 1)]
    arrs[0][-1, 0] = -np.inf
    ours = gradstep.linalg.multi_dot([gradstep.tensor(a) for a in arrs]).numpy()
    theirs = torch.linalg.multi_dot([torch.tensor(a) for a in arrs]).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)


def test_vecdot_conjugates_complex_x():
    # torch's vecdot is sum(conj(x) * y); gradstep's dropped the conjugate (wide ops fuzzer)
    rng = np.random.default_rng(0)
    xv = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex128)
    yv = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex128)
    res = []
    for lib in (gradstep, torch):
        x, y = lib.tensor(xv, requires_grad=True), lib.tensor(yv, requires_grad=True)
        out = lib.linalg.vecdot(x, y)
        out.abs().sum().backward()
        res.append([t.detach().resolve_conj().numpy() for t in (out, x.grad, y.grad)])
    for ours, theirs in zip(*res):  # a few float64 operations: 1e-12 relative is ample
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("call", [lambda L: L.linalg.vecdot(L.ones(3), L.ones(1)),
                                  lambda L: L.linalg.vecdot(L.ones(3, dtype=L.int64),
                                                            L.ones(3, dtype=L.int64)),
                                  lambda L: L.linalg.vecdot(L.ones(3), L.ones(3, dtype=L.float64))])
def test_vecdot_checks_match_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gradstep)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("ord", [2, 1, 0, 3.5, float("inf"), float("-inf")])
def test_vector_norm(ord):
    check(lambda lib, a: lib.linalg.vector_norm(a, ord), [(3, 4)])
    check(lambda lib, a: lib.linalg.vector_norm(a, ord, dim=1, keepdim=True), [(3, 4)])


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm(ord, keepdim):
    check(lambda lib, a: lib.linalg.matrix_norm(a, ord, keepdim=keepdim), [(2, 3, 4)], scale=10)
    check(lambda lib, a: lib.linalg.matrix_norm(a, ord, dim=(0, 2)), [(3, 2, 4)], scale=10)


@pytest.mark.parametrize("args", [dict(), dict(ord=1), dict(dim=0), dict(ord="fro"),
                                  dict(ord=2, dim=(0, 1)), dict(ord=float("inf"))])
def test_norm_dispatch(args):
    check(lambda lib, a: lib.linalg.norm(a, **args), [(3, 4)], scale=10)


def _g64(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [gradstep.tensor(rng.uniform(-1, 1, s), requires_grad=True) for s in shapes]


def test_gradcheck_float64():
    L = gradstep.linalg
    (a,) = _g64((3, 3))
    (b,) = _g64((3, 2), seed=1)
    assert gradcheck(lambda x: L.inv(well(gradstep, x)), (a,))
    assert gradcheck(lambda x: L.det(well(gradstep, x)), (a,))
    assert gradcheck(lambda x, y: L.solve(well(gradstep, x), y), (a, b))
    assert gradcheck(lambda x: L.cholesky(spd(gradstep, x)), (a,))
    assert gradcheck(lambda x: _sym_fn(gradstep, x)[1], (a,))
    (c,) = _g64((4, 3), seed=2)
    assert gradcheck(lambda x: _svd_fn(False)(gradstep, x)[1], (c,))
    assert gradcheck(lambda x: tuple(L.qr(x)), (c,))
    assert gradcheck(lambda x: L.matrix_exp(x), (a,))


def test_errors_match_torch():
    cases = [
        lambda lib: lib.linalg.inv(lib.zeros(3, 3)),
        lambda lib: lib.linalg.inv(lib.zeros(2, 3, 3)),
        lambda lib: lib.linalg.inv(lib.zeros(2, 3)),
        lambda lib: lib.linalg.inv(lib.zeros(3)),
        lambda lib: lib.linalg.inv(lib.zeros(3, 3, dtype=lib.int64)),
        lambda lib: lib.linalg.cholesky(-lib.eye(3)),
        lambda lib: lib.linalg.cholesky(lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    ]
    for case in cases:
        with pytest.raises(RuntimeError) as theirs:
            case(torch)
        with pytest.raises(RuntimeError) as ours:
            case(gradstep)
        assert str(ours.value) == str(theirs.value)
        assert isinstance(ours.value, gradstep.linalg.LinAlgError) == isinstance(
            theirs.value, torch.linalg.LinAlgError)


def test_ex_forms_report_info():
    r = gradstep.linalg.inv_ex(gradstep.zeros(2, 2))
    t = torch.linalg.inv_ex(torch.zeros(2, 2))
    assert r.info.dtype == gradstep.int32 and int(r.info) == int(t.info)
    c = gradstep.linalg.cholesky_ex(-gradstep.eye(2))
    assert int(c.info) > 0


@pytest.mark.parametrize("shape", [(N, N), (2, 3, 3), (5, 3), (3, 5)])
def test_lu_family(shape):
    square = shape[-1] == shape[-2]
    check(lambda lib, a: tuple(lib.linalg.lu(a)), [shape], scale=10, grad=square)
    check(lambda lib, a: tuple(lib.linalg.lu_factor(a)), [shape], scale=10, grad=square)
    check(lambda lib, a: tuple(lib.linalg.lu_factor_ex(a)), [shape], scale=10, grad=False)
    check(lambda lib, a: tuple(lib.lu(a, get_infos=True)), [shape], scale=10, grad=False)
    check(lambda lib, a: tuple(lib.lu_unpack(*lib.linalg.lu_factor(a))), [shape], scale=10,
          grad=False)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve(left, adjoint):
    sb = (2, N, 3) if left else (2, 3, N)

    def fn(lib, a, b):
        lu_, piv = lib.linalg.lu_factor(well(lib, a))
        return lib.linalg.lu_solve(lu_, piv, b, left=left, adjoint=adjoint)
    check(fn, [(N, N), sb], low=-1, high=1, scale=10)
    check(lambda lib, a, b: lib.lu_solve(b, *lib.linalg.lu_factor(well(lib, a))),
          [(N, N), (N, 2)], low=-1, high=1, scale=10)


def test_lu_gradcheck_and_singular():
    (a,) = _g64((3, 3))
    assert gradcheck(lambda x: tuple(gradstep.linalg.lu(x))[1:], (a,))
    z = torch.tensor([[1.0, 2.0], [2.0, 4.0]])
    ours = gradstep.linalg.lu_factor_ex(gradstep.tensor(z.numpy()))
    theirs = torch.linalg.lu_factor_ex(z)
    assert int(ours.info) == int(theirs.info) and ours.info.dtype == gradstep.int32


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, float("inf"), float("-inf")])
def test_cond(p):
    # torch 2.13's own backward of cond for the norm-based orders fails (it modifies the
    # inverse it saved in place): values only there
    grad = p in (None, 2, -2, "nuc")
    check(lambda lib, a: lib.linalg.cond(well(lib, a), p), [(2, N, N)], low=-1, high=1,
          scale=100, grad=grad)


def test_tensorinv_tensorsolve_vander_householder():
    check(lambda lib, a: lib.linalg.tensorinv(well(lib, a).reshape(2, 2, 4), ind=2), [(N, N)],
          low=-1, high=1, scale=10)
    check(lambda lib, a, b: lib.linalg.tensorsolve(well(lib, a).reshape(2, 2, 2, 2), b),
          [(N, N), (2, 2)], low=-1, high=1, scale=10)
    check(lambda lib, a, b: lib.linalg.tensorsolve(well(lib, a).reshape(2, 2, 2, 2), b,
                                                   dims=(0,)), [(N, N), (2, 2)], low=-1,
          high=1, scale=10)
    check(lambda lib, a: lib.linalg.vander(a), [(2, 3)])
    check(lambda lib, a: lib.linalg.vander(a, N=5), [(3,)])
    check(lambda lib, a, t: lib.linalg.householder_product(a, t), [(5, 3), (2,)])
    check(lambda lib, a, t: lib.linalg.householder_product(a, t), [(2, 4, 4), (2, 4)])
    check(lambda lib, a, b: lib.linalg.matmul(a, b), [(2, 3), (3,)])


def test_det_gradient_of_singular_matrices():
    def inputs(dt):
        rng = np.random.default_rng(3)
        a = rng.uniform(-1, 1, (2, 3, 2)) @ rng.uniform(-1, 1, (2, 2, 3))  # rank 2 of 3
        return [gradstep.tensor(a.astype(dt), requires_grad=True)]
    check(lambda lib, a: lib.linalg.det(a), inputs=inputs, scale=100)


def test_vector_norm_refuses_a_string_ord():
    with pytest.raises(TypeError) as theirs:
        torch.linalg.vector_norm(torch.ones(2), "fro")
    with pytest.raises(TypeError) as ours:
        gradstep.linalg.vector_norm(gradstep.ones(2), "fro")
    assert str(ours.value) == str(theirs.value)

"""Complex dtypes against torch: creation, promotion, printing, views, casts, errors, and the
gradients of the complex ops under torch's convention (``dL/dx + i dL/dy``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep

# float32 values from one or two roundings per element: 1e-6 relative, 1e-6 absolute (|z| ~ 1)
TOL = dict(rtol=1e-6, atol=1e-6)
Z = np.array([3 + 4j, 1 - 1j, -0.5 + 2j, 0.25 - 0.75j], np.complex64)


def _np(t):
    return t.detach().resolve_conj().numpy() if hasattr(t, "detach") else np.asarray(t)


def both(fn):
    """``fn(module)`` under torch and gradstep."""
    return fn(torch), fn(gradstep)


def test_dtypes_and_aliases():
    assert gradstep.cfloat is gradstep.complex64 and gradstep.cdouble is gradstep.complex128
    for name in ("complex64", "complex128"):
        ours, theirs = getattr(gradstep, name), getattr(torch, name)
        assert (ours.is_complex, ours.is_floating_point, ours.is_signed, ours.itemsize) == \
            (theirs.is_complex, theirs.is_floating_point, theirs.is_signed, theirs.itemsize)
    assert not gradstep.float32.is_complex


@pytest.mark.parametrize("a, b", [("complex64", "float64"), ("float16", "complex64"),
                                  ("int64", "complex64"), ("complex128", "float32"),
                                  ("complex64", "complex128"), ("bool", "complex128")])
def test_promote_types(a, b):
    ours = gradstep.promote_types(getattr(gradstep, a), getattr(gradstep, b))
    assert ours.name == str(torch.promote_types(getattr(torch, a), getattr(torch, b)))[6:]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("other", [1j, "zero_dim_c128", "dim_c64"])
def test_result_type_with_complex(dtype, other):
    def run(m):
        x = m.ones(3, dtype=getattr(m, dtype))
        o = {"zero_dim_c128": m.tensor(1j, dtype=m.complex128),
             "dim_c64": m.ones(3, dtype=m.complex64)}.get(other, other)
        return str((x + o).dtype).split(".")[1]
    theirs, ours = both(run)
    assert ours == theirs


def test_tensor_from_complex_data_and_factories():
    for fn in (lambda m: m.tensor([1 + 2j, 3]), lambda m: m.tensor(np.array([1j])),
               lambda m: m.tensor(2j), lambda m: m.full((2,), 1j),
               lambda m: m.zeros(2, 3, dtype=m.cfloat), lambda m: m.ones(2, dtype=m.cdouble),
               lambda m: m.ones_like(m.tensor([1j])), lambda m: m.zeros_like(m.tensor([1j]))):
        theirs, ours = both(fn)
        assert str(ours.dtype)[9:] == str(theirs.dtype)[6:]
        np.testing.assert_array_equal(_np(ours), _np(theirs))
    assert gradstep.empty(3, dtype=gradstep.cfloat).is_complex()


def test_rand_and_randn_complex_draw_both_parts():
    gradstep.manual_seed(0)
    n = 200_000
    z = gradstep.randn(n, dtype=gradstep.cfloat).numpy()
    u = gradstep.rand(n, dtype=gradstep.cdouble).numpy()
    assert z.dtype == np.complex64 and u.dtype == np.complex128
    # torch: each part N(0, 1/2); 5 standard errors of a variance estimate of n draws
    for part in (z.real, z.imag):
        assert abs(part.var() - 0.5) < 5 * 0.5 * np.sqrt(2 / n)
    for part in (u.real, u.imag):  # torch: each part uniform on [0, 1)
        assert part.min() >= 0 and part.max() < 1 and abs(part.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1 + 2j, -1j]),
    lambda m: m.tensor([[1.5 + 2j, 3.25 - 1j], [0.1 + 0j, 1e-5 + 1e5j]]),
    lambda m: m.tensor([[1 + 1j]] * 3, dtype=m.cdouble),
    lambda m: m.tensor(0.5j),
    lambda m: m.zeros(0, dtype=m.cfloat),
    lambda m: m.complex(m.arange(30.), -m.arange(30.) / 7),  # wraps, mixed widths
])
def test_printing_matches_torch(make):
    theirs, ours = both(make)
    assert repr(ours).replace("gradstep.", "torch.") == repr(theirs)


def test_real_imag_are_writable_views():
    for m in (torch, gradstep):
        z = m.tensor(Z.copy())
        z.real[0] = 10.0
        z.imag.mul_(2)
        np.testing.assert_array_equal(_np(z), np.array([10 + 8j, 1 - 2j, -0.5 + 4j, 0.25 - 1.5j],
                                                      np.complex64))


def test_view_as_real_and_complex_share_memory():
    for m in (torch, gradstep):
        z = m.tensor(Z.copy())
        r = m.view_as_real(z)
        assert tuple(r.shape) == (4, 2) and r.dtype == m.float32
        r[1, 1] = 7.0
        assert z[1].item() == 1 + 7j
        c = m.view_as_complex(r)
        c[0] = 5j
        assert r[0, 0].item() == 0 and r[0, 1].item() == 5


@pytest.mark.parametrize("make", [
    lambda m: m.view_as_complex(m.zeros(3, 3)),
    lambda m: m.view_as_complex(m.zeros(4, 2).t().contiguous().t()),
    lambda m: m.view_as_complex(m.zeros(4, 3)[:, :2]),
    lambda m: m.view_as_complex(m.zeros(5)[1:].reshape(2, 2)),
    lambda m: m.view_as_complex(m.zeros(3, 2, dtype=m.int64)),
    lambda m: m.view_as_real(m.zeros(3)),
    lambda m: m.polar(m.ones(2), m.ones(2, dtype=m.float64)),
    lambda m: m.complex(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64)),
])
def test_errors_match_torch(make):
    with pytest.raises(RuntimeError) as theirs:
        make(torch)
    with pytest.raises(RuntimeError) as ours:
        make(gradstep)
    assert str(ours.value) == str(theirs.value)


def test_cast_to_real_warns_and_drops_imag():
    for m in (torch, gradstep):
        z = m.tensor(Z.copy())
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            x = z.float()
            y = z.to(m.int64)
        assert any("Casting complex values to real discards the imaginary part" in str(i.message)
                   for i in w)
        np.testing.assert_array_equal(_np(x), Z.real)
        np.testing.assert_array_equal(_np(y), Z.real.astype(np.int64))
        assert z.type_as(m.ones(1, dtype=m.float64)).dtype == m.float64


def _grads(fn, *arrays):
    """``fn(module, *leaves)`` -> real loss, under both; returns (ours, theirs) leaf grads."""
    out = {}
    for m in (torch, gradstep):
        leaves = [m.tensor(a, requires_grad=True) for a in arrays]
        fn(m, *leaves).backward()
        out[m] = [_np(t.grad) for t in leaves]
        assert all(t.grad.dtype == t.dtype for t in leaves)
    return out[gradstep], out[torch]


W = np.array([0.5 - 1j, 2 + 0.25j, -1 + 1j, 0.75 + 0j], np.complex64)


@pytest.mark.parametrize("name, fn", [
    ("abs", lambda m, z: z.abs().sum()),
    ("abs_at_zero", lambda m, z: (z * 0).abs().sum() + z.real.sum()),
    ("angle", lambda m, z: z.angle().sum()),
    ("real_imag", lambda m, z: (z.real * 2 + z.imag * 3).sum()),
    ("conj", lambda m, z: (z.conj() * m.tensor(W)).imag.sum()),
    ("mul_div", lambda m, z: (z * m.tensor(W) / (z + 3)).abs().sum()),
    ("scalar_ops", lambda m, z: ((z * 2j + 1.5) / (1 - 1j) - 2).real.sum()),
    ("exp_log", lambda m, z: (z.exp() + (z + 4).log()).abs().sum()),
    ("sum_mean", lambda m, z: z.sum().abs() + z.mean().imag),
    ("rdiv_pow", lambda m, z: (2 / z + z ** 2 + z ** 0.5 * (1 + 1j)).abs().sum()),
    ("matmul", lambda m, z: (z.reshape(2, 2) @ m.tensor(W).reshape(2, 2)).abs().sum()),
    ("einsum", lambda m, z: m.einsum("i,i->", z, m.tensor(W)).abs()),
    ("shapes", lambda m, z: m.cat([z.reshape(2, 2).t(), z.flip(0).reshape(2, 2)]).permute(1, 0)
     .flatten()[1:6].abs().sum()),
    ("stack_index", lambda m, z: m.stack([z, z * 2])[:, 1:3].abs().sum()),
    ("view_as_real", lambda m, z: (m.view_as_real(z) ** 2 * m.tensor([1.0, 3.0])).sum()),
    ("to_real", lambda m, z: (z.to(m.complex128) * 2).real.sum()),
    # found by the wide ops fuzzer: these backwards missed torch's conjugate
    ("pow_tensor", lambda m, z: (z ** m.tensor(W) + z ** m.tensor([3, 2, 1, 2])).abs().sum()),
    ("rpow_tensor", lambda m, z: (2 ** z).abs().sum()),
    ("prod", lambda m, z: z.prod().abs() + z.reshape(2, 2).prod(1).imag.sum()),
    ("prod_with_zero", lambda m, z: (z * m.tensor([1, 0, 1, 1])).prod(0).abs()),
    ("sigmoid", lambda m, z: (m.sigmoid(z) * m.tensor(W)).abs().sum()),  # was not implemented
])
def test_gradients_match_torch(name, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _grads(fn, Z.copy())
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_abs_gradient_is_z_over_abs_z():
    z = gradstep.tensor(Z.copy(), requires_grad=True)
    z.abs().sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), Z / np.abs(Z), **TOL)


def test_polar_complex_and_view_as_complex_gradients():
    r = np.array([1.0, 2.0, 0.5], np.float32)
    th = np.array([0.3, -1.2, 2.5], np.float32)
    ours, theirs = _grads(lambda m, a, b: (m.polar(a, b) * m.tensor(W[:3])).real.sum()
                          + m.complex(a, b).abs().sum(), r, th)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    pairs = np.array([[1.0, 2.0], [3.0, -4.0]], np.float32)
    ours, theirs = _grads(lambda m, x: (m.view_as_complex(x) * m.tensor(W[:2])).abs().sum(), pairs)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)


def test_real_tensor_times_complex_gradient_is_real():
    ours, theirs = _grads(lambda m, x: (x * m.tensor(W)).abs().sum(), np.float32([1, -2, 3, 0.5]))
    assert ours[0].dtype == np.float32
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)


def test_gradcheck_against_finite_differences():
    z = gradstep.tensor(Z.astype(np.complex128), requires_grad=True)
    f = lambda t: ((t * t).exp().abs() + t.angle()).sum()  # noqa: E731
    f(z).backward()
    eps, base = 1e-6, Z.astype(np.complex128)
    fd = []
    for i in range(4):
        parts = []
        for d in (eps, 1j * eps):
            hi, lo = base.copy(), base.copy()
            hi[i] += d
            lo[i] -= d
            parts.append((f(gradstep.tensor(hi)).item() - f(gradstep.tensor(lo)).item()) / (2 * eps))
        fd.append(parts[0] + 1j * parts[1])  # torch's convention: dL/dx + i dL/dy
    np.testing.assert_allclose(z.grad.numpy(), fd, rtol=1e-6, atol=1e-6)


def test_requires_grad_on_complex_and_parameter():
    assert gradstep.zeros(2, dtype=gradstep.cfloat, requires_grad=True).requires_grad
    p = gradstep.nn.Parameter(gradstep.zeros(2, dtype=gradstep.cfloat))
    assert p.requires_grad and p.is_complex()


def test_save_and_load_complex_both_ways(tmp_path):
    gradstep.save(gradstep.tensor(Z.copy()), tmp_path / "ours.pt")
    torch.save(torch.tensor(Z.astype(np.complex128)), tmp_path / "theirs.pt")
    np.testing.assert_array_equal(torch.load(tmp_path / "ours.pt").numpy(), Z)
    loaded = gradstep.load(tmp_path / "theirs.pt")
    assert loaded.dtype is gradstep.complex128
    np.testing.assert_array_equal(loaded.numpy(), Z.astype(np.complex128))

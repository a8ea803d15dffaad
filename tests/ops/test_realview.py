"""Complex accessors on real tensors, and the small queries/constructors, against torch."""

import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def test_identity_accessors():
    for lib in (gradstep, torch):
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        for name in ("real", "conj", "conj_physical", "resolve_conj", "resolve_neg"):
            assert getattr(lib, name)(x) is x, name
        assert x.real is x and x.conj() is x and x.resolve_neg() is x
        assert lib.is_conj(x) is False and x.is_neg() is False
        with pytest.raises(RuntimeError, match="non-complex"):
            lib.imag(x)
        with pytest.raises(RuntimeError, match="non-complex"):
            x.imag  # noqa: B018


def test_angle():
    x = np.array([1.0, -2.0, 0.0, -0.0, np.nan, -np.inf])

    def inputs(dt):
        return [gradstep.tensor(x.astype(dt), requires_grad=True)]

    check(lambda lib, a: lib.angle(a), inputs=inputs)  # gradient zero, as torch's
    check(lambda lib, a: a.angle(), inputs=inputs)
    ours, theirs = gradstep.angle(gradstep.tensor([1, -1])), torch.angle(torch.tensor([1, -1]))
    assert str(ours.dtype) == "gradstep.float32" and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_queries():
    for lib in (gradstep, torch):
        assert lib.is_nonzero(lib.tensor([0.5])) and not lib.is_nonzero(lib.tensor(0))
        for bad in (lib.tensor([1.0, 2.0]), lib.tensor([])):
            with pytest.raises(RuntimeError, match="ambiguous"):
                lib.is_nonzero(bad)
        assert lib.is_same_size(lib.ones(2, 3), lib.zeros(2, 3))
        assert not lib.ones(2).is_same_size(lib.ones(3))
        assert [lib.is_signed(lib.ones(1, dtype=d)) for d in
                (lib.uint8, lib.int8, lib.float32, lib.bool, lib.bfloat16)] == [
                    False, True, True, False, True]


def test_scalar_tensor_range_fill():
    for args, kw in (((3,), {}), ((2.5,), {"dtype": "int64"}), ((True,), {})):
        kw_g = {k: getattr(gradstep, v) for k, v in kw.items()}
        kw_t = {k: getattr(torch, v) for k, v in kw.items()}
        ours, theirs = gradstep.scalar_tensor(*args, **kw_g), torch.scalar_tensor(*args, **kw_t)
        assert ours.shape == () and str(ours.dtype)[9:] == str(theirs.dtype)[6:]
        assert ours.item() == theirs.item()
    for args, kw in (((0, 3), {}), ((1, 2, 0.5), {}), ((3, 0, -1), {}),
                     ((0, 1, 0.3), {}), ((0, 4), {"dtype": "int64"})):
        kw_g = {k: getattr(gradstep, v) for k, v in kw.items()}
        kw_t = {k: getattr(torch, v) for k, v in kw.items()}
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            ours = gradstep.range(*args, **kw_g)
        assert any("deprecated" in str(m.message) for m in w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torch.range(*args, **kw_t)
        assert str(ours.dtype)[9:] == str(theirs.dtype)[6:]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    for lib in (gradstep, torch):  # unlike Python's range, both ends are required
        with pytest.raises(TypeError):
            lib.range(5)
    ours, theirs = gradstep.fill(gradstep.ones(2, 2), 3.5), torch.fill(torch.ones(2, 2), 3.5)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = gradstep.fill(gradstep.ones(2, dtype=gradstep.int64), gradstep.tensor(7))
    assert ours.tolist() == [7, 7] and str(ours.dtype) == "gradstep.int64"


@pytest.mark.parametrize("p,dim,maxnorm", [(2, 0, 1.0), (1, 1, 0.5), (3, 2, 2.0), (2, -1, 9.0)])
def test_renorm(p, dim, maxnorm):
    check(lambda lib, a: lib.renorm(a, p, dim, maxnorm), [(3, 4, 2)])
    check(lambda lib, a: a.renorm(p, dim, maxnorm), [(3, 4, 2)])
    x, tx = gradstep.ones(3, 4, 2) * 2, torch.ones(3, 4, 2) * 2
    x.renorm_(p, dim, maxnorm)
    tx.renorm_(p, dim, maxnorm)
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6)

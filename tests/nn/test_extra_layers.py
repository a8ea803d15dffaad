"""Smaller nn additions against torch: in-place celu_/selu_/threshold_, pdist,
gumbel_softmax (statistics, straight-through gradient), feature_alpha_dropout,
Container, CrossMapLRN2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import assert_close, check


@pytest.mark.parametrize("name,args", [("celu_", (1.5,)), ("selu_", ()), ("threshold_", (0.3, -2.))])
def test_inplace_activations(name, args):
    x = np.random.default_rng(0).uniform(-2, 2, (3, 4)).astype(np.float32)
    ours, theirs = gradstep.tensor(x), torch.tensor(x)
    r = getattr(gradstep.nn.functional, name)(ours, *args)
    tr = getattr(torch.nn.functional, name)(theirs, *args)
    assert r is ours
    assert_close(ours, theirs, "float32")
    assert_close(r, tr, "float32")


@pytest.mark.parametrize("shape", [(5, 4), (2, 3), (1, 3), (6, 1)])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.5, float("inf")])
def test_pdist(shape, p):
    check(lambda L, x: L.nn.functional.pdist(x, p), [shape])  # distinct random rows: no 0 norm


def test_pdist_errors():
    for L in (torch, gradstep):
        with pytest.raises(RuntimeError):
            L.nn.functional.pdist(L.zeros(2, 3, 4))
        with pytest.raises(RuntimeError):
            L.nn.functional.pdist(L.zeros(2, 3), -1)


def test_gumbel_softmax_statistics_and_straight_through():
    logits = gradstep.tensor(np.log([0.1, 0.2, 0.7]), requires_grad=True)
    gradstep.manual_seed(0)
    n = 4000
    hard = gradstep.stack([gradstep.nn.functional.gumbel_softmax(logits, hard=True)
                           for _ in range(n)])
    freq = hard.detach().numpy().mean(0)
    # the Gumbel-max trick samples the softmax: 4 binomial standard deviations (<= 0.029)
    assert np.all(np.abs(freq - [0.1, 0.2, 0.7]) < 4 * np.sqrt(0.25 / n))
    assert set(np.unique(hard.detach().numpy())) == {0.0, 1.0}
    soft = gradstep.nn.functional.gumbel_softmax(logits, tau=0.5)
    assert abs(float(soft.sum()) - 1) < 1e-12 and float(soft.min()) > 0
    # hard=True: forward one-hot, backward the soft sample's gradient
    gradstep.manual_seed(3)
    y = gradstep.nn.functional.gumbel_softmax(logits, tau=0.7, hard=True)
    (y * gradstep.tensor([1.0, 2.0, 3.0])).sum().backward()
    g_hard = logits.grad.numpy().copy()
    logits.grad = None
    gradstep.manual_seed(3)
    y = gradstep.nn.functional.gumbel_softmax(logits, tau=0.7)
    (y * gradstep.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(g_hard, logits.grad.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match="eps"):
        gradstep.nn.functional.gumbel_softmax(logits, eps=1e-3)


def test_feature_alpha_dropout():
    x = gradstep.ones(200, 50, 3)
    gradstep.manual_seed(0)
    y = gradstep.nn.functional.feature_alpha_dropout(x, 0.3, training=True).numpy()
    assert np.all(y == y[:, :, :1])  # one draw per (sample, channel)
    dropped = np.isclose(y[..., 0], y[..., 0].min())
    assert abs(dropped.mean() - 0.3) < 4 * np.sqrt(0.21 / dropped.size)
    assert gradstep.nn.functional.feature_alpha_dropout(x, 0.3) is x  # eval: identity
    m, tm = gradstep.nn.FeatureAlphaDropout(0.2), torch.nn.FeatureAlphaDropout(0.2)
    assert repr(m) == repr(tm)
    for L in (torch, gradstep):
        with pytest.raises(RuntimeError):
            L.nn.functional.feature_alpha_dropout(L.ones(3), 0.5, True)
        assert float(L.nn.functional.feature_alpha_dropout(L.ones(2, 3), 1.0, True).abs().sum()) \
            == 0


def test_container():
    with pytest.warns(FutureWarning):
        c = gradstep.nn.Container(a=gradstep.nn.Linear(2, 3), b=gradstep.nn.ReLU())
    with pytest.warns(FutureWarning):
        tc = torch.nn.Container(a=torch.nn.Linear(2, 3), b=torch.nn.ReLU())
    assert repr(c) == repr(tc) and list(c.state_dict()) == list(tc.state_dict())


@pytest.mark.parametrize("c,size", [(6, 3), (5, 2), (7, 5), (3, 4), (8, 6)])
def test_cross_map_lrn2d_forward_and_torchs_backward(c, size):
    ours = gradstep.nn.CrossMapLRN2d(size, 0.5, 0.7, 2)
    theirs = torch.nn.CrossMapLRN2d(size, 0.5, 0.7, 2)
    assert repr(ours) == repr(theirs)
    # torch's legacy backward is not the derivative of its own forward (its windows differ),
    # so the gradients are compared with torch's rather than gradchecked; running sums
    # against window sums: a few ulps, within the float32 tolerance scaled by 10
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [(2, c, 3, 2)], scale=10)
    x = gradstep.randn(1, c, 2, 2, requires_grad=True)
    assert type(ours(x).grad_fn).__name__ == "CrossMapLRN2dBackward"
    with pytest.raises(ValueError, match="Expected input to be 4D, got 3D"):
        ours(gradstep.zeros(2, 3, 4))


def test_cross_map_lrn2d_gradient_is_torchs_not_the_derivative():
    """The found case: torch's input gradient differs from the true one by 4e-4 relative
    (size 3, alpha 1e-4); gradstep's must be torch's."""
    x = np.random.default_rng(0).standard_normal((2, 5, 4, 4)).astype(np.float32)
    grads = []
    for L in (gradstep, torch):
        t = L.tensor(x * 30, requires_grad=True)
        L.nn.CrossMapLRN2d(3)(t).pow(2).sum().backward()
        grads.append(t.grad)
    assert_close(grads[0], grads[1], "float32", scale=10)
    t = gradstep.tensor(x.astype(np.float64) * 30, requires_grad=True)
    assert not gradcheck(gradstep.nn.CrossMapLRN2d(3, alpha=0.5), (t[:1, :, :2, :2].detach()
                                                                  .requires_grad_(),),
                         raise_exception=False)


# ---- found by tests/nn/test_functional_differential.py
def test_pdist_p0_has_a_zero_gradient_as_torch():
    import numpy as np

    from tests.ops.fuzz_ops import disagreement
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert disagreement(lambda L, x: L.nn.functional.pdist(x, 0.0), x) is None


@pytest.mark.parametrize("p", [0, 0.5, 1, 2, 3, float("inf")])
@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_pairwise_distance_is_the_norm_of_the_difference_plus_eps(p, eps):
    from tests.ops.fuzz_ops import disagreement
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    for x1, x2 in ((a, b), (a[0], b), (a, a.copy()), (np.asarray(a[0, 0]), np.asarray(b[0, 0]))):
        for keepdim in (False, True):
            assert disagreement(lambda L, x1, x2, k=keepdim: L.nn.functional.pairwise_distance(
                x1, x2, p=p, eps=eps, keepdim=k), x1, x2, tol="sum", n=24) is None


@pytest.mark.parametrize("eps", [1e-8, 0.5, 3.0])
def test_cosine_similarity_broadcasts_first_and_clamps_norms_in_value_only(eps):
    from tests.ops.fuzz_ops import disagreement
    rng = np.random.default_rng(0)
    cases = [((3, 4), ()), ((4, 1, 3), ()), ((), (3,)), ((2, 3), (3,)), ((1, 3), (2, 1))]
    for s1, s2 in cases:
        x1, x2 = np.asarray(rng.standard_normal(s1) * 0.1), np.asarray(rng.standard_normal(s2))
        nd = max(len(s1), len(s2))
        for dim in range(-nd, nd):
            assert disagreement(lambda L, a, b, d=dim: L.nn.functional.cosine_similarity(
                a, b, dim=d, eps=eps), x1, x2, tol="sum", n=32) is None
    ints = np.arange(3)
    assert disagreement(lambda L, a, b: L.nn.functional.cosine_similarity(a, b, dim=0), ints,
                        np.arange(3.0, dtype=np.float32), rg=False, tol="sum", n=8) is None
    with pytest.raises(RuntimeError, match="common dtype to be floating point"):
        gradstep.nn.functional.cosine_similarity(gradstep.arange(3), gradstep.arange(3), dim=0)


def test_inf_distances_give_every_tied_max_the_full_gradient():
    # torch's pdist/cdist kernels for p = inf: sign(d) * grad where |d| is the max (an inf max
    # gives NaN there), not amax's share among ties
    from tests.ops.fuzz_ops import disagreement
    x = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [np.nan, 1, 2], [np.inf, 0, 0]])
    inf = float("inf")
    for rows in ([0, 1], [0, 1, 2], [0, 1, 3], [0]):
        assert disagreement(lambda L, a: L.nn.functional.pdist(a, inf), x[rows], tol="sum",
                            n=8) is None
        assert disagreement(lambda L, a: L.pdist(a, inf), x[rows], tol="sum", n=8) is None
    assert disagreement(lambda L, a, b: L.cdist(a, b, inf), x[:1], x[1:2], tol="sum",
                        n=8) is None

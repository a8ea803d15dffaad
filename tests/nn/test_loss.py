"""Losses (modules and functional forms) against torch: values and every gradient."""

import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.autograd import gradcheck
from tests.helpers import assert_close
from tests.nn.bad_input import assert_same_outcome, rand
from tests.ops.fuzz_ops import disagreement

REDUCTIONS = ["none", "mean", "sum"]


def _run(build, arrays, dt, grad_inputs, ints=(), scale=1.0):
    """``build(lib, *tensors)`` -> loss in both libs; compares the value and input grads."""
    results = []
    for lib in (gradstep, torch):
        ts = []
        for i, a in enumerate(arrays):
            if i in ints:
                ts.append(lib.tensor(a))
            else:
                ts.append(lib.tensor(a.astype(dt), requires_grad=i in grad_inputs))
        out = build(lib, *ts)
        w = np.random.default_rng(7).standard_normal(tuple(out.shape)).astype(dt)
        (out * lib.tensor(w)).sum().backward()
        results.append((out, ts))
    (out, xs), (tout, tts) = results
    assert out.dtype.name == str(tout.dtype).replace("torch.", "")
    assert_close(out, tout, dt, scale, what=f"loss ({dt})")
    for i in grad_inputs:
        assert_close(xs[i].grad, tts[i].grad, dt, scale, what=f"grad of input {i} ({dt})")


def _rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------- cross-entropy and NLL
@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_class_indices(dt, reduction, weighted, smoothing):
    r = _rng()
    x = r.normal(size=(6, 5)) * 3
    t = np.array([0, 4, 2, -100, 2, 1])
    w = r.uniform(0.2, 2.0, 5)

    def build(L, x, t, w):
        loss = L.nn.CrossEntropyLoss(weight=w if weighted else None, reduction=reduction,
                                     label_smoothing=smoothing)
        return loss(x, t)

    _run(build, [x, t, w], dt, grad_inputs=(0,), ints=(1,))


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 2, 3), (6,)])
def test_cross_entropy_plain_targets_match_torch_and_the_weighted_path(dt, reduction, shape):
    """No weight, no smoothing, every target a class: the lean path. It must agree with torch
    and, bit for bit, with the general path (unit weights), forward and backward."""
    r = np.random.default_rng(3)
    x = r.normal(size=shape) * 4
    t_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = r.integers(0, shape[0] if len(shape) == 1 else shape[1], size=t_shape)
    _run(lambda L, x, t: L.nn.functional.cross_entropy(x, t, reduction=reduction), [x, t], dt,
         grad_inputs=(0,), ints=(1,))
    c = shape[0] if len(shape) == 1 else shape[1]
    results = []
    for weight in (None, gradstep.ones(c, dtype=getattr(gradstep, dt))):
        xt = gradstep.tensor(x.astype(dt), requires_grad=True)
        out = nn.functional.cross_entropy(xt, gradstep.tensor(t), weight=weight, reduction=reduction)
        out.backward(gradstep.ones_like(out) * 0.75)
        results.append((out.detach().numpy(), xt.grad.numpy()))
    (plain, plain_grad), (general, general_grad) = results
    np.testing.assert_array_equal(plain, general)
    np.testing.assert_array_equal(plain_grad, general_grad)


def test_cross_entropy_plain_targets_double_backward_and_target_checks():
    r = np.random.default_rng(5)
    x = r.normal(size=(4, 6))
    t = np.array([5, 0, 3, 3])
    grads = []
    for lib in (gradstep, torch):
        xt = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xt, lib.tensor(t))
        (g,) = lib.autograd.grad(loss, xt, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), xt)
        grads.append(gg.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)
    xt = gradstep.tensor(x.astype("float32"))
    with pytest.raises(IndexError, match="Target 6 is out of bounds"):
        nn.functional.cross_entropy(xt, gradstep.tensor([6, 0, 1, 1]))
    # uint8 targets, and an ignore_index that is a class, take the general path and agree
    for lib in (gradstep, torch):
        out = lib.nn.functional.cross_entropy(lib.tensor(x), lib.tensor(t.astype(np.uint8)))
        grads.append(out.item())
    assert grads[2] == pytest.approx(grads[3], rel=1e-12)
    ign = [lib.nn.functional.cross_entropy(lib.tensor(x), lib.tensor(t), ignore_index=3).item()
           for lib in (gradstep, torch)]
    assert ign[0] == pytest.approx(ign[1], rel=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_with_ignore_index(reduction):
    r = _rng()
    x = r.normal(size=(2, 4, 3, 5))
    t = r.integers(0, 4, size=(2, 3, 5))
    t[0, 1, 2] = 2
    w = r.uniform(0.5, 1.5, 4)
    for dt in ("float32", "float64"):
        _run(lambda L, x, t, w: L.nn.functional.cross_entropy(
            x, t, weight=w, ignore_index=2, reduction=reduction, label_smoothing=0.1),
            [x, t, w], dt, grad_inputs=(0,), ints=(1,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(reduction, weighted):
    r = _rng()
    x = r.normal(size=(3, 4, 2))
    t = r.dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1).copy()
    w = r.uniform(0.5, 1.5, 4)
    for dt in ("float32", "float64"):
        _run(lambda L, x, t, w: L.nn.functional.cross_entropy(
            x, t, weight=w if weighted else None, reduction=reduction, label_smoothing=0.15),
            [x, t, w], dt, grad_inputs=(0, 1))


def test_cross_entropy_unbatched_and_extreme_logits():
    for dt in ("float32", "float64"):
        _run(lambda L, x, t: L.nn.functional.cross_entropy(x, t), [np.array([1.0, -2.0, 0.5]),
             np.array(2)], dt, grad_inputs=(0,), ints=(1,))
        x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5e3, 5e3, -1e4]])
        _run(lambda L, x, t: L.nn.functional.cross_entropy(x, t, reduction="none"),
             [x, np.array([1, 2, 0])], dt, grad_inputs=(0,), ints=(1,))
        out = nn.functional.cross_entropy(gradstep.tensor(x.astype(dt), requires_grad=True),
                                          gradstep.tensor([1, 2, 0]))
        assert np.isfinite(out.item())


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = gradstep.randn(3, 4)
    t = gradstep.tensor([-100, -100, -100])
    assert np.isnan(nn.functional.cross_entropy(x, t).item())
    assert nn.functional.cross_entropy(x, t, reduction="sum").item() == 0.0


def test_cross_entropy_gradcheck():
    x = gradstep.randn(4, 5, dtype=gradstep.float64, requires_grad=True)
    t = gradstep.tensor([1, 0, 4, 4])
    w = gradstep.rand(5, dtype=gradstep.float64) + 0.5
    assert gradcheck(lambda x: nn.functional.cross_entropy(x, t, weight=w, label_smoothing=0.3), (x,))
    p = gradstep.rand(4, 5, dtype=gradstep.float64, requires_grad=True)
    assert gradcheck(lambda x, p: nn.functional.cross_entropy(x, p, reduction="none"), (x, p))


def test_cross_entropy_errors():
    F = nn.functional
    x = gradstep.randn(3, 4)
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(x, gradstep.tensor([1, 2, 7]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, gradstep.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="Long or Byte, but got Int"):
        F.cross_entropy(x, gradstep.tensor([1, 2, 3], dtype=gradstep.int32))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 5\], got \[2, 4\]"):
        F.cross_entropy(gradstep.randn(2, 4, 5), gradstep.zeros(2, 4, dtype=gradstep.int64))
    with pytest.raises(RuntimeError, match="all 4 classes"):
        F.cross_entropy(x, gradstep.tensor([1, 2, 3]), weight=gradstep.ones(3))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, gradstep.tensor([1, 2, 3]), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    r = _rng()
    x = r.normal(size=(5, 3, 2))
    t = np.array([[0, 2], [1, 1], [2, -1], [0, 0], [1, 2]])
    w = r.uniform(0.5, 1.5, 3)
    for dt in ("float32", "float64"):
        _run(lambda L, x, t, w: L.nn.NLLLoss(weight=w, ignore_index=-1, reduction=reduction)(
            L.nn.functional.log_softmax(x, 1), t), [x, t, w], dt, grad_inputs=(0,), ints=(1,))


# ---------------------------------------------------------------- elementwise losses
ELEMENTWISE = [
    ("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"beta": 0.0}),
    ("HuberLoss", {"delta": 0.7}), ("SoftMarginLoss", {}),
]


@pytest.mark.parametrize("name,kw", ELEMENTWISE, ids=[f"{n}{k}" for n, k in ELEMENTWISE])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses(name, kw, reduction):
    r = _rng()
    x, t = r.normal(size=(4, 5)), r.normal(size=(4, 5))
    for dt in ("float32", "float64"):
        _run(lambda L, x, t: getattr(L.nn, name)(reduction=reduction, **kw)(x, t), [x, t], dt,
             grad_inputs=(0,) if name == "SoftMarginLoss" else (0, 1))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_losses(name, reduction):
    r = _rng()
    arrays = [r.normal(size=(3, 4)), r.normal(size=(3, 4)), r.uniform(0.1, 2, (3, 4))]
    for dt in ("float32", "float64"):
        _run(lambda L, x, t, w: getattr(L.nn.functional, name)(x, t, reduction=reduction, weight=w),
             arrays, dt, grad_inputs=(0, 1, 2))


def test_mse_warns_on_broadcast():
    with pytest.warns(UserWarning, match="different to the input size"):
        nn.functional.mse_loss(gradstep.randn(3, 1), gradstep.randn(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_and_bce_with_logits(reduction):
    r = _rng()
    p = r.uniform(0.02, 0.98, (4, 3))
    t = r.uniform(0, 1, (4, 3))
    w = r.uniform(0.5, 1.5, (4, 3))
    pw = r.uniform(0.5, 3, (3,))
    logits = r.normal(size=(4, 3)) * 4
    for dt in ("float32", "float64"):
        _run(lambda L, p, t, w: L.nn.BCELoss(weight=w, reduction=reduction)(p, t), [p, t, w], dt,
             grad_inputs=(0, 1))
        _run(lambda L, x, t, w, pw: L.nn.BCEWithLogitsLoss(weight=w, pos_weight=pw,
                                                           reduction=reduction)(x, t),
             [logits, t, w, pw], dt, grad_inputs=(0, 1))
        _run(lambda L, x, t: L.nn.functional.binary_cross_entropy_with_logits(x, t, reduction=reduction),
             [logits * 100, t], dt, grad_inputs=(0, 1))


def test_bce_extremes_and_errors():
    for dt in ("float32", "float64"):
        _run(lambda L, p, t: L.nn.functional.binary_cross_entropy(p, t, reduction="none"),
             [np.array([0.0, 1.0, 1e-30, 0.5]), np.array([1.0, 0.0, 1.0, 0.5])], dt,
             grad_inputs=(0,))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        nn.functional.binary_cross_entropy(gradstep.tensor([1.5]), gradstep.tensor([1.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        nn.functional.binary_cross_entropy(gradstep.rand(3), gradstep.rand(3, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    r = _rng()
    x = np.log(r.dirichlet(np.ones(5), size=3))
    t = r.dirichlet(np.ones(5), size=3)
    if log_target:
        t = np.log(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dt in ("float32", "float64"):
            _run(lambda L, x, t: L.nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, t),
                 [x, t], dt, grad_inputs=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses(reduction):
    r = _rng()
    a, b = r.normal(size=(6, 4)), r.normal(size=(6, 4))
    y = np.array([1.0, -1, 1, -1, -1, 1])
    for dt in ("float32", "float64"):
        _run(lambda L, a, b, y: L.nn.CosineEmbeddingLoss(margin=0.1, reduction=reduction)(a, b, y),
             [a, b, y], dt, grad_inputs=(0, 1))
        _run(lambda L, a, b, y: L.nn.MarginRankingLoss(0.2, reduction=reduction)(a[:, 0], b[:, 0], y),
             [a, b, y], dt, grad_inputs=(0, 1))
        _run(lambda L, a, y: L.nn.HingeEmbeddingLoss(0.5, reduction=reduction)(a[:, 0], y),
             [a, y], dt, grad_inputs=(0,))
        _run(lambda L, a, b: L.nn.TripletMarginLoss(margin=1.5, reduction=reduction)(a, b, b.flip(0)),
             [a, b], dt, grad_inputs=(0, 1))
        _run(lambda L, a, b: L.nn.MultiLabelSoftMarginLoss(reduction=reduction)(a, (b > 0).to(a.dtype)),
             [a, b], dt, grad_inputs=(0,))
        for p in (1, 2):
            _run(lambda L, a, t, w, p=p: L.nn.MultiMarginLoss(p=p, margin=0.7, weight=w,
                                                              reduction=reduction)(a, t),
                 [a, np.array([0, 3, 2, 1, 1, 0]), np.linspace(0.5, 2, 4)], dt, grad_inputs=(0,),
                 ints=(1,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_and_gaussian_nll(reduction):
    r = _rng()
    x, t, v = r.normal(size=(3, 4)), r.poisson(2.0, (3, 4)).astype(float), r.uniform(0.1, 2, (3, 4))
    for dt in ("float32", "float64"):
        _run(lambda L, x, t: L.nn.PoissonNLLLoss(full=True, reduction=reduction)(x, t), [x, t], dt,
             grad_inputs=(0,))
        _run(lambda L, x, t, v: L.nn.GaussianNLLLoss(reduction=reduction)(x, t, v), [x, t, v], dt,
             grad_inputs=(0, 1, 2))


def test_loss_module_state_dict_and_repr():
    w = np.array([1.0, 2.0, 3.0], dtype="float32")
    ours, theirs = nn.CrossEntropyLoss(weight=gradstep.tensor(w)), torch.nn.CrossEntropyLoss(
        weight=torch.tensor(w))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert repr(ours) == repr(theirs) == "CrossEntropyLoss()"
    b, tb = nn.BCEWithLogitsLoss(pos_weight=gradstep.ones(2)), torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.ones(2))
    assert list(b.state_dict()) == list(tb.state_dict())
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"


@pytest.mark.parametrize("name,build", [
    ("nll", lambda F, x, t: F.nll_loss(x.log_softmax(1), gradstep.tensor([3, 0, 1]),
                                       weight=t[0].detach(), reduction="mean")),
    ("mse", lambda F, x, t: F.mse_loss(x, t)),
    ("smooth_l1", lambda F, x, t: F.smooth_l1_loss(x, t, beta=0.3)),
    ("huber", lambda F, x, t: F.huber_loss(x, t, delta=0.4, reduction="none")),
    ("bce", lambda F, x, t: F.binary_cross_entropy(x.sigmoid(), t)),
    ("bce_logits", lambda F, x, t: F.binary_cross_entropy_with_logits(
        x, t, pos_weight=gradstep.tensor([1.0, 2.0, 0.5, 3.0], dtype=gradstep.float64))),
    ("kl", lambda F, x, t: F.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean")),
    ("cosine", lambda F, x, t: F.cosine_embedding_loss(x, t, gradstep.tensor([1.0, -1, 1]))),
])
def test_losses_gradcheck(name, build):
    r = np.random.default_rng(3)
    x = gradstep.tensor(r.normal(size=(3, 4)), requires_grad=True)
    t = gradstep.tensor(r.uniform(0.05, 0.95, (3, 4)), requires_grad=name != "nll")
    inputs = (x,) if name == "nll" else (x, t)
    fn = (lambda x: build(nn.functional, x, t)) if name == "nll" else \
        (lambda x, t: build(nn.functional, x, t))
    assert gradcheck(fn, inputs)


def L_t(F, v):
    return (gradstep if F is nn.functional else torch).tensor(v)


def L_w(F):
    return (gradstep if F is nn.functional else torch).tensor([0.5, 1.0, 2.0, 1.5],
                                                              dtype=torch.float64
                                                              if F is not nn.functional
                                                              else gradstep.float64)


def test_fused_losses_and_double_backward():
    # cross-entropy (index and probability targets) and NLL: second derivatives equal torch's
    r = np.random.default_rng(5)
    xa = r.normal(size=(3, 4, 2))
    cases = [
        (lambda F, x: F.cross_entropy(x, L_t(F, [[0, 3], [1, -100], [2, 2]]), weight=L_w(F),
                                      label_smoothing=0.2)),
        (lambda F, x: F.cross_entropy(x, L_t(F, [[0, 3], [1, 1], [2, 2]]), reduction="none")),
        (lambda F, x: F.cross_entropy(x, (x.detach() * 0.7).softmax(1), reduction="sum",
                                      label_smoothing=0.1, weight=L_w(F))),
        (lambda F, x: F.nll_loss(x.log_softmax(1), L_t(F, [[0, 3], [1, 1], [2, 2]]))),
    ]
    for build in cases:
        grads = []
        for lib in (gradstep, torch):
            x = lib.tensor(xa, requires_grad=True)
            out = build(lib.nn.functional, x)
            (g,) = lib.autograd.grad(out.sum(), x, create_graph=True)
            (g * g * lib.tensor(xa)).sum().backward()
            grads.append((g.detach().numpy(), x.grad.numpy()))
        np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)
    # BCE's backward switches to Tensor ops under create_graph
    p = gradstep.tensor([0.2, 0.7, 0.9], dtype=gradstep.float64, requires_grad=True)
    y = gradstep.tensor([0.0, 1.0, 0.3], dtype=gradstep.float64)
    (gp,) = gradstep.autograd.grad(nn.functional.binary_cross_entropy(p, y), p, create_graph=True)
    gp.sum().backward()
    tp = torch.tensor(p.detach().numpy(), requires_grad=True)
    (tgp,) = torch.autograd.grad(torch.nn.functional.binary_cross_entropy(
        tp, torch.tensor(y.numpy())), tp, create_graph=True)
    tgp.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10)


def test_cross_entropy_all_targets_ignored_has_zero_gradient():
    # found by the differential fuzzer: mean over no rows is NaN, but the gradient is 0
    x = np.array([[0.5, 1.0, -2.0], [1.0, 2.0, 0.0]])
    t = np.array([1, 1])
    for eps in (0.0, 0.1):
        assert disagreement(lambda L, a, b, eps=eps: L.nn.functional.cross_entropy(
            a, b, ignore_index=1, label_smoothing=eps), x, t, tol="sum", n=6) is None


def _error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the oracle's exception is compared, whatever it is
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("inp,tgt", [("float32", "int64"), ("float32", "bool"),
                                     ("float32", "float64"), ("float64", "float32"),
                                     ("float32", "float32")])
def test_bce_refuses_a_target_of_another_dtype(inp, tgt):
    """nn.BCELoss()(probs, long_labels) raises in torch ("Found dtype Long but expected Float")."""
    def call(lib):
        x = lib.full((3,), 0.5, dtype=getattr(lib, inp))
        return lib.nn.functional.binary_cross_entropy(x, lib.ones(3, dtype=getattr(lib, tgt)))
    assert _error_of(lambda: call(gradstep)) == _error_of(lambda: call(torch))


@pytest.mark.parametrize("tgt", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_refuses_integer_targets(tgt, pos_weight):
    def call(lib):
        kw = {"pos_weight": lib.full((3,), 2.0)} if pos_weight else {}
        return lib.nn.functional.binary_cross_entropy_with_logits(
            lib.zeros(3), lib.ones(3, dtype=getattr(lib, tgt)), **kw)
    theirs = _error_of(lambda: call(torch))
    assert theirs is not None and _error_of(lambda: call(gradstep)) == theirs


# ---- found by tests/nn/test_functional_differential.py
def test_cross_entropy_probability_target_refuses_a_nonnegative_ignore_index():
    x, t = gradstep.randn(2, 3), gradstep.softmax(gradstep.randn(2, 3), 1)
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point"):
        gradstep.nn.functional.cross_entropy(x, t, ignore_index=0)
    gradstep.nn.functional.cross_entropy(x, t, ignore_index=-5)  # torch lets a negative one pass


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_nll_full_differentiates_the_stirling_term_in_the_target(log_input):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, 6)
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 1.5])
    assert disagreement(lambda L, x, t: L.nn.functional.poisson_nll_loss(
        x, t, log_input=log_input, full=True, reduction="sum"), x, t, tol="sum", n=24) is None


@pytest.mark.parametrize(("name", "label_smoothing"),
                         [("nll_loss", 0.0), ("cross_entropy", 0.0), ("cross_entropy", 0.2)])
@pytest.mark.parametrize("targets", [[-100, -100, -100], [0, 0, -100], [1, 2, -100]])
def test_class_losses_when_every_target_is_ignored_or_weighted_zero(name, targets,
                                                                    label_smoothing):
    # a batch of padding only: torch's mean is nan, its gradient 0 on ignored rows (not NaN,
    # which would reach the parameters); a valid row of weight 0 does get torch's NaN
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.array(targets)
    w = np.array([0.0, 1.0, 1.0, 1.0])
    kw = {"label_smoothing": label_smoothing} if label_smoothing else {}
    for red in REDUCTIONS:
        def call(L, x, t, red=red):
            return getattr(L.nn.functional, name)(x, t, reduction=red, **kw)
        assert disagreement(call, x, t, tol="sum", n=16) is None
        assert disagreement(lambda L, x, t, w, red=red: getattr(L.nn.functional, name)(
            x, t, weight=w.detach(), reduction=red, **kw), x, t, w, tol="sum", n=16) is None


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_all_ignored_gradient_under_create_graph_is_zero(name):
    grads = []
    for L in (gradstep, torch):
        x = L.tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
        loss = getattr(L.nn.functional, name)(x, L.tensor([-100, -100]))
        (g,) = L.autograd.grad(loss, x, create_graph=True)
        grads.append(g.detach().numpy())
    assert np.isnan(grads[1]).sum() == 0
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("name", ["smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_smooth_losses_at_infinite_and_nan_differences(name, dt):
    # the quadratic branch must not see an inf difference (0 * inf in its gradient); a NaN
    # difference takes that branch, as torch's kernel, so its gradient is NaN
    x = np.array([np.inf, -np.inf, np.nan, 0.3, -2.0, 1.0, 0.0, 5.0], dt)
    t = np.array([0.0, 1.0, 0.0, np.inf, 0.0, 0.0, np.nan, 4.5], dt)
    for red in REDUCTIONS:
        for size in (8, 1):
            assert disagreement(lambda L, a, b, red=red: getattr(L.nn.functional, name)(
                a, b, reduction=red), x[:size].reshape(() if size == 1 else (8,)),
                t[:size].reshape(() if size == 1 else (8,)), tol="sum", n=16) is None


def test_hinge_embedding_loss_inf_inputs_and_targets_other_than_plus_minus_one():
    x = np.array([np.inf, -np.inf, np.nan, 0.3, -2.0, 1.0, 0.0, 5.0])
    t = np.array([-1, 1, 1, 0, -1, 2, 1, -1.0])  # torch: neither 1 nor -1 gets both terms
    for red in REDUCTIONS:
        assert disagreement(lambda L, a, b, red=red: L.nn.functional.hinge_embedding_loss(
            a, b, margin=0.5, reduction=red), x, t, tol="sum", n=16) is None
    assert disagreement(lambda L, a, b: L.nn.functional.hinge_embedding_loss(a, b),
                        x[:1].reshape(()), t[:1].reshape(()), tol="sum", n=4) is None


@pytest.mark.parametrize("weight", [None, "0-d", "full"])
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_gradient_at_zero_logits(weight, pos_weight):
    # at x = 0 the gradient is sigmoid(0) - t (scaled): one smooth op, not a max + |x| kink
    x = np.array([[0.0, -0.0, 2.0], [-1.5, 0.0, 30.0]])
    t = np.array([[0.2, 0.7, 1.0], [0.0, 0.5, 0.3]])
    kw = {}
    if weight == "0-d":
        kw["weight"] = np.array(-0.9)
    elif weight == "full":
        kw["weight"] = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, 1.5]])
    if pos_weight:
        kw["pos_weight"] = np.array([1.4, 2.2, 0.5])
    consts = {k: (lambda L, a=v: L.tensor(a)) for k, v in kw.items()}
    for red in REDUCTIONS:
        assert disagreement(lambda L, a, b, red=red: L.nn.functional.binary_cross_entropy_with_logits(
            a, b, reduction=red, **{k: f(L) for k, f in consts.items()}), x, t, tol="sum",
            n=16) is None


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("margin", [1.0, 0.5, 0.0])
def test_multi_margin_loss_at_hinge_ties_and_nan(p, margin):
    # torch's kernel counts only margin - x_y + x_j > 0: no gradient where it is 0, and a NaN
    # input adds nothing
    x = np.array([[1.0, 0.0, np.nan, 0.5], [2.0, np.inf, 1.0, 1.0], [-np.inf, 0.0, 0.0, 1.0],
                  [0.5, 1.5, 0.0, 0.5]])
    t = np.array([0, 2, 3, 1])
    w = np.array([0.5, 2.0, 1.0, -1.0])
    for red in REDUCTIONS:
        assert disagreement(lambda L, a, b, red=red: L.nn.functional.multi_margin_loss(
            a, b, p=p, margin=margin, reduction=red), x, t, tol="sum", n=16) is None
        assert disagreement(lambda L, a, b, red=red: L.nn.functional.multi_margin_loss(
            a, b, p=p, margin=margin, weight=L.tensor(w), reduction=red), x, t, tol="sum",
            n=16) is None


def test_bce_target_gradient_is_the_unclamped_negative_logit():
    # torch clamps the forward's logs at -100 but not the target's gradient, -logit(x)
    x = np.array([0.0, 1.0, 0.5, 1e-30, 0.999])
    t = np.array([0.3, 0.6, 1.0, 0.0, 0.5])
    for dt in ("float32", "float64"):
        for red in REDUCTIONS:
            assert disagreement(lambda L, a, b, red=red: L.nn.functional.binary_cross_entropy(
                a, b, reduction=red), x.astype(dt), t.astype(dt), tol="sum", n=20) is None


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_ignored_rows_are_zero_even_with_inf_or_nan_inputs(name):
    x = np.array([[0.5, np.inf, 1.0], [np.nan, 0.2, 0.1], [-np.inf, 1, 2], [1, 2, 3]])
    for t in ([-100, -100, 0, 1], [2, 1, -100, 1]):
        for red in REDUCTIONS:
            for ls in ((0.0, 0.3) if name == "cross_entropy" else (0.0,)):
                kw = {"label_smoothing": ls} if ls else {}
                assert disagreement(lambda L, a, b, red=red, kw=kw: getattr(L.nn.functional, name)(
                    a, b, reduction=red, **kw), x, np.array(t), tol="sum", n=16) is None


def test_cosine_embedding_loss_uses_torchs_float_epsilon():
    # torch adds a float32 1e-12 to the squared norms: visible in the gradient at a zero vector
    x1 = np.array([[-0.2562148, 0.07992672], [-0.968235, 0.80974884]])
    x2 = np.array([[-0.0, 0.0], [2.0, 1.5]])
    for red in REDUCTIONS:
        assert disagreement(lambda L, a, b, red=red: L.nn.functional.cosine_embedding_loss(
            a, b, L.tensor([1.0, -1.0]), margin=-0.5, reduction=red), x1, x2, tol="sum",
            n=32) is None


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_of_empty_tensors_backpropagates_like_torch(reduction):
    """Found by the ops fuzzer: the mean's 2 / numel divided by zero in backward."""
    outs = []
    for lib in (gradstep, torch):
        a = lib.zeros(3, 0, requires_grad=True)
        loss = lib.nn.functional.mse_loss(a, lib.zeros(3, 0), reduction=reduction)
        loss.sum().backward()
        outs.append((loss.detach().numpy(), a.grad.shape))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    assert tuple(outs[0][1]) == tuple(outs[1][1]) == (3, 0)


@pytest.mark.parametrize("pos_weight", [[0.5, 1.0, 2.0], [0.3, 0.0, 1.0]])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_target_gradient_at_infinite_logits(pos_weight, reduction):
    # torch's target gradient pos_weight * softplus(-x) - softplus(x): inf at x = -inf where
    # a pos_weight below 1 made the composition's (pos_weight - 1) * softplus(-x) - x NaN
    x = np.array([[-np.inf, np.inf, -np.inf], [1.5, -np.inf, np.inf]])
    t = np.array([[0.2, 0.7, 0.4], [0.0, 0.5, 0.3]])
    pw = np.array(pos_weight)
    grads = []
    for L in (gradstep, torch):
        a, b = L.tensor(x, requires_grad=True), L.tensor(t, requires_grad=True)
        loss = L.nn.functional.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                                pos_weight=L.tensor(pw))
        loss.backward(L.ones_like(loss))
        grads.append(b.grad.numpy())
    assert np.isinf(grads[1][0, 0])  # the case: torch's inf where the composition is NaN
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, equal_nan=True)
    assert disagreement(lambda L, a, b: L.nn.functional.binary_cross_entropy_with_logits(
        a, b, reduction=reduction, pos_weight=L.tensor(pw)), x, t, tol="sum", n=16) is None


ELEMENTWISE_LOSS_DTYPES = [("int64", "float32"), ("int64", "int64"), ("float32", "int64"),
                           ("float32", "float64"), ("float64", "float32"), ("bool", "float32")]


@pytest.mark.parametrize("fn", ["huber_loss", "soft_margin_loss", "smooth_l1_loss", "mse_loss",
                                "l1_loss", "kl_div"])
@pytest.mark.parametrize("xd,td", ELEMENTWISE_LOSS_DTYPES,
                         ids=[f"x={a}-t={b}" for a, b in ELEMENTWISE_LOSS_DTYPES])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_elementwise_loss_dtypes_match_torch(fn, xd, td, reduction):
    """huber/soft_margin write into an input-like output (its dtype; no float result into an
    integer input); mse/smooth_l1/huber have no integer kernel; kl_div refuses integers."""
    if fn == "smooth_l1_loss" and xd == "bool":
        pytest.skip("torch promotes a bool input; gradstep refuses bool subtraction (left)")
    tol = "float32" if "float32" in (xd, td) else None  # a float32 operand's precision
    assert_same_outcome(lambda L: getattr(L.nn.functional, fn)(
        rand(L, (2, 3), xd), rand(L, (2, 3), td, seed=1), reduction=reduction), tol_dtype=tol)


@pytest.mark.parametrize("x_shape,t_shape", [((3,), (2, 3)), ((2, 1), (2, 3)), ((), (2, 3)),
                                             ((2, 3), (3,)), ((2, 3), (2, 1)), ((2, 3), ())])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_soft_margin_target_must_broadcast_to_the_input_as_in_torch(x_shape, t_shape, reduction):
    assert_same_outcome(lambda L: L.nn.SoftMarginLoss(reduction=reduction)(
        rand(L, x_shape), rand(L, t_shape, seed=1).sign()))


@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("x_shape,t_shape", [((3,), ()), ((2, 3), (2,)), ((2, 3, 4), (2, 4))])
@pytest.mark.parametrize("xd,wd", [("float32", "float64"), ("float64", "float32"),
                                   ("float32", "bfloat16"), ("int64", None), ("int64", "float32"),
                                   ("float32", None)])
def test_class_loss_input_and_weight_dtypes_match_torch(fn, x_shape, t_shape, xd, wd):
    """A class weight must share the input's dtype; nll_loss has no integer kernel."""
    assert_same_outcome(lambda L: getattr(L.nn.functional, fn)(
        rand(L, x_shape, xd), L.zeros(t_shape, dtype=L.int64),
        weight=None if wd is None else rand(L, (3,), wd, seed=1).abs()))


_CLASS_INPUTS = [(), (3,), (2, 3), (2, 3, 4), (2, 3, 4, 5), (0, 3)]
_CLASS_TARGETS = [(), (1,), (2,), (3,), (2, 3), (2, 4), (2, 3, 4), (2, 4, 5)]


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("x_shape", _CLASS_INPUTS)
@pytest.mark.parametrize("t_shape", _CLASS_TARGETS)
@pytest.mark.parametrize("t_dtype", ["int64", "float32", "int32", "uint8"])
def test_class_target_mistakes_raise_as_torch(fn, x_shape, t_shape, t_dtype):
    """The common mistakes (a float target of class indices, a target of another batch size,
    a 2-D target for 2-D input) meet torch's checks in torch's order: batch size before the
    target dtype, the target's rank, then its sizes."""
    def build(L):
        x = rand(L, x_shape)
        t = L.tensor(np.random.default_rng(1).integers(0, 2, t_shape), dtype=getattr(L, t_dtype))
        return getattr(L.nn.functional, fn)(x, t)
    assert_same_outcome(build)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("x_shape,target", [
    ((2, 3), [0, 3]), ((2, 3), [0, -1]), ((3,), 3), ((3,), [1]), ((2, 3, 4), [[0, 1, 2, 3], [0] * 4]),
    ((2, 3, 4, 5), [[[7] * 5] * 4] * 2)])
@pytest.mark.parametrize("kw", [{}, {"ignore_index": 3}, {"reduction": "none"}, {"reduction": "sum"}])
def test_out_of_range_class_indices_raise_as_torch(fn, x_shape, target, kw):
    assert_same_outcome(lambda L: getattr(L.nn.functional, fn)(rand(L, x_shape), L.tensor(target),
                                                               **kw))


@pytest.mark.parametrize("build", [
    lambda L: L.nn.CrossEntropyLoss()(rand(L, (2, 3)), L.tensor([0.0, 1.0])),
    lambda L: L.nn.NLLLoss()(rand(L, (2, 3)), L.tensor([0.0, 1.0])),
    lambda L: L.nn.CrossEntropyLoss()(rand(L, (2, 3)), L.zeros(2, 3, dtype=L.long)),
    lambda L: L.nn.functional.cross_entropy(rand(L, (2, 3)), L.tensor([0, 1]), weight=L.ones(4)),
    lambda L: L.nn.functional.nll_loss(rand(L, (2, 3, 4)), L.zeros(2, 4, dtype=L.long),
                                       weight=L.ones(4)),
    lambda L: L.nn.functional.nll_loss(rand(L, (2, 3, 4, 5)), L.zeros(2, 4, 6, dtype=L.long),
                                       weight=L.ones(4)),
], ids=["ce_float_indices", "nll_float_indices", "ce_long_probabilities", "ce_weight_size",
        "nll3d_weight_size", "nll4d_weight_size"])
def test_class_loss_module_mistakes_raise_as_torch(build):
    assert_same_outcome(build)


@pytest.mark.parametrize("a,b,t", [((2, 4), (2, 4), (2, 1)), ((2, 4), (2, 4), ()),
                                   ((4,), (4,), (2,)), ((2, 3, 4), (2, 3, 4), (2, 3)),
                                   ((), (), ()), ((2, 4), (2, 4), (2,))])
def test_cosine_embedding_target_rank_as_torch(a, b, t):
    assert_same_outcome(lambda L: L.nn.CosineEmbeddingLoss()(rand(L, a), rand(L, b, seed=1),
                                                             L.ones(t)))


# (an empty batch is left out: torch's mean of it reads uninitialized memory)
@pytest.mark.parametrize("x_shape", [(), (3,), (2, 3), (2, 3, 4), (2, 0)])
@pytest.mark.parametrize("t_shape", [(), (1,), (2,), (2, 1), (0,)])
@pytest.mark.parametrize("t_dtype", ["int64", "float32", "int32"])
def test_multi_margin_target_shape_and_dtype_as_torch(x_shape, t_shape, t_dtype):
    """One class index per sample, as int64 (torch's kernel reads nothing of an empty batch)."""
    def build(L):
        t = L.zeros(t_shape, dtype=getattr(L, t_dtype))
        return L.nn.functional.multi_margin_loss(rand(L, x_shape), t)
    assert_same_outcome(build)


@pytest.mark.parametrize("build", [
    lambda L: L.nn.functional.multi_margin_loss(rand(L, (2, 3)), L.tensor([0, 1]),
                                                weight=L.ones(4)),
    lambda L: L.nn.functional.multi_margin_loss(rand(L, (2, 3)), L.tensor([0, 1]),
                                                weight=L.ones(1, 3)),
    lambda L: L.nn.functional.multi_margin_loss(rand(L, (2, 3)), L.tensor([0, 1]),
                                                weight=L.ones(3, dtype=L.float64)),
    lambda L: L.nn.functional.multi_margin_loss(rand(L, (2, 3), "int64"), L.tensor([0., 1.])),
], ids=["weight_size", "weight_2d", "weight_dtype", "integer_input"])
def test_multi_margin_weight_and_input_checks_as_torch(build):
    assert_same_outcome(build)

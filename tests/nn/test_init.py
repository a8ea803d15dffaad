"""nn.init: gains, fans and the statistics of each initialiser on large tensors."""

import math

import numpy as np
import pytest
import torch

import gradstep
from gradstep.nn import init


def _arr(t):
    return t.detach().numpy()


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def test_fans_match_torch():
    for shape in [(3, 4), (8, 3, 5, 5), (2, 6, 7)]:
        ours = init._calculate_fan_in_and_fan_out(gradstep.empty(*shape))
        theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
        assert ours == theirs
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(gradstep.empty(5))


def test_uniform_normal_constant_trunc():
    t = gradstep.empty(400, 500)
    init.uniform_(t, -0.5, 1.5)
    a = _arr(t)
    assert a.min() >= -0.5 and a.max() <= 1.5 and abs(a.mean() - 0.5) < 0.01
    assert abs(a.std() - 2 / math.sqrt(12)) < 0.01
    init.normal_(t, 2.0, 0.5)
    assert abs(_arr(t).mean() - 2.0) < 0.01 and abs(_arr(t).std() - 0.5) < 0.01
    init.trunc_normal_(t, mean=0.0, std=1.0, a=-1.0, b=2.0)
    a = _arr(t)
    ref = torch.nn.init.trunc_normal_(torch.empty(400, 500), 0.0, 1.0, -1.0, 2.0).numpy()
    assert a.min() >= -1.0 and a.max() <= 2.0
    assert abs(a.mean() - ref.mean()) < 0.01 and abs(a.std() - ref.std()) < 0.01
    init.constant_(t, 0.3)
    assert np.all(_arr(t) == np.float32(0.3))
    assert np.all(_arr(init.zeros_(t)) == 0) and np.all(_arr(init.ones_(t)) == 1)
    e = init.eye_(gradstep.empty(3, 5))
    np.testing.assert_array_equal(_arr(e), np.eye(3, 5))


@pytest.mark.parametrize("fn,kw,expected_std", [
    ("xavier_uniform_", {"gain": 2.0}, lambda fi, fo: 2.0 * math.sqrt(2.0 / (fi + fo))),
    ("xavier_normal_", {}, lambda fi, fo: math.sqrt(2.0 / (fi + fo))),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, lambda fi, fo: math.sqrt(2.0 / fi)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, lambda fi, fo: math.sqrt(2.0 / fo)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, lambda fi, fo: math.sqrt(2.0 / 6 / fi)),
])
def test_scaled_inits_follow_torch_rule(fn, kw, expected_std):
    t = gradstep.empty(300, 20, 3, 3)
    getattr(init, fn)(t, **kw)
    fan_in, fan_out = 20 * 9, 300 * 9
    a = _arr(t)
    std = expected_std(fan_in, fan_out)
    assert abs(a.std() - std) < 0.02 * std
    assert abs(a.mean()) < 0.02 * std
    ref = getattr(torch.nn.init, fn)(torch.empty(300, 20, 3, 3), **kw).numpy()
    assert abs(a.std() - ref.std()) < 0.02 * std
    if "uniform" in fn:
        bound = math.sqrt(3) * std
        assert a.max() <= bound and a.max() > 0.99 * bound


def test_orthogonal_and_generator():
    for shape in [(6, 10), (10, 6), (4, 3, 2)]:
        t = init.orthogonal_(gradstep.empty(*shape), gain=2.0)
        m = _arr(t).reshape(shape[0], -1)
        gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)
    g1, g2 = gradstep.Generator().manual_seed(3), gradstep.Generator().manual_seed(3)
    a = init.kaiming_normal_(gradstep.empty(5, 5), generator=g1)
    b = init.kaiming_normal_(gradstep.empty(5, 5), generator=g2)
    np.testing.assert_array_equal(_arr(a), _arr(b))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(gradstep.empty(2, 2), mode="fan_avg")


def test_init_is_not_recorded_and_keeps_leaf():
    p = gradstep.nn.Parameter(gradstep.empty(3, 3))
    v = p._version
    out = init.xavier_uniform_(p)
    assert out is p and p.is_leaf and p.grad_fn is None and p._version > v
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(gradstep.empty(0, 3))


def test_dirac_matches_torch():
    ours = _arr(init.dirac_(gradstep.empty(4, 2, 3, 3), groups=2))
    theirs = torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2).numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("old", ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform",
                                 "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
                                 "sparse"])
def test_deprecated_names_without_underscore_warn_and_fill_like_torch(old):
    """Pre-0.4 code calls ``nn.init.xavier_uniform(w)``: torch still has these, with a
    FutureWarning naming the caller's line, and they fill in place as the new names do."""
    import warnings

    args = {"constant": (0.5,), "sparse": (0.5,)}.get(old, ())
    shape = (3, 4, 3) if old == "dirac" else (4, 6)
    messages, values = [], []
    for L in (torch, gradstep):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t = L.empty(*shape)
            out = getattr(L.nn.init, old)(t, *args)
        assert out is t
        assert [w.category for w in caught] == [FutureWarning]
        assert caught[0].filename == __file__
        messages.append((str(caught[0].message), getattr(L.nn.init, old).__name__))
        values.append(_arr(out))
    assert messages[0] == messages[1]
    if old in ("constant", "eye", "dirac"):  # deterministic fills: the same values
        np.testing.assert_array_equal(values[0], values[1])

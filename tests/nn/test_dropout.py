"""Dropout and Dropout2d: masks, scaling, train/eval, gradients."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.nn import functional as F
from tests.nn.bad_input import assert_same_outcome, rand


def test_dropout_train_scales_survivors_and_grad_uses_same_mask():
    gradstep.manual_seed(0)
    x = gradstep.ones(200, 50, requires_grad=True)
    drop = nn.Dropout(0.3)
    y = drop(x)
    a = y.detach().numpy()
    kept = a != 0
    np.testing.assert_allclose(a[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), a, rtol=1e-6)  # d(sum)/dx is the scaled mask


def test_dropout_eval_and_p0_are_identity():
    x = gradstep.randn(4, 5)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert F.dropout(x, 0.0, training=True) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)


def test_dropout_inplace_and_errors():
    x = gradstep.ones(10, 10)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))
    assert repr(nn.Dropout2d(0.2, inplace=True)) == repr(torch.nn.Dropout2d(0.2, inplace=True))


def test_dropout2d_zeroes_whole_channels():
    gradstep.manual_seed(1)
    x = gradstep.ones(8, 16, 5, 5, requires_grad=True)
    y = nn.Dropout2d(0.5)(x)
    a = y.detach().numpy()
    per_channel = a.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a)
    assert nn.Dropout2d(0.5).eval()(x) is x


def test_dropout_in_model_train_vs_eval_matches_torch_in_eval():
    def make(L):
        return L.nn.Sequential(L.nn.Linear(4, 4), L.nn.Dropout(0.5), L.nn.ReLU())

    from tests.nn.layer_twin import compare_layer

    compare_layer(make, [(3, 4)], modes=("eval",))


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("name", ["feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d",
                                  "alpha_dropout"])
def test_channel_dropout_ranks_probabilities_and_errors_as_torch(name):
    # torch checks p first, and needs (N, C, ...) only when it draws a mask (0 < p < 1, a
    # non-empty input, training); dropout3d takes other ranks as unbatched, with a warning
    import warnings

    from tests.ops.fuzz_ops import disagreement
    for shape in [(), (3,), (0,), (2, 3), (2, 3, 4)]:
        for p in (0.0, 0.5, 1.0, 1.5):
            for training in (True, False):
                def call(L, a, p=p, training=training):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return getattr(L.nn.functional, name)(a, p, training=training).shape
                assert disagreement(call, np.ones(shape, np.float32), rg=False) is None


@pytest.mark.parametrize("dtype", ["int64", "bool"])
@pytest.mark.parametrize("shape", [(0, 3), (2, 0, 4), (2, 3)])
@pytest.mark.parametrize("call", [
    lambda L, x: L.nn.Dropout(0.5)(x),
    lambda L, x: L.nn.functional.dropout(x, 1.0),  # torch: x * 0, in x's dtype
    lambda L, x: L.nn.functional.dropout(x.clone(), 1.0, inplace=True),
    lambda L, x: L.nn.functional.dropout(x, 0.5, training=False),
], ids=["p=0.5", "p=1", "p=1_inplace", "eval"])
def test_dropout_of_integer_inputs_matches_torch(call, shape, dtype):
    """torch returns an empty or p=1 integer input without its float-only kernel; a non-empty
    one at 0 < p < 1 raises (our message says what to do instead of torch's cast error)."""
    assert_same_outcome(lambda L: call(L, rand(L, shape, dtype)), message=False)

"""torch.* spellings of nn.functional ops with ATen signatures (gradstep/_torch_nn_functions.py)
against torch: same arguments in, same values and gradients out (helpers.TOL x10)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check

X4 = (2, 3, 6, 5)
CASES = [
    ("batch_norm", lambda L, x, w, b: L.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
     [X4, (3,), (3,)]),
    ("instance_norm", lambda L, x, w, b: L.instance_norm(x, w, b, None, None, True, 0.1, 1e-5,
                                                         False), [X4, (3,), (3,)]),
    ("layer_norm", lambda L, x, w: L.layer_norm(x, [5], w), [X4, (5,)]),
    ("group_norm", lambda L, x: L.group_norm(x, 3), [X4]),
    ("rms_norm", lambda L, x: L.rms_norm(x, [6, 5]), [X4]),
    ("embedding", lambda L, w: L.embedding(w, L.tensor([[0, 2], [3, 3]]), 2), [(4, 3)]),
    ("max_pool1d", lambda L, x: L.max_pool1d(x, 2), [(2, 3, 7)]),
    ("max_pool2d", lambda L, x: L.max_pool2d(x, 2, 1, 1), [X4]),
    ("max_pool3d", lambda L, x: L.max_pool3d(x, 2), [(1, 2, 4, 4, 4)]),
    ("max_pool1d_with_indices", lambda L, x: L.max_pool1d_with_indices(x, 3), [(2, 3, 7)]),
    ("adaptive_max_pool1d", lambda L, x: L.adaptive_max_pool1d(x, [3]), [(2, 3, 7)]),
    ("avg_pool1d", lambda L, x: L.avg_pool1d(x, 2), [(2, 3, 7)]),
    ("conv3d", lambda L, x, w: L.conv3d(x, w, None, 1, 1), [(1, 2, 4, 4, 3), (3, 2, 2, 2, 2)]),
    ("conv_transpose3d", lambda L, x, w: L.conv_transpose3d(x, w, None, 2),
     [(1, 2, 3, 2, 3), (2, 3, 2, 2, 2)]),
    ("pixel_shuffle", lambda L, x: L.pixel_shuffle(x, 2), [(1, 8, 2, 3)]),
    ("channel_shuffle", lambda L, x: L.channel_shuffle(x, 3), [(1, 6, 2, 3)]),
    ("pdist", lambda L, x: L.pdist(x), [(5, 3)]),
    ("bce_logits", lambda L, x, t: L.binary_cross_entropy_with_logits(x, t.sigmoid(), None,
                                                                       None, 2), [(4, 3), (4, 3)]),
    ("kl_div", lambda L, x, t: L.kl_div(x, t, 0, log_target=True), [(4, 3), (4, 3)]),
    ("margin_ranking_loss", lambda L, a, b: L.margin_ranking_loss(a, b, L.tensor(
        [1.0, -1.0, 1.0]), 0.2, 1), [(3,), (3,)]),
    ("triplet_margin_loss", lambda L, a, p, n: L.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6,
                                                                     False, 2),
     [(4, 3), (4, 3), (4, 3)]),
    ("poisson_nll_loss", lambda L, x, t: L.poisson_nll_loss(x, t.abs(), True, False, 1e-8, 1),
     [(4, 3), (4, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, fn, shapes):
    check(fn, shapes, scale=10)


def test_ctc_and_feature_dropout():
    lp = np.random.default_rng(0).standard_normal((6, 2, 4))
    check(lambda L, x: L.ctc_loss(x.log_softmax(2), L.tensor([[1, 2], [3, 3]]), [6, 5], [2, 2],
                                  0, 2, False), inputs=lambda dt: [gradstep.tensor(
                                      lp.astype(dt), requires_grad=True)], scale=100)
    x = gradstep.ones(40, 30, 2, 2)
    gradstep.manual_seed(0)
    y = gradstep.feature_dropout(x, 0.5, True).numpy()
    assert np.all(y == y[:, :, :1, :1]) and set(np.unique(y)) == {0.0, 2.0}
    assert gradstep.feature_dropout(x, 0.5, False) is x
    z = gradstep.ones(40, 30, 2)
    gradstep.feature_dropout_(z, 0.5, True)
    assert set(np.unique(z.numpy())) == {0.0, 2.0}
    for L in (torch, gradstep):
        with pytest.raises(RuntimeError):
            L.feature_dropout(L.ones(3), 0.5, True)

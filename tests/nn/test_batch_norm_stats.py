"""batch_norm's float32 batch statistics over many values with a large mean: torch's kernel
sums each channel in double and rounds once, so its mean and variance are within an ulp of
the exact ones; gradstep's must be too (a float32 row-by-row sum drifted several ulps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


def _stats(lib, x):
    c = x.shape[1]
    rm, rv = lib.zeros(c), lib.ones(c)
    xt = torch.from_numpy(x) if lib is torch else gradstep.tensor(x)
    y = lib.nn.functional.batch_norm(xt, rm, rv, training=True, momentum=1.0)
    return rm.numpy(), rv.numpy(), y.numpy()


@pytest.mark.parametrize("shape,mu,sd", [((64, 4, 32, 32), 100.0, 1.0),
                                         ((16, 3, 64, 64), 1000.0, 3.0),
                                         ((64, 4, 32, 32), 10.0, 0.01)])
def test_float32_batch_statistics_within_an_ulp_of_torch(shape, mu, sd):
    x = (np.random.default_rng(0).standard_normal(shape) * sd + mu).astype(np.float32)
    t_mean, t_var, t_y = _stats(torch, x)
    g_mean, g_var, g_y = _stats(gradstep, x)
    # the mean: torch rounds the exact sum once; gradstep's float32 pairwise partial sums of
    # each image (about an ulp of the image's sum) added in float64 -> at most an ulp apart
    np.testing.assert_array_less(np.abs(g_mean - t_mean), 1.01 * np.spacing(np.abs(t_mean)))
    np.testing.assert_array_less(np.abs(g_var - t_var), 2.01 * np.spacing(np.abs(t_var)))
    # the output: an ulp of the mean, over the std, plus torch's own x * alpha + beta rounding
    # (an ulp of |mean| / std): a few ulps of |mean| / std in all
    scale = np.float32(mu / sd) * np.finfo(np.float32).eps
    np.testing.assert_allclose(g_y, t_y, rtol=0, atol=4 * scale)


def test_float32_batch_mean_is_accurate():
    """Against the float64 mean: within an ulp (the old sum was 5 ulps off here)."""
    x = (np.random.default_rng(1).standard_normal((64, 4, 32, 32)) + 100).astype(np.float32)
    exact = x.astype(np.float64).mean(axis=(0, 2, 3))
    g_mean = _stats(gradstep, x)[0].astype(np.float64)
    assert (np.abs(g_mean - exact) <= np.spacing(np.float32(100))).all()

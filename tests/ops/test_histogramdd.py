"""torch.histogramdd against torch: counts, bin edges, weights, density, ranges and errors.

Edges are computed as torch computes them (linspace in the input's dtype), so edges and counts
are equal exactly. Weighted and density histograms are summed in float64 here and in float32
by torch: a bin of k float32 weights differs by at most ~k float32 roundings (relative
k * 2**-24), well inside the rtol of 1e-4 used for 500 points.
"""

import numpy as np
import pytest
import torch

import gradstep

RNG = np.random.default_rng(0)
POINTS = RNG.standard_normal((500, 3)).astype(np.float32)
WEIGHTS = RNG.random(500).astype(np.float32)


def _run(x, **kwargs):
    def to(lib, v):
        if isinstance(v, np.ndarray):
            return lib.tensor(v)
        if isinstance(v, list) and v and isinstance(v[0], np.ndarray):
            return [lib.tensor(b) for b in v]
        return v

    ours = gradstep.histogramdd(gradstep.tensor(x),
                                **{k: to(gradstep, v) for k, v in kwargs.items()})
    theirs = torch.histogramdd(torch.tensor(x), **{k: to(torch, v) for k, v in kwargs.items()})
    assert type(ours).__name__ == "histogramdd" and ours._fields == ("hist", "bin_edges")
    assert isinstance(ours.bin_edges, tuple) and len(ours.bin_edges) == len(theirs.bin_edges)
    assert str(ours.hist.dtype).split(".")[-1] == str(theirs.hist.dtype).split(".")[-1]
    assert tuple(ours.hist.shape) == tuple(theirs.hist.shape)
    for e, te in zip(ours.bin_edges, theirs.bin_edges):
        np.testing.assert_array_equal(e.numpy(), te.numpy())
    return ours.hist.numpy(), theirs.hist.numpy()


@pytest.mark.parametrize("kwargs", [
    dict(bins=5), dict(bins=[3, 4, 5]), dict(bins=(2, 2, 7)),
    dict(bins=4, range=[-1.0, 1.0, -2.0, 2.0, 0.0, 1.0]),
    dict(bins=[np.array([-1.0, 0.0, 1.0], np.float32)] * 3),
    dict(bins=[np.array([-3.0, -0.5, 0.1, 4.0], np.float32)] * 3),
])
def test_counts_and_edges_exact(kwargs):
    ours, theirs = _run(POINTS, **kwargs)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("kwargs", [dict(bins=4, weight=WEIGHTS), dict(bins=4, density=True),
                                    dict(bins=[2, 3, 4], weight=WEIGHTS, density=True)])
def test_weights_and_density(kwargs):
    ours, theirs = _run(POINTS, **kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)


def test_two_dims_batched_float64_and_degenerate_range():
    x = RNG.standard_normal((4, 10, 2))
    ours, theirs = _run(x, bins=3)  # leading dims are flattened into points
    assert ours.sum() == 40
    np.testing.assert_array_equal(ours, theirs)
    ours, theirs = _run(np.ones((2, 2), np.float32), bins=2)  # min == max: widened by 0.5
    np.testing.assert_array_equal(ours, theirs)


def test_errors_match_torch():
    for L in (gradstep, torch):
        with pytest.raises(RuntimeError, match="The size of bins must be equal to the innermost"):
            L.histogramdd(L.ones(4, 2), bins=(2, 2, 2))
        with pytest.raises(NotImplementedError, match="\"histogramdd\" not implemented for 'Long'"):
            L.histogramdd(L.ones(4, 2, dtype=L.int64), bins=2)
        with pytest.raises(RuntimeError, match="input tensor should have at least 2 dimensions"):
            L.histogramdd(L.ones(3), 2)


def test_range_may_be_positional():
    ours = gradstep.histogramdd(gradstep.tensor(POINTS), 2, [-1.0, 1.0] * 3)
    theirs = torch.histogramdd(torch.tensor(POINTS), 2, [-1.0, 1.0] * 3)
    np.testing.assert_array_equal(ours.hist.numpy(), theirs.hist.numpy())

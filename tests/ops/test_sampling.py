"""Sampling ops: poisson, binomial, bernoulli (function and method), Tensor.multinomial and the
in-place samplers log_normal_, cauchy_, geometric_.

These tests check the values through their distribution (with N draws, a sample mean is within
6 standard errors of the true mean, a false failure once in ~1e9 runs; the seeds are fixed, so
each run is the same anyway), their support, dtypes and shapes against torch's, reproducibility
under ``gradstep.manual_seed``, and the graph and errors against torch's. That ``poisson`` and
``binomial`` draw torch's very numbers is tested in test_sampling_torch_stream.py, ``bernoulli``
and the in-place samplers in tests/test_torch_random.py.
"""

import math

import numpy as np
import pytest
import torch

import gradstep

N = 200_000


def _same_meta(ours, theirs):
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(theirs.shape)


def _mean_within(x, mean, std, n):
    se = std / math.sqrt(n)
    assert abs(float(np.mean(x)) - mean) < 6 * se + 1e-12, (float(np.mean(x)), mean, se)


def _raises_like_torch(fn, exc, match):
    for lib in (gradstep, torch):
        with pytest.raises(exc, match=match):
            fn(lib)


# ---------------------------------------------------------------- poisson
@pytest.mark.parametrize("rate", [0.3, 4.0, 50.0, 1e4])
def test_poisson_moments_and_support(rate):
    gradstep.manual_seed(0)
    x = gradstep.poisson(gradstep.full((N,), rate)).numpy()
    assert (x >= 0).all() and (x == np.round(x)).all()
    _mean_within(x, rate, math.sqrt(rate), N)
    assert abs(x.var() / rate - 1) < 6 * math.sqrt(2 / N) + 6 / math.sqrt(N * rate)


def test_poisson_meta_and_reproducible():
    for dt in ("float32", "float64", "float16", "bfloat16"):
        rates = [[0.5, 2.0], [0.0, 10.0]]
        ours = gradstep.poisson(gradstep.tensor(rates, dtype=getattr(gradstep, dt)))
        _same_meta(ours, torch.poisson(torch.tensor(rates, dtype=getattr(torch, dt))))
    assert gradstep.poisson(gradstep.zeros(5)).tolist() == [0.0] * 5
    r = gradstep.full((100,), 3.0)
    gradstep.manual_seed(7)
    a = gradstep.poisson(r)
    gradstep.manual_seed(7)
    b = gradstep.poisson(r)
    g = gradstep.Generator().manual_seed(7)
    c = gradstep.poisson(r, generator=g)
    assert a.tolist() == b.tolist() == c.tolist()
    assert gradstep.poisson(r).tolist() != a.tolist()
    assert gradstep.poisson(input=gradstep.tensor(2.0)).shape == ()


def test_poisson_huge_and_infinite_rates():
    x = gradstep.poisson(gradstep.tensor([1e17, float("inf")], dtype=gradstep.float64)).numpy()
    assert abs(x[0] / 1e17 - 1) < 1e-6 and x[1] == float("inf")


def test_poisson_graph_and_errors():
    rates = gradstep.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = gradstep.poisson(rates)
    assert y.grad_fn.name() == torch.poisson(torch.ones(3, requires_grad=True)).grad_fn.name()
    y.sum().backward()
    assert rates.grad.tolist() == [0.0, 0.0, 0.0]  # torch's zero gradient
    _raises_like_torch(lambda L: L.poisson(L.tensor([1, 2])), NotImplementedError,
                       "\"poisson_cpu\" not implemented for 'Long'")
    for bad in (-1.0, float("nan")):
        _raises_like_torch(lambda L, v=bad: L.poisson(L.tensor([1.0, v])), RuntimeError,
                           "invalid Poisson rate, expected rate to be non-negative")


# ---------------------------------------------------------------- binomial
@pytest.mark.parametrize("count,prob", [(10.0, 0.5), (100.0, 0.03), (7.0, 0.9)])
def test_binomial_moments_and_support(count, prob):
    gradstep.manual_seed(1)
    x = gradstep.binomial(gradstep.full((N,), count), gradstep.full((N,), prob)).numpy()
    assert (x >= 0).all() and (x <= count).all() and (x == np.round(x)).all()
    _mean_within(x, count * prob, math.sqrt(count * prob * (1 - prob)), N)


def test_binomial_edge_cases_match_torch():
    count = [0.0, -3.0, 5.0, 5.0, 5.0, float("inf")]
    prob = [0.5, 0.5, 0.0, 1.0, 1.5, 1.0]
    for L in (gradstep, torch):
        out = L.binomial(L.tensor(count), L.tensor(prob)).tolist()
        assert out == [0.0, 0.0, 0.0, 5.0, 5.0, float("inf")]
    assert math.isnan(gradstep.binomial(gradstep.tensor([4.0]), gradstep.tensor([float("nan")]))
                      .item())


def test_binomial_meta_broadcast_and_graph():
    for dt in ("float32", "float64"):
        args = ([[10.0], [20.0]], [0.5, 0.2])
        ours = gradstep.binomial(*(gradstep.tensor(a, dtype=getattr(gradstep, dt)) for a in args))
        assert tuple(ours.shape) == (2, 2) and ours.dtype == getattr(gradstep, dt)
    for dt, name in (("float16", "Half"), ("bfloat16", "BFloat16")):
        _raises_like_torch(lambda L, dt=dt: L.binomial(L.tensor([10.0], dtype=getattr(L, dt)),
                                                       L.tensor([0.5], dtype=getattr(L, dt))),
                           NotImplementedError, f"\"binomial_cpu\" not implemented for '{name}'")
    count = gradstep.tensor([10.0, 20.0], requires_grad=True)
    y = gradstep.binomial(count, gradstep.tensor([0.5, 0.2]))
    t = torch.binomial(torch.tensor([10.0, 20.0], requires_grad=True), torch.tensor([0.5, 0.2]))
    assert y.grad_fn.name() == t.grad_fn.name()
    for lib_y in (y, t):
        with pytest.raises(RuntimeError, match="derivative for aten::binomial is not implemented"):
            lib_y.sum().backward()


def test_binomial_errors():
    _raises_like_torch(lambda L: L.binomial(L.tensor([10, 20]), L.tensor([0.5, 0.2])), ValueError,
                       "binomial only supports floating-point dtypes for count, got: Long")
    _raises_like_torch(lambda L: L.binomial(L.tensor([10.0]), L.tensor([1])), ValueError,
                       "floating-point dtypes for prob, got: Long")
    _raises_like_torch(lambda L: L.binomial(L.tensor([10.0]), L.tensor([0.5], dtype=L.float64)),
                       RuntimeError, "Found dtype Double but expected Float")


# ---------------------------------------------------------------- bernoulli
def test_bernoulli_method_and_function():
    p = gradstep.tensor([0.0, 0.25, 1.0]).repeat(N // 3)
    gradstep.manual_seed(2)
    x = p.bernoulli().numpy().reshape(-1, 3)
    assert (x[:, 0] == 0).all() and (x[:, 2] == 1).all()
    _mean_within(x[:, 1], 0.25, math.sqrt(0.25 * 0.75), x.shape[0])
    y = gradstep.zeros(N, dtype=gradstep.float64).bernoulli(0.7).numpy()
    _mean_within(y, 0.7, math.sqrt(0.21), N)
    for make in (lambda L: L.zeros(2, 3).bernoulli(), lambda L: L.zeros(2, 3).bernoulli(0.3),
                 lambda L: L.tensor([1, 0]).bernoulli(0.5), lambda L: L.tensor([True]).bernoulli(0.5),
                 lambda L: L.bernoulli(L.zeros(3, dtype=L.float64), 0.2),
                 lambda L: L.bernoulli(L.zeros(3), p=0.2)):
        _same_meta(make(gradstep), make(torch))
    gradstep.manual_seed(3)
    a = p.bernoulli()
    b = p.bernoulli(generator=gradstep.Generator().manual_seed(3))
    assert a.tolist() == b.tolist()


def test_bernoulli_graph_matches_torch():
    for p_arg in (None, 0.5):
        x = gradstep.tensor([0.2, 0.4], requires_grad=True)
        xt = torch.tensor([0.2, 0.4], requires_grad=True)
        y = x.bernoulli() if p_arg is None else x.bernoulli(p_arg)
        yt = xt.bernoulli() if p_arg is None else xt.bernoulli(p_arg)
        assert y.grad_fn.name() == yt.grad_fn.name()
        if p_arg is None:
            y.sum().backward()
            assert x.grad.tolist() == [0.0, 0.0]
        else:
            with pytest.raises(RuntimeError, match="derivative for aten::bernoulli"):
                y.sum().backward()
    assert gradstep.tensor([1.0]).bernoulli().grad_fn is None


def test_bernoulli_errors():
    _raises_like_torch(lambda L: L.tensor([1.5]).bernoulli(), RuntimeError,
                       r"Expected p_in >= 0 && p_in <= 1 to be true")
    _raises_like_torch(lambda L: L.tensor([0.5]).bernoulli(1.5), RuntimeError,
                       r"bernoulli_ expects p to be in \[0, 1\], but got p=1.5")
    _raises_like_torch(lambda L: L.tensor([1, 0]).bernoulli(), NotImplementedError,
                       "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'")
    _raises_like_torch(lambda L: L.zeros(3).bernoulli(L.zeros(3)), TypeError, None)


# ---------------------------------------------------------------- multinomial
def test_multinomial_method():
    probs = gradstep.tensor([0.1, 0.0, 0.9])
    gradstep.manual_seed(4)
    x = probs.multinomial(N, replacement=True).numpy()
    assert set(np.unique(x)) <= {0, 2}
    _mean_within(x == 2, 0.9, math.sqrt(0.09), N)
    for make in (lambda L: L.tensor([1.0, 2.0, 3.0]).multinomial(3),
                 lambda L: L.tensor([[0.2, 0.8], [1.0, 0.0]]).multinomial(1),
                 lambda L: L.tensor([0.2, 0.8]).multinomial(5, True)):
        _same_meta(make(gradstep), make(torch))
    assert sorted(gradstep.tensor([1.0, 2.0, 3.0]).multinomial(3).tolist()) == [0, 1, 2]
    _raises_like_torch(lambda L: L.tensor([1.0, 2.0]).multinomial(3), RuntimeError,
                       "cannot sample n_sample > prob_dist.size")


# ---------------------------------------------------------------- in-place samplers
def test_log_normal_():
    gradstep.manual_seed(5)
    x = gradstep.empty(N, dtype=gradstep.float64).log_normal_(0.5, 0.25).numpy()
    assert (x > 0).all()
    logs = np.log(x)
    _mean_within(logs, 0.5, 0.25, N)
    assert abs(logs.std() / 0.25 - 1) < 6 * math.sqrt(0.5 / N)
    _mean_within(x, math.exp(0.5 + 0.25 ** 2 / 2), x.std(), N)
    t = gradstep.empty(3)
    assert t.log_normal_() is t and t._version == 1


def test_cauchy_():
    gradstep.manual_seed(6)
    x = gradstep.empty(N, dtype=gradstep.float64).cauchy_(2.0, 0.5).numpy()
    # the median and the quartiles (median +- sigma): a Cauchy has no mean
    assert abs(np.median(x) - 2.0) < 6 * 0.5 * math.pi / 2 / math.sqrt(N)
    q1, q3 = np.percentile(x, [25, 75])
    assert abs(q1 - 1.5) < 0.02 and abs(q3 - 2.5) < 0.02


@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8"])
def test_geometric_(dtype):
    gradstep.manual_seed(8)
    x = gradstep.empty(N, dtype=getattr(gradstep, dtype)).geometric_(0.3).numpy()
    assert x.min() >= 1 and (x == np.round(x)).all()
    _mean_within(x.astype(np.float64), 1 / 0.3, math.sqrt(0.7) / 0.3, N)
    _mean_within(x == 1, 0.3, math.sqrt(0.21), N)


def test_inplace_samplers_meta_graph_and_errors():
    for name, args in (("log_normal_", ()), ("cauchy_", ()), ("geometric_", (0.4,))):
        for dt in ("float32", "float64", "float16", "bfloat16"):
            ours = getattr(gradstep.zeros(2, 3, dtype=getattr(gradstep, dt)), name)(*args)
            _same_meta(ours, getattr(torch.zeros(2, 3, dtype=getattr(torch, dt)), name)(*args))
        _raises_like_torch(lambda L, n=name, a=args: getattr(L.zeros(3, requires_grad=True), n)(*a),
                           RuntimeError, "a leaf Variable that requires grad")
        leaf = gradstep.ones(3, requires_grad=True)
        y = getattr(leaf * 2, name)(*args)
        yt = getattr(torch.ones(3, requires_grad=True) * 2, name)(*args)
        assert y.grad_fn.name() == yt.grad_fn.name()
        (y * 3).sum().backward()
        assert leaf.grad.tolist() == [0.0, 0.0, 0.0]
        gen = gradstep.Generator().manual_seed(11)
        a = getattr(gradstep.zeros(5), name)(*args, generator=gen)
        b = getattr(gradstep.zeros(5), name)(*args, generator=gradstep.Generator().manual_seed(11))
        assert a.tolist() == b.tolist()
    _raises_like_torch(lambda L: L.zeros(3).log_normal_(std=0), RuntimeError,
                       "log_normal_ expects std > 0.0, but found std=0")
    _raises_like_torch(lambda L: L.zeros(3).cauchy_(sigma=-1), RuntimeError,
                       "cauchy_ expects sigma > 0.0, but found sigma=-1")
    for p in (0, 1, 1.5):
        _raises_like_torch(lambda L, p=p: L.zeros(3).geometric_(p), RuntimeError,
                           rf"geometric_ expects p to be in \(0, 1\), but got p={p}")
    _raises_like_torch(lambda L: L.zeros(3, dtype=L.int64).log_normal_(), NotImplementedError,
                       "\"log_normal_cpu\" not implemented for 'Long'")
    _raises_like_torch(lambda L: L.zeros(3, dtype=L.int64).cauchy_(), RuntimeError,
                       "Cauchy distribution is a continuous probability distribution")
    _raises_like_torch(lambda L: L.zeros(3, dtype=L.bool).geometric_(0.5), NotImplementedError,
                       "\"geometric_cpu\" not implemented for 'Bool'")
    _raises_like_torch(lambda L: L.zeros(3).log_normal_(0.0, 1.0, None), TypeError, None)

"""torch's random numbers: the same seed gives torch's values (gradstep/_mt19937.py).

Every sampler torch's programs use to initialize, shuffle and drop out is compared with
torch element for element: rand/randn/randint/randperm/normal in each dtype and size class
(Box-Muller blocks of 16 with the redrawn tail, the per-element path with its cached
value), the in-place samplers on contiguous and transposed tensors, bernoulli and dropout,
nn.init and the default initialization of layers, DataLoader shuffling, random_split and
RandomSampler, and the generator state in torch's byte layout, both ways.

float32 ``randn`` follows torch's AVX2 kernel (avx_mathfun's log and sincos); a CPU that
torch runs without AVX2 takes torch's generic kernel (libm's float functions), where the
values can differ by an ulp, so there those values get a 2-ulp tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

AVX = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")


def _same(ours, theirs, ulps=0):
    a = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    b = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype
    if ulps:
        np.testing.assert_allclose(a, b, rtol=ulps * np.finfo(a.dtype).eps, atol=0)
    else:
        np.testing.assert_array_equal(a, b)


def _both(fn, seed=1234):
    out = []
    for lib in (gradstep, torch):
        lib.manual_seed(seed)
        out.append(fn(lib))
    return out


CASES = {
    "rand": lambda L: L.rand(3, 5),
    "rand f64": lambda L: L.rand(100, dtype=L.float64),
    "rand f16": lambda L: L.rand(50, dtype=L.float16),
    "rand bf16": lambda L: L.rand(50, dtype=L.bfloat16).float(),
    "randn f64 blocks": lambda L: L.randn(7, 9, dtype=L.float64),
    "randn f64 small twice": lambda L: L.cat([L.randn(3, dtype=L.float64), L.randn(5, dtype=L.float64)]),
    "randn f32 small": lambda L: L.cat([L.randn(3), L.randn(1), L.randn(2)]),
    "randn bf16 tail": lambda L: L.randn(40, dtype=L.bfloat16).float(),
    "normal numbers": lambda L: L.normal(2.0, 3.0, size=(40,), dtype=L.float64),
    "normal tensor mean": lambda L: L.normal(L.arange(20.0, dtype=L.float64), 0.5),
    "normal tensor std": lambda L: L.normal(1.0, L.arange(1, 21.0, dtype=L.float64)),
    "normal both": lambda L: L.normal(L.arange(20.0, dtype=L.float64), L.arange(1, 21.0, dtype=L.float64)),
    "randint": lambda L: L.randint(0, 10, (4, 6)),
    "randint negative low": lambda L: L.randint(-3, 3, (100,)),
    "randint wide range": lambda L: L.randint(0, 2**40, (20,)),
    "randint int32": lambda L: L.randint(5, 9, (10,), dtype=L.int32),
    "randperm": lambda L: L.randperm(50),
    "uniform_ transposed": lambda L: L.empty(6, 4).t().uniform_(-1, 2),
    "uniform_ f64 bounds": lambda L: L.empty(500, dtype=L.float64).uniform_(-0.37, 0.91),
    "normal_ transposed": lambda L: L.empty(6, 4, dtype=L.float64).t().normal_(),
    "bernoulli_ scalar": lambda L: L.empty(50).bernoulli_(0.3),
    "bernoulli tensor p": lambda L: L.bernoulli(L.full((30,), 0.6)),
    "bernoulli float64 p": lambda L: L.bernoulli(L.full((30,), 0.6, dtype=L.float64)),
    "random_ int64": lambda L: L.empty(10, dtype=L.int64).random_(),
    "random_ bool": lambda L: L.empty(10, dtype=L.bool).random_(),
    "random_ float": lambda L: L.empty(10).random_(),
    "random_(to)": lambda L: L.empty(10).random_(5),
    "random_(from, to)": lambda L: L.empty(10, dtype=L.int32).random_(2, 9),
    "exponential_": lambda L: L.empty(20, dtype=L.float64).exponential_(3.0),
    "cauchy_": lambda L: L.empty(40, dtype=L.float64).cauchy_(1.0, 2.0),
    "cauchy_ f32": lambda L: L.empty(40).cauchy_(),
    "log_normal_ transposed": lambda L: L.empty(5, 4, dtype=L.float64).t().log_normal_(0.5, 0.7),
    "geometric_": lambda L: L.empty(30, dtype=L.float64).geometric_(0.3),
    "geometric_ int64": lambda L: L.empty(30, dtype=L.int64).geometric_(0.2),
    "gumbel_softmax hard": lambda L: L.nn.functional.gumbel_softmax(L.zeros(4, 5), hard=True),
    "dropout": lambda L: L.nn.functional.dropout(L.ones(64, 10), 0.4),
    "dropout2d": lambda L: L.nn.functional.dropout2d(L.ones(4, 8, 3, 3), 0.5),
    "Dropout module f64": lambda L: L.nn.Dropout(0.2)(L.ones(100, dtype=L.float64)),
    "Linear init": lambda L: L.cat([p.reshape(-1) for p in L.nn.Linear(30, 20).parameters()]),
    "Conv2d init": lambda L: L.cat([p.reshape(-1) for p in L.nn.Conv2d(3, 8, 3).parameters()]),
    "LSTM init": lambda L: L.cat([p.reshape(-1) for p in L.nn.LSTM(8, 16, 2).parameters()]),
    "Embedding init f64": lambda L: L.nn.Embedding(50, 16, dtype=L.float64).weight,
    "kaiming_normal_ f64": lambda L: L.nn.init.kaiming_normal_(L.empty(30, 20, dtype=L.float64)),
    "xavier_uniform_": lambda L: L.nn.init.xavier_uniform_(L.empty(30, 20)),
    "generator argument": lambda L: L.rand(20, generator=L.Generator().manual_seed(7)),
    "complex randn": lambda L: L.view_as_real(L.randn(12, dtype=L.complex128)),
    "state after draws": lambda L: (L.rand(3), L.randn(3, dtype=L.float64), L.get_rng_state())[2],
    # *_like samplers and dropout's noise fill torch's empty_like(input): its layout, so a
    # transposed, sliced or broadcast input gets torch's values in torch's places
    "randn_like transposed": lambda L: L.randn_like(L.zeros(3, 4, 5).transpose(0, 2)),
    "randn_like transposed serial": lambda L: L.randn_like(L.zeros(3, 3, dtype=L.float64).t()),
    "rand_like sliced": lambda L: L.rand_like(L.zeros(4, 6, 5).transpose(1, 2)[:, ::2]),
    "rand_like broadcast": lambda L: L.rand_like(L.zeros(1, 5).expand(4, 5)),
    "rand_like contiguous_format": lambda L: L.rand_like(L.zeros(4, 5).t(),
                                                         memory_format=L.contiguous_format),
    "randint_like transposed": lambda L: L.randint_like(L.zeros(4, 6).t(), 3, 10),
    "randint_like generator": lambda L: L.randint_like(L.zeros(8), 5,
                                                       generator=L.Generator().manual_seed(3)),
    "dropout transposed": lambda L: L.nn.functional.dropout(L.ones(3, 4, 5).transpose(0, 2), 0.5),
    "dropout sliced": lambda L: L.nn.functional.dropout(L.ones(4, 10)[:, ::3], 0.5),
    "alpha_dropout transposed": lambda L: L.nn.functional.alpha_dropout(
        L.arange(60.0).reshape(3, 4, 5).transpose(0, 2), 0.5, training=True),
    "alpha_dropout f64": lambda L: L.nn.AlphaDropout(0.3)(L.randn(40, dtype=L.float64)),
    "feature_alpha_dropout": lambda L: L.nn.FeatureAlphaDropout(0.3)(L.randn(2, 5, 3)),
    # rrelu: a float64 uniform for each element <= 0, row-major, no FMA in torch's loop
    "rrelu training": lambda L: L.nn.functional.rrelu(L.randn(6, 7), training=True),
    "RReLU f64 transposed": lambda L: L.nn.RReLU(0.1, 0.3)(L.randn(5, 6, dtype=L.float64).t()),
    "rrelu bf16": lambda L: L.nn.functional.rrelu(L.randn(30).bfloat16(), training=True).float(),
    "rrelu_ zeros draw too": lambda L: L.nn.functional.rrelu_(L.tensor([0.0, 1.0, -1.0, 0.0, -2.0]),
                                                              training=True),
    "fractional_max_pool2d": lambda L: L.nn.FractionalMaxPool2d(2, output_size=(4, 5))(
        L.randn(2, 3, 9, 11)),
    "fractional_max_pool3d": lambda L: L.nn.FractionalMaxPool3d(2, output_ratio=0.5)(
        L.randn(1, 2, 7, 8, 9)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_equal_torch(name):
    ours, theirs = _both(CASES[name])
    _same(ours, theirs)


@pytest.mark.parametrize("shape", [(16,), (1000,), (4097,), (33, 17)])
@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (0.3, 2.0)])
def test_float32_normal_as_torch_kernel(shape, mean, std):
    ours, theirs = _both(lambda L: L.empty(shape).normal_(mean, std))
    _same(ours, theirs, ulps=0 if AVX else 2)


def test_weight_init_and_dropout_train_like_torch():
    """A seeded model (default init, dropout) trains to torch's losses."""
    def run(L):
        L.manual_seed(0)
        model = L.nn.Sequential(L.nn.Linear(10, 32), L.nn.ReLU(), L.nn.Dropout(0.3),
                                L.nn.Linear(32, 3)).double()
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        x, y = L.randn(64, 10, dtype=L.float64), L.randint(0, 3, (64,))
        losses = []
        for _ in range(5):
            loss = L.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return np.array(losses)

    np.testing.assert_allclose(run(gradstep), run(torch), rtol=1e-12)


def test_dataloader_shuffle_split_and_sampler_as_torch():
    def run(L):
        L.manual_seed(0)
        ds = L.utils.data.TensorDataset(L.arange(100.0).reshape(50, 2), L.arange(50))
        loader = L.utils.data.DataLoader(ds, batch_size=8, shuffle=True)
        out = [[b[1].tolist() for b in loader] for _ in range(2)]
        train, val = L.utils.data.random_split(range(20), [15, 5])
        out += [list(train), list(val)]
        out.append(list(L.utils.data.RandomSampler(range(10), replacement=True, num_samples=40)))
        g = L.Generator().manual_seed(5)
        out.append([b.tolist() for b in L.utils.data.DataLoader(range(10), shuffle=True,
                                                                generator=g, batch_size=4)])
        return out

    assert run(gradstep) == run(torch)


@pytest.mark.parametrize("seed", [0, 3, 2**40 + 5, -7, 67280421310721])
def test_state_bytes_match_torch_both_ways(seed):
    gradstep.manual_seed(seed)
    torch.manual_seed(seed)
    _same(gradstep.get_rng_state(), torch.get_rng_state())
    assert gradstep.initial_seed() == torch.initial_seed()
    # a state torch left mid-stream, with a cached normal, continues identically here
    torch.rand(700)
    torch.randn(3, dtype=torch.float64)
    gradstep.set_rng_state(gradstep.tensor(torch.get_rng_state().numpy()))
    _same(gradstep.randn(5, dtype=gradstep.float64), torch.randn(5, dtype=torch.float64))
    # and the other way
    gradstep.rand(1000)
    torch.set_rng_state(torch.tensor(gradstep.get_rng_state().numpy()))
    _same(gradstep.rand(10), torch.rand(10))


def test_new_generator_starts_from_torchs_default_seed():
    assert gradstep.Generator().initial_seed() == torch.Generator().initial_seed()
    _same(gradstep.rand(5, generator=gradstep.Generator()), torch.rand(5, generator=torch.Generator()))


def test_bad_states_are_refused():
    with pytest.raises(RuntimeError, match="5056"):
        gradstep.set_rng_state(gradstep.zeros(45, dtype=gradstep.uint8))
    with pytest.raises(TypeError):
        gradstep.set_rng_state(gradstep.zeros(5056))


@pytest.mark.parametrize("bad", [lambda L: L.zeros(5048, dtype=L.uint8), lambda L: L.zeros(5056),
                                 lambda L: L.zeros(5056, dtype=L.int8), lambda L: [0] * 5056,
                                 lambda L: L.zeros(2, 2528, dtype=L.uint8)],
                         ids=["legacy-size", "float", "int8", "list", "2-D"])
def test_bad_states_are_refused_with_torchs_errors(bad):
    """A resumed run's set_rng_state(checkpoint['rng']) fails as torch's does (torch 2.13 reads no
    legacy 5048-byte state; a float tensor is 'must be a ByteTensor', a list 'but got list')."""
    errors = []
    for L in (torch, gradstep):
        for set_state in (L.set_rng_state, L.Generator().set_state):
            with pytest.raises((TypeError, RuntimeError)) as info:
                set_state(bad(L))
            errors.append((info.type, str(info.value)))
    assert errors[2:] == errors[:2]


MULTINOMIAL = {
    "one sample": lambda L, p: L.multinomial(p, 1),
    "one sample with replacement": lambda L, p: L.multinomial(p, 1, replacement=True),
    "without replacement": lambda L, p: L.multinomial(p, 4),
    "with replacement": lambda L, p: L.multinomial(p, 25, replacement=True),
    "1-D": lambda L, p: L.multinomial(p[0], 3, replacement=True),
}


@pytest.mark.parametrize("name", list(MULTINOMIAL))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multinomial_as_torch(name, dtype):
    """Both of torch's algorithms (exponential keys; cumulative search), away from the
    zero-probability ties whose order torch's topk leaves unspecified."""
    probs = np.random.default_rng(3).random((6, 9)).astype(dtype) + 0.05
    ours, theirs = _both(lambda L: MULTINOMIAL[name](L, L.tensor(probs)))
    _same(ours, theirs)


def test_distribution_samples_as_torch():
    def run(L):
        D = L.distributions
        f64 = L.float64
        return [
            D.Normal(L.zeros(5, dtype=f64), L.ones(5, dtype=f64) * 2).sample((3,)),
            D.Normal(L.zeros(20), L.ones(20)).rsample(),
            D.Uniform(L.tensor([0.0, 1.0]), L.tensor([2.0, 5.0])).sample((4,)),
            D.Bernoulli(probs=L.full((10,), 0.3)).sample(),
            D.Categorical(probs=L.tensor([0.1, 0.2, 0.7])).sample((8,)).double(),
            D.Categorical(logits=L.zeros(4, 6)).sample().double(),
            D.Exponential(L.tensor([1.5, 2.0], dtype=f64)).sample((5,)),
            D.Laplace(L.tensor(0.0, dtype=f64), L.tensor(1.0, dtype=f64)).sample((5,)),
            D.Geometric(probs=L.tensor([0.3], dtype=f64)).sample((5,)),
            D.LogNormal(L.zeros(3, dtype=f64), L.ones(3, dtype=f64)).sample(),
            D.MultivariateNormal(L.zeros(3, dtype=f64), L.eye(3, dtype=f64)).sample((2,)),
            D.OneHotCategorical(probs=L.tensor([0.2, 0.8])).sample((4,)),
            D.Cauchy(L.tensor(0.0, dtype=f64), L.tensor(1.0, dtype=f64)).sample((5,)),
        ]

    for ours, theirs in zip(*_both(run, seed=11)):
        _same(ours, theirs)


@pytest.mark.parametrize("args", [(0.0, 0.02, -2, 2), (0.0, 1.0, -2, 2), (0.0, 1.0, 1.5, 3.0),
                                  (0.5, 0.3, -0.1, 0.2)])
def test_trunc_normal_as_torch(args):
    """torch 2.13's two rejection samplers: redrawn normals (wide bounds) and accepted
    uniform candidates (a narrow window)."""
    ours, theirs = _both(lambda L: L.nn.init.trunc_normal_(L.empty(40, 30), *args), seed=5)
    _same(ours, theirs)


def test_rrelu_training_gradient_is_torchs_noise():
    """The backward of rrelu in training multiplies by the drawn slopes (1 above zero; a slope
    at zero, where torch draws one), and float16 is refused as torch's CPU kernel refuses it."""
    def run(L):
        x = L.tensor([-2.0, 0.0, 3.0, -0.5, 0.0, 1.5], dtype=L.float64, requires_grad=True)
        y = L.nn.functional.rrelu(x, training=True)
        y.backward(L.ones_like(y))
        return y.grad_fn.name(), y.detach(), x.grad

    (name, y, g), (t_name, t_y, t_g) = _both(run)
    assert name == t_name
    _same(y, t_y)
    _same(g, t_g)
    with pytest.raises(NotImplementedError, match="rrelu_with_noise_out_cpu"):
        gradstep.nn.functional.rrelu(gradstep.zeros(3, dtype=gradstep.float16), training=True)


class _WorkerDraws:
    """Item i: a draw from each of the library's, Python's and NumPy's generators in a worker."""

    def __init__(self, lib_name):
        self.lib_name = lib_name

    def __len__(self):
        return 6

    def __getitem__(self, i):
        import random

        lib = gradstep if self.lib_name == "gradstep" else torch
        return i, lib.rand(1).item(), random.random(), float(np.random.random()), lib.initial_seed()


@pytest.mark.timeout(60)
def test_worker_seeds_give_torchs_draws_in_a_dataset():
    """Each worker seeds torch's generator and Python's with base_seed + worker_id and NumPy's
    with torch's hash of both, so augmentations drawn in ``__getitem__`` match torch's."""
    def run(L):
        L.manual_seed(77)
        loader = L.utils.data.DataLoader(_WorkerDraws(L.__name__), batch_size=2, shuffle=True,
                                         num_workers=2)
        return [[v.tolist() for v in batch] for batch in loader]

    ours, theirs = _both(run)
    assert ours == theirs


def test_gamma_family_samples_as_torch():
    """torch's serial Marsaglia-Tsang sampler (float32 and float64 alpha arithmetic, boosted
    below 1), through Gamma, Chi2 and StudentT."""
    def run(L):
        D, f64 = L.distributions, L.float64
        return [
            D.Gamma(L.tensor([0.5, 2.0, 7.0], dtype=f64), L.tensor(1.5, dtype=f64)).sample((4,)),
            D.Gamma(L.tensor([0.3, 1.0, 3.5]), L.tensor(2.0)).sample((5,)),
            D.Chi2(L.tensor([3.0], dtype=f64)).sample((6,)),
            D.StudentT(L.tensor(4.0, dtype=f64)).sample((6,)),
        ]

    for ours, theirs in zip(*_both(run, seed=3)):
        _same(ours, theirs)


def test_beta_and_dirichlet_samples_as_torch():
    """torch's _sample_dirichlet: float64 Gamma draws normalised by a sequential float64 sum,
    then cast and kept below 1. (For 8 or more categories torch's vectorized sum can round
    the normaliser differently: an ulp.)"""
    def run(L):
        D = L.distributions
        return [
            D.Beta(L.tensor([0.5, 2.0]), L.tensor([1.5, 0.3])).sample((6,)),
            D.Beta(L.tensor(2.0, dtype=L.float64), L.tensor(3.0, dtype=L.float64)).sample((6,)),
            D.Dirichlet(L.tensor([0.5, 1.0, 3.0])).sample((5,)),
            D.Dirichlet(L.tensor([0.5, 1.0, 3.0, 0.2], dtype=L.float64)).sample((5,)),
        ]

    for ours, theirs in zip(*_both(run, seed=3)):
        _same(ours, theirs)


@pytest.mark.parametrize("probs", [[1.0, -1.0, 2.0], [1.0, float("nan")], [1.0, float("inf")], [float("inf"), -1.0],
                                   [[0.0, 0.0], [1.0, -1.0]], [[1.0, 1.0], [2.0, float("nan")]]],
                         ids=["negative", "nan", "inf", "inf-first", "zero-sum-row-first", "second-row"])
@pytest.mark.parametrize("n, replacement", [(1, True), (2, False), (3, True)])
def test_multinomial_refuses_bad_distributions_as_torch(probs, n, replacement):
    """Several samples with replacement take torch's cumulative kernel and its entry-by-entry errors
    (what WeightedRandomSampler meets with a bad weight); the others check the whole tensor first."""
    errors = []
    for L in (torch, gradstep):
        with pytest.raises(RuntimeError) as info:
            L.multinomial(L.tensor(probs), n, replacement=replacement)
        errors.append(str(info.value))
    assert errors[1] == errors[0]

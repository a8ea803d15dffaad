"""Random functions: shapes, dtypes, ranges and statistics, seeding and Generator state.

The samplers torch-equal streams cover (``tests/test_torch_random.py``) are also checked
here through their distribution, and the API (shapes, dtypes, errors) against torch.
"""

import numpy as np
import pytest
import torch

import gradstep

N = 200_000


def _like_torch(f):
    ours, theirs = f(gradstep), f(torch)
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    assert tuple(ours.shape) == tuple(theirs.shape)
    return ours


SHAPES = [
    lambda L: L.rand(2, 3), lambda L: L.rand((2, 3), dtype=L.float64), lambda L: L.rand(()),
    lambda L: L.rand(0), lambda L: L.randn(4), lambda L: L.randn(2, 3, dtype=L.float16),
    lambda L: L.randn([3]), lambda L: L.randn(size=(2, 1)), lambda L: L.rand(size=[3], dtype=L.float64),
    lambda L: L.empty(size=(2,)), lambda L: L.randint(5, (3,)), lambda L: L.randint(2, 5, (3, 2)),
    lambda L: L.randint(2, 5, (3,), dtype=L.int32), lambda L: L.randint(5, (3,), dtype=L.float32),
    lambda L: L.randint(0, 10, (2, 2), dtype=L.uint8), lambda L: L.randint(high=4, size=(2,)),
    lambda L: L.randperm(5), lambda L: L.randperm(0), lambda L: L.randperm(4, dtype=L.int32),
    lambda L: L.normal(0.0, 1.0, (2, 3)), lambda L: L.normal(L.zeros(3), 1.0),
    lambda L: L.normal(L.zeros(3), L.ones(3)), lambda L: L.normal(2.0, L.ones(3, dtype=L.float64)),
    lambda L: L.normal(0.0, 1.0, size=(2,)), lambda L: L.bernoulli(L.full((3,), 0.5)),
    lambda L: L.bernoulli(L.full((3,), 0.5, dtype=L.float64), 0.3),
    lambda L: L.multinomial(L.tensor([0.2, 0.8]), 3, replacement=True),
    lambda L: L.multinomial(L.tensor([[0.2, 0.8], [1.0, 0.0]]), 1),
    lambda L: L.multinomial(L.tensor([1.0, 2.0, 3.0]), 3),
    lambda L: L.rand_like(L.ones(2, dtype=L.float64)), lambda L: L.randn_like(L.ones(2, 3)),
    lambda L: L.randint_like(L.ones(2, 3), 5), lambda L: L.randint_like(L.ones(2, dtype=L.int32), 3, 5),
]


@pytest.mark.parametrize("i", range(len(SHAPES)))
def test_shapes_and_dtypes_like_torch(i):
    _like_torch(SHAPES[i])


def test_uniform_and_normal_statistics():
    gradstep.manual_seed(0)
    u = gradstep.rand(N, dtype=gradstep.float64).numpy()
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    n = gradstep.randn(N).numpy()
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01
    assert abs(np.mean(np.abs(n) < 1) - 0.6827) < 0.005
    m = gradstep.normal(3.0, 2.0, (N,)).numpy()
    assert abs(m.mean() - 3) < 0.02 and abs(m.std() - 2) < 0.02
    mt = gradstep.normal(gradstep.tensor([-5.0, 5.0]).repeat(N // 2), gradstep.tensor([0.1, 3.0]).repeat(N // 2))
    a, b = mt.numpy()[0::2], mt.numpy()[1::2]
    assert abs(a.mean() + 5) < 0.01 and abs(a.std() - 0.1) < 0.005
    assert abs(b.mean() - 5) < 0.05 and abs(b.std() - 3) < 0.05


def test_integer_distributions():
    gradstep.manual_seed(1)
    r = gradstep.randint(-3, 4, (N,)).numpy()
    assert r.min() == -3 and r.max() == 3
    counts = np.bincount(r + 3) / N
    assert np.all(np.abs(counts - 1 / 7) < 0.005)
    p = gradstep.randperm(50)
    assert sorted(p.tolist()) == list(range(50))
    b = gradstep.bernoulli(gradstep.full((N,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.005
    probs = gradstep.tensor([0.0, 1.0, 2.0, 7.0])
    s = gradstep.multinomial(probs, N, replacement=True).numpy()
    freq = np.bincount(s, minlength=4) / N
    np.testing.assert_allclose(freq, [0, 0.1, 0.2, 0.7], atol=0.005)
    rows = gradstep.multinomial(gradstep.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 5.0]]), 2)
    assert sorted(rows[0].tolist()) == [0, 1]
    assert rows[1, 0].item() == 2 and rows[1, 1].item() in (0, 1)  # zero weights come last
    first = gradstep.multinomial(gradstep.tensor([1.0, 9.0]).expand(N // 10, 2), 2)[:, 0].numpy()
    assert abs(first.mean() - 0.9) < 0.01  # sampled in proportion without replacement


def test_manual_seed_reproducibility():
    fns = [lambda: gradstep.rand(5), lambda: gradstep.randn(2, 2), lambda: gradstep.randint(0, 100, (5,)),
           lambda: gradstep.randperm(10), lambda: gradstep.normal(0.0, 1.0, (3,)),
           lambda: gradstep.bernoulli(gradstep.full((6,), 0.5)),
           lambda: gradstep.multinomial(gradstep.ones(5), 3)]
    gradstep.manual_seed(123)
    first = [f().tolist() for f in fns]
    gradstep.manual_seed(123)
    assert [f().tolist() for f in fns] == first
    gradstep.manual_seed(124)
    assert [f().tolist() for f in fns] != first
    assert gradstep.initial_seed() == 124
    g = gradstep.manual_seed(5)
    assert g is gradstep.default_generator


def test_generator_argument():
    def draw(g):
        return [gradstep.rand(3, generator=g).tolist(), gradstep.randn(2, generator=g).tolist(),
                gradstep.randint(0, 9, (4,), generator=g).tolist(),
                gradstep.randint(9, (2,), generator=g).tolist(),
                gradstep.randperm(6, generator=g).tolist(),
                gradstep.normal(0.0, 1.0, (2,), generator=g).tolist(),
                gradstep.normal(gradstep.zeros(2), 1.0, generator=g).tolist(),
                gradstep.bernoulli(gradstep.full((4,), 0.5), generator=g).tolist(),
                gradstep.multinomial(gradstep.ones(4), 2, generator=g).tolist(),
                gradstep.rand_like(gradstep.ones(2), generator=g).tolist() if _accepts_gen() else []]
    gradstep.manual_seed(0)
    a = draw(gradstep.Generator().manual_seed(7))
    gradstep.manual_seed(99)  # the default generator does not matter
    b = draw(gradstep.Generator().manual_seed(7))
    assert a == b
    assert draw(gradstep.Generator().manual_seed(8)) != a
    # a generator does not advance the default one
    gradstep.manual_seed(3)
    x = gradstep.rand(2).tolist()
    gradstep.manual_seed(3)
    gradstep.rand(100, generator=gradstep.Generator())
    assert gradstep.rand(2).tolist() == x


def _accepts_gen():
    import inspect

    return "generator" in inspect.signature(gradstep.rand_like).parameters


def test_generator_api():
    g = gradstep.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert g.manual_seed(42) is g and g.initial_seed() == 42
    assert str(g.device) == "cpu"
    s = g.seed()
    assert g.initial_seed() == s
    assert gradstep.seed() == gradstep.initial_seed()
    with pytest.raises(RuntimeError):
        gradstep.Generator("cuda")


def test_get_set_state_round_trip():
    g = gradstep.Generator().manual_seed(5)
    gradstep.rand(7, generator=g)
    state = g.get_state()
    assert state.dtype is gradstep.uint8 and state.ndim == 1
    a = [gradstep.rand(3, generator=g).tolist(), gradstep.randn(5, generator=g).tolist(),
         gradstep.randint(0, 1000, (3,), generator=g).tolist()]
    g.set_state(state)
    b = [gradstep.rand(3, generator=g).tolist(), gradstep.randn(5, generator=g).tolist(),
         gradstep.randint(0, 1000, (3,), generator=g).tolist()]
    assert a == b
    other = gradstep.Generator().set_state(state)
    assert gradstep.rand(3, generator=other).tolist() == a[0]
    # the state is a snapshot: drawing later does not change it
    snap = state.clone()
    gradstep.rand(3, generator=g)
    assert state.tolist() == snap.tolist()
    # the default generator, through get_rng_state / set_rng_state
    gradstep.manual_seed(11)
    st = gradstep.get_rng_state()
    x = gradstep.randn(4).tolist()
    gradstep.set_rng_state(st)
    assert gradstep.randn(4).tolist() == x
    with pytest.raises(RuntimeError):
        g.set_state(gradstep.zeros(3, dtype=gradstep.uint8))


def test_random_errors():
    with pytest.raises(RuntimeError, match="from=3 >= to=3"):
        gradstep.randint(3, 3, (2,))
    with pytest.raises(RuntimeError, match="std >= 0"):
        gradstep.normal(0.0, -1.0, (2,))
    with pytest.raises(RuntimeError, match="std >= 0"):
        gradstep.normal(gradstep.zeros(2), gradstep.tensor([1.0, -1.0]))
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        gradstep.bernoulli(gradstep.tensor([1.5]))
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        gradstep.multinomial(gradstep.ones(2, 2, 2), 1)
    with pytest.raises(RuntimeError):
        gradstep.multinomial(gradstep.tensor([-1.0, 2.0]), 1)
    with pytest.raises(RuntimeError):
        gradstep.multinomial(gradstep.tensor([0.0, 0.0]), 1, replacement=True)
    with pytest.raises(RuntimeError, match="without replacement"):
        gradstep.multinomial(gradstep.tensor([1.0, 1.0]), 3)


def test_in_place_random():
    gradstep.manual_seed(0)
    x = gradstep.empty(N)
    x.uniform_(-2, 3)
    v = x.numpy()
    assert v.min() >= -2 and v.max() < 3 and abs(v.mean() - 0.5) < 0.02
    x.normal_(1.0, 0.5)
    assert abs(x.numpy().mean() - 1) < 0.01 and abs(x.numpy().std() - 0.5) < 0.01
    g1, g2 = gradstep.Generator().manual_seed(1), gradstep.Generator().manual_seed(1)
    assert gradstep.empty(3).uniform_(generator=g1).tolist() == gradstep.empty(3).uniform_(generator=g2).tolist()


@pytest.mark.parametrize("name", ["rand", "randn", "rand_like", "randn_like"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "uint8"])
def test_float_samplers_refuse_integer_dtypes(name, dtype):
    """e.g. torch.randn_like(long_tensor): NotImplementedError naming torch's kernel."""
    def call(lib):
        dt = getattr(lib, dtype)
        if name.endswith("_like"):
            return getattr(lib, name)(lib.ones(2, dtype=dt))
        return getattr(lib, name)(2, dtype=dt)
    with pytest.raises(NotImplementedError) as theirs:
        call(torch)
    with pytest.raises(NotImplementedError) as ours:
        call(gradstep)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", ["rand", "randn", "rand_like", "randn_like"])
@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_float_samplers_keep_float_dtypes(name, dtype):
    if name.endswith("_like"):
        _like_torch(lambda lib: getattr(lib, name)(lib.ones(2, dtype=getattr(lib, dtype))))
    else:
        _like_torch(lambda lib: getattr(lib, name)(2, dtype=getattr(lib, dtype)))

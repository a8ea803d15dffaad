"""Argument errors of the reductions, orderings, indexing, shape ops, factories, ``Tensor.to``
and ``nn.functional`` as torch 2.13's parser (and its Python wrappers) words them.

Each call runs under real torch and under gradstep: a refused call must raise the same
exception type with the same first line of message (torch's "invalid combination" messages go
on to list signatures with match hints gradstep does not reproduce), an accepted one the same
result. Templates run with each of ``BAD`` in place of ``{v}`` (bools and floats as ints,
tuples with a float inside, None, strings, NumPy scalars: a NumPy int IS an int to torch). The
function form counts ``input`` in its positions and a keyword argument has none (the wrappers
in gradstep/_signatures.py reword the ops' messages for the call).
"""

import warnings

import numpy as np
import pytest

import gradstep

torch = pytest.importorskip("torch")

BAD = ["True", "1.5", "(0, 1.0)", "None", "'a'", "np.float64(1)", "np.int64(1)", "[0]"]

TEMPLATES = [
    'x.sum(0, keepdim={v})', 'x.sum(0, {v})', 'x.sum(dim={v})', 'x.sum(dtype={v})',
    'x.mean(0, keepdim={v})', 'y.prod(0, keepdim={v})', 'y.amax({v})', 'y.amax(dim={v})',
    'y.amin({v})', 'y.amax(0, keepdim={v})', 'y.var({v})', 'y.var(0, correction={v})',
    'y.std({v})', 'y.std(0, correction={v})', 'y.std(0, keepdim={v})', 'torch.var(y, {v})',
    'y.norm({v})', 'y.norm(2, {v})', 'y.norm(p={v})', 'y.logsumexp({v})',
    'y.logsumexp(0, keepdim={v})', 'torch.logsumexp(y, {v})', 'y.argmax({v})',
    'y.argmax(0, keepdim={v})', 'y.argmin(dim={v})', 'torch.argmax(y, {v})', 'y.cumsum({v})',
    'y.cumsum(0, dtype={v})', 'torch.cumsum(y, {v})', 'y.cumprod({v})', 'y.softmax({v})',
    'y.softmax(0, dtype={v})', 'F.softmax(y, {v})', 'F.log_softmax(y, {v})',
    'torch.softmax(y, {v})', 'y.log_softmax({v})', 'torch.cat((y, y), {v})',
    'torch.cat([y, y], dim={v})', 'torch.stack([y, y], {v})', 'torch.stack([y, y], dim={v})',
    'torch.cat((y, y), out={v})', 'y.topk({v})', 'y.topk(1, {v})', 'y.topk(1, largest={v})',
    'y.topk(1, sorted={v})', 'y.topk(k={v})', 'torch.topk(y, {v})', 'torch.topk(y, 1, {v})',
    'y.sort({v})', 'y.sort(0, {v})', 'y.sort(descending={v})', 'y.sort(stable={v})',
    'torch.sort(y, {v})', 'y.kthvalue({v})', 'y.kthvalue(1, {v})', 'y.kthvalue(1, 0, {v})',
    'torch.kthvalue(y, {v})', 'y.median(0, {v})', 'y.mode({v})', 'y.mode(0, {v})',
    'y.argsort({v})', 'y.argsort(0, {v})', 'y.gather(0, {v})', 'y.gather({v}, i)',
    'torch.gather(y, {v}, i)', 'y.scatter(0, i, {v})', 'y.scatter({v}, i, 1.0)',
    'y.index_select(0, {v})', 'y.index_select({v}, torch.tensor([0]))',
    'torch.index_select(y, {v}, torch.tensor([0]))', 'torch.index_select(y, 0, {v})',
    'y.transpose(0, {v})', 'torch.transpose(y, 0, {v})', 'y.flatten({v})', 'torch.flatten(y, {v})',
    'torch.unsqueeze(y, {v})', 'y.repeat({v})', 'y.expand({v})', 'torch.narrow(y, {v}, 0, 1)',
    'torch.split(y, {v})', 'torch.chunk(y, {v})', 'y.clamp({v})', 'y.clamp(0, {v})',
    'torch.clamp(y, {v})', 'y.clamp_min({v})', 'y.clamp_max({v})', 'torch.full((2, 3), {v})',
    'torch.full({v}, 1.0)', 'torch.full((2,), 1.0, dtype={v})', 'torch.zeros(2, dtype={v})',
    'torch.ones(2, dtype={v})', 'torch.empty(2, dtype={v})', 'torch.arange({v})',
    'torch.arange(0, 5, {v})', 'torch.arange(5, dtype={v})', 'torch.linspace(0, 1, {v})',
    'torch.linspace({v}, 1, 5)', 'torch.linspace(0, 1, 5, dtype={v})',
    'torch.zeros_like(y, dtype={v})', 'torch.ones_like({v})', 'torch.full_like(y, {v})',
    'torch.eye({v})', 'torch.rand(2, dtype={v})', 'torch.randint(0, 5, (2,), dtype={v})',
    'y.to(torch.float32, {v})', 'y.to(torch.float32, copy={v})',
    'y.to(torch.float32, non_blocking={v})', 'y.to(dtype={v})', 'y.to(y, {v})',
    "y.to('cpu', torch.float64, {v})", 'y.new_zeros(2, dtype={v})',
    'F.linear(img.reshape(4, 4), lw.T, b={v})', 'F.linear(img.reshape(4, 4), lw.T, {v})',
    'F.linear({v}, lw)', 'F.linear(img.reshape(4, 4), {v})', 'F.conv2d(img, w, stride={v})',
    'F.conv2d(img, w, padding={v})', 'F.conv2d(img, w, dilation={v})',
    'F.conv2d(img, w, groups={v})', 'F.conv2d(img, w, {v})', 'F.dropout(img, p={v})',
    'F.dropout(img, 0.5, {v})', 'F.dropout(img, training={v})', 'F.relu(img, inplace={v})',
    'F.max_pool2d(img, {v})', 'F.max_pool2d(img, 2, stride={v})',
    'F.cross_entropy(img.reshape(4, 4), torch.tensor([0, 1, 2, 3]), reduction={v})',
    'F.embedding({v}, lw)', 'F.pad(img, {v})', 'F.softmax(img, {v})', 'F.log_softmax(img, {v})',
    'F.gelu(img, approximate={v})', 'F.normalize(img, {v})', 'F.normalize(img, dim={v})',
]

SINGLE = [
    'x.sum(0, dtype="float32")', 'x.mean(dtype="float32")', 'F.softmax(y)',
    'F.softmax(y, dim=None)', 'torch.cat(y)', 'torch.cat(5)', 'torch.cat([y, 1])',
    'torch.cat([y, None])', 'torch.cat([])', 'torch.cat([1, 2])', 'torch.stack(y)',
    'torch.stack([y, 1])', 'torch.stack(5)', 'torch.hstack(y)', 'torch.hstack([y, 1])',
    'torch.vstack(y)', "torch.vstack([y, 'a'])", 'y.gather(0, i.float())', 'y.gather(0, i.int())',
    'torch.gather(y, 0, i.float())', 'y.scatter(0, i.float(), 1.0)',
    'y.index_select(0, torch.tensor([0.]))',
    'y.index_select(0, torch.tensor([0], dtype=torch.int32))', 'y.transpose(0, 2)',
    'y.movedim(0, 2)', 'y.movedim((0, 1), (0,))', 'y.movedim((0, 0), (0, 1))', 'y.flatten(2)',
    'y.flatten(1, 0)', 'y.unflatten(1, (2, 2))', 'y.unflatten(1, (-1, -1))', 'y.unflatten(1, ())',
    'y.unflatten(5, (3,))', 'y.squeeze(5)', 'y.squeeze((0, 5))', 'y.unsqueeze(5)',
    'y.repeat(-1, 2)', 'y.repeat(2)', 'y.tile(-1)', 'y.expand(-2, 3)', 'y.expand(3)',
    'y.expand(2, 4)', 'y.expand(4, 3)', 'y.narrow(0, 0, 5)', 'y.narrow(0, -3, 1)',
    'y.narrow(0, 0, -1)', 'y.narrow(5, 0, 1)', 'y.split(0)', 'y.split(-1)', 'y.split([1, 2])',
    'y.split([1, 1], 1)', 'y.chunk(0)', 'y.chunk(-1)', 'y.clamp()',
    'y.clamp(torch.tensor(0.), 1.0)', 'torch.full((2, -1), 1.0)',
    "torch.zeros(2, dtype='float32')", 'torch.zeros(-1)', 'torch.zeros(2, -3)', 'torch.ones(-2)',
    'torch.empty(-1)', 'torch.arange(0, 5, 0)', 'torch.arange(5, 0)', 'torch.arange(0, 5, -1)',
    'torch.linspace(0, 1, -1)', 'torch.eye(-1)', 'torch.randn(-1)', "y.to('float32')",
    'y.to(1, 2, 3, 4)', 'y.to()', 'F.conv2d(img, w, stride=0)', 'F.conv2d(img, w, stride=-1)',
    'F.conv2d(img, w, padding=-1)', "F.conv2d(img, w, padding='bad')",
    "F.conv2d(img, w, padding='same', stride=2)", 'F.dropout(img, p=1.5)',
    'F.dropout(img, p=-0.1)', 'F.interpolate(img, size=2, scale_factor=2)', 'F.interpolate(img)',
    "F.interpolate(img, size=2, mode='bad')", "F.pad(img, (1, 1), mode='bad')", 'y.prod(True)',
    'y.prod(1.5)', 'y.prod((0, 1.0))', "y.prod('a')", 'y.prod(np.float64(1))',
    'y.prod(np.int64(1))', 'y.prod([0])', 'y.prod(dim=True)', 'y.prod(dim=1.5)',
    'y.prod(dim=(0, 1.0))', "y.prod(dim='a')", 'y.prod(dim=np.float64(1))',
    'y.prod(dim=np.int64(1))', 'y.prod(dim=[0])', 'torch.prod(y, True)', 'torch.prod(y, 1.5)',
    'torch.prod(y, (0, 1.0))', "torch.prod(y, 'a')", 'torch.prod(y, np.float64(1))',
    'torch.prod(y, np.int64(1))', 'torch.prod(y, [0])', 'y.var(0, unbiased=True)',
    'y.var(0, unbiased=1.5)', 'y.var(0, unbiased=(0, 1.0))', "y.var(0, unbiased='a')",
    'y.var(0, unbiased=np.float64(1))', 'y.var(0, unbiased=np.int64(1))', 'y.var(0, unbiased=[0])',
    'y.median(True)', 'y.median(1.5)', 'y.median((0, 1.0))', "y.median('a')",
    'y.median(np.float64(1))', 'y.median(np.int64(1))', 'y.median([0])', 'torch.median(y, True)',
    'torch.median(y, 1.5)', 'torch.median(y, (0, 1.0))', "torch.median(y, 'a')",
    'torch.median(y, np.float64(1))', 'torch.median(y, np.int64(1))', 'torch.median(y, [0])',
    'y.transpose(dim0=np.int64(1), dim1=0)', 'torch.movedim(y, True, 0)',
    'torch.movedim(y, 1.5, 0)', 'torch.movedim(y, None, 0)', "torch.movedim(y, 'a', 0)",
    'torch.movedim(y, np.float64(1), 0)', 'torch.movedim(y, np.int64(1), 0)',
    'torch.movedim(y, [0], 0)', 'torch.squeeze(y, True)', 'torch.squeeze(y, 1.5)',
    'torch.squeeze(y, (0, 1.0))', "torch.squeeze(y, 'a')", 'torch.squeeze(y, np.float64(1))',
    'torch.squeeze(y, np.int64(1))', 'torch.squeeze(y, [0])', 'torch.tile(y, True)',
    'torch.tile(y, 1.5)', 'torch.tile(y, (0, 1.0))', 'torch.tile(y, None)', "torch.tile(y, 'a')",
    'torch.tile(y, np.float64(1))', 'torch.tile(y, [0])', 'y.clamp(min=True)', 'y.clamp(min=1.5)',
    'y.clamp(min=None)', 'y.clamp(min=np.float64(1))', 'y.clamp(min=np.int64(1))',
    'y.clamp(max=True)', 'y.clamp(max=1.5)', 'y.clamp(max=None)', 'y.clamp(max=np.float64(1))',
    'y.clamp(max=np.int64(1))', 'y.clamp_(True)', 'y.clamp_(1.5)', 'y.clamp_(None)',
    'y.clamp_(np.float64(1))', 'y.clamp_(np.int64(1))', 'y.clip(True)', 'y.clip(1.5)',
    'y.clip(None)', 'y.clip(np.float64(1))', 'y.clip(np.int64(1))', 'torch.arange(0, True)',
    'torch.arange(0, 1.5)', 'torch.arange(0, (0, 1.0))', "torch.arange(0, 'a')",
    'torch.arange(0, np.float64(1))', 'torch.arange(0, np.int64(1))', 'torch.arange(0, [0])',
    'y.to((0, 1.0))', 'y.to(None)', "y.to('a')", 'y.to([0])', 'y.to(device=True)',
    'y.to(device=1.5)', 'y.to(device=(0, 1.0))', 'y.to(device=None)', "y.to(device='a')",
    'y.to(device=np.float64(1))', 'y.to(device=[0])', 'y.type(None)', "y.type('a')",
    'F.interpolate(img, size=(0, 1.0))', 'F.interpolate(img, size=None)',
    'F.interpolate(img, size=np.int64(1))', 'F.interpolate(img, size=[0])',
    'F.interpolate(img, scale_factor=True)', 'F.interpolate(img, scale_factor=1.5)',
    'F.interpolate(img, scale_factor=None)', 'F.interpolate(img, scale_factor=np.float64(1))',
    'F.interpolate(img, scale_factor=np.int64(1))', 'F.interpolate(img, scale_factor=[0])',
    'F.avg_pool2d(img, [0])', 'F.layer_norm(img, [0])',
    'F.one_hot(torch.tensor([0, 1]), np.int64(1))', 'F.leaky_relu(img, True)',
    'F.leaky_relu(img, 1.5)', 'F.leaky_relu(img, np.float64(1))', 'F.leaky_relu(img, np.int64(1))',
]

CASES = [t.replace("{v}", b) for t in TEMPLATES for b in BAD] + SINGLE
RANDOM = ("dropout", "rand", "empty")  # results compared by shape and dtype only


def _run(lib, src):
    x = lib.arange(6.0)
    y = x.reshape(2, 3)
    env = {"torch": lib, "F": lib.nn.functional, "np": np, "x": x, "y": y,
           "z": lib.arange(24.).reshape(2, 3, 4), "i": lib.tensor([[0, 1], [1, 0]]),
           "img": lib.ones(1, 1, 4, 4), "w": lib.ones(2, 1, 3, 3), "lw": lib.ones(4, 3)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return True, eval(src, env)  # noqa: S307 - the sources are the literals above
        except Exception as e:  # noqa: BLE001 - compared with torch's below
            return False, e


def _tensors(r):
    return list(r) if isinstance(r, (tuple, list)) else [r]


@pytest.mark.parametrize("src", CASES)
def test_like_torch(src):
    (t_ok, want), (g_ok, got) = _run(torch, src), _run(gradstep, src)
    assert g_ok == t_ok, (src, got if not g_ok else want)
    if not t_ok:
        assert type(got) is type(want), (src, got)
        assert str(got).split("\n")[0] == str(want).split("\n")[0], src
        return
    for w, g in zip(_tensors(want), _tensors(got)):
        if not hasattr(w, "shape"):  # Tensor.type(None): the type's name
            assert str(g) == str(w), src
            continue
        assert tuple(g.shape) == tuple(w.shape), src
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1], src
        if not any(r in src for r in RANDOM):
            # copies, views, clamps and sums of small integers held in floats are exact;
            # exp/log (logsumexp, softmax) and sqrt (norm, std) of them differ from torch's
            # vectorized kernels by an ulp or two of float32 (~1.2e-7 relative each)
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-6,
                                       err_msg=src)


@pytest.mark.parametrize("src", [
    "y.sum(dim=1.5)", "torch.sum(y, dim=1.5)", "torch.sum(y, 1.5)", "y.var(1.5, keepdim=True)",
    "torch.var(y, dim=1.5, keepdim=True)", "y.sort(descending=1.5)", "torch.sort(y, 1.5)",
    "y.to(torch.float32, copy=1.5)", "F.conv2d(img, w, stride=1.5)", "y.clamp('a')",
    "torch.linspace(0, 1, 1.5)", "torch.eye(2, 1.5)", "y.scatter(1.5, i, 1.0)",
])
def test_invalid_combination_got_list(src):
    """torch lists the call's own arguments (keywords in its map's order) and the function
    form's signatures with ``Tensor input`` first: the first line and the signature lines."""
    want, got = str(_run(torch, src)[1]).split("\n"), str(_run(gradstep, src)[1]).split("\n")
    assert got[0] == want[0]
    assert [s for s in got if s.startswith(" * ")] == [s for s in want if s.startswith(" * ")]


def test_positions_follow_the_call_form():
    """One op, three wordings: method (dim is 1st), function (input is 1st), keyword."""
    y = gradstep.ones(2, 3)
    for call, where in ((lambda: y.cumsum(1.5), " (position 1)"),
                        (lambda: gradstep.cumsum(y, 1.5), " (position 2)"),
                        (lambda: y.cumsum(dim=1.5), "")):
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value) == f"cumsum(): argument 'dim'{where} must be int, not float"


def test_softmax_implicit_dim_is_only_for_functional():
    """torch.softmax/Tensor.softmax refuse dim=None; F.softmax picks the dim and warns."""
    y = gradstep.ones(2, 3)
    with pytest.raises(TypeError, match="argument 'dim' \\(position 1\\) must be int"):
        y.softmax(None)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = gradstep.nn.functional.softmax(y)
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 1 / 3, np.float32), rtol=1e-6)


def test_valid_common_calls_unchanged():
    """The fast paths still give torch's results (keepdim, dtype, tuple dims, bounds)."""
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    for f in (lambda L, t: t.sum((0, 2), keepdim=True), lambda L, t: t.mean(1, True),
              lambda L, t: t.prod(1, dtype=L.float64), lambda L, t: t.amax((1, 2)),
              lambda L, t: t.var(1, correction=0), lambda L, t: t.std((0, 1), keepdim=True),
              lambda L, t: t.norm(2, (1, 2)), lambda L, t: t.logsumexp((0,)),
              lambda L, t: t.softmax(-1, dtype=L.float64), lambda L, t: t.cumsum(2),
              lambda L, t: t.clamp(L.tensor(-0.5), 0.5), lambda L, t: L.cat([t, t], 1),
              lambda L, t: t.to("cpu", L.float64, non_blocking=False, copy=True),
              lambda L, t: L.full((2,), np.int64(3)), lambda L, t: t.sort(1, True)[0]):
        for dt in ("float32", "float64"):
            want = f(torch, torch.tensor(a.astype(dt)))
            got = f(gradstep, gradstep.tensor(a.astype(dt)))
            assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
            # the same op order as torch's kernels up to summation order: a few ulps
            np.testing.assert_allclose(got.numpy(), want.numpy(),
                                       rtol=1e-5 if dt == "float32" else 1e-12)

"""FlopCounterMode against torch 2.13's CPU build: the same totals and per-module, per-op
counts (integers: exact) for the products and convolutions of a training step."""

import importlib

import pytest
import torch

import gradstep as gs


def _counts(lib, build, step):
    fcm = importlib.import_module(lib.__name__ + ".utils.flop_counter").FlopCounterMode
    lib.manual_seed(0)
    args = build(lib)
    with fcm(display=False) as fc:
        step(lib, *args)
    counts = {mod: {str(op): n for op, n in ops.items()} for mod, ops in
              fc.get_flop_counts().items()}
    return fc.get_total_flops(), counts


def _linear3d(lib):
    return lib.nn.Linear(16, 32), lib.randn(4, 8, 16)


def _block(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.Linear(16, 48)
            self.mlp = nn.Sequential(nn.Linear(16, 64), nn.GELU(), nn.Linear(64, 16))

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (z.view(b, t, 2, 8).transpose(1, 2) for z in self.attn(x).split(16, 2))
            y = ((q @ k.transpose(-2, -1)).softmax(-1) @ v).transpose(1, 2).reshape(b, t, c)
            return y + self.mlp(y)

    return nn.Sequential(nn.Embedding(10, 16), Block(), nn.Linear(16, 10, bias=False)), None


def _gpt_step(lib, model, _):
    idx = lib.randint(0, 10, (2, 8))
    lib.nn.functional.cross_entropy(model(idx).view(-1, 10), idx.view(-1)).backward()


def _matmuls(lib, q, _):
    (q @ q.transpose(-1, -2)).sum().backward()
    lib.randn(2, 5, 8) @ lib.randn(8, 3)  # folded into one mm
    lib.randn(5, 8) @ lib.randn(2, 8, 3)  # bmm
    lib.randn(8) @ lib.randn(8, 3)  # mm of one row
    lib.randn(5, 8) @ lib.randn(8)  # mv: not counted
    lib.bmm(lib.randn(2, 5, 8), lib.randn(2, 8, 3))
    lib.addmm(lib.randn(4, 3), lib.randn(4, 5), lib.randn(5, 3))


CASES = {
    "linear fwd": (_linear3d, lambda lib, m, x: m(x)),
    "linear fwd+bwd": (_linear3d, lambda lib, m, x: m(x).sum().backward()),
    "linear input grad": (_linear3d, lambda lib, m, x: m(x.requires_grad_()).sum().backward()),
    "linear no bias": (_linear3d, lambda lib, m, x: lib.nn.functional.linear(
        x[:2, 0], m.weight).sum().backward()),
    "matmul ranks": (lambda lib: (lib.randn(2, 3, 5, 8, requires_grad=True), None), _matmuls),
    "sdpa (uncounted on CPU)": (lambda lib: (lib.randn(2, 3, 5, 8, requires_grad=True), None),
                                lambda lib, q, _: lib.nn.functional.scaled_dot_product_attention(
                                    q, q, q).sum().backward()),
    "conv2d": (lambda lib: (lib.nn.Conv2d(3, 6, 3, padding=1), lib.randn(2, 3, 8, 8)),
               lambda lib, c, x: c(x.requires_grad_()).sum().backward()),
    "conv2d weight grad only": (lambda lib: (lib.nn.Conv2d(3, 6, 3, stride=2), lib.randn(2, 3, 9, 9)),
                                lambda lib, c, x: c(x).sum().backward()),
    "conv_transpose2d": (lambda lib: (lib.nn.ConvTranspose2d(3, 6, 3, stride=2),
                                      lib.randn(2, 3, 8, 8, requires_grad=True)),
                         lambda lib, c, x: c(x).sum().backward()),
    "conv1d groups": (lambda lib: (lib.nn.Conv1d(3, 6, 3, groups=3),
                                   lib.randn(2, 3, 8, requires_grad=True)),
                      lambda lib, c, x: c(x).sum().backward()),
    "gpt step": (_block, _gpt_step),
}


@pytest.mark.parametrize("name", list(CASES))
def test_counts_equal_torch(name):
    build, step = CASES[name]
    total_t, counts_t = _counts(torch, build, step)
    total_g, counts_g = _counts(gs, build, step)
    assert total_g == total_t
    assert counts_g == counts_t


def test_total_is_nonzero_and_table_prints(capsys):
    from gradstep.utils.flop_counter import FlopCounterMode

    model = gs.nn.Sequential(gs.nn.Linear(16, 8), gs.nn.ReLU(), gs.nn.Linear(8, 4))
    with FlopCounterMode(depth=1) as fc:
        model(gs.randn(4, 16)).sum().backward()
    # forward 2*4*(16*8 + 8*4); backward: the first layer only its weight, the second both
    assert fc.get_total_flops() == 1280 + 1024 + 2 * 256
    out = capsys.readouterr().out
    assert "Sequential" in out and "aten.addmm" in out and "Sequential.0" not in out
    # the counter is off again: no counting outside the context
    from gradstep.ops import _flops

    assert _flops.COUNTER is None
    assert repr(next(iter(fc.get_flop_counts()["Global"]))).startswith("<OpOverloadPacket(op='aten.")

"""state_dict / load_state_dict: torch's keys and shapes, loading torch weights, error reports."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from tests.nn.layer_twin import to_ours


def _model(L):
    class Net(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = L.nn.Embedding(10, 4, padding_idx=0)
            self.body = L.nn.Sequential(OrderedDict([
                ("fc1", L.nn.Linear(4, 8)), ("act", L.nn.GELU()), ("fc2", L.nn.Linear(8, 8))]))
            self.heads = L.nn.ModuleList([L.nn.Linear(8, 3), L.nn.Linear(8, 2, bias=False)])
            self.extra = L.nn.ModuleDict({"bil": L.nn.Bilinear(3, 2, 2)})
            self.scales = L.nn.ParameterList([L.nn.Parameter(L.ones(3)), L.nn.Parameter(L.ones(2))])
            self.offsets = L.nn.ParameterDict({"a": L.nn.Parameter(L.zeros(2))})
            self.register_buffer("steps", L.zeros((), dtype=L.int64))
            self.register_buffer("cache", L.zeros(4), persistent=False)
            self.loss = L.nn.CrossEntropyLoss(weight=L.ones(2))

        def forward(self, idx):
            h = self.body(self.embed(idx).mean(1))
            a = self.heads[0](h) * self.scales[0]
            b = self.heads[1](h) * self.scales[1]
            return self.extra["bil"](a, b) + self.offsets["a"]

    return Net()


def test_keys_and_shapes_equal_torch():
    ours, theirs = _model(gradstep), _model(torch)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
        assert sd[k].dtype.name == str(tsd[k].dtype).replace("torch.", ""), k
    assert "cache" not in sd
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]


def test_loading_torch_weights_gives_torch_outputs():
    ours, theirs = _model(gradstep), _model(torch)
    result = ours.load_state_dict({k: to_ours(v) for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    idx = np.array([[1, 2, 0], [4, 4, 9]])
    np.testing.assert_allclose(ours(gradstep.tensor(idx)).detach().numpy(),
                               theirs(torch.tensor(idx)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_values_are_detached_and_load_copies_in_place():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad and sd["weight"]._data is m.weight._data
    assert m.state_dict(keep_vars=True)["weight"] is m.weight
    assert list(m.state_dict(prefix="lin.")) == ["lin.weight", "lin.bias"]
    w = m.weight
    m.load_state_dict({"weight": gradstep.ones(2, 3, dtype=gradstep.float64), "bias": gradstep.zeros(2)})
    assert m.weight is w and w.dtype == gradstep.float32 and w.tolist() == [[1.0] * 3] * 2
    m.load_state_dict({"weight": gradstep.zeros(2, 3), "bias": gradstep.ones(2)}, assign=True)
    assert m.weight is not w and isinstance(m.weight, nn.Parameter) and m.bias.tolist() == [1.0, 1.0]


def _bad_state(L):
    return OrderedDict([("0.weight", L.zeros(3, 5)), ("2.weight", L.zeros(7, 3)),
                        ("2.bias", L.zeros(2)), ("extra", L.zeros(1)), ("3.weight", L.zeros(1))])


def test_load_reports_every_problem_like_torch():
    def build(L):
        return L.nn.Sequential(L.nn.Linear(4, 3), L.nn.ReLU(), L.nn.Linear(3, 2))

    with pytest.raises(RuntimeError) as ours:
        build(gradstep).load_state_dict(_bad_state(gradstep))
    with pytest.raises(RuntimeError) as theirs:
        build(torch).load_state_dict(_bad_state(torch))
    msg = str(ours.value)
    for needle in ['Missing key(s) in state_dict: "0.bias"', '"extra"', '"3.weight"',
                   "size mismatch for 0.weight", "size mismatch for 2.weight",
                   "Error(s) in loading state_dict for Sequential"]:
        assert needle in msg
    assert msg == str(theirs.value).replace("torch.", "gradstep.")


def test_non_strict_returns_keys_but_still_rejects_shapes():
    m = nn.Sequential(nn.Linear(4, 3))
    res = m.load_state_dict({"0.weight": gradstep.zeros(3, 4), "x.y": gradstep.zeros(1)}, strict=False)
    assert res.missing_keys == ["0.bias"] and res.unexpected_keys == ["x.y"]
    missing, unexpected = res
    assert missing == ["0.bias"]
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        m.load_state_dict({"0.weight": gradstep.zeros(4, 4)}, strict=False)
    with pytest.raises(RuntimeError, match="expected torch.Tensor or Tensor-like object from checkpoint"):
        m.load_state_dict({"0.weight": np.zeros((3, 4)), "0.bias": gradstep.zeros(3)})


def test_torch_checkpoint_via_numpy_and_shared_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)
            self.b.weight = self.a.weight

    t = Tied()
    assert list(t.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert len(list(t.parameters())) == 3


def test_extra_state_and_state_dict_hooks():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.counter = 0

        def get_extra_state(self):
            return {"counter": self.counter}

        def set_extra_state(self, state):
            self.counter = state["counter"]

    m = WithExtra()
    m.counter = 7
    sd = m.state_dict()
    assert list(sd) == ["_extra_state", "lin.weight", "lin.bias"]  # torch: own entries first
    fresh = WithExtra()
    fresh.load_state_dict(sd)
    assert fresh.counter == 7
    with pytest.raises(RuntimeError, match='Missing key.*"_extra_state"'):
        fresh.load_state_dict({k: v for k, v in sd.items() if k != "_extra_state"})
    seen = []
    h = m.register_state_dict_post_hook(lambda mod, d, prefix, meta: seen.append(list(d)))
    m.state_dict()
    h.remove()
    m.state_dict()
    assert len(seen) == 1
    m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(keys.missing_keys))
    m.load_state_dict(sd)
    assert seen[-1] == []

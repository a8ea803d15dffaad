"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict (behaviour and repr vs torch)."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from tests.nn.layer_twin import compare_layer


def _seq(L):
    return L.nn.Sequential(L.nn.Linear(3, 4), L.nn.ReLU(), L.nn.Linear(4, 2), L.nn.Tanh())


def test_sequential_forward_matches_torch():
    compare_layer(_seq, [(5, 3)])
    compare_layer(lambda L: L.nn.Sequential(OrderedDict([("a", L.nn.Linear(3, 2)),
                                                         ("b", L.nn.Sigmoid())])), [(2, 3)],
                  modes=("train",))


def test_sequential_indexing_slicing_and_mutation():
    s, t = _seq(gradstep), _seq(torch)
    assert len(s) == 4 and isinstance(s[0], nn.Linear) and isinstance(s[-1], nn.Tanh)
    sub = s[1:3]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[1] is s[2]
    assert [k for k, _ in sub.named_children()] == [k for k, _ in t[1:3].named_children()]
    assert [type(m).__name__ for m in s] == [type(m).__name__ for m in t]
    with pytest.raises(IndexError, match="index 4 is out of range"):
        s[4]
    s.append(nn.Identity())
    t.append(torch.nn.Identity())
    s.insert(1, nn.Dropout())
    t.insert(1, torch.nn.Dropout())
    s.extend([nn.ReLU()])
    t.extend([torch.nn.ReLU()])
    del s[0]
    del t[0]
    s[0] = nn.ELU()
    t[0] = torch.nn.ELU()
    assert [k for k, _ in s.named_children()] == [k for k, _ in t.named_children()]
    assert repr(s) == repr(t)
    assert isinstance(s.pop(0), nn.ELU) and len(s) == len(t) - 1
    combined = nn.Sequential(nn.ReLU()) + nn.Sequential(nn.Tanh())
    assert [type(m).__name__ for m in combined] == ["ReLU", "Tanh"]


def test_module_list():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    tl = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    assert repr(ml) == repr(tl)  # compressed "(0-2): 3 x Linear(...)"
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "Linear", "Linear", "Linear", "ReLU", "Tanh"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3", "4"]
    assert len(list(ml.parameters())) == 6
    ml += [nn.Identity()]
    assert len(ml) == 6
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(nn.ReLU())
    with pytest.raises(NotImplementedError):
        ml(1)


def test_module_dict():
    md = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ReLU()})
    td = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 3), "b": torch.nn.ReLU()})
    assert repr(md) == repr(td)
    assert "a" in md and list(md.keys()) == ["a", "b"] and len(md) == 2
    md["c"] = nn.Tanh()
    md.update([("d", nn.Identity())])
    assert list(md) == ["a", "b", "c", "d"]
    assert isinstance(md.pop("b"), nn.ReLU) and "b" not in md
    assert [k for k, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    md.clear()
    assert len(md) == 0


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(gradstep.ones(2)), gradstep.zeros(3)])
    tpl = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3)])
    assert isinstance(pl[1], nn.Parameter) and pl[1].requires_grad
    assert [k for k, _ in pl.named_parameters()] == [k for k, _ in tpl.named_parameters()]
    pl.append(nn.Parameter(gradstep.ones(1)))
    assert len(pl) == 3 and len(list(pl.parameters())) == 3
    assert repr(pl).replace("gradstep", "torch") == repr(tpl.append(torch.nn.Parameter(torch.ones(1))))
    pd = nn.ParameterDict({"w": nn.Parameter(gradstep.ones(2, 2)), "b": gradstep.zeros(2)})
    tpd = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(2, 2)), "b": torch.zeros(2)})
    assert list(pd.keys()) == list(tpd.keys()) == ["b", "w"]  # a plain dict is sorted
    assert isinstance(pd["b"], nn.Parameter)
    assert list(pd.state_dict()) == list(tpd.state_dict())
    pd["c"] = nn.Parameter(gradstep.ones(1))
    del pd["w"]
    assert list(pd) == ["b", "c"] and "w" not in dict(pd.named_parameters())
    with pytest.raises(RuntimeError, match="should not be called"):
        pd()


def test_containers_in_model_train_eval_propagates():
    s = nn.Sequential(nn.ModuleList([nn.Dropout()]), nn.ModuleDict({"d": nn.Dropout()}))
    s.eval()
    assert not s[0][0].training and not s[1]["d"].training
    x = gradstep.tensor(np.ones((2, 2), dtype="float32"))
    assert s[0][0](x) is x

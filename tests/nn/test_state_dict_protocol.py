"""The state-dict protocol that published code overrides and hooks into, against torch's."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import gradstep


def _model(L):
    return L.nn.Sequential(L.nn.Conv2d(1, 2, 3), L.nn.BatchNorm2d(2), L.nn.ReLU(),
                           L.nn.Flatten(), L.nn.Linear(8, 3), L.nn.InstanceNorm1d(3, affine=True))


def test_metadata_versions_like_torch():
    ours, theirs = _model(gradstep).state_dict(), _model(torch).state_dict()
    assert dict(ours._metadata) == dict(theirs._metadata)
    assert ours._metadata["1"] == {"version": 2} and ours._metadata["0"] == {"version": 1}


def _torch_state(drop, metadata):
    torch.manual_seed(0)
    sd = _model(torch).state_dict()
    kept = OrderedDict((k, v.numpy().copy()) for k, v in sd.items() if k not in drop)
    return kept, metadata(sd._metadata)


@pytest.mark.parametrize("metadata", ["none", "version 1", "version 2"])
def test_batch_norm_file_without_num_batches_tracked(metadata):
    """Files from before BatchNorm's version 2 (or plain dicts) lack num_batches_tracked:
    torch fills it in; a version-2 file without it is missing a key."""
    meta = {"none": lambda m: None, "version 1": lambda m: OrderedDict((k, {"version": 1})
                                                                         for k in m),
            "version 2": lambda m: m}[metadata]
    arrays, md = _torch_state({"1.num_batches_tracked"}, meta)
    outcomes = []
    for L in (torch, gradstep):
        sd = OrderedDict((k, L.tensor(v)) for k, v in arrays.items())
        if md is not None:
            sd._metadata = md
        m = _model(L)
        m[1].num_batches_tracked.fill_(5)
        try:
            outcomes.append((str(m.load_state_dict(sd)), int(m[1].num_batches_tracked)))
        except RuntimeError as e:
            outcomes.append((str(e).replace("torch", "gradstep"), None))
    assert outcomes[1] == outcomes[0]
    assert (outcomes[0][1] is None) == (metadata == "version 2")


def test_instance_norm_running_stats_from_an_old_file_like_torch():
    msgs = []
    for L in (torch, gradstep):
        m = L.nn.InstanceNorm1d(3)
        with pytest.raises(RuntimeError) as e:
            m.load_state_dict({"running_mean": L.zeros(3), "running_var": L.ones(3)})
        msgs.append(str(e.value))
    assert msgs[1] == msgs[0]


def _overriding(L):
    class Scaled(L.nn.Linear):
        """A published-code override: seven arguments, a renamed key, then super()."""

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                                  unexpected_keys, error_msgs):
            old = prefix + "w"
            if old in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(old)
            self.seen = dict(local_metadata)
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                          missing_keys, unexpected_keys, error_msgs)

    return Scaled(2, 2)


@pytest.mark.parametrize("assign", [False, True])
def test_seven_argument_overrides_and_assign_like_torch(assign):
    w = np.arange(4.0, dtype=np.float32).reshape(2, 2)
    seen = []
    for L in (torch, gradstep):
        m = _overriding(L)
        res = m.load_state_dict({"w": L.tensor(w), "bias": L.zeros(2)}, assign=assign)
        assert str(res) == "<All keys matched successfully>"
        np.testing.assert_array_equal(m.weight.detach().numpy(), w)
        seen.append(m.seen)
    assert seen[1] == seen[0]


def _hook_log(L):
    log = []
    m = L.nn.Sequential(L.nn.Linear(2, 2))
    child = m[0]
    child.register_state_dict_pre_hook(lambda mod, prefix, keep: log.append(("pre", prefix, keep)))
    child._register_state_dict_hook(
        lambda mod, sd, prefix, meta: log.append(("post", prefix, sorted(sd), dict(meta))))
    child.register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, meta, strict, *lists: log.append(("load-pre", prefix, sorted(sd),
                                                                  strict)))
    child._register_load_state_dict_pre_hook(
        lambda sd, prefix, *rest: log.append(("load-pre-private", prefix)))
    child.register_load_state_dict_post_hook(
        lambda mod, keys: log.append(("load-post-child", list(keys.missing_keys))))
    m.register_load_state_dict_post_hook(lambda mod, keys: log.append(("load-post-root",)))
    sd = m.state_dict(keep_vars=True)
    assert all(v.requires_grad for v in sd.values())
    m.load_state_dict({"0.weight": L.zeros(2, 2)}, strict=False)
    return log


def test_hooks_run_in_torch_order_with_torch_arguments():
    theirs = _hook_log(torch)
    assert _hook_log(gradstep) == theirs and len(theirs) == 6


def test_state_dict_hook_return_values_like_torch():
    for L in (torch, gradstep):
        m = L.nn.Linear(2, 2)
        h = m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"only": 1})
        assert m.state_dict() == {"only": 1}  # the private hook may replace the dict
        h.remove()
        m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {"only": 1})
        with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
            m.state_dict()


def test_positional_state_dict_arguments_and_old_scalar_shapes_like_torch():
    for L in (torch, gradstep):
        m = L.nn.Linear(2, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sd = m.state_dict(OrderedDict(), "net.", True)  # torch 1.x custom overrides call this
        assert list(sd) == ["net.weight", "net.bias"] and sd["net.weight"].requires_grad
        assert [w.category for w in caught] == [FutureWarning]
        p = L.nn.PReLU(num_parameters=1)
        p.weight = L.nn.Parameter(L.tensor(0.5))  # a 0-d parameter, as old layers kept
        p.load_state_dict({"weight": L.tensor([0.75])})  # a 1-d value, as torch 0.3 saved it
        assert p.weight.item() == 0.75

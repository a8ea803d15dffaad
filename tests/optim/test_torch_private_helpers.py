"""The private torch.optim helpers that forks of torch's optimizers import, and the step-hook
argument convention, compared with torch 2.13.

Forks of ``torch/optim/adamw.py`` (timm's NAdamW, many research repos) import
``_view_as_real``, ``_get_capturable_supported_devices`` & co. from ``torch.optim.optimizer``,
group their lists with ``Optimizer._group_tensors_by_device_and_dtype`` and call
``self._cuda_graph_capture_health_check()`` first thing in ``step``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.optim.optimizer as torch_optimizer

import gradstep
import gradstep.optim.optimizer as our_optimizer
from gradstep.utils import _foreach_utils


def _lists(lib):
    rng = np.random.default_rng(0)
    a = [lib.tensor(rng.normal(size=2).astype("float32")),
         lib.tensor(rng.normal(size=3)),
         lib.tensor(rng.normal(size=1).astype("float32"))]
    b = [t * 2 for t in a]
    return a, b


def _plain(groups, lib):
    return {(str(dev), str(dtype).split(".")[-1]): (
        [[None if t is None else t.numpy().tolist() for t in lst] for lst in lists], idx)
        for (dev, dtype), (lists, idx) in groups.items()}


@pytest.mark.parametrize("with_indices", [False, True])
def test_group_tensors_by_device_and_dtype_matches_torch(with_indices):
    out = {}
    for lib, mod in ((gradstep, our_optimizer), (torch, torch_optimizer)):
        a, b = _lists(lib)
        groups = mod.Optimizer._group_tensors_by_device_and_dtype(
            [a, b, [], [None] * 3], with_indices=with_indices)
        out[lib.__name__] = _plain(groups, lib)
    assert out["gradstep"] == out["torch"]
    assert len(out["gradstep"]) == 2


def test_group_tensors_refuses_lists_of_different_lengths():
    for lib, mod in ((gradstep, our_optimizer), (torch, torch_optimizer)):
        a, b = _lists(lib)
        with pytest.raises(RuntimeError, match="tensorlist.size\\(\\) == num_tensors"):
            mod.Optimizer._group_tensors_by_device_and_dtype([a, b[:2]])


def test_view_as_real_replaces_complex_entries_in_every_list():
    shapes = {}
    for lib, mod in ((gradstep, our_optimizer), (torch, torch_optimizer)):
        params = [lib.ones(2, dtype=lib.complex64), lib.ones(3)]
        grads = [lib.full((2,), 1 + 2j, dtype=lib.complex64), lib.ones(3)]
        mod._view_as_real(params, grads)
        shapes[lib.__name__] = ([tuple(p.shape) for p in params], grads[0].numpy().tolist())
    assert shapes["gradstep"] == shapes["torch"] == ([(2, 2), (3,)], [[1.0, 2.0], [1.0, 2.0]])


@pytest.mark.parametrize("name", ["_get_capturable_supported_devices",
                                  "_get_foreach_kernels_supported_devices",
                                  "_get_fused_kernels_supported_devices"])
def test_supported_device_lists_match_torch(name):
    assert getattr(our_optimizer, name)() == getattr(torch_optimizer, name)()


def test_capturable_devices_without_xla():
    assert (our_optimizer._get_capturable_supported_devices(supports_xla=False)
            == torch_optimizer._get_capturable_supported_devices(supports_xla=False))


def test_fused_check_refuses_integer_parameters_as_torch():
    messages = []
    for lib, mod in ((gradstep, our_optimizer), (torch, torch_optimizer)):
        mod._device_dtype_check_for_fused(lib.zeros(2))  # a float CPU tensor passes
        with pytest.raises(RuntimeError) as info:
            mod._device_dtype_check_for_fused(lib.zeros(2, dtype=lib.int64), cuda_unsupported=True)
        messages.append(str(info.value).replace("torch.", "").replace("gradstep.", ""))
    assert messages[0] == messages[1]


def test_foreach_support_helpers():
    assert [t.__name__ for t in _foreach_utils._foreach_supported_types] == ["Tensor", "Parameter"]
    cpu = gradstep.device("cpu")
    assert _foreach_utils._has_foreach_support([gradstep.zeros(1), None], cpu)
    assert not _foreach_utils._device_has_foreach_support(gradstep.device("meta"))


def test_graph_capture_health_checks_do_nothing_on_a_cpu():
    """Nothing to check without an accelerator; the old name warns that it is deprecated."""
    messages = []
    for lib in (gradstep, torch):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert opt._accelerator_graph_capture_health_check() is None
        with pytest.warns(DeprecationWarning) as caught:
            assert opt._cuda_graph_capture_health_check() is None
        messages.append([str(w.message) for w in caught])
    assert messages[0] == messages[1] == ["Use _accelerator_graph_capture_health_check instead"]


def test_utils_is_compiling_warns_as_torch():
    messages = []
    for lib in (gradstep, torch):
        with pytest.warns(UserWarning) as caught:
            assert lib._utils.is_compiling() is False
        messages.append(str(caught[0].message))
    assert messages[0] == messages[1]


def _hook_trace(lib):
    p = lib.zeros(2, requires_grad=True)
    p.grad = lib.ones(2)
    opt = lib.optim.SGD([p], lr=0.1)
    seen = []

    def pre(o, args, kwargs):
        seen.append(("pre", [a is o for a in args], sorted(kwargs)))
        return args, {"closure": lambda: 42}

    opt.register_step_pre_hook(pre)
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(
        ("post", [a is o for a in args], sorted(kwargs))))
    return opt.step(), seen


def test_step_hooks_see_the_optimizer_as_first_argument():
    """torch passes ``step``'s own ``args`` (the optimizer first) to the hooks, and a pre hook's
    ``(new_args, new_kwargs)`` replaces them whole."""
    assert _hook_trace(gradstep) == _hook_trace(torch) == (
        42, [("pre", [True], []), ("post", [True], ["closure"])])


def test_scheduler_resume_without_initial_lr_message():
    messages = []
    for lib in (gradstep, torch):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        with pytest.raises(KeyError) as info:
            lib.optim.lr_scheduler.StepLR(opt, 3, last_epoch=4)
        messages.append(str(info.value))
    assert messages[0] == messages[1]

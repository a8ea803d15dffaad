"""Names published code imports from torch's private corners, and the keyword forms it calls,
against torch 2.13."""

from __future__ import annotations

import copy
import importlib
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import gradstep

IMPORTS = [  # (module under torch/gradstep, names)
    ("nn.modules.utils", ["_single", "_pair", "_triple", "_quadruple", "_ntuple",
                          "_reverse_repeat_tuple", "_list_with_default",
                          "consume_prefix_in_state_dict_if_present"]),
    ("nn.common_types", ["_size_1_t", "_size_2_t", "_size_any_t", "_ratio_2_t",
                         "_size_2_opt_t", "_scalar_or_tuple_2_t"]),
    ("utils.data._utils.collate", ["collate", "default_collate", "default_convert",
                                   "default_collate_fn_map", "default_collate_err_msg_format",
                                   "np_str_obj_array_pattern", "collate_tensor_fn"]),
    ("nn.modules.activation", ["MultiheadAttention", "ReLU"]),
    ("nn.modules.transformer", ["_get_clones", "_get_activation_fn"]),
    ("nn.functional", ["_in_projection_packed", "_in_projection"]),
    ("nn.init", ["_no_grad_uniform_", "_no_grad_normal_", "_no_grad_trunc_normal_",
                 "_no_grad_fill_", "_no_grad_zero_", "_calculate_fan_in_and_fan_out"]),
    ("types", ["_device", "_dtype", "_size", "Number", "Device", "_TensorOrTensors"]),
    ("optim.optimizer", ["ParamsT", "_default_to_fused_or_foreach", "_get_scalar_dtype",
                         "_capturable_doc", "_foreach_doc", "_maximize_doc",
                         "_differentiable_doc", "_fused_doc", "_params_doc",
                         "_disable_dynamo_if_unsupported", "_use_grad_for_differentiable",
                         "_get_value", "_stack_if_compiling", "_to_scalar", "required"]),
    ("optim.lr_scheduler", ["EPOCH_DEPRECATION_WARNING", "_LRScheduler", "LRScheduler",
                            "_enable_get_lr_call", "_initial_mode", "_warn_get_lr_called_within_step",
                            "_format_param", "_param_groups_val_list", "_update_param_group_val"]),
    ("_utils", ["_get_device_index"]),
]


@pytest.mark.parametrize("module,names", IMPORTS, ids=[m for m, _ in IMPORTS])
def test_private_names_that_published_code_imports_exist(module, names):
    ours = importlib.import_module("gradstep." + module)
    theirs = importlib.import_module("torch." + module)
    for name in names:
        assert hasattr(theirs, name), name  # the list itself is torch's
        assert hasattr(ours, name), f"gradstep.{module}.{name}"


def test_argument_helpers_and_prefix_stripping_like_torch():
    from torch.nn.modules import utils as tu

    from gradstep.nn.modules import utils as gu
    for name in ("_single", "_pair", "_triple", "_quadruple"):
        for value in (3, (1, 2), [4, 5, 6]):
            assert getattr(gu, name)(value) == getattr(tu, name)(value)
    assert gu._reverse_repeat_tuple((1, 2), 2) == tu._reverse_repeat_tuple((1, 2), 2)
    assert gu._list_with_default([None, 3], [1, 2, 7, 8]) == \
        tu._list_with_default([None, 3], [1, 2, 7, 8])
    results = []
    for L, mod in ((torch, tu), (gradstep, gu)):
        sd = L.nn.DataParallel(L.nn.Linear(2, 2)).state_dict() if L is torch else None
        if sd is None:  # the same keys and metadata a DataParallel checkpoint holds
            sd = OrderedDict((("module.weight", L.zeros(2, 2)), ("module.bias", L.zeros(2))))
            sd._metadata = OrderedDict((("", {"version": 1}), ("module", {"version": 1})))
        mod.consume_prefix_in_state_dict_if_present(sd, "module.")
        results.append((list(sd), dict(sd._metadata)))
    assert results[0] == results[1]


def test_clones_projection_and_init_helpers_like_torch():
    from gradstep.nn.modules.transformer import _get_clones

    layer = gradstep.nn.Linear(2, 2)
    clones = _get_clones(layer, 3)
    assert isinstance(clones, gradstep.nn.ModuleList) and len(clones) == 3
    assert all(c is not layer and np.array_equal(c.weight.detach().numpy(),
                                                 layer.weight.detach().numpy()) for c in clones)
    rng = np.random.default_rng(0)
    q, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (9, 3), (9,)))
    ours = gradstep.nn.functional._in_projection_packed(*[gradstep.tensor(q)] * 3,
                                                        gradstep.tensor(w), gradstep.tensor(b))
    theirs = torch.nn.functional._in_projection_packed(*[torch.tensor(q)] * 3, torch.tensor(w),
                                                       torch.tensor(b))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)
    t = gradstep.empty(1000)
    gradstep.nn.init._no_grad_trunc_normal_(t, 0.0, 1.0, -0.5, 0.5)
    assert t.min().item() >= -0.5 and t.max().item() <= 0.5 and t.std().item() > 0.1
    assert gradstep.nn.init._no_grad_fill_(t, 2.0).eq(2.0).all()


def test_module_and_tensor_methods_published_code_calls():
    for L in (torch, gradstep):
        m = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.ReLU())
        w = m[0].weight
        assert m.to_empty(device="cpu") is m and m[0].weight is w  # same Parameter, new data
        if L is gradstep:  # torch's would load dynamo, which changes global state
            assert m.compile() is None and tuple(m(L.ones(3, 2)).shape) == (3, 2)
        assert _backward_hook_shapes(L, m) == [((3, 2), (3, 2))]
        assert L.ones(2).is_inference() is False


def _backward_hook_shapes(L, m):
    seen = []
    m[1].register_backward_hook(lambda mod, gi, go: seen.append((tuple(gi[0].shape),
                                                                 tuple(go[0].shape))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m(L.ones(3, 2, requires_grad=True)).sum().backward()
    return seen


def test_view_dtype_keyword_and_foreach_keywords_like_torch():
    x = np.array([1.1, -2.7, 3.14159], dtype=np.float32)
    results = []
    for L in (torch, gradstep):
        t = L.tensor(x)
        bits = t.view(dtype=L.int32)
        a, b = L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0])
        results.append([
            bits.tolist(), (bits & -65536).view(L.float32).tolist(),
            [v.tolist() for v in L._foreach_mul_([a.clone()], scalar=0.5)],
            [v.tolist() for v in L._foreach_add([a], scalars=[2.0])],
            [v.tolist() for v in L._foreach_add([a], other=[b], alpha=2)],
            [v.tolist() for v in L._foreach_lerp_([a.clone()], tensors1=[b], weight=0.5)],
            [v.tolist() for v in L._foreach_addcmul([a], [b], [b], scalars=[0.5])],
        ])
    assert results[1] == results[0]


def test_closed_form_hook_of_a_scheduler_subclass_like_torch():
    """torch's ``step(epoch)`` calls ``_get_closed_form_lr`` where a scheduler defines it."""
    lrs = []
    for L in (torch, gradstep):
        class Halving(L.optim.lr_scheduler._LRScheduler):
            def get_lr(self):
                return [g["lr"] for g in self.optimizer.param_groups]

            def _get_closed_form_lr(self):
                return [b * 0.5 ** (self.last_epoch // 2) for b in self.base_lrs]

        opt = L.optim.SGD([L.nn.Parameter(L.ones(1))], lr=0.1)
        sched = Halving(opt)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.step(3)
        step_lr = L.optim.lr_scheduler.StepLR(L.optim.SGD([L.nn.Parameter(L.ones(1))], lr=0.1),
                                              2, 0.5)
        lrs.append((opt.param_groups[0]["lr"], step_lr._get_closed_form_lr(),
                    [str(w.message) for w in caught]))
    assert lrs[1] == lrs[0] and lrs[0][0] == 0.05
    assert lrs[0][2][-1] == torch.optim.lr_scheduler.EPOCH_DEPRECATION_WARNING


def test_optimizer_helpers_copied_torch_optimizers_call():
    from torch.optim import optimizer as to

    from gradstep.optim import optimizer as go
    params = [gradstep.nn.Parameter(gradstep.ones(2))]
    tparams = [torch.nn.Parameter(torch.ones(2))]
    for fused in (False, True):
        assert go._default_to_fused_or_foreach(params, False, fused) == \
            to._default_to_fused_or_foreach(tparams, False, fused)
    assert go._default_to_fused_or_foreach(params, True, True) == (False, False)
    assert str(go._get_scalar_dtype()).split(".")[-1] == str(to._get_scalar_dtype()).split(".")[-1]
    assert go._disable_dynamo_if_unsupported()(len) is len
    assert go._to_scalar(gradstep.tensor([2.0])).dim() == 0
    assert go._get_value(gradstep.tensor(0.5)) == 0.5
    for device in ("cpu", gradstep.device("cpu"), 3):
        theirs = device if not isinstance(device, gradstep.device) else torch.device("cpu")
        assert gradstep._utils._get_device_index(device, allow_cpu=True) == \
            torch._utils._get_device_index(theirs, allow_cpu=True)
    with pytest.raises(ValueError, match="Expected a non cpu device"):
        gradstep._utils._get_device_index("cpu")
    copy.deepcopy(go.required)  # a sentinel that survives copying, as torch's


def test_c_names_published_code_imports_outright():
    """``from torch._C import _disabled_torch_function_impl`` (Tensor subclasses opting out of
    the protocol), ``_get_tracing_state`` and ``_log_api_usage_once`` exist; a subclass that
    opts out is not reported as overriding, and its ops run as a plain tensor's."""
    from gradstep._C import _disabled_torch_function_impl, _get_tracing_state, _log_api_usage_once
    from gradstep.overrides import has_torch_function, has_torch_function_unary

    assert _get_tracing_state() is torch._C._get_tracing_state() is None
    assert _log_api_usage_once("x") is torch._C._log_api_usage_once("x") is None
    results = []
    for lib, disabled in ((torch, torch._C._disabled_torch_function_impl),
                          (gradstep, _disabled_torch_function_impl)):
        class Plain(lib.Tensor):
            __torch_function__ = disabled

        class Overriding(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return NotImplemented

        x = lib.ones(3).as_subclass(Plain)
        results.append((lib.overrides.has_torch_function_unary(x),
                        lib.overrides.has_torch_function((x,)),
                        lib.overrides.has_torch_function((lib.ones(1).as_subclass(Overriding),)),
                        float((x * 2).sum()),
                        disabled(lib.add, (), (lib.ones(2), 1.0)).tolist()))
    assert results[0] == results[1]
    assert not has_torch_function_unary(gradstep.ones(1)) and not has_torch_function(())


def test_storage_module_and_config_like_torch():
    import gradstep.storage

    assert gradstep.storage.UntypedStorage is gradstep.UntypedStorage
    assert gradstep.storage.TypedStorage is gradstep.TypedStorage
    text = gradstep.__config__.show()
    assert np.__version__ in text and isinstance(torch.__config__.show(), str)
    info = gradstep.__config__.parallel_info()
    assert f"get_num_threads() : {gradstep.get_num_threads()}" in info


def test_dynamo_reachable_without_importing_it():
    """torch imports ``torch._dynamo`` on first attribute use; so does gradstep."""
    import subprocess
    import sys

    code = ("import sys, gradstep; assert 'gradstep._dynamo' not in sys.modules; "
            "gradstep._dynamo.config.suppress_errors = True; "
            "print(gradstep._dynamo.config.suppress_errors)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent_thing'"):
        gradstep.nonexistent_thing  # noqa: B018


def test_set_warn_always_repeats_warn_once_warnings(monkeypatch):
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    assert gradstep.is_warn_always_enabled() is torch.is_warn_always_enabled() is False
    try:
        for always, expected in ((False, 1), (True, 3)):
            gradstep.set_warn_always(always)
            assert gradstep.is_warn_always_enabled() is always
            _warn_once._given.clear()
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                for _ in range(3):
                    _warn_once.warn_once("test key", "a warning")
            assert len(seen) == expected
    finally:
        gradstep.set_warn_always(False)

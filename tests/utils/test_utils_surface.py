"""torch.utils.deterministic / collect_env / hooks and autograd.set_multithreading_enabled,
compared with real torch 2.13."""

import warnings

import pytest
import torch as real
import torch.utils.deterministic as real_det
import torch.utils.hooks as real_hooks

import gradstep as gs
import gradstep.utils.collect_env as gs_env
import gradstep.utils.deterministic as gs_det
import gradstep.utils.hooks as gs_hooks


@pytest.mark.parametrize("det", [gs_det, real_det], ids=["gradstep", "torch"])
def test_fill_uninitialized_memory_flag(det):
    assert det.fill_uninitialized_memory is True
    try:
        det.fill_uninitialized_memory = False
        assert det.fill_uninitialized_memory is False
        with pytest.raises(RuntimeError, match="expected a bool, but got int"):
            det.fill_uninitialized_memory = 1
    finally:
        det.fill_uninitialized_memory = True


def test_collect_env_reports_gradstep(capsys):
    info = gs_env.get_env_info()
    assert info._fields == real.utils.collect_env.SystemEnv._fields[:len(info._fields)]
    assert info.torch_version == str(gs.version.torch_version) and info.is_cuda_available is False
    text = gs_env.get_pretty_env_info()
    assert f"PyTorch version: {gs.version.torch_version}" in text
    assert "Is CUDA available: No" in text and "cuDNN version: No CUDA" in text
    assert "[pip3] numpy==" in text
    gs_env.main()
    assert capsys.readouterr().out.startswith("Collecting environment information...\n")


@pytest.mark.parametrize("lib,hooks", [(gs, gs_hooks), (real, real_hooks)], ids=["gradstep", "torch"])
def test_warn_if_has_hooks(lib, hooks):
    for leaf in (True, False):
        x = lib.ones(2, requires_grad=True)
        t = x if leaf else x * 2
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            hooks.warn_if_has_hooks(t)
            t.register_hook(lambda g: g)
            hooks.warn_if_has_hooks(t)
            t.register_hook(hooks.unserializable_hook(lambda g: g))
            hooks.warn_if_has_hooks(t)
        assert [str(m.message).endswith("to suppress this warning") for m in w] == [True, True]


@pytest.mark.parametrize("lib,hooks", [(gs, gs_hooks), (real, real_hooks)], ids=["gradstep", "torch"])
def test_backward_hook_public_signature(lib, hooks):
    seen = {}
    mod = lib.nn.Identity()

    def pre(m, gout):
        seen["pre"] = [g.tolist() for g in gout]

    def post(m, gin, gout):
        seen["post"] = [g.tolist() for g in gin]
        return (gin[0] * 10,)

    bh = hooks.BackwardHook(mod, [post], [pre])
    x = lib.ones(2, requires_grad=True)
    (inp,) = bh.setup_input_hook((x,))
    out = bh.setup_output_hook(inp * 3)
    out.sum().backward()
    assert seen == {"pre": [[1.0, 1.0]], "post": [[3.0, 3.0]]}
    assert x.grad.tolist() == [30.0, 30.0]


@pytest.mark.parametrize("lib", [gs, real], ids=["gradstep", "torch"])
def test_set_multithreading_enabled(lib):
    flag = (gs.autograd.grad_mode._is_multithreading_enabled if lib is gs
            else real._C._is_multithreading_enabled)
    assert flag() is True
    with lib.autograd.set_multithreading_enabled(False):
        assert flag() is False
    assert flag() is True

    @lib.autograd.set_multithreading_enabled(False)
    def f():
        return flag()

    lib.autograd.set_multithreading_enabled(True)
    assert f() is False and flag() is True
    with pytest.raises(TypeError, match="must be bool, not str"):
        lib.autograd.set_multithreading_enabled("x")

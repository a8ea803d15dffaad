"""torch.jit's remaining public names: eager behaviour equal to torch's where torch's is eager,
and gradstep's documented choices where torch would compile (script returns the module)."""

import warnings

import pytest
import torch

import gradstep as gs


def test_fork_wait_runs_eagerly_like_torch():
    for lib in (torch, gs):
        fut = lib.jit.fork(lambda a, b: a + b, lib.ones(2), b=lib.ones(2))
        assert lib.jit.wait(fut).tolist() == [2.0, 2.0]
        assert fut.wait().tolist() == [2.0, 2.0]


def test_isinstance_refines_containers_like_torch():
    from typing import Dict, List, Optional, Tuple  # noqa: UP035 - TorchScript's spelling

    cases = [([1, 2], List[int]), ([1, "a"], List[int]),  # noqa: UP006
             ({"a": [1]}, Dict[str, List[int]]), (None, Optional[Tuple[int, str]]),  # noqa: UP006, UP045
             ((1, "x"), Optional[Tuple[int, str]]), ((1, 2), Tuple[int, str]),  # noqa: UP006, UP045
             ((1, None), tuple[int, str | None]), (3, int), ("s", int)]
    for obj, typ in cases:
        assert gs.jit.isinstance(obj, typ) == torch.jit.isinstance(obj, typ), (obj, typ)


def test_scripted_module_is_the_eager_module():
    model = gs.nn.Linear(2, 2)
    scripted = gs.jit.script(model)
    assert scripted is model
    assert not isinstance(scripted, gs.jit.ScriptModule)  # programs take their eager path
    assert issubclass(gs.jit.ScriptModule, gs.nn.Module)

    class Old(gs.jit.ScriptModule):  # torch 1.x style
        def __init__(self):
            super().__init__()
            self.lin = gs.nn.Linear(2, 1)

        @gs.jit.script_method
        def forward(self, x):
            return self.lin(x)

    assert tuple(Old()(gs.ones(3, 2)).shape) == (3, 1)


def test_freeze_and_optimize_for_inference():
    model = gs.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="only implemented for modules in eval mode"):
        gs.jit.freeze(model)
    assert gs.jit.freeze(model.eval()) is model
    model.train()
    assert gs.jit.optimize_for_inference(model) is model and not model.training


@pytest.mark.parametrize("name, call", [
    ("fork", lambda lib: lib.jit.fork(lambda: 1)),
    ("freeze", lambda lib: lib.jit.freeze(lib.jit.script(lib.nn.Linear(2, 2)).eval())),
    ("set_fusion_strategy", lambda lib: lib.jit.set_fusion_strategy([("STATIC", 2),
                                                                     ("DYNAMIC", 10)])),
])
def test_deprecation_warnings_as_torch(name, call):
    for lib in (torch, gs):
        with pytest.warns(DeprecationWarning, match=f"`torch.jit.{name}` is deprecated"):
            call(lib)


def test_fusion_settings_as_torch():
    for lib in (torch, gs):
        prev = lib.jit.set_fusion_strategy([("DYNAMIC", 3)])
        assert prev == [("STATIC", 2), ("DYNAMIC", 10)]
        assert lib.jit.set_fusion_strategy(prev) == [("DYNAMIC", 3)]
        assert lib.jit.onednn_fusion_enabled() is False
        lib.jit.enable_onednn_fusion(True)
        assert lib.jit.onednn_fusion_enabled() is True
        lib.jit.enable_onednn_fusion(False)
        with pytest.warns(UserWarning, match="Only works in script mode"):
            with lib.jit.strict_fusion():
                pass


def test_compilation_unit_and_error():
    src = "def add_one(x: Tensor) -> Tensor:\n    return x + 1\n"
    for lib in (torch, gs):
        cu = lib.jit.CompilationUnit(src)
        assert cu.add_one(lib.ones(2)).tolist() == [2.0, 2.0]
        assert issubclass(lib.jit.Error, Exception)
        assert lib.jit.trace_module is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gs.jit.trace_module(gs.nn.ReLU(), {"forward": gs.ones(1)}).__class__ is gs.nn.ReLU

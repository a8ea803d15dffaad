"""torch.compiler's eager surface against torch 2.13: the same answers and argument checks."""

from __future__ import annotations

import operator

import pytest
import torch

import gradstep


@pytest.mark.parametrize("tags", [("debug", "experimental"), (), ("debug",), None])
def test_list_backends(tags):
    assert gradstep.compiler.list_backends(tags) == torch.compiler.list_backends(tags)


def test_default_backend_and_errors():
    for lib in (torch, gradstep):
        C = lib.compiler
        assert C.get_default_backend() == "inductor"
        C.set_default_backend("eager")
        assert C.get_default_backend() == "eager"
        C.set_default_backend(None)
        assert C.get_default_backend() == "inductor"
        with pytest.raises(TypeError, match="backend must be a string or callable"):
            C.set_default_backend(3)
        with pytest.raises(RuntimeError, match="non-default stance cannot have force_backend"):
            C.set_stance("force_eager", force_backend="eager")
        with pytest.raises(AssertionError, match="allow_in_graph expects a callable"):
            C.allow_in_graph(3)
        with pytest.raises(TypeError, match="substitute_in_graph expects a function"):
            C.substitute_in_graph(3)


def test_set_stance_forms():
    C = gradstep.compiler
    with C.set_stance("force_eager"):
        assert C._state["stance"] == "force_eager"
    assert C._state["stance"] == "default"

    @C.set_stance("eager_on_recompile")
    def f():
        return C._state["stance"]

    assert f() == "eager_on_recompile" and C._state["stance"] == "default"
    C.set_stance("force_eager")
    assert C._state["stance"] == "force_eager"
    C.set_stance("default")


def test_eager_helpers():
    for lib in (torch, gradstep):
        C = lib.compiler
        w = C.wrap_numpy(lambda x: x * 2)
        assert w(lib.ones(2)).tolist() == [2.0, 2.0] and w(3) == 6
        assert C.nested_compile_region(lambda x: x + 1)(3) == 4
        assert C.nested_compile_region()(lambda x: x + 1)(3) == 4
        assert C.disable(lambda x: x + 1)(1) == 2 and C.disable(reason="r")(lambda x: x)(5) == 5
        assert C.is_compiling() is False and C.is_dynamo_compiling() is False
        assert C.set_enable_guard_collectives(True) is False
        assert C.config.recompile_limit == 8
    with pytest.raises(TypeError, match="Signature mismatch"):
        gradstep.compiler.substitute_in_graph(operator.countOf)(lambda a, b, c: 0)

    def poly(a, b, /):
        return 0

    assert gradstep.compiler.substitute_in_graph(operator.indexOf)(poly) is poly

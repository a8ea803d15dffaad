"""torch.overrides: the predicates and handle_torch_function agree with torch's protocol."""

import pytest
import torch

import gradstep


class Overrider:
    """A tensor-like that implements __torch_function__ (the protocol, not a Tensor)."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return ("handled", func.__name__, [t.__name__ for t in types], len(args))


class SubOverrider(Overrider):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return ("sub", func.__name__)


class Declines:
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return NotImplemented


def public_api(a, b=None):
    return "plain"


@pytest.mark.parametrize("lib", [torch, gradstep], ids=["torch", "gradstep"])
def test_predicates_on_plain_tensors_and_overriders(lib):
    o = lib.overrides
    t = lib.ones(2)
    assert o.has_torch_function((t, 1)) is False
    assert o.has_torch_function_unary(t) is False
    assert o.has_torch_function_variadic(t, 2.0) is False
    assert o.has_torch_function((t, Overrider())) is True
    assert o.has_torch_function_unary(Overrider()) is True
    assert o.has_torch_function_variadic(1, Overrider()) is True
    assert o.is_tensor_like(t) and o.is_tensor_like(Overrider())
    assert not o.is_tensor_like(3) and not o.is_tensor_like([t])


@pytest.mark.parametrize("lib", [torch, gradstep], ids=["torch", "gradstep"])
def test_handle_torch_function_order_and_fallthrough(lib):
    o = lib.overrides
    a, s = Overrider(), SubOverrider()
    assert o.handle_torch_function(public_api, (a,), a, 1) == \
        ("handled", "public_api", ["Overrider"], 2)
    assert o.handle_torch_function(public_api, (a, s), a, s) == ("sub", "public_api")
    assert o.handle_torch_function(public_api, (Declines(), a), 1) == \
        ("handled", "public_api", ["Declines", "Overrider"], 1)
    with pytest.raises(TypeError, match="no implementation found for"):
        o.handle_torch_function(public_api, (Declines(),), 1)


def test_function_lists_have_the_shapes_torch_gives():
    ours, theirs = gradstep.overrides, torch.overrides
    assert type(ours.get_ignored_functions()) is type(theirs.get_ignored_functions()) is set
    assert gradstep.tensor in ours.get_ignored_functions()
    assert torch.tensor in theirs.get_ignored_functions()
    table = ours.get_overridable_functions()
    assert gradstep.add in table[gradstep] and torch.add in theirs.get_overridable_functions()[torch]
    assert gradstep.tensor not in table[gradstep]
    assert ours.resolve_name(gradstep.add) == theirs.resolve_name(torch.add) == "torch.add"


def test_torch_function_mode_refuses_to_enter_in_gradstep():
    class Mode(gradstep.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with pytest.raises(NotImplementedError, match="does not dispatch"):
        with Mode():
            pass


def test_tensor_subclass_torch_function_is_not_dispatched_by_gradstep_ops():
    """Documents the gap the brief asked about: torch calls a subclass's __torch_function__
    on torch.add; gradstep's ops do not consult it (the predicates still see it)."""
    calls = []

    def make(lib):
        class Logged(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                calls.append(lib.__name__)
                return NotImplemented
        return Logged

    assert gradstep.overrides.has_torch_function_unary(make(gradstep).__new__(make(gradstep)))
    t = torch.ones(2).as_subclass(make(torch))
    with pytest.raises(TypeError):
        torch.add(t, 1)
    assert calls == ["torch"]

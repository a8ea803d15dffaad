"""``nn.Parameter`` construction, subclasses, copying and saving, against torch 2.13.

Published code subclasses Parameter to carry metadata, building the instance in ``__new__``
with ``Tensor._make_subclass`` or ``super().__new__``; torch's Parameter does all its work in
``__new__`` so the subclass's own arguments reach ``__init__`` harmlessly.
"""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

import gradstep


def _subclasses(lib):
    class MadeSubclass(lib.nn.Parameter):
        def __new__(cls, data, requires_grad=True, meta=None):
            t = lib.Tensor._make_subclass(cls, data, requires_grad)
            t.meta = meta
            return t

    class SuperNew(lib.nn.Parameter):
        def __new__(cls, data=None, requires_grad=True, tag="x"):
            obj = super().__new__(cls, data, requires_grad)
            obj.tag = tag
            return obj

    return MadeSubclass, SuperNew


def _describe(p):
    return (type(p).__name__, isinstance(p, type(p).__mro__[-3]), p.requires_grad, p.tolist(),
            {k: v for k, v in vars(p).items() if not k.startswith("_")})


@pytest.mark.parametrize("case", ["made", "made_no_grad", "super_new"])
def test_parameter_subclasses_build_register_and_train_like_torch(case):
    seen = []
    for lib in (torch, gradstep):
        made, super_new = _subclasses(lib)
        data = lib.tensor([1.0, -2.0])
        if case == "made":
            p = made(data, meta={"a": 1})
        elif case == "made_no_grad":
            p = made(data, False)
        else:
            p = super_new(data, tag="y")
        module = lib.nn.Module()
        module.w = p
        row = [_describe(p), [n for n, _ in module.named_parameters()],
               isinstance(p, lib.nn.Parameter)]
        if p.requires_grad:
            (p * p).sum().backward()
            row.append(p.grad.tolist())
        p.data.mul_(3)  # shares memory with data, as torch's
        row.append(data.tolist())
        seen.append(row)
    assert seen[0] == seen[1]


def test_make_subclass_detaches_shares_and_checks_like_torch():
    seen = []
    for lib in (torch, gradstep):
        x = lib.ones(2, requires_grad=True)
        y = lib.Tensor._make_subclass(lib.Tensor, x * 2)
        p = lib.Tensor._make_subclass(lib.nn.Parameter, x.detach(), True)
        p.data.add_(1)
        row = [y.requires_grad, y.grad_fn, y.is_leaf, type(p).__name__, p.requires_grad, x.tolist()]
        for args in ((int, x), (lib.Tensor, [1.0]), (lib.Tensor, lib.ones(2, dtype=lib.long), True)):
            with pytest.raises((TypeError, RuntimeError)) as info:
                lib.Tensor._make_subclass(*args)
            row.append(type(info.value))
        seen.append(row)
    assert seen[0] == seen[1]


def test_deepcopy_pickle_and_copy_of_parameters_like_torch():
    """deepcopy rebuilds ``type(self)(data.clone(), requires_grad)``: no grad, no attributes;
    pickling and copy.copy keep attributes and come back as Parameter."""
    seen = []
    for lib in (torch, gradstep):
        made, _ = _subclasses(lib)
        p = lib.nn.Parameter(lib.ones(2))
        p.grad = lib.full((2,), 3.0)
        p.foo = 1
        q = made(lib.ones(2), meta="m")
        q.extra = 5
        linear = lib.nn.Linear(2, 1)
        linear(lib.ones(1, 2)).sum().backward()
        row = [copy.deepcopy(linear).weight.grad]
        for obj in (p, q):
            for how in (copy.deepcopy, copy.copy, lambda o: pickle.loads(pickle.dumps(o))):
                c = how(obj)
                row.append((type(c).__name__, c.requires_grad, c.grad is None,
                            getattr(c, "foo", None), getattr(c, "meta", None),
                            getattr(c, "extra", None), c.tolist()))
        seen.append(row)
    assert seen[0] == seen[1]


@pytest.mark.parametrize("writer,reader", [(gradstep, torch), (torch, gradstep), (gradstep, gradstep)])
def test_saved_parameters_keep_attributes_and_come_back_as_parameters(writer, reader, tmp_path):
    """torch.save writes a Parameter subclass as a Parameter with its attributes
    (_rebuild_parameter_with_state); both libraries read what the other wrote."""
    made, _ = _subclasses(writer)
    p = made(writer.ones(2), meta={"a": [1, 2]})
    plain = writer.nn.Parameter(writer.zeros(1), requires_grad=False)
    path = tmp_path / "ckpt.pt"  # a .pt name: gradstep writes torch's format
    writer.save({"p": p, "plain": plain}, path)
    for weights_only in (True, False):
        out = reader.load(path, weights_only=weights_only)
        assert type(out["p"]) is reader.nn.Parameter and out["p"].requires_grad
        assert out["p"].meta == {"a": [1, 2]} and out["p"].tolist() == [1.0, 1.0]
        assert type(out["plain"]) is reader.nn.Parameter and not out["plain"].requires_grad
        assert not vars(out["plain"]) or "meta" not in vars(out["plain"])


def test_unsaveable_parameter_attributes_are_left_out_with_a_warning(tmp_path):
    """gradstep writes only what its own loader sets back: attributes of plain data (private ones
    such as HF's ``_is_hf_initialized`` too, as torch), not dunder names or hook tables."""
    p = gradstep.nn.Parameter(gradstep.ones(2))
    p.tag, p._private, p.fn, p.__dict__["__x__"], p._my_hooks = 1, 2, len, 3, {}
    path = tmp_path / "ckpt.pt"
    with pytest.warns(UserWarning, match=r"\['fn', '__x__', '_my_hooks'\] of an nn.Parameter are not saved"):
        gradstep.save({"p": p}, path)
    assert vars(torch.load(path)["p"]) == vars(gradstep.load(path)["p"]) == {"tag": 1, "_private": 2}


def test_native_format_saves_a_parameter_subclass_as_a_parameter():
    made, _ = _subclasses(gradstep)
    buf = io.BytesIO()
    gradstep.save({"p": made(gradstep.ones(2), meta=1)}, buf)
    buf.seek(0)
    out = gradstep.load(buf)["p"]
    assert type(out) is gradstep.nn.Parameter and out.requires_grad and out.tolist() == [1.0, 1.0]

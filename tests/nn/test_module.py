"""nn.Module and nn.Parameter: registration, traversal, modes, hooks, repr, errors."""

import copy
import pickle

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn


def _tiny(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.ones(2, 3))
            self.b = lib.nn.Parameter(lib.zeros(3))
            self.register_buffer("count", lib.zeros(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return x @ self.w + self.b

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Block()
            self.second = Block()
            self.second.w = self.first.w  # tied
            self.head = lib.nn.Parameter(lib.ones(3))

        def forward(self, x):
            return self.first(x)

    return Net()


def test_parameter_basics():
    p = nn.Parameter(gradstep.ones(2))
    assert isinstance(p, gradstep.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor([1., 1.], requires_grad=True)")
    assert not nn.Parameter(gradstep.ones(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    t = gradstep.zeros(3)
    q = nn.Parameter(t)
    t.add_(1)
    assert q.tolist() == [1.0, 1.0, 1.0]  # shares data
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(gradstep.zeros(2, dtype=gradstep.int64))
    q2 = copy.deepcopy(q)
    assert type(q2) is nn.Parameter and q2.requires_grad and q2._data is not q._data
    q3 = pickle.loads(pickle.dumps(q))
    assert type(q3) is nn.Parameter and q3.tolist() == q.tolist()
    assert type(p * 2) is gradstep.Tensor


def test_named_members_match_torch():
    ours, theirs = _tiny(gradstep), _tiny(torch)
    for fn in ("named_parameters", "named_buffers", "named_modules"):
        assert [k for k, _ in getattr(ours, fn)()] == [k for k, _ in getattr(theirs, fn)()]
    assert [k for k, _ in ours.named_parameters(remove_duplicate=False)] == \
        [k for k, _ in theirs.named_parameters(remove_duplicate=False)]
    assert [k for k, _ in ours.named_parameters(prefix="m", recurse=False)] == ["m.head"]
    assert [k for k, _ in ours.named_children()] == ["first", "second"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == 4
    assert ours.get_submodule("first") is ours.first
    assert ours.get_parameter("first.b") is ours.first.b
    assert ours.get_buffer("second.count") is ours.second.count
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        ours.get_submodule("first.nope")


def test_setattr_getattr_delattr():
    m = _tiny(gradstep)
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'wieght'"):
        m.wieght  # noqa: B018
    with pytest.raises(TypeError, match="cannot assign .* as parameter 'head'"):
        m.head = gradstep.ones(3)
    m.head = None
    assert m._parameters["head"] is None and m.head is None
    assert "head" not in dict(m.named_parameters())
    m.first.count = gradstep.ones(1)  # buffers accept plain tensors
    assert m.first._buffers["count"].tolist() == [1.0]
    with pytest.raises(TypeError, match="buffer 'count'"):
        m.first.count = 3
    del m.second
    assert "second" not in m._modules
    m.extra = 5
    assert "extra" in m.__dict__ and m.extra == 5
    assert "first" in dir(m) and "head" in dir(m)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("extra", gradstep.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gradstep.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_train_eval_requires_grad_zero_grad_apply():
    m = _tiny(gradstep)
    assert m.training and m.first.training
    assert m.eval() is m and not m.first.training and not m.second.training
    m.train()
    assert m.second.training
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_(True)
    m(gradstep.ones(4, 2)).sum().backward()
    assert m.first.w.grad is not None
    m.zero_grad(set_to_none=False)
    assert m.first.w.grad.tolist() == [[0.0] * 3] * 2
    m.zero_grad()
    assert m.first.w.grad is None
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Block", "Block", "Net"]


def test_to_double_keeps_parameter_objects():
    m = _tiny(gradstep)
    w = m.first.w
    m.double()
    assert m.first.w is w and w.dtype == gradstep.float64 and isinstance(w, nn.Parameter)
    assert m.first.count.dtype == gradstep.float64
    m.to(gradstep.float32)
    assert w.dtype == gradstep.float32
    m.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        m.to(gradstep.int64)


def test_forward_hooks_and_handles():
    m = _tiny(gradstep)
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 2,)

    def post(mod, args, out):
        calls.append("post")
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    x = gradstep.ones(1, 2)
    out = m(x)
    assert calls == ["pre", "post"]
    assert out.tolist() == [[5.0, 5.0, 5.0]]  # (2*1*2)+0 +1
    h1.remove()
    h2.remove()
    assert m(x).tolist() == [[2.0, 2.0, 2.0]]

    def kw_pre(mod, args, kwargs):
        return (args[0] * 0,), kwargs

    with m.register_forward_pre_hook(kw_pre, with_kwargs=True):
        assert m(x).tolist() == [[0.0, 0.0, 0.0]]
    assert m(x).tolist() == [[2.0, 2.0, 2.0]]


def test_full_backward_hook_matches_torch():
    grads = {}
    for lib in (gradstep, torch):
        m = _tiny(lib)
        seen = []
        m.register_full_backward_hook(
            lambda mod, gi, go, seen=seen: seen.append((gi[0].numpy().copy(), go[0].numpy().copy()))
        )
        x = lib.tensor(np.arange(6.0).reshape(3, 2).astype("float32"), requires_grad=True)
        (m(x) * lib.tensor(np.arange(9.0).reshape(3, 3).astype("float32"))).sum().backward()
        grads[lib.__name__] = (seen, x.grad.numpy().copy())
    (ours, gx), (theirs, tx) = grads["gradstep"], grads["torch"]
    assert len(ours) == len(theirs) == 1
    np.testing.assert_allclose(ours[0][0], theirs[0][0])
    np.testing.assert_allclose(ours[0][1], theirs[0][1])
    np.testing.assert_allclose(gx, tx)


def test_full_backward_hook_can_replace_grad_input():
    m = _tiny(gradstep)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    x = gradstep.ones(1, 2, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0]]
    assert m.first.w.grad is not None


def test_repr_matches_torch_format():
    def build(lib):
        net = lib.nn.Sequential(lib.nn.Sequential(), lib.nn.ModuleList([lib.nn.Sequential()] * 3))
        net.add_module("d", lib.nn.ModuleDict({"a": lib.nn.Sequential()}))
        return net

    assert repr(build(gradstep)) == repr(build(torch))

    class WithExtra(nn.Module):
        def extra_repr(self):
            return "k=3"

    assert repr(WithExtra()) == "WithExtra(k=3)"


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_deepcopy_module():
    m = _tiny(gradstep)
    m2 = copy.deepcopy(m)
    assert m2.first.w is m2.second.w and m2.first.w is not m.first.w
    m2.first.w.data.fill_(3)
    assert m.first.w.tolist()[0][0] == 1.0


MLP_SCRIPT = '''
import {lib} as torch
import {lib}.nn as nn
import {lib}.nn.functional as F
from {lib} import nn as nn2


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.0),
                                  nn.Linear(16, 16))
        self.head = nn2.Linear(16, 3)

    def forward(self, x):
        return self.head(F.gelu(self.body(x)))


model = MLP()
model.load_state_dict(weights)
criterion = nn.CrossEntropyLoss()
x = torch.tensor(x_np)
y = torch.tensor(y_np)
model.train()
out = model(x)
loss = criterion(out, y)
model.zero_grad()
loss.backward()
nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
with torch.no_grad():
    for p in model.parameters():
        p -= 0.1 * p.grad
    acc = (model(x).argmax(dim=1) == y).float().mean()
result = (loss.item(), acc.item(), [p.detach().numpy().copy() for p in model.parameters()])
'''


def test_mlp_script_runs_unchanged_with_import_gradstep_as_torch():
    rng = np.random.default_rng(0)
    x_np = rng.normal(size=(8, 3, 4)).astype("float32")
    y_np = rng.integers(0, 3, size=8)
    ns_t = {"x_np": x_np, "y_np": y_np}
    exec(MLP_SCRIPT.format(lib="torch").replace("model.load_state_dict(weights)\n", ""), ns_t)
    start = {k: v.clone() for k, v in ns_t["model"].state_dict().items()}
    ns_t = {"x_np": x_np, "y_np": y_np, "weights": start}
    exec(MLP_SCRIPT.format(lib="torch"), ns_t)
    ns_g = {"x_np": x_np, "y_np": y_np,
            "weights": {k: gradstep.tensor(v.numpy()) for k, v in start.items()}}
    exec(MLP_SCRIPT.format(lib="gradstep"), ns_g)
    (loss, acc, params), (tloss, tacc, tparams) = ns_g["result"], ns_t["result"]
    assert loss == pytest.approx(tloss, rel=1e-5) and acc == pytest.approx(tacc)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p, tp, rtol=1e-5, atol=1e-6)


def test_full_backward_pre_hook_can_replace_grad_output():
    lin = nn.Linear(2, 2)
    seen = []

    def pre(mod, grad_output):
        seen.append(grad_output[0].tolist())
        return (grad_output[0] * 0,)

    lin.register_full_backward_pre_hook(pre)
    x = gradstep.ones(1, 2, requires_grad=True)
    lin(x).sum().backward()
    assert seen == [[[1.0, 1.0]]]
    assert x.grad.tolist() == [[0.0, 0.0]] and lin.weight.grad.abs().sum().item() == 0.0


def test_pickle_module_and_to_device():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    m2 = pickle.loads(pickle.dumps(m))
    assert isinstance(m2[0].weight, nn.Parameter)
    np.testing.assert_array_equal(m2[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    assert m.to(gradstep.device("cpu")) is m and m.to("cpu", gradstep.float64) is m
    assert m[0].weight.dtype == gradstep.float64
    with pytest.raises(RuntimeError, match="not compiled with CUDA"):
        m.to("cuda")


def test_buffer_marker_registers_like_torch():
    def build(L):
        m = L.nn.Module()
        m.a = L.nn.Buffer(L.zeros(2))
        m.b = L.nn.Buffer(L.ones(1), persistent=False)
        m.c = L.zeros(3)  # a plain tensor stays a plain attribute
        return m

    ours, theirs = build(gradstep), build(torch)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a"]
    assert "c" in ours.__dict__
    ours.double()
    assert ours.a.dtype == gradstep.float64


def test_full_backward_hook_has_a_slot_for_every_tensor_input_like_torch():
    """An input that needs no gradient still has its grad_input slot (zeros, as torch's
    materialized gradient), so hooks that index it or return a full tuple work."""
    seen = []
    for L in (torch, gradstep):
        class Two(L.nn.Module):
            def forward(self, a, b):
                return a * 2 + b

        log = []
        m = Two()
        m.register_full_backward_hook(lambda mod, gi, go, log=log: (
            log.append([None if g is None else g.tolist() for g in gi]),
            (gi[0] * 10,) + tuple(gi[1:]))[1])
        a = L.ones(2, requires_grad=True)
        m(a, L.ones(2)).sum().backward()
        seen.append((log, a.grad.tolist()))
    assert seen[1] == seen[0] == ([[[2.0, 2.0], [0.0, 0.0]]], [20.0, 20.0])


def test_hooks_on_every_module_like_torch():
    from torch.nn.modules import module as tm

    from gradstep.nn.modules import module as gm
    seen = []
    for L, mod in ((torch, tm), (gradstep, gm)):
        calls = []
        handles = [
            mod.register_module_forward_pre_hook(lambda m, a, c=calls: c.append(
                ("pre", type(m).__name__))),
            mod.register_module_forward_hook(lambda m, a, o, c=calls: c.append(
                ("post", type(m).__name__))),
            mod.register_module_full_backward_hook(lambda m, gi, go, c=calls: c.append(
                ("bw", type(m).__name__))),
        ]
        net = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.ReLU())
        net(L.ones(1, 2, requires_grad=True)).sum().backward()
        for h in handles:
            h.remove()
        net(L.ones(1, 2))  # removed: no more calls
        seen.append(calls)
    assert seen[1] == seen[0]


@pytest.mark.parametrize("target,strict", [("1", False), ("1", True), ("0.new", False),
                                           ("0.new", True), ("0.weight", False), ("", False),
                                           ("x.y", False)])
def test_set_submodule_like_torch(target, strict):
    outcomes = []
    for L in (torch, gradstep):
        net = L.nn.Sequential(L.nn.Sequential(L.nn.Linear(1, 1)), L.nn.ReLU())
        try:
            net.set_submodule(target, L.nn.Tanh(), strict=strict)
            outcomes.append(repr(net))
        except (AttributeError, ValueError) as e:
            outcomes.append((type(e).__name__, str(e)))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("assign", [
    lambda L, m: m.register_parameter("w", L.ones(1)),
    lambda L, m: m.register_buffer("b", 3),
    lambda L, m: setattr(m, "weight", L.ones(1)),
    lambda L, m: (setattr(m, "x", L.nn.Linear(1, 1)), setattr(m, "x", 3)),
    lambda L, m: (m.register_buffer("bb", L.ones(1)), setattr(m, "bb", 3)),
    lambda L, m: setattr(m, "weight", L.ones(1).long()),
])
def test_assignment_errors_name_types_as_torch(assign):
    messages = []
    for L in (torch, gradstep):
        with pytest.raises(TypeError) as e:
            assign(L, L.nn.Linear(1, 1))
        messages.append(str(e.value).replace("gradstep", "torch"))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("obj", [lambda L: L.nn.Linear(1, 1), lambda L: L.ones(2).long(),
                                 lambda L: L.nn.Parameter(L.ones(1)), lambda L: 3,
                                 lambda L: L.nn.Linear, lambda L: L.ones(2, dtype=L.float64)])
def test_typename_like_torch(obj):
    assert gradstep.typename(obj(gradstep)).replace("gradstep", "torch") == \
        torch.typename(obj(torch))


def _hooked_inplace_outcome(lib, case):
    """Grad-CAM's classic: a hook on a layer whose input or output a ReLU(inplace=True) changes."""
    lib.manual_seed(0)
    relu_after_conv = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.ReLU(inplace=True))
    conv, relu = relu_after_conv
    hook = lambda *args: None  # noqa: E731
    register = {"full_on_output": lambda: conv.register_full_backward_hook(hook),
                "pre_on_output": lambda: conv.register_full_backward_pre_hook(hook),
                "legacy_on_output": lambda: conv.register_backward_hook(hook),
                "full_on_input": lambda: relu.register_full_backward_hook(hook),
                "legacy_on_input": lambda: relu.register_backward_hook(hook)}
    try:
        register[case]()
        with lib.no_grad():  # without a graph nothing is refused
            relu_after_conv(lib.ones(1, 1, 4, 4))
        relu_after_conv(lib.ones(1, 1, 4, 4)).sum().backward()
    except RuntimeError as e:
        return str(e)
    return conv.weight.grad.tolist()


@pytest.mark.parametrize("case", ["full_on_output", "pre_on_output", "legacy_on_output",
                                  "full_on_input", "legacy_on_input"])
def test_full_backward_hooks_refuse_inplace_changes_as_torch(case):
    """torch passes a module's inputs and outputs through a custom Function for its full
    backward (pre-)hooks, so changing them in place raises; legacy hooks allow it."""
    assert _hooked_inplace_outcome(gradstep, case) == _hooked_inplace_outcome(torch, case)


def _two_input_outcome(lib):
    class AddInPlace(lib.nn.Module):
        def forward(self, a, b):
            return a.add_(b)

    m = AddInPlace()
    m.register_full_backward_hook(lambda *args: None)
    a, b = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
    try:
        m(a * 1, b * 1)
    except RuntimeError as e:
        return str(e)


def test_full_backward_hook_on_several_inputs_gives_torchs_multiple_views_error():
    assert "returns multiple views" in _two_input_outcome(torch)
    assert _two_input_outcome(gradstep) == _two_input_outcome(torch)


@pytest.mark.parametrize("first", ["legacy", "full"])
def test_legacy_and_full_backward_hooks_do_not_mix_as_torch(first):
    def outcome(lib):
        m = lib.nn.Linear(2, 2)
        legacy, full = m.register_backward_hook, m.register_full_backward_hook
        one, other = (legacy, full) if first == "legacy" else (full, legacy)
        one(lambda *args: None).remove()  # removing it does not reset the kind, in torch
        with pytest.raises(RuntimeError) as info:
            other(lambda *args: None)
        return str(info.value)

    assert outcome(gradstep) == outcome(torch)


def _module_outcome(lib, call):
    try:
        out = call(lib)
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e).__name__, str(e).replace("gradstep", "torch")  # our package names itself
    return "ok", str(out)


def _load(lib, edit, strict=True):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
    sd = edit(lib, dict(m.state_dict()))
    return m.load_state_dict(sd, strict=strict)


_MODULE_MISTAKES = {
    "get_parameter-missing": lambda L: L.nn.Linear(2, 2).get_parameter("x"),
    "get_parameter-buffer": lambda L: L.nn.BatchNorm1d(2).get_parameter("running_mean"),
    "requires_grad_-str": lambda L: L.nn.Linear(2, 2).requires_grad_("no"),
    "requires_grad_-int": lambda L: L.nn.Linear(2, 2).requires_grad_(1),
    "register_buffer-dot": lambda L: L.nn.Linear(2, 2).register_buffer("a.b", L.zeros(1)),
    "register_buffer-empty": lambda L: L.nn.Linear(2, 2).register_buffer("", L.zeros(1)),
    "register_buffer-existing": lambda L: L.nn.Linear(2, 2).register_buffer("weight", L.zeros(1)),
    "register_buffer-not-tensor": lambda L: L.nn.Linear(2, 2).register_buffer("b", 3),
    "add_module-not-module": lambda L: L.nn.Linear(2, 2).add_module("x", 3),
    "add_module-existing": lambda L: L.nn.Linear(2, 2).add_module("weight", L.nn.ReLU()),
    "load-shape-strict": lambda L: _load(L, lambda L, sd: {**sd, "0.weight": L.zeros(4, 2)}),
    "load-shape-nonstrict": lambda L: _load(L, lambda L, sd: {**sd, "0.weight": L.zeros(4, 2)}, False),
    "load-missing-strict": lambda L: _load(L, lambda L, sd: {k: v for k, v in sd.items() if k != "0.bias"}),
    "load-missing-nonstrict": lambda L: _load(
        L, lambda L, sd: {**{k: v for k, v in sd.items() if k != "0.bias"}, "x": L.zeros(1)}, False),
}


@pytest.mark.parametrize("case", sorted(_MODULE_MISTAKES))
def test_module_mistakes_raise_as_torch(case):
    """Exception class and message as torch's (messages gradstep extends: their opening)."""
    theirs = _module_outcome(torch, _MODULE_MISTAKES[case])
    ours = _module_outcome(gradstep, _MODULE_MISTAKES[case])
    assert ours[0] == theirs[0], (ours, theirs)
    assert ours[1].startswith(theirs[1].rstrip("'")), (ours, theirs)

"""What programs print is what torch prints: a seeded differential check of reprs.

Each case builds the same object with torch and with gradstep and compares the strings exactly,
with gradstep's names spelled ``torch.`` as under ``install_as_torch`` / ``gradstep run``.
The cases come from ``tests/print_cases.py``: every public non-Lazy ``torch.nn.modules`` class
with several argument sets, random tensors over dtypes/shapes/value styles/print options, and
the objects programs print (optimizers, their state_dicts, schedulers, return types,
distributions, DataLoader batches, Size/dtype/device/finfo).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import gradstep
import gradstep.backend as B
from tests.print_cases import (
    EDGE_OPTIONS,
    EDGE_TENSORS,
    MODULE_CASES,
    SEEDED_CASES,
    build_module,
    make_array,
    module_class_names,
    tensor_cases,
)

LIBS = (torch, gradstep)


@pytest.fixture(autouse=True)
def torch_spelling():
    """gradstep prints ``torch.float32`` / ``torch.Size`` as it does under the torch hook; every
    test leaves print options and the default dtype as it found them."""
    saved = B.display_name
    B.display_name = "torch"
    try:
        yield
    finally:
        B.display_name = saved
        for lib in LIBS:
            lib.set_printoptions(profile="default", sci_mode=None)
            lib.set_default_dtype(lib.float32)


def both(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation warnings of old classes (NLLLoss2d, Container)
        return fn(torch), fn(gradstep)


def assert_same(fn):
    theirs, ours = both(fn)
    assert ours == theirs


# ---------------------------------------------------------------- nn modules
def test_module_cases_cover_every_torch_module_class():
    covered = {case.split("(")[0] for case in MODULE_CASES}
    assert set(module_class_names(torch)) - covered == set()
    assert len(MODULE_CASES) > 300


@pytest.mark.parametrize("expr", MODULE_CASES)
def test_module_repr(expr):
    assert_same(lambda lib: repr(build_module(lib, expr)))


def test_custom_module_with_extra_repr_and_children():
    def build(lib):
        class Block(lib.nn.Module):
            def __init__(self, width):
                super().__init__()
                self.width = width
                self.fc = lib.nn.Linear(width, width)
                self.act = lib.nn.GELU()

            def extra_repr(self):
                return f"width={self.width},\nnote='two lines'"

        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = lib.nn.ModuleList([Block(4) for _ in range(3)])
                self.head = lib.nn.Sequential(lib.nn.LayerNorm(4), lib.nn.Linear(4, 2))
                self.scale = lib.nn.Parameter(lib.ones(1))

        net = Net()
        return "\n".join([repr(net), str(net.blocks[0]), repr(Block(2)), str(list(net.children())[1])])

    assert_same(build)


# ---------------------------------------------------------------- tensors
def _tensor(lib, arr, dtype):
    t = lib.tensor(arr)
    return t.to(lib.bfloat16) if dtype == "bfloat16" else t


@pytest.mark.parametrize("seed", range(4))
def test_random_tensor_str_repr_format(seed):
    for shape, style, dtype, data_seed in tensor_cases(seed, 120):
        arr = make_array(shape, style, dtype, data_seed)
        theirs, ours = _tensor(torch, arr, dtype), _tensor(gradstep, arr, dtype)
        for show in (repr, str, "{}".format):
            assert show(ours) == show(theirs), (shape, style, dtype, data_seed)


PRINT_OPTIONS = [
    dict(precision=2), dict(precision=8), dict(precision=0), dict(sci_mode=True), dict(sci_mode=False),
    dict(linewidth=40), dict(linewidth=200), dict(threshold=10), dict(threshold=10, edgeitems=1),
    dict(threshold=5, edgeitems=0), dict(profile="short"), dict(profile="full"),
    dict(precision=3, sci_mode=True, linewidth=60), dict(profile="short", precision=6),
]


@pytest.mark.parametrize("options", PRINT_OPTIONS, ids=str)
def test_random_tensors_under_print_options(options):
    for lib in LIBS:
        lib.set_printoptions(**options)
    for shape, style, dtype, data_seed in tensor_cases(7, 80):
        if options.get("profile") == "full" and np.prod(shape) > 2000:
            continue  # the full profile prints every element: slow, and no new formatting rule
        arr = make_array(shape, style, dtype, data_seed)
        ours, theirs = repr(_tensor(gradstep, arr, dtype)), repr(_tensor(torch, arr, dtype))
        assert ours == theirs, (options, shape, style, dtype, data_seed)


def test_print_options_reset_and_context():
    for lib in LIBS:
        lib.set_printoptions(precision=1, threshold=3)
        lib.set_printoptions(profile="default")
    assert_same(lambda lib: repr(lib.arange(10.0) / 3))
    assert gradstep._tensor_str.get_printoptions() == torch._tensor_str.get_printoptions()

    def in_context(lib):
        with lib._tensor_str.printoptions(precision=2, sci_mode=True):
            inside = repr(lib.tensor([1.2345, 100.0]))
        return inside, repr(lib.tensor([1.2345, 100.0])), lib._tensor_str.get_printoptions()

    assert_same(in_context)


def test_default_dtype_float64_changes_dtype_suffixes():
    def show(lib):
        lib.set_default_dtype(lib.float64)
        out = [repr(lib.tensor([1.5, 2.0])), repr(lib.tensor([1.5], dtype=lib.float32)),
               repr(lib.tensor([1 + 2j])), repr(lib.tensor([1 + 2j], dtype=lib.complex64)),
               repr(lib.zeros(0)), repr(lib.zeros(0, dtype=lib.float32))]
        lib.set_default_dtype(lib.float32)
        return out

    assert_same(show)


def _leaf(lib, shape=(2, 3)):
    return lib.tensor(np.random.default_rng(0).standard_normal(shape).astype("float32"), requires_grad=True)


def _setitem(lib):
    x = _leaf(lib) * 1
    x[0] = 0
    return x


def _under_no_grad(lib):
    with lib.no_grad():
        return _leaf(lib) * 2


F = lambda lib: lib.nn.functional  # noqa: E731
AUTOGRAD_CASES = {
    "leaf": _leaf, "leaf_float64": lambda L: _leaf(L).detach().double().requires_grad_(),
    "leaf_0d": lambda L: L.tensor(1.5, requires_grad=True),
    "leaf_long": lambda L: L.arange(3000.0).requires_grad_(),
    "add": lambda L: _leaf(L) + 1, "sub": lambda L: _leaf(L) - _leaf(L), "mul": lambda L: _leaf(L) * 2,
    "div": lambda L: _leaf(L) / 2, "neg": lambda L: -_leaf(L), "pow": lambda L: _leaf(L) ** 2,
    "rsub": lambda L: 1 - _leaf(L), "rdiv": lambda L: 1 / _leaf(L),
    "matmul": lambda L: _leaf(L) @ _leaf(L).T, "mm": lambda L: L.mm(_leaf(L), _leaf(L).t()),
    "mv": lambda L: _leaf(L) @ _leaf(L, (3,)),
    "bmm": lambda L: L.bmm(_leaf(L, (2, 2, 3)), _leaf(L, (2, 3, 2))),
    "addmm": lambda L: L.addmm(_leaf(L, (2, 2)), _leaf(L), _leaf(L).T),
    "sum": lambda L: _leaf(L).sum(), "sum_dim": lambda L: _leaf(L).sum(1), "mean": lambda L: _leaf(L).mean(),
    "mean_keepdim": lambda L: _leaf(L).mean(1, keepdim=True), "max": lambda L: _leaf(L).max(),
    "max_dim": lambda L: _leaf(L).max(1)[0], "min_values": lambda L: _leaf(L).min(0).values,
    "var": lambda L: _leaf(L).var(), "std": lambda L: _leaf(L).std(), "prod": lambda L: _leaf(L).prod(),
    "norm": lambda L: _leaf(L).norm(), "cumsum": lambda L: _leaf(L).cumsum(0),
    "exp": lambda L: _leaf(L).exp(), "log": lambda L: _leaf(L).abs().log(), "sin": lambda L: _leaf(L).sin(),
    "abs": lambda L: _leaf(L).abs(), "sqrt": lambda L: _leaf(L).abs().sqrt(),
    "log1p": lambda L: _leaf(L).abs().log1p(), "clamp": lambda L: _leaf(L).clamp(0, 1),
    "relu": lambda L: L.relu(_leaf(L)), "F_relu": lambda L: F(L).relu(_leaf(L)),
    "sigmoid": lambda L: _leaf(L).sigmoid(), "tanh": lambda L: _leaf(L).tanh(),
    "gelu": lambda L: F(L).gelu(_leaf(L)), "softmax": lambda L: _leaf(L).softmax(1),
    "log_softmax": lambda L: F(L).log_softmax(_leaf(L), 1),
    "layer_norm": lambda L: F(L).layer_norm(_leaf(L), (3,)),
    "dropout_p0": lambda L: F(L).dropout(_leaf(L), 0.0),
    "view": lambda L: _leaf(L).view(3, 2), "reshape": lambda L: _leaf(L).reshape(-1),
    "flatten": lambda L: _leaf(L).flatten(), "t": lambda L: _leaf(L).t(),
    "transpose": lambda L: _leaf(L).transpose(0, 1), "permute": lambda L: _leaf(L).permute(1, 0),
    "unsqueeze": lambda L: _leaf(L).unsqueeze(0), "squeeze": lambda L: _leaf(L)[None].squeeze(0),
    "expand": lambda L: _leaf(L, (1, 3)).expand(2, 3), "index": lambda L: _leaf(L)[0],
    "slice": lambda L: _leaf(L)[:, 1:], "split": lambda L: _leaf(L).split(1)[0],
    "chunk": lambda L: _leaf(L).chunk(3, 1)[1], "unbind": lambda L: _leaf(L).unbind(0)[0],
    "gather": lambda L: _leaf(L).gather(1, L.tensor([[0], [1]])),
    "cat": lambda L: L.cat([_leaf(L), _leaf(L)]), "stack": lambda L: L.stack([_leaf(L), _leaf(L)]),
    "where": lambda L: L.where(_leaf(L) > 0, _leaf(L), L.zeros(2, 3)),
    "masked_fill": lambda L: _leaf(L).masked_fill(L.ones(2, 3, dtype=L.bool), 0.0),
    "topk": lambda L: _leaf(L).topk(2)[0], "sort": lambda L: _leaf(L).sort()[0],
    "clone": lambda L: _leaf(L).clone(), "to_float64": lambda L: _leaf(L).double(),
    "linear": lambda L: F(L).linear(_leaf(L), _leaf(L)),
    "linear_bias": lambda L: F(L).linear(_leaf(L), _leaf(L), _leaf(L, (2,))),
    "conv1d": lambda L: F(L).conv1d(_leaf(L, (1, 2, 3)), _leaf(L, (1, 2, 2))),
    "embedding": lambda L: F(L).embedding(L.tensor([0, 1]), _leaf(L)),
    "mse_loss": lambda L: F(L).mse_loss(_leaf(L), L.zeros(2, 3)),
    "cross_entropy": lambda L: F(L).cross_entropy(_leaf(L), L.tensor([0, 2])),
    "nll_loss": lambda L: F(L).nll_loss(_leaf(L), L.tensor([0, 2])),
    "bce_logits": lambda L: F(L).binary_cross_entropy_with_logits(_leaf(L), L.ones(2, 3)),
    "l1_loss": lambda L: F(L).l1_loss(_leaf(L), L.ones(2, 3)),
    "inplace_add": lambda L: (_leaf(L) * 1).add_(1), "setitem": _setitem,
    "detach": lambda L: _leaf(L).detach(), "no_grad": _under_no_grad,
    "argmax": lambda L: _leaf(L).argmax(), "compare": lambda L: _leaf(L) > 0,
    "param": lambda L: L.nn.Parameter(_leaf(L).detach()),
    "param_frozen": lambda L: L.nn.Parameter(_leaf(L).detach(), requires_grad=False),
    "param_0d": lambda L: L.nn.Parameter(L.tensor(2.0)), "param_empty": lambda L: L.nn.Parameter(L.zeros(0, 3)),
    "param_int": lambda L: L.nn.Parameter(L.arange(3), requires_grad=False),
    "param_long": lambda L: L.nn.Parameter(L.arange(3000.0)),
    "grad_after_backward": lambda L: _grad_of(L),
}


def _grad_of(lib):
    x = _leaf(lib)
    (x * x).sum().backward()
    return x.grad


@pytest.mark.parametrize("name", AUTOGRAD_CASES)
def test_requires_grad_and_grad_fn_suffixes(name):
    assert_same(lambda lib: (repr(AUTOGRAD_CASES[name](lib)), str(AUTOGRAD_CASES[name](lib))))


def _formatted(spec, value):
    def show(lib):
        try:
            return format(value(lib), spec)
        except TypeError as e:
            return f"TypeError: {e}"
    return show


FORMAT_CASES = [
    (".4f", lambda L: L.tensor(3.14159)), (".3e", lambda L: L.tensor(31415.9)), ("g", lambda L: L.tensor(0.1)),
    ("", lambda L: L.tensor(0.1)), ("5d", lambda L: L.tensor(7)), (".2f", lambda L: L.tensor(7)),
    ("", lambda L: L.tensor(True)), (".1%", lambda L: L.tensor(0.25)), (">10", lambda L: L.tensor(2.5)),
    (".3f", lambda L: L.tensor(2.5, requires_grad=True)), ("", lambda L: L.tensor([1.0, 2.0])),
    (".2f", lambda L: L.tensor([2.5])), (".2f", lambda L: L.ones(2, 2)),
    (".2f", lambda L: L.nn.Parameter(L.tensor(2.0))), ("", lambda L: L.nn.Parameter(L.tensor(2.0))),
    ("", lambda L: L.tensor(0.1, dtype=L.float16)), (".6f", lambda L: L.tensor(0.1).to(L.bfloat16)),
]


@pytest.mark.parametrize("i", range(len(FORMAT_CASES)))
def test_format_spec(i):
    spec, value = FORMAT_CASES[i]
    assert_same(_formatted(spec, value))
    assert_same(lambda lib: "{}".format(value(lib)))  # noqa: UP032 - the str.format path programs use


def _data(lib, shape=(3, 4), seed=1, dtype="float32"):
    return lib.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


PYTHON_VALUE_CASES = {
    # Python floats from float32/16 tensors print their float64 expansion, as torch's do
    "item_f32": lambda L: L.tensor(0.1).item(), "item_f16": lambda L: L.tensor(0.1, dtype=L.float16).item(),
    "item_bf16": lambda L: L.tensor(0.1).to(L.bfloat16).item(), "item_int": lambda L: L.tensor(3).item(),
    "item_bool": lambda L: L.tensor(True).item(), "item_complex": lambda L: L.tensor(1 + 2j).item(),
    "item_uint8": lambda L: L.tensor(200, dtype=L.uint8).item(),
    "tolist_f32": lambda L: _data(L).tolist(), "tolist_f64": lambda L: _data(L, dtype="float64").tolist(),
    "tolist_f16": lambda L: _data(L).half().tolist(), "tolist_bf16": lambda L: _data(L).bfloat16().tolist(),
    "tolist_int": lambda L: L.arange(5).tolist(), "tolist_bool": lambda L: (_data(L) > 0).tolist(),
    "tolist_complex": lambda L: (_data(L) * 1j).tolist(), "tolist_0d": lambda L: L.tensor(1.5).tolist(),
    "tolist_special": lambda L: L.tensor([float("nan"), float("inf"), -0.0]).tolist(),
    "float()": lambda L: float(L.tensor(0.1)), "int()": lambda L: int(L.tensor(3.7)),
    "round_item": lambda L: round(L.tensor(0.123456).item(), 3),
    "size": lambda L: _data(L).size(), "shape_0d": lambda L: L.tensor(1.0).shape,
    "shape_slice": lambda L: _data(L).shape[1:], "shape_plus_tuple": lambda L: _data(L).shape + (2,),
    "Size": lambda L: L.Size([2, 3]), "numel": lambda L: _data(L).shape.numel(),
    "stride": lambda L: _data(L).stride(), "grad_none": lambda L: _data(L).grad,
    "dtypes": lambda L: [L.float16, L.bfloat16, L.float32, L.float64, L.int8, L.int16, L.int32, L.int64,
                         L.uint8, L.bool, L.complex64, L.complex128],
    "dtype_aliases": lambda L: [L.float, L.double, L.half, L.long, L.int, L.short, L.cfloat, L.cdouble],
    "default_dtype": lambda L: L.get_default_dtype(),
    "devices": lambda L: [L.device("cpu"), L.device("cuda", 0), L.device("cuda:1"), L.device("cuda"),
                          L.device("meta"), _data(L).device],
    "layout_and_format": lambda L: (L.strided, L.contiguous_format, L.channels_last, L.preserve_format),
    "finfo": lambda L: [L.finfo(d) for d in (L.float16, L.bfloat16, L.float32, L.float64)] + [L.finfo()],
    "finfo_fields": lambda L: (L.finfo(L.float32).eps, L.finfo(L.float32).tiny, L.finfo(L.float32).max,
                               L.finfo(L.float16).min),
    "iinfo": lambda L: [L.iinfo(d) for d in (L.int8, L.int16, L.int32, L.int64, L.uint8)],
    "tensor_type": lambda L: [t.type() for t in (L.zeros(1), L.zeros(1, dtype=L.complex64),
                                                   L.zeros(1, dtype=L.complex128), L.zeros(1, dtype=L.int8))],
    "containers": lambda L: ([L.tensor(1.0), L.tensor([1, 2])], {"a": L.tensor(1.0), "b": L.ones(2, 2)},
                             (L.tensor(1.0), L.zeros(3, requires_grad=True))),
    "numpy": lambda L: (_data(L).numpy(), _data(L).half().numpy()),
}


@pytest.mark.parametrize("name", PYTHON_VALUE_CASES)
def test_python_values_and_small_objects(name):
    assert_same(lambda lib: (repr(PYTHON_VALUE_CASES[name](lib)), str(PYTHON_VALUE_CASES[name](lib)),
                             f"{PYTHON_VALUE_CASES[name](lib)}"))


# ---------------------------------------------------------------- objects programs print
OPTIMIZERS = {
    "SGD": [dict(lr=0.1), dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
            dict(lr=0.01, momentum=0.5, dampening=0.1, maximize=True)],
    "Adam": [dict(), dict(lr=1e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True)],
    "AdamW": [dict(), dict(lr=3e-4, weight_decay=0.1, amsgrad=True)],
    "Adagrad": [dict(), dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.95)], "Adamax": [dict(), dict(lr=0.01)],
    "ASGD": [dict(), dict(lr=0.1, t0=10)],
    "NAdam": [dict(), dict(momentum_decay=0.005, decoupled_weight_decay=True, weight_decay=0.1)],
    "RAdam": [dict(), dict(decoupled_weight_decay=True, weight_decay=0.1)],
    "RMSprop": [dict(), dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True)],
    "Rprop": [dict(), dict(lr=0.02, etas=(0.4, 1.3), step_sizes=(1e-5, 10))],
    "LBFGS": [dict(), dict(lr=0.5, history_size=5, line_search_fn="strong_wolfe")],
    "SparseAdam": [dict()],
    "Adafactor": [dict(), dict(lr=0.02, beta2_decay=-0.5, weight_decay=0.1)],
    "Muon": [dict(), dict(lr=0.02, momentum=0.9, nesterov=False)],
}
OPTIMIZER_CASES = [(name, kw) for name, kws in OPTIMIZERS.items() for kw in kws]


def _mlp(lib):
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    with lib.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(_data(lib, tuple(p.shape), seed=i))
    return net


def _param_groups(net, name):
    """Two groups (the second with its own lr) where the optimizer takes groups."""
    if name == "LBFGS":
        return list(net.parameters())
    if name == "Muon":  # 2-d parameters only
        return [{"params": [net[0].weight]}, {"params": [net[2].weight], "lr": 0.001}]
    return [{"params": net[0].parameters()}, {"params": net[2].parameters(), "lr": 0.002}]


def _optimizer_run(lib, name, kw):
    """repr before stepping, the state_dict after two steps, repr after them."""
    net = _mlp(lib)
    opt = getattr(lib.optim, name)(_param_groups(net, name), **kw)
    before = repr(opt)
    if name == "SparseAdam":
        return before, None, repr(opt)
    x = _data(lib, (5, 3), seed=9)

    def closure():
        opt.zero_grad()
        loss = net(x).pow(2).sum()
        loss.backward()
        return loss

    for _ in range(2):
        opt.step(closure)
    return before, opt.state_dict(), repr(opt)


def _with_torch_numbers(ours, theirs, rtol, path="state_dict"):
    """``ours`` with every tensor and float replaced by torch's after checking it is close, so the
    repr compares what is printed (keys, order, types, nesting) and not last-digit rounding."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gradstep.Tensor) and tuple(ours.shape) == tuple(theirs.shape), path
        assert str(ours.dtype) == str(theirs.dtype), path
        if rtol is not None:
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=rtol, err_msg=path)
        return gradstep.tensor(theirs.numpy())
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), path
        return {k: _with_torch_numbers(ours[k], v, rtol, f"{path}[{k!r}]") for k, v in theirs.items()}
    if isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), path
        return type(theirs)(_with_torch_numbers(o, t, rtol, f"{path}[{i}]")
                            for i, (o, t) in enumerate(zip(ours, theirs)))
    assert type(ours) is type(theirs), path
    if isinstance(theirs, float) and rtol is not None:
        assert ours == pytest.approx(theirs, rel=rtol, abs=rtol), path
    return theirs if isinstance(theirs, float) else ours


@pytest.mark.parametrize(("name", "kw"), OPTIMIZER_CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                                 enumerate(OPTIMIZER_CASES)])
def test_optimizer_repr_and_state_dict(name, kw):
    theirs, ours = both(lambda lib: _optimizer_run(lib, name, kw))
    assert ours[0] == theirs[0] and ours[2] == theirs[2]
    if theirs[1] is not None:
        # two float32 steps from the same start agree to rounding (1e-4 covers Adafactor's
        # factored second moments); LBFGS runs 20 inner iterations of line search, whose float32
        # paths drift apart, so only its structure (keys, order, shapes, types) is compared
        rtol = None if name == "LBFGS" else 1e-4
        assert repr(_with_torch_numbers(ours[1], theirs[1], rtol)) == repr(theirs[1])


SCHEDULERS = {
    "StepLR": dict(step_size=2, gamma=0.5), "MultiStepLR": dict(milestones=[1, 2], gamma=0.1),
    "ExponentialLR": dict(gamma=0.9), "CosineAnnealingLR": dict(T_max=10, eta_min=1e-4),
    "LambdaLR": dict(lr_lambda=lambda e: 0.95 ** e), "MultiplicativeLR": dict(lr_lambda=lambda e: 0.9),
    "LinearLR": dict(start_factor=0.5, total_iters=4), "ConstantLR": dict(factor=0.5, total_iters=2),
    "PolynomialLR": dict(total_iters=5, power=2.0), "OneCycleLR": dict(max_lr=1.0, total_steps=10),
    "CyclicLR": dict(base_lr=0.01, max_lr=0.1, step_size_up=2),
    "CosineAnnealingWarmRestarts": dict(T_0=2, T_mult=2),
    "ReduceLROnPlateau": dict(patience=0, factor=0.5),
}


@pytest.mark.parametrize("name", SCHEDULERS)
def test_lr_scheduler_last_lr_and_state_dict(name):
    def run(lib):
        p = lib.nn.Parameter(lib.zeros(2))
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **SCHEDULERS[name])
        printed = []
        for _ in range(4):
            opt.step()
            if name == "ReduceLROnPlateau":
                sched.step(1.0)
            else:
                sched.step()
                printed.append(repr(sched.get_last_lr()))
        state = sched.state_dict()
        state.pop("lr_lambdas", None)  # holds function reprs (addresses)
        return printed, repr(state), repr(opt.param_groups[0]["lr"])

    assert_same(run)


def _conv_net(lib):
    net = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2), lib.nn.Flatten(), lib.nn.Linear(8, 3))
    with lib.no_grad():
        for i, v in enumerate(net.state_dict().values()):
            if v.dtype == lib.float32:
                v.copy_(_data(lib, tuple(v.shape), seed=i))
    return net


def _dataloader_batches(lib):
    ds = lib.utils.data.TensorDataset(lib.arange(10.0).reshape(5, 2), lib.arange(5))
    loader = lib.utils.data.DataLoader(ds, batch_size=2)
    return [repr(b) for b in loader] + [repr(len(loader)), repr(ds[0])]


def _dataloader_dict_batches(lib):
    class Samples(lib.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"x": np.full(2, i, np.float32), "y": i, "name": f"s{i}", "w": 0.5 * i}

    return [repr(b) for b in lib.utils.data.DataLoader(Samples(), batch_size=2)]


D = lambda lib: lib.distributions  # noqa: E731
OBJECT_CASES = {
    "state_dict_keys": lambda L: _conv_net(L).state_dict().keys(),
    "state_dict": lambda L: _conv_net(L).state_dict(),
    "state_dict_items": lambda L: list(_conv_net(L).state_dict().items())[:5],
    "named_parameters": lambda L: [(n, p.shape, p.size(), p.requires_grad, p.dtype)
                                   for n, p in _conv_net(L).named_parameters()],
    "named_modules": lambda L: [n for n, _ in _conv_net(L).named_modules()],
    "named_children": lambda L: list(_conv_net(L).named_children()),
    "named_buffers": lambda L: list(_conv_net(L).named_buffers()),
    "first_parameter": lambda L: next(_conv_net(L).parameters()),
    "parameters_to_vector": lambda L: L.nn.utils.parameters_to_vector(_conv_net(L).parameters()),
    "parameter_count": lambda L: sum(p.numel() for p in _conv_net(L).parameters()),
    "max_dim": lambda L: L.max(_data(L), 1), "min_dim": lambda L: L.min(_data(L), 0),
    "max_dim_grad": lambda L: L.max(_data(L).requires_grad_(), 1),
    "sort": lambda L: L.sort(_data(L)), "topk": lambda L: L.topk(_data(L), 2),
    "kthvalue": lambda L: L.kthvalue(_data(L), 2), "median": lambda L: _data(L).median(1),
    "mode": lambda L: L.tensor([[1, 2, 2], [3, 3, 1]]).mode(1), "var_mean": lambda L: L.var_mean(_data(L), 1),
    "std_mean": lambda L: L.std_mean(_data(L)), "aminmax": lambda L: L.aminmax(_data(L)),
    "cummax": lambda L: _data(L).cummax(0),
    "unique": lambda L: L.unique(L.tensor([3, 1, 3, 2]), return_counts=True),
    "slogdet": lambda L: L.linalg.slogdet(_data(L, (3, 3))), "eigh": lambda L: L.linalg.eigh(L.eye(2) * 2),
    "Normal": lambda L: D(L).Normal(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Normal_floats": lambda L: D(L).Normal(0.0, 1.0), "Normal_ints": lambda L: D(L).Normal(0, 1),
    "Bernoulli_probs": lambda L: D(L).Bernoulli(probs=L.tensor([0.3, 0.7])),
    "Bernoulli_logits": lambda L: D(L).Bernoulli(logits=L.tensor([0.3, 0.7])),
    "Categorical_probs": lambda L: D(L).Categorical(probs=L.tensor([0.2, 0.3, 0.5])),
    "Categorical_logits": lambda L: D(L).Categorical(logits=L.zeros(2, 3)),
    "Uniform": lambda L: D(L).Uniform(0.0, 2.0), "Beta": lambda L: D(L).Beta(L.tensor(2.0), L.tensor(3.0)),
    "MultivariateNormal": lambda L: D(L).MultivariateNormal(L.zeros(2), L.eye(2)),
    "Gamma": lambda L: D(L).Gamma(L.tensor([1.0]), L.tensor([2.0])),
    "Exponential": lambda L: D(L).Exponential(L.tensor(0.5)), "Poisson": lambda L: D(L).Poisson(L.tensor(3.0)),
    "Laplace": lambda L: D(L).Laplace(0.0, 1.0), "Dirichlet": lambda L: D(L).Dirichlet(L.ones(3)),
    "Independent": lambda L: D(L).Independent(D(L).Normal(L.zeros(2), L.ones(2)), 1),
    "OneHotCategorical": lambda L: D(L).OneHotCategorical(L.tensor([0.5, 0.5])),
    "Multinomial": lambda L: D(L).Multinomial(10, L.tensor([0.5, 0.5])),
    "LogNormal": lambda L: D(L).LogNormal(0.0, 1.0), "Cauchy": lambda L: D(L).Cauchy(0.0, 1.0),
    "Geometric": lambda L: D(L).Geometric(L.tensor(0.3)), "Binomial": lambda L: D(L).Binomial(5, L.tensor(0.3)),
    "StudentT": lambda L: D(L).StudentT(L.tensor(3.0)), "HalfNormal": lambda L: D(L).HalfNormal(L.tensor(1.0)),
    "TransformedDistribution": lambda L: D(L).TransformedDistribution(
        D(L).Normal(0.0, 1.0), [D(L).transforms.ExpTransform()]),
    "batch_shape": lambda L: D(L).Normal(L.zeros(3, 2), 1.0).batch_shape,
    "dataloader_tensors": _dataloader_batches, "dataloader_dicts": _dataloader_dict_batches,
}


@pytest.mark.parametrize("name", OBJECT_CASES)
def test_objects_programs_print(name):
    assert_same(lambda lib: (repr(OBJECT_CASES[name](lib)), str(OBJECT_CASES[name](lib))))


def test_grad_fn_object_repr_up_to_address():
    def show(lib):
        a = lib.ones(2, requires_grad=True)
        y = (a * 2).sum()
        text = f"{y.grad_fn} {y.grad_fn.next_functions} {y.grad_fn.name()}"
        return re.sub(r" at 0x[0-9a-f]+", " at 0x...", text)  # object addresses differ run to run

    assert_same(show)


@pytest.mark.parametrize("options", EDGE_OPTIONS, ids=str)
def test_edge_tensors(options):
    for lib in LIBS:
        lib.set_printoptions(**options)
    for name, make in EDGE_TENSORS.items():
        theirs, ours = both(make)
        assert repr(ours) == repr(theirs), name


@pytest.mark.parametrize("name", SEEDED_CASES)
def test_seeded_random_values_print_the_same(name):
    assert_same(lambda lib: repr(SEEDED_CASES[name](lib)))

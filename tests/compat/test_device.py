"""The device layer against torch 2.13's CPU-only build (the installed oracle has no CUDA).

Each test asks torch and gradstep the same question and compares the answers: device
objects, ``torch.cuda``/``accelerator``/``backends``/``mps``/``xpu``, the runtime
settings, and the errors for data sent to a GPU. Where gradstep differs on purpose
(``pin_memory`` is accepted, ``meta`` tensors are refused) the test says so.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn

DEVICE_SPECS = ["cpu", "cuda", "cuda:0", "cuda:1", "cpu:0", "meta", "mps", "xpu:2",
                ("cuda", 1), ("cpu", 0), ("cuda", None)]
BAD_SPECS = ["foo", "cuda:x", "cuda:-1", "cuda:01", "cuda:0:1", "cuda:", " cpu", "CPU", "foo:0", "",
             ("cuda", -1), ("cuda:0", 1)]


def _make(mod, spec):
    return mod.device(*spec) if isinstance(spec, tuple) else mod.device(spec)


def _outcome(fn, *args):
    """(result, None) or (None, (exception type name, message)) of ``fn(*args)``."""
    try:
        return fn(*args), None
    except Exception as e:  # noqa: BLE001 - compared with the other library's outcome
        return None, (type(e).__name__, str(e))


# ---------------------------------------------------------------- device objects
@pytest.mark.parametrize("spec", DEVICE_SPECS)
def test_device_repr_str_type_index(spec):
    ours, theirs = _make(gradstep, spec), _make(torch, spec)
    assert (repr(ours), str(ours), ours.type, ours.index) == \
        (repr(theirs), str(theirs), theirs.type, theirs.index)
    assert gradstep.device(ours) == ours and repr(gradstep.device(ours)) == repr(theirs)


def test_device_equality_and_hash_match_torch():
    ours = [_make(gradstep, s) for s in DEVICE_SPECS]
    theirs = [_make(torch, s) for s in DEVICE_SPECS]
    for a, ta in zip(ours, theirs):
        for b, tb in zip(ours, theirs):
            assert (a == b, a != b) == (ta == tb, ta != tb), (a, b)
            if a == b:
                assert hash(a) == hash(b)
        for other in ("cpu", str(ta), None, 0):  # torch: a device never equals a string
            assert (a == other) == (ta == other)
    assert len({gradstep.device("cpu"), gradstep.device("cpu"), gradstep.device("cpu:0")}) == 2


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_bad_device_strings_raise_like_torch(spec):
    _, ours = _outcome(lambda: _make(gradstep, spec))
    _, theirs = _outcome(lambda: _make(torch, spec))
    assert ours == theirs


def test_device_argument_types():
    for args in [(None,), ("cuda", True), ("cuda", 1.0), ("cpu", "a")]:
        assert _outcome(gradstep.device, *args)[1][0] == \
            _outcome(torch.device, *args)[1][0] == "TypeError"
    assert repr(gradstep.device(type="cpu", index=0)) == repr(torch.device(type="cpu", index=0))
    assert repr(gradstep.device(b"cpu")) == repr(torch.device(b"cpu"))
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        gradstep.device(0)  # torch reads a bare int as an accelerator index
    with pytest.raises(AttributeError, match="not writable"):
        gradstep.device("cpu").type = "cuda"


def test_device_pickles_copies_and_is_a_cpu_context():
    d = gradstep.device("cuda", 1)
    assert pickle.loads(pickle.dumps(d)) == d and copy.deepcopy(d) == d
    with gradstep.device("cpu"):
        assert gradstep.zeros(1).device == gradstep.device("cpu")
    with pytest.raises(AssertionError, match="not compiled with CUDA"), gradstep.device("cuda"):
        pass
    assert repr(gradstep.get_default_device()) == repr(torch.get_default_device())
    gradstep.set_default_device("cpu")
    gradstep.set_default_device(None)
    with pytest.raises(RuntimeError, match="not compiled with CUDA"):
        gradstep.set_default_device("cuda")
    assert gradstep._tensor.device is gradstep.device


# ---------------------------------------------------------------- torch.cuda and friends
CUDA_VALUES = ["is_available()", "device_count()", "is_bf16_supported()", "is_initialized()",
               "is_tf32_supported()", "memory_allocated()", "max_memory_allocated()",
               "memory_reserved()", "max_memory_reserved()", "memory_stats()", "empty_cache()",
               "manual_seed(3)", "manual_seed_all(3)", "seed()", "seed_all()", "get_arch_list()",
               "get_rng_state_all()"]
CUDA_RAISES = ["current_device()", "get_device_name()", "get_device_name(0)", "synchronize()",
               "get_device_capability()", "get_device_properties(0)", "init()", "mem_get_info()",
               "current_stream()", "initial_seed()", "get_rng_state()", "Stream()", "Event()"]


@pytest.mark.parametrize("expr", CUDA_VALUES)
def test_cuda_namespace_values_match_torch(expr):
    assert eval("gradstep.cuda." + expr) == eval("torch.cuda." + expr)


@pytest.mark.parametrize("expr", CUDA_RAISES)
def test_cuda_calls_that_need_a_gpu_raise(expr):
    _, theirs = _outcome(lambda: eval("torch.cuda." + expr))
    assert theirs is not None  # torch raises too (AssertionError or RuntimeError)
    _, ours = _outcome(lambda: eval("gradstep.cuda." + expr))
    assert ours[0] == "DeviceUnavailableError"
    assert isinstance(_raised(lambda: eval("gradstep.cuda." + expr)), (AssertionError, RuntimeError))


def _raised(fn, *args):
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001
        return e
    return None


def test_cuda_where_torch_fails_on_its_own_missing_extension():
    # torch 2.13 CPU raises AttributeError (a missing torch._C function) here; gradstep never
    # raises AttributeError: resetting peak stats of no memory does nothing
    assert _outcome(torch.cuda.reset_peak_memory_stats)[1][0] == "AttributeError"
    assert gradstep.cuda.reset_peak_memory_stats() is None
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        gradstep.cuda.set_device("cpu")
    with pytest.raises(AssertionError, match="not compiled with CUDA"):
        gradstep.cuda.set_device(0)
    with gradstep.cuda.device(-1), gradstep.cuda.stream(None):
        pass
    assert issubclass(gradstep.cuda.OutOfMemoryError, RuntimeError)


@pytest.mark.parametrize("expr", [
    "accelerator.is_available()", "accelerator.current_accelerator()", "accelerator.device_count()",
    "mps.is_available()", "mps.device_count()", "mps.manual_seed(1)",
    "xpu.is_available()", "xpu.device_count()", "xpu.manual_seed(1)", "xpu.is_bf16_supported()",
    "xpu.memory_allocated()", "xpu.empty_cache()",
    "backends.cudnn.is_available()", "backends.cudnn.version()", "backends.cudnn.benchmark",
    "backends.cudnn.deterministic", "backends.cudnn.enabled", "backends.cudnn.allow_tf32",
    "backends.cuda.matmul.allow_tf32", "backends.cuda.is_built()",
    "backends.cuda.matmul.allow_fp16_reduced_precision_reduction", "backends.cuda.flash_sdp_enabled()",
    "backends.mps.is_available()", "backends.mps.is_built()", "backends.opt_einsum.is_available()",
    "version.cuda", "version.hip", "jit.is_scripting()", "jit.is_tracing()",
    "onnx.is_in_onnx_export()", "jit.annotate(int, 3)",
])
def test_namespace_values_match_torch(expr):
    assert eval("gradstep." + expr) == eval("torch." + expr)


@pytest.mark.parametrize("expr", ["accelerator.current_device_index()", "accelerator.synchronize()",
                                  "mps.synchronize()", "mps.empty_cache()", "xpu.current_device()",
                                  "xpu.synchronize()", "xpu.get_device_name()"])
def test_namespace_calls_that_need_a_device_raise(expr):
    assert _outcome(lambda: eval("torch." + expr))[1] is not None
    assert isinstance(_raised(lambda: eval("gradstep." + expr)), RuntimeError)


def test_backend_flags_are_settable_and_restored_by_flags():
    cudnn = gradstep.backends.cudnn
    old = (cudnn.benchmark, cudnn.deterministic)
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        gradstep.backends.cuda.matmul.allow_tf32 = True
        assert gradstep.backends.cudnn.benchmark and gradstep.backends.cudnn.deterministic
        assert gradstep.backends.cuda.matmul.allow_tf32
        with cudnn.flags(enabled=False, benchmark=False):
            assert not cudnn.enabled and not cudnn.benchmark
        assert cudnn.enabled and cudnn.benchmark
    finally:
        cudnn.benchmark, cudnn.deterministic = old
        gradstep.backends.cuda.matmul.allow_tf32 = False


def test_c_extension_probes_answer_false():
    import gradstep._C

    for name in ("_cuda_getDeviceCount", "_get_cudnn_enabled_nope", "_jit_pass_foo"):
        assert hasattr(gradstep._C, name) == hasattr(torch._C, name) is False


# ---------------------------------------------------------------- runtime settings
def test_float32_matmul_precision_like_torch():
    before = torch.get_float32_matmul_precision()
    try:
        for lib in (torch, gradstep):
            seen = [lib.get_float32_matmul_precision()]
            for p in ("high", "medium", "highest", "high"):
                lib.set_float32_matmul_precision(p)
                seen.append(lib.get_float32_matmul_precision())
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                lib.set_float32_matmul_precision("fast")  # not a value: warns, no effect
            seen += [lib.get_float32_matmul_precision(), len(w)]
            seen.append(_outcome(lambda lib=lib: lib.set_float32_matmul_precision(3))[1])
            lib.set_float32_matmul_precision("highest")
            if lib is torch:
                expected = seen
        assert seen == expected
    finally:
        torch.set_float32_matmul_precision(before)


def test_deterministic_algorithms_like_torch():
    try:
        for lib in (torch, gradstep):
            seen = [lib.are_deterministic_algorithms_enabled(),
                    lib.is_deterministic_algorithms_warn_only_enabled()]
            lib.use_deterministic_algorithms(True, warn_only=True)
            seen += [lib.are_deterministic_algorithms_enabled(),
                     lib.is_deterministic_algorithms_warn_only_enabled()]
            lib.use_deterministic_algorithms(False)
            seen += [lib.are_deterministic_algorithms_enabled(),
                     _outcome(lambda lib=lib: lib.use_deterministic_algorithms(1))[1][0]]
            if lib is torch:
                expected = seen
        assert seen == expected
    finally:
        torch.use_deterministic_algorithms(False)


def test_set_num_threads_sets_the_blas():
    from threadpoolctl import threadpool_info, threadpool_limits

    saved = threadpool_limits(limits=None)  # records every library's count, changes none
    try:
        gradstep.set_num_threads(1)
        assert gradstep.get_num_threads() == 1
        blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"
                and "numpy" in lib["filepath"]]
        assert blas and all(lib["num_threads"] == 1 for lib in blas)
        gradstep.set_num_threads(2)
        assert gradstep.get_num_threads() == 2
    finally:
        saved.restore_original_limits()
    for bad in (0, -1, 1.5):
        assert _outcome(lambda b=bad: gradstep.set_num_threads(b))[1] == \
            _outcome(lambda b=bad: torch.set_num_threads(b))[1]
    assert _outcome(lambda: gradstep.set_num_interop_threads(0))[1] == \
        _outcome(lambda: torch.set_num_interop_threads(0))[1]
    assert gradstep.get_num_interop_threads() >= 1


# ---------------------------------------------------------------- data on a GPU: one error
GPU_USES = [
    lambda lib: lib.zeros(2).cuda(),
    lambda lib: lib.zeros(2).to("cuda"),
    lambda lib: lib.zeros(2).to(device="cuda"),
    lambda lib: lib.zeros(2).to(lib.device("cuda", 0)),
    lambda lib: lib.zeros(2, device="cuda"),
    lambda lib: lib.tensor([1.0], device="cuda:0"),
    lambda lib: lib.ones(2).new_zeros(3, device="cuda"),
    lambda lib: lib.nn.Linear(2, 2).cuda(),
    lambda lib: lib.nn.Linear(2, 2).to("cuda"),
    lambda lib: lib.zeros(2).xpu(),
    lambda lib: lib.nn.Linear(2, 2).xpu(),
    lambda lib: lib.Generator(device="cuda"),
    # layers built on the GPU: each layer family's constructor
    lambda lib: lib.nn.Linear(2, 2, device="cuda"),
    lambda lib: lib.nn.Conv2d(1, 2, 3, device="cuda"),
    lambda lib: lib.nn.BatchNorm2d(2, device="cuda"),
    lambda lib: lib.nn.LayerNorm(2, device="cuda"),
    lambda lib: lib.nn.GroupNorm(1, 2, device="cuda"),
    lambda lib: lib.nn.LSTM(2, 2, device="cuda"),
    lambda lib: lib.nn.GRUCell(2, 2, device="cuda"),
    lambda lib: lib.nn.Embedding(3, 2, device="cuda"),
    lambda lib: lib.nn.MultiheadAttention(4, 2, device="cuda"),
]


@pytest.mark.parametrize("use", range(len(GPU_USES)))
def test_data_on_a_gpu_raises_the_one_clear_error(use):
    theirs = _raised(lambda: GPU_USES[use](torch))
    ours = _raised(lambda: GPU_USES[use](gradstep))
    assert isinstance(theirs, (AssertionError, RuntimeError))  # torch refuses too
    assert isinstance(ours, gradstep.DeviceUnavailableError)
    assert isinstance(ours, AssertionError) and isinstance(ours, RuntimeError)
    assert "torch.cuda.is_available()" in str(ours)
    if isinstance(theirs, AssertionError):  # "Torch not compiled with CUDA enabled", then the hint
        assert str(ours).startswith(str(theirs))


def test_accelerator_index_and_other_devices():
    for fn in (lambda lib: lib.zeros(2).to(0), lambda lib: lib.zeros(2, device=0)):
        assert isinstance(_raised(fn, torch), RuntimeError)
        assert "Cannot access accelerator device" in str(_raised(fn, gradstep))
    # torch has meta tensors (shapes without data); gradstep refuses them rather than
    # allocating real memory behind a program's back
    with pytest.raises(gradstep.DeviceUnavailableError, match="meta"):
        gradstep.zeros(2, device="meta")
    with pytest.raises(RuntimeError, match="Expected one of cpu"):
        gradstep.zeros(2).to("foo")
    x = gradstep.zeros(2)
    assert x.to("cpu:1") is x and x.to(gradstep.device("cpu", 0)) is x


# ---------------------------------------------------------------- tensors are CPU tensors
def test_tensor_device_flags_match_torch():
    ours, theirs = gradstep.zeros(2), torch.zeros(2)
    for name in ("is_cpu", "is_cuda", "is_xpu", "is_mps", "is_sparse", "is_quantized", "is_meta",
                 "is_mkldnn", "is_nested"):
        assert getattr(ours, name) is getattr(theirs, name), name
    assert ours.get_device() == theirs.get_device() == -1
    assert ours.is_complex() is theirs.is_complex() is False
    assert gradstep.is_complex(ours) is torch.is_complex(theirs) is False
    assert _outcome(lambda: gradstep.is_complex(3))[1] == _outcome(lambda: torch.is_complex(3))[1]
    assert ours.is_pinned() is theirs.is_pinned() is False
    assert repr(ours.device) == repr(theirs.device)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_overloads_match_torch(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(dtype)
    ours, theirs = gradstep.tensor(a), torch.tensor(a)
    other = {"float32": "float64", "float64": "float32"}[dtype]
    calls = [
        lambda lib, t: t.to("cpu"),
        lambda lib, t: t.to("cpu", getattr(lib, other)),
        lambda lib, t: t.to("cpu", getattr(lib, other), non_blocking=True, copy=True,
                            memory_format=lib.preserve_format),
        lambda lib, t: t.to(getattr(lib, other), True, True),
        lambda lib, t: t.to(lib.zeros(1, dtype=getattr(lib, other)), non_blocking=True),
        lambda lib, t: t.to(device=lib.device("cpu"), dtype=getattr(lib, other)),
        lambda lib, t: t.to(memory_format=lib.contiguous_format),
        lambda lib, t: t.cpu(),
    ]
    for call in calls:
        o, t = call(gradstep, ours), call(torch, theirs)
        assert o.dtype.name == str(t.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(o.numpy(), t.numpy())  # a cast rounds once: exact
        assert (o is ours) == (t is theirs)
    assert ours.to("cpu", copy=True) is not ours


def test_module_to_overloads():
    m = nn.Linear(3, 2)
    assert m.to("cpu") is m and m.cpu() is m and m.to(memory_format=gradstep.channels_last) is m
    assert m.to(gradstep.device("cpu"), gradstep.float64, non_blocking=True) is m
    assert m.weight.dtype is gradstep.float64
    m.to(gradstep.zeros(1))
    assert m.weight.dtype is gradstep.float32


# ---------------------------------------------------------------- pin_memory and memory_format
FACTORIES = [
    ("zeros", (2, 3)), ("ones", (2, 3)), ("full", ((2, 3), 1.5)), ("arange", (5,)),
    ("eye", (3,)), ("linspace", (0, 1, 5)), ("randperm", (4,)), ("tensor", ([1.0, 2.0],)),
    ("rand", (2, 3)), ("randn", (2, 3)), ("randint", (0, 9, (3,))), ("empty", (2, 3)),
]


@pytest.mark.parametrize("name,args", FACTORIES)
def test_pin_memory_is_accepted(name, args):
    # torch's CPU-only build raises for pin_memory=True; gradstep accepts it (a program written
    # for GPUs runs) and gives the same values as without it
    gradstep.manual_seed(0)
    plain = getattr(gradstep, name)(*args)
    gradstep.manual_seed(0)
    pinned = getattr(gradstep, name)(*args, pin_memory=True)
    if name != "empty":  # uninitialised values
        np.testing.assert_array_equal(pinned.numpy(), plain.numpy())
    assert pinned.dtype is plain.dtype and pinned.pin_memory() is pinned and not pinned.is_pinned()


def test_memory_formats():
    fmts = ("preserve_format", "contiguous_format", "channels_last", "channels_last_3d")
    for f in fmts:
        assert repr(getattr(gradstep, f)) == f"gradstep.{f}" and \
            isinstance(getattr(gradstep, f), gradstep.memory_format)
        assert pickle.loads(pickle.dumps(getattr(gradstep, f))) is getattr(gradstep, f)
    shapes = [(2, 3), (2, 3, 4, 5), (2, 1, 4, 5), (2, 3, 1, 1), (2, 3, 4, 5, 6)]
    uses = [
        lambda lib, t, f: t.contiguous(memory_format=f),
        lambda lib, t, f: t.clone(memory_format=f),
        lambda lib, t, f: lib.empty_like(t, memory_format=f),
        lambda lib, t, f: lib.zeros_like(t, memory_format=f),
        lambda lib, t, f: t.to(memory_format=f),
        lambda lib, t, f: lib.empty(*t.shape, memory_format=f),
    ]
    rng = np.random.default_rng(1)
    for shape in shapes:
        a = rng.standard_normal(shape).astype("float32")
        ours, theirs = gradstep.tensor(a), torch.tensor(a)
        for f in fmts:
            gf, tf = getattr(gradstep, f), getattr(torch, f)
            assert ours.is_contiguous(memory_format=gf) == theirs.is_contiguous(memory_format=tf)
            for use in uses:
                o, oe = _outcome(use, gradstep, ours, gf)
                t, te = _outcome(use, torch, theirs, tf)
                assert (oe is None) == (te is None), (shape, f, oe, te)
                if oe is not None:
                    assert oe == te
                else:
                    assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_array_equal(ours.contiguous(memory_format=gradstep.contiguous_format)
                                      .numpy(), a)


def test_memory_format_conversion_copies_as_torch_does():
    """``contiguous``/``to`` with ``channels_last`` give a new tensor unless the input already
    has that layout (C == 1 or H == W == 1 here), so an in-place write to the result (timm's
    CutMix on a channels-last batch) leaves the original alone exactly when torch's does."""
    uses = [lambda t, f: t.contiguous(memory_format=f), lambda t, f: t.to(memory_format=f),
            lambda t, f: t.to(t.dtype, memory_format=f)]
    for shape in [(2, 3, 4, 5), (2, 1, 4, 5), (2, 3, 1, 1)]:
        a = np.arange(np.prod(shape), dtype="float32").reshape(shape)
        for use in uses:
            ours, theirs = gradstep.tensor(a), torch.tensor(a)
            o, t = use(ours, gradstep.channels_last), use(theirs, torch.channels_last)
            assert (o is ours) == (t is theirs), shape
            o.mul_(2)
            t.mul_(2)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    w = gradstep.ones(2, 3, 4, 5, requires_grad=True)
    assert w.contiguous(memory_format=gradstep.channels_last).grad_fn.name() == \
        torch.ones(2, 3, 4, 5, requires_grad=True).contiguous(
            memory_format=torch.channels_last).grad_fn.name()


# ---------------------------------------------------------------- compile, jit, onnx
def test_compile_returns_functions_as_they_are_and_wraps_modules_like_torch():
    m = nn.Linear(2, 2)
    for L, mod in ((torch, torch.nn.Linear(2, 2)), (gradstep, m)):
        c = L.compile(mod, mode="max-autotune", fullgraph=True, dynamic=False)
        assert type(c).__name__ == "OptimizedModule" and c._orig_mod is mod
        assert list(c.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]
        c.eval()
        assert not mod.training and not c.training
        c.note = 1  # attributes write through to the wrapped module, as in torch
        assert mod.note == 1 and c.in_features == 2
    np.testing.assert_array_equal(gradstep.compile(m)(gradstep.ones(1, 2)).detach().numpy(),
                                  m(gradstep.ones(1, 2)).detach().numpy())
    assert gradstep.compile(m, disable=True) is m

    @gradstep.compile
    def f(x):
        return x + 1

    @gradstep.compile(mode="reduce-overhead")
    def g(x):
        return x * 2

    assert f(1) == 2 and g(2) == 4 and f.__name__ == "f" and g.__name__ == "g"
    for kwargs in ({"mode": "foo"}, {"mode": "default", "options": {}}):
        assert _outcome(lambda kw=kwargs: gradstep.compile(m, **kw))[1] == \
            _outcome(lambda kw=kwargs: torch.compile(torch.nn.Linear(2, 2), **kw))[1]
    assert isinstance(_raised(lambda: gradstep.compile(3)), AssertionError)


def test_jit_decorators_and_onnx():
    class M(nn.Module):
        scale: gradstep.jit.Final[int] = 2

        @gradstep.jit.ignore
        def helper(self, x):
            return x

        @gradstep.jit.unused
        def unused(self, x):
            return x

        @gradstep.jit.export
        def exported(self, x):
            return x

        @gradstep.jit.ignore(drop=True)
        def dropped(self, x):
            return x

    m = M()
    assert gradstep.jit.script(m) is m and gradstep.jit.trace(m, gradstep.zeros(1)) is m
    assert m.helper(1) == m.unused(1) == m.exported(1) == m.dropped(1) == 1
    assert gradstep.jit.Final is torch.jit.Final
    with pytest.raises(NotImplementedError, match="ONNX"):
        gradstep.onnx.export(m, (gradstep.zeros(1),), "m.onnx")

"""The rest of ``torch.cuda``'s surface against torch 2.13's CPU-only build (the oracle here is
that build: what it returns is returned, what it refuses as "not compiled with CUDA" raises an
AssertionError too)."""

from __future__ import annotations

import pytest
import torch

import gradstep

SAME_VALUE = ["memory_cached()", "max_memory_cached()", "memory_stats_as_nested_dict()",
              "list_gpu_processes()", "has_half", "has_magma", "random.get_rng_state_all()",
              "random.manual_seed(0)", "set_stream(None)", "host_memory_stats()",
              "host_memory_stats_as_nested_dict()", "get_gencode_flags()", "cudaStatus.SUCCESS",
              "caching_allocator_enable(True)", "memory.memory_allocated()"]
NOT_COMPILED = ["set_sync_debug_mode(0)", "get_sync_debug_mode()", "FloatStorage(2)",
                "caching_allocator_alloc(10)", "profiler.start()", "cudart()",
                "can_device_access_peer(0, 1)", "current_blas_handle()",
                "get_per_process_memory_fraction()", "get_stream_from_external(0)"]
SAME_ERROR = ["nvtx.range_push('a')", "nvtx.range_pop()", "nvtx.mark('a')", "CUDAGraph()",
              "MemPool()", "graphs.is_current_stream_capturing()", "graph_pool_handle()",
              "utilization()", "temperature()", "power_draw()", "clock_rate()",
              "jiterator._create_jit_fn('template <typename T> T f(T x) { return x; }')"
              "(L.ones(2))", "make_graphed_callables(L.nn.Linear(2, 2), (L.ones(1, 2),))"]


def _eval(L, expr):
    return eval("L.cuda." + expr, {"L": L})


@pytest.mark.filterwarnings("ignore:`torch.cuda.m")  # the renamed *_cached: checked below
@pytest.mark.parametrize("expr", SAME_VALUE)
def test_same_value_as_torchs_cpu_build(expr):
    assert _eval(gradstep, expr) == _eval(torch, expr)


@pytest.mark.parametrize("expr", NOT_COMPILED)
def test_refused_as_not_compiled_with_cuda(expr):
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        _eval(torch, expr)
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        _eval(gradstep, expr)


@pytest.mark.parametrize("expr", SAME_ERROR)
def test_same_error_as_torch(expr):
    with pytest.raises(Exception) as theirs:
        _eval(torch, expr)
    with pytest.raises(type(theirs.value)) as ours:
        _eval(gradstep, expr)
    assert str(ours.value).split(".")[0] == str(theirs.value).split(".")[0]


def test_renamed_cached_names_warn_as_torch():
    for name in ("memory_cached", "max_memory_cached"):
        msgs = []
        for L in (torch, gradstep):
            with pytest.warns(FutureWarning) as rec:
                getattr(L.cuda, name)()
            msgs.append(str(rec[0].message))
        assert msgs[0] == msgs[1]


def test_contexts_and_classes_a_cpu_build_accepts():
    for L in (torch, gradstep):
        with L.cuda.device_of(L.ones(1)):
            pass
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            with L.cuda.use_mem_pool(None):
                pass
        with pytest.raises(RuntimeError, match="NVTX functions not installed"):
            with L.cuda.nvtx.range("step"):
                pass
        assert not isinstance(L.ones(1), L.cuda.FloatStorage)
        assert L.cuda.DeferredCudaCallError("x").args == ("x",)
        assert L.cuda.tunable is not None and L.cuda.sparse is not None
        assert L.cuda.streams.Stream is L.cuda.Stream or L is torch

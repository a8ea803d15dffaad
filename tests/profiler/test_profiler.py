"""torch.profiler / torch.autograd.profiler on gradstep: what is recorded, with torch as oracle.

The same small program runs under torch's profiler and under gradstep's; the tests compare what
both can be asked the same way (which backward nodes ran, how often each op ran, the
record_function ranges, the table's columns) and check the arithmetic of the recorded times
(self <= total, children inside parents, averages = totals / counts). No test asserts how long
anything took beyond >= 0 and the order of nested ranges.
"""

from __future__ import annotations

import threading
import warnings

import pytest
import torch

import gradstep as gs
from gradstep.autograd import engine
from gradstep.autograd.function import Function, Node
from gradstep.profiler import _recorder

EVAL = "autograd::engine::evaluate_function: "


def _program(lib, n_matmuls=3):
    """A few matmuls and a relu inside a record_function, then a backward."""
    x = lib.ones(4, 3, requires_grad=True)
    w = lib.full((3, 3), 0.5, requires_grad=True)
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                              record_shapes=True) as prof:
        with lib.profiler.record_function("model_forward"):
            y = x
            for _ in range(n_matmuls):
                y = y @ w
            loss = (y.relu() * 2).sum()
        loss.backward()
    return prof


def _counts(prof, pred):
    return {e.key: e.count for e in prof.key_averages() if pred(e.key)}


def _in_backward(e):
    """Whether event ``e`` ran inside a backward node (torch's scope 1)."""
    while e is not None:
        if e.scope == _recorder.BACKWARD_FUNCTION:
            return True
        e = e.cpu_parent
    return False


def _forward_counts(prof, names):
    """How often each op in ``names`` ran outside backward: a node's own ops differ (torch's
    MmBackward0 calls aten::mm, gradstep's the matmul op)."""
    out = dict.fromkeys(names, 0)
    for e in prof.events():
        if e.name in out and not _in_backward(e):
            out[e.name] += 1
    return out


@pytest.fixture(scope="module")
def both():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _program(gs), _program(torch)


# ---------------------------------------------------------------- what is recorded
def test_backward_nodes_run_are_torchs(both):
    ours, theirs = both
    is_eval = lambda k: k.startswith(EVAL)  # noqa: E731
    assert _counts(ours, is_eval) == _counts(theirs, is_eval)
    assert _counts(ours, is_eval)[EVAL + "MmBackward0"] == 3


def test_each_backward_node_is_an_evaluate_range_around_the_node(both):
    ours, _ = both
    nodes = [e for e in ours.events() if e.name.startswith(EVAL)]
    assert nodes
    for outer in nodes:
        (inner,) = outer.cpu_children
        assert inner.name == outer.name[len(EVAL):]
        assert inner.scope == _recorder.BACKWARD_FUNCTION


def test_forward_ops_and_record_function_counts_match_torch(both):
    ours, theirs = both
    names = ("model_forward", "aten::matmul", "aten::relu", "aten::mul", "aten::sum")
    assert _forward_counts(ours, names) == _forward_counts(theirs, names)
    assert _forward_counts(ours, names)["aten::matmul"] == 3


@pytest.mark.parametrize("n", [1, 5])
def test_n_matmuls_count_n(n):
    prof = _program(gs, n)
    assert _forward_counts(prof, ["aten::matmul"]) == {"aten::matmul": n}
    assert _counts(prof, lambda k: k == EVAL + "MmBackward0") == {EVAL + "MmBackward0": n}


def test_ops_inside_record_function_are_its_children(both):
    ours, _ = both
    (fwd,) = [e for e in ours.events() if e.name == "model_forward"]
    assert fwd.is_user_annotation and fwd.cpu_parent is None
    assert [c.name for c in fwd.cpu_children] == (["aten::matmul"] * 3
                                                  + ["aten::relu", "aten::mul", "aten::sum"])
    mm_backward = [e for e in ours.events() if e.name == "MmBackward0"]
    # the node's backward runs ops of its own (the transposed products), nested under it
    assert all(any(c.name.startswith("aten::") for c in e.cpu_children) for e in mm_backward)


def test_input_shapes_match_torch(both):
    ours, theirs = both

    def shapes(prof, name):
        return sorted(str(e.input_shapes) for e in prof.events()
                      if e.name == name and not _in_backward(e))

    assert shapes(ours, "aten::matmul") == shapes(theirs, "aten::matmul")
    assert shapes(ours, "aten::matmul") == ["[[4, 3], [3, 3]]"] * 3


def test_custom_function_forward_and_backward_are_named_as_torch():
    def run(lib):
        class MyFn(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = lib.ones(3, requires_grad=True)
        with lib.profiler.profile() as prof:
            MyFn.apply(x).sum().backward()
        return {e.name for e in prof.events()} & {"MyFn", "MyFnBackward", EVAL + "MyFnBackward"}

    assert run(gs) == run(torch) == {"MyFn", "MyFnBackward", EVAL + "MyFnBackward"}


def test_accumulate_grad_runs_once_per_leaf():
    a = gs.ones(2, requires_grad=True)
    b = gs.ones(2, requires_grad=True)
    with gs.profiler.profile() as prof:
        (a * b).sum().backward()
        gs.autograd.grad((a * b).sum(), [a])  # capture mode: no AccumulateGrad (as torch)
    acc = _counts(prof, lambda k: k.endswith("torch::autograd::AccumulateGrad"))
    assert acc == {"torch::autograd::AccumulateGrad": 2,
                   EVAL + "torch::autograd::AccumulateGrad": 2}


def test_a_node_run_through_super_is_timed_once():
    """The fused LSTM node overrides _run_backward and calls super()'s: one range, not two."""
    lstm = gs.nn.LSTM(3, 4)
    x = gs.ones(2, 1, 3)
    with gs.profiler.profile() as prof:
        lstm(x)[0].sum().backward()
    inner = [e for e in prof.events() if e.name.startswith("LSTMLayer")]
    outer = [e for e in prof.events() if e.name.startswith(EVAL + "LSTMLayer")]
    assert len(inner) == len(outer) == 1
    assert inner[0].cpu_parent is outer[0] and inner[0].cpu_children == []  # no nested twin


def test_profile_memory_counts_result_bytes():
    x = gs.ones(10, 10)
    with gs.profiler.profile(profile_memory=True) as prof:
        x * 2  # a new 10x10 float32 result
        x.view(100)  # a view allocates nothing
    mem = {e.key: e.cpu_memory_usage for e in prof.key_averages()}
    assert mem["aten::mul"] == 400 and mem["aten::view"] == 0
    assert "CPU Mem" in prof.key_averages().table()


def test_ops_in_other_threads_are_recorded_on_their_thread():
    def work():
        gs.ones(3) * 2

    with gs.profiler.profile() as prof:
        t = threading.Thread(target=work)
        t.start()
        t.join()
        gs.ones(3) + 1
    threads = {e.name: e.thread for e in prof.events()}
    assert threads["aten::mul"] != threads["aten::add"]
    assert threads["aten::add"] == threading.get_native_id()


def test_nested_profilers_both_record():
    with gs.profiler.profile() as outer:
        gs.ones(2) * 2
        with gs.autograd.profiler.profile() as inner:
            gs.ones(2) + 1
    assert {e.name for e in inner.function_events} == {"aten::add"}
    assert {"aten::add", "aten::mul"} <= {e.name for e in outer.events()}


def test_op_names():
    from gradstep.nn._functional.pooling import MaxPoolGather
    from gradstep.ops.arithmetic import AddScalar, Cast, Mul
    from gradstep.ops.unary import Log1p

    assert _recorder.op_name(Mul) == "aten::mul"
    assert _recorder.op_name(AddScalar) == "aten::add"  # from its grad_fn name AddBackward0
    assert _recorder.op_name(Cast) == "aten::_to_copy"
    assert _recorder.op_name(Log1p) == "aten::log1p"
    assert _recorder.op_name(MaxPoolGather) == "aten::max_pool2d_with_indices"
    assert _recorder.op_name(Mul, "SortBackward0") == "aten::sort"  # a per-call grad_fn name


# ---------------------------------------------------------------- time arithmetic
def test_self_time_is_total_less_children(both):
    ours, _ = both
    for e in ours.events():
        assert e.cpu_time_total >= 0
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total
        kids = sum(c.cpu_time_total for c in e.cpu_children)
        assert e.self_cpu_time_total == pytest.approx(e.cpu_time_total - kids, abs=1e-6)


def test_children_lie_inside_their_parent_in_order(both):
    ours, _ = both
    for e in ours.events():
        prev_end = e.time_range.start
        for c in e.cpu_children:
            assert e.time_range.start <= c.time_range.start <= c.time_range.end
            assert c.time_range.end <= e.time_range.end
            assert c.time_range.start >= prev_end  # siblings one after the other
            prev_end = c.time_range.end


def test_averages_add_up(both):
    ours, _ = both
    events = ours.events()
    for avg in ours.key_averages():
        same = [e for e in events if e.key == avg.key]
        assert avg.count == len(same)
        assert avg.cpu_time_total == pytest.approx(sum(e.cpu_time_total for e in same))
        assert avg.self_cpu_time_total == pytest.approx(sum(e.self_cpu_time_total for e in same))
        assert avg.cpu_time == pytest.approx(avg.cpu_time_total / avg.count)
    top = sum(e.cpu_time_total for e in events if e.cpu_parent is None)
    assert events.self_cpu_time_total == pytest.approx(top)
    total = ours.key_averages().total_average()
    assert total.key == "Total" and total.count == len(events)
    assert total.self_cpu_time_total == pytest.approx(top)


# ---------------------------------------------------------------- zero cost when idle
def _hooks():
    from gradstep.autograd.function import BackwardCFunction

    return (Node.__dict__["apply"], Function.__dict__["apply"], engine._accumulate,
            Node.__dict__["_run_backward"], BackwardCFunction.__dict__["_run_backward"])


def test_idle_dispatch_is_the_original_functions():
    before = _hooks()
    assert not _recorder.is_recording()
    with gs.profiler.profile():
        during = _hooks()
        assert all(d is not b for d, b in zip(during, before))
        assert Node.__dict__["apply"].__func__.__wrapped__ is before[0].__func__
    assert all(a is b for a, b in zip(_hooks(), before))
    assert gs.ops.arithmetic.Mul.apply.__func__ is before[0].__func__


def test_originals_are_restored_after_an_error():
    before = _hooks()
    with pytest.raises(ValueError, match="boom"), gs.profiler.profile():
        gs.ones(2) * 2
        raise ValueError("boom")
    assert all(a is b for a, b in zip(_hooks(), before))


def test_an_op_that_raises_closes_its_range():
    class Boom(Node):
        def forward(self, a):
            raise ValueError("boom")

    with gs.profiler.profile() as prof, pytest.raises(ValueError, match="boom"):
        Boom.apply(gs.ones(2))
    (boom,) = [e for e in prof.events() if e.name == "aten::boom"]
    assert boom.time_range.end >= boom.time_range.start
    assert not _recorder._open.get(threading.get_native_id())


# ---------------------------------------------------------------- record_function
def test_record_function_outside_a_profiler_does_nothing():
    with gs.profiler.record_function("idle") as rf:
        y = gs.ones(2) * 3
    assert rf._range is None and y.tolist() == [3.0, 3.0]


def test_record_function_as_a_decorator():
    @gs.profiler.record_function("helper")
    def helper(a):
        return a * 2

    assert helper(gs.ones(1)).item() == 2.0  # idle: a plain call
    with gs.profiler.profile() as prof:
        helper(gs.ones(1))
        helper(gs.ones(1))
    (h,) = [e for e in prof.key_averages() if e.key == "helper"]
    assert h.count == 2
    assert all(c.name == "aten::mul" for e in prof.events() if e.name == "helper"
               for c in e.cpu_children)


def test_record_function_name_must_be_a_string_as_in_torch():
    for lib in (torch, gs):
        with pytest.raises(RuntimeError, match="str"):
            lib.profiler.record_function(123).__enter__()


def test_legacy_api_and_emit_nvtx():
    x = gs.ones(4, 3)
    w = gs.ones(3, 5)
    with gs.autograd.profiler.emit_nvtx(), gs.autograd.profiler.profile(
            record_shapes=True) as prof:
        with gs.autograd.profiler.record_function("label-z"):
            x @ w
    avgs = prof.key_averages(group_by_input_shape=True)
    assert {(a.key, str(a.input_shapes)) for a in avgs} == {
        ("label-z", "[]"), ("aten::matmul", "[[4, 3], [3, 5]]")}
    assert prof.self_cpu_time_total == pytest.approx(prof.total_average().self_cpu_time_total)
    with pytest.raises(RuntimeError, match="not reentrant"):
        prof.__enter__()
    assert gs.autograd.profiler.profile(enabled=False).__enter__() is None

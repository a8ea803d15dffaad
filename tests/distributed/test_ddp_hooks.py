"""DDP communication hooks, gradient_as_bucket_view, static_graph, and gradstep.futures:
on 2 MPI ranks, and in one process (test_torch_parity.py compares the hooks with torch's)."""

import threading

import numpy as np
import pytest

import gradstep
import gradstep.distributed as dist
from gradstep import nn
from gradstep.distributed.algorithms.ddp_comm_hooks import DDPCommHookType, default_hooks
from gradstep.distributed.algorithms.join import Join, Joinable
from gradstep.futures import Future, collect_all
from gradstep.nn.parallel import DistributedDataParallel as DDP
from tests.distributed.mpi import run_scenario, world  # noqa: F401


def test_two_ranks_hooks_bucket_views_custom_hook_subgroup_static_graph_and_join():
    """allreduce_hook and bucket views give DDP's gradients bit for bit; fp16/bf16 hooks the
    compressed average of both ranks' local gradients bit for bit; a stateful hook sees the
    buckets in order; DDP over a reordered group; static_graph with an unused layer; join()
    with uneven inputs (both divisors, BatchNorm buffers, throw_on_early_termination)."""
    rc, out, err = run_scenario("ddp_hooks")
    assert rc == 0 and "PASS ddp_hooks" in out, out + err


def _mlp(seed=0):
    gradstep.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))


def _grads(model, x):
    model(x).square().sum().backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.usefixtures("world")
def test_gradient_as_bucket_view_grads_live_in_the_buckets():
    x = gradstep.randn(4, 5)
    plain = DDP(_mlp(), bucket_cap_mb=1e-4)
    viewed = DDP(_mlp(), bucket_cap_mb=1e-4, gradient_as_bucket_view=True)
    for set_to_none in (False, True, False):
        plain.zero_grad(set_to_none=set_to_none)
        viewed.zero_grad(set_to_none=set_to_none)
        for a, b in zip(_grads(plain, x), _grads(viewed, x)):
            np.testing.assert_array_equal(a, b)
        for p, view in zip(viewed._params, viewed._views):
            assert p.grad._data is view  # the bucket's memory, not a copy
    buffers = {id(b.buffer) for b in viewed._buckets}
    assert len(buffers) == len(viewed._buckets) >= 3


@pytest.mark.usefixtures("world")
def test_gradient_as_bucket_view_takes_in_existing_grads():
    model = _mlp()
    x = gradstep.randn(2, 5)
    before = _grads(model, x)
    ddp = DDP(model, gradient_as_bucket_view=True)
    for p, view, g in zip(ddp._params, ddp._views, before):
        assert p.grad._data is view
        np.testing.assert_array_equal(p.grad.numpy(), g)
    after = _grads(ddp, x)  # accumulates onto them, in the bucket
    for a, g in zip(after, before):
        np.testing.assert_array_equal(a, g + g)


@pytest.mark.usefixtures("world")
def test_hook_result_must_be_the_buckets_size_and_hooks_by_type():
    def halves(state, bucket):
        fut = Future()
        fut.set_result(bucket.buffer()[: bucket.buffer().numel() // 2])
        return fut

    ddp = DDP(_mlp())
    ddp.register_comm_hook(None, halves)
    with pytest.raises(RuntimeError, match="future holds a tensor of 33 elements, but the bucket has 66"):
        ddp(gradstep.randn(2, 5)).sum().backward()
    by_type = DDP(_mlp())
    DDPCommHookType.FP16_COMPRESS.value(model=by_type, state=None)
    assert by_type._get_ddp_logging_data()["comm_hook"] == "fp16_compress_hook"
    x = gradstep.randn(3, 5)
    plain = _grads(DDP(_mlp()), x)
    for a, b in zip(_grads(by_type, x), plain):
        np.testing.assert_array_equal(a, b.astype(np.float16).astype(np.float32))


@pytest.mark.usefixtures("world")
def test_wrappers_cast_around_another_hook():
    seen = []

    def record(state, bucket):
        seen.append(bucket.buffer().dtype)
        return default_hooks.allreduce_hook(state, bucket)

    x = gradstep.randn(3, 5)
    plain = _grads(DDP(_mlp()), x)
    for wrap, np_dtype in ((default_hooks.fp16_compress_wrapper, np.float16),
                           (default_hooks.bf16_compress_wrapper, gradstep.bfloat16.np)):
        ddp = DDP(_mlp())
        ddp.register_comm_hook(None, wrap(record))
        for a, b in zip(_grads(ddp, x), plain):
            np.testing.assert_array_equal(a, b.astype(np_dtype).astype(np.float32))
    assert seen == [gradstep.float16, gradstep.bfloat16]


@pytest.mark.usefixtures("world")
def test_static_graph_tolerates_a_layer_never_used():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 2)
            self.b = nn.Linear(3, 2)

        def forward(self, x):
            return self.a(x)

    ddp = DDP(Unused(), static_graph=True)
    x = gradstep.randn(2, 3)
    for _ in range(3):  # without static_graph the second forward raises (see test_ddp.py)
        ddp(x).sum().backward()
    assert ddp.module.b.weight.grad is None
    np.testing.assert_allclose(ddp.module.a.bias.grad.numpy(), [6.0, 6.0])
    assert ddp._static_unused == [2, 3]
    with pytest.warns(UserWarning, match="find_unused_parameters=true"):
        DDP(Unused(), find_unused_parameters=True, static_graph=True)


@pytest.mark.usefixtures("world")
def test_join_in_a_world_of_one_trains_as_without_it():
    x = gradstep.randn(4, 5)
    plain, joined = DDP(_mlp()), DDP(_mlp())
    assert isinstance(joined, Joinable) and joined.join_process_group is dist.group.WORLD
    want = _grads(plain, x)
    with joined.join(divide_by_initial_world_size=False, throw_on_early_termination=True):
        assert joined._join_config.enable
        got = _grads(joined, x)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert not joined._join_config.enable  # join mode ends with the block
    with pytest.raises(ValueError, match="requires at least one joinable"):
        Join([])
    with pytest.raises(KeyError, match="inside"):  # an exception in the block propagates as is
        with joined.join():
            raise KeyError("inside")


# ---------------------------------------------------------------- gradstep.futures


@pytest.mark.usefixtures("world")
def test_work_future_chains_wait_the_collective():
    class Slow:  # a request that completes on the third test
        def __init__(self):
            self.tests = 0

        def Test(self):  # noqa: N802
            self.tests += 1
            return self.tests >= 3

        def Wait(self):  # noqa: N802
            self.tests = 3

    t = gradstep.ones(2)
    work = dist.Work(Slow(), outputs=[t])
    fut = work.get_future().then(lambda f: f.value()[0] * 3)
    assert not fut.done() and not fut.done()
    assert fut.done() and fut.value().tolist() == [3.0, 3.0]
    assert work.get_future().wait() == [t]


def test_future_completed_from_another_thread():
    fut = Future()
    timer = threading.Timer(0.05, fut.set_result, args=(7,))
    timer.start()
    assert fut.then(lambda f: f.value() + 1).wait() == 8
    timer.join()


def test_collect_all_holds_failed_futures_too():
    a, b = Future(), Future()
    both = collect_all([a, b])
    a.set_exception(ValueError("no"))
    b.set_result(2)
    got = both.wait()
    assert got == [a, b]
    with pytest.raises(ValueError, match="no"):
        got[0].value()
    assert collect_all([]).wait() == []


def test_done_callback_errors_are_logged_not_raised(caplog):
    fut = Future()
    fut.add_done_callback(lambda f: 1 / 0)
    fut.set_result(None)
    assert "Got the following error when running the callback" in caplog.text
    with pytest.raises(RuntimeError, match="not completed yet"):
        Future().value()

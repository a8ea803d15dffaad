"""gradstep.distributed: the process group and collectives, in one process and on 2 MPI ranks."""

import numpy as np
import pytest

import gradstep
import gradstep.distributed as dist
from gradstep.distributed import _comm
from tests.distributed.mpi import run_scenario, world  # noqa: F401

from .mpi_worker import DTYPES, expected, ops_for, rank_values


def test_two_ranks_every_op_dtype_collective_and_sampler():
    """all_reduce (each op, dtype, sync and async), broadcast, all_gather, reduce_scatter, barrier,
    DistributedSampler coverage: checked on each of 2 ranks against NumPy."""
    rc, out, err = run_scenario("collectives")
    assert rc == 0 and "PASS collectives" in out, out + err


def test_not_initialized_and_twice():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(gradstep.ones(2))
    dist.init_process_group()
    try:
        with pytest.raises(ValueError, match="twice"):
            dist.init_process_group("mpi")
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_bad_init_arguments():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(ValueError, match="runs over MPI"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="world_size=4 does not match"):
        dist.init_process_group("mpi", world_size=4)
    with pytest.raises(ValueError, match="rank=1 does not match"):
        dist.init_process_group("mpi", rank=1)
    assert not dist.is_initialized()


def test_object_collectives_in_a_world_of_one_like_torch():
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group("gloo", world_size=1, rank=0)
    try:
        out = [None]
        dist.all_gather_object(out, {"acc": 0.5})
        assert out == [{"acc": 0.5}]
        lst = ["cfg", 3]
        dist.broadcast_object_list(lst, src=0)
        assert lst == ["cfg", 3]
        with pytest.raises(ValueError, match="one entry per rank"):
            dist.all_gather_object([], 1)
    finally:
        dist.destroy_process_group()


def test_single_process_gloo_setup_like_torch():
    """The single-process setup tests and examples use: gloo, a tcp init_method, world 1."""
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29541", world_size=1, rank=0)
    try:
        assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
        t = gradstep.ones(2)
        dist.all_reduce(t)
        assert t.tolist() == [1.0, 1.0]
    finally:
        dist.destroy_process_group()


@pytest.mark.usefixtures("world")
def test_world_of_one():
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
    assert dist.is_available() and dist.is_initialized()


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("dtype", DTYPES)
def test_single_process_reductions_are_identity(dtype):
    """On one rank every reduction returns the input itself (torch's semantics with world size 1)."""
    x = rank_values(dtype, 0)
    for op in ops_for(dtype):
        t = gradstep.from_numpy(x.copy())
        work = dist.all_reduce(t, op=op, async_op=True)
        assert work.is_completed() and work.wait()
        np.testing.assert_array_equal(t.numpy(), expected(op, [x], dtype))
        np.testing.assert_array_equal(t.numpy(), x)


@pytest.mark.usefixtures("world")
def test_single_process_gather_scatter_broadcast():
    x = gradstep.arange(6.0).reshape(2, 3)
    out = [gradstep.zeros(2, 3)]
    dist.all_gather(out, x)
    assert out[0].tolist() == x.tolist()
    whole = gradstep.zeros(1, 2, 3)
    dist.all_gather_into_tensor(whole, x)
    assert whole[0].tolist() == x.tolist()
    r = gradstep.zeros(2, 3)
    dist.reduce_scatter(r, [x * 2], op=dist.ReduceOp.AVG)
    assert r.tolist() == (x * 2).tolist()
    r2 = gradstep.zeros(3)
    dist.reduce_scatter_tensor(r2, x[0].clone())
    assert r2.tolist() == [0.0, 1.0, 2.0]
    y = x.clone()
    assert dist.broadcast(y, src=0) is None and y.tolist() == x.tolist()
    dist.barrier()
    assert dist.barrier(async_op=True).wait()


@pytest.mark.usefixtures("world")
def test_invalid_arguments():
    with pytest.raises(RuntimeError, match="non-integral"):
        dist.all_reduce(gradstep.ones(2), op=dist.ReduceOp.BAND)
    with pytest.raises(RuntimeError, match="AVG with boolean"):
        dist.all_reduce(gradstep.ones(2, dtype=gradstep.bool), op=dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="unsupported reduce op"):
        dist.all_reduce(gradstep.ones(2), op="sum")
    with pytest.raises(RuntimeError, match="invalid root rank: 1"):
        dist.broadcast(gradstep.ones(2), src=1)
    with pytest.raises(RuntimeError, match="expected length 1, got 2"):
        dist.all_gather([gradstep.ones(2), gradstep.ones(2)], gradstep.ones(2))
    with pytest.raises(RuntimeError, match=r"expected \(2,\) float32, got \(3,\)"):
        dist.all_gather([gradstep.ones(3)], gradstep.ones(2))
    with pytest.raises(TypeError, match="Expected parameter `tensor`"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="default process group"):
        dist.all_reduce(gradstep.ones(2), group="other")


def test_backend_choice(monkeypatch):
    for name in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(__import__("sys").modules, "mpi4py.MPI", raising=False)
    assert not _comm.under_mpi() and isinstance(_comm.make_backend(), _comm.SingleProcess)
    monkeypatch.setenv("PMI_SIZE", "2")
    assert _comm.under_mpi() and _comm.launched_size() == 2
    monkeypatch.setitem(__import__("sys").modules, "mpi4py", None)  # as if not installed
    with pytest.raises(RuntimeError, match="MPI launcher .2 ranks., but mpi4py is not installed"):
        _comm.make_backend()
    monkeypatch.setenv("PMI_SIZE", "1")
    assert isinstance(_comm.make_backend(), _comm.SingleProcess)

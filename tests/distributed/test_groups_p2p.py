"""Process groups, rooted and all-to-all collectives, point-to-point, object collectives and
monitored_barrier: on 2 MPI ranks, and the single-process details torch cannot run here
(see test_torch_parity.py for what is compared with torch)."""

import os
import subprocess
import sys
import warnings
from datetime import timedelta

import numpy as np
import pytest

import gradstep
import gradstep.distributed as dist
from gradstep.distributed import _comm
from tests.distributed.mpi import run_scenario, world  # noqa: F401


def test_two_ranks_groups_rooted_all_to_all_p2p_objects_and_monitored_barrier():
    """new_group (member, non-member, unsorted, local synchronization, destroy), reduce/gather/
    scatter on both roots, all_to_all(_single) with uneven splits, send/recv/isend/irecv/batch,
    object collectives, bfloat16, monitored_barrier passing and timing out: checked on each rank."""
    rc, out, err = run_scenario("groups_p2p")
    assert rc == 0 and "PASS groups_p2p" in out, out + err


@pytest.mark.usefixtures("world")
def test_messages_to_self_in_a_world_of_one():
    """isend/irecv may name this rank (as in torch); in one process they match by tag, in order,
    whichever is posted first; a receive nothing will match raises instead of hanging."""
    a, b = gradstep.zeros(3), gradstep.zeros(3)
    early = dist.irecv(b, src=0, tag=2)
    assert not early.is_completed()
    dist.isend(gradstep.tensor([1.0, 2.0, 3.0]), dst=0, tag=1).wait()
    dist.isend(gradstep.tensor([4.0, 5.0, 6.0]), dst=0, tag=2).wait()
    assert early.is_completed() and b.tolist() == [4.0, 5.0, 6.0]
    assert dist.recv(a, src=0, tag=1) == 0 and a.tolist() == [1.0, 2.0, 3.0]
    ops = [dist.P2POp(dist.isend, gradstep.tensor([7.0]), 0, tag=9),
           dist.P2POp(dist.irecv, c := gradstep.zeros(1), 0, tag=9)]
    works = dist.batch_isend_irecv(ops)
    assert len(works) == 2 and all(w.wait() for w in works) and c.tolist() == [7.0]
    assert works[1]._source_rank() == 0
    with pytest.raises(RuntimeError, match="never sent one"):
        dist.irecv(gradstep.zeros(1), src=0, tag=42).wait()
    dist.isend(gradstep.ones(1), 0, tag=9)
    with pytest.raises(ValueError, match="should not be the same as the rank"):
        dist.recv(gradstep.zeros(1), tag=9)  # from any rank: it came from this one (torch's rule)
    with pytest.raises(RuntimeError, match="Invalid destination rank 1"):
        dist.isend(gradstep.ones(1), dst=1)


@pytest.mark.usefixtures("world")
def test_non_member_group_warns_and_does_nothing():
    nm = dist.GroupMember.NON_GROUP_MEMBER
    t = gradstep.ones(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in (lambda: dist.all_reduce(t, group=nm), lambda: dist.reduce(t, 0, group=nm),
                     lambda: dist.gather(t, group=nm), lambda: dist.all_to_all([t], [t], group=nm),
                     lambda: dist.isend(t, 0, group=nm), lambda: dist.monitored_barrier(nm)):
            assert call() is None
        assert dist.recv(t, 0, group=nm) == -1
    assert len(caught) == 7
    assert all("which does not belong to the given group" in str(w.message) for w in caught)
    assert "Running all_reduce on global rank 0" in str(caught[0].message)
    assert caught[0].filename == __file__  # the warning points at the caller
    with pytest.raises(ValueError, match="Invalid process group specified"):
        dist.get_backend(nm)
    with pytest.raises(ValueError, match="not a member"):
        dist.get_process_group_ranks(nm)


@pytest.mark.usefixtures("world")
def test_group_timeout_is_monitored_barriers_default_and_backend_names():
    g = dist.new_group([0], timeout=timedelta(seconds=7), backend="mpi")
    assert g._timeout == timedelta(seconds=7) and dist.get_backend(g) == "mpi"
    assert dist.group.WORLD._timeout == timedelta(minutes=30)  # torch's default
    assert dist.monitored_barrier(g) is None
    with pytest.raises(ValueError, match="runs over MPI"):
        dist.new_group([0], backend="nccl")
    assert dist.new_group([0], use_local_synchronization=True).size() == 1


def test_init_timeout_must_be_a_timedelta():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(TypeError, match="datetime.timedelta, got 30"):
        dist.init_process_group("gloo", timeout=30)
    assert not dist.is_initialized()
    dist.init_process_group("gloo", timeout=timedelta(seconds=3))
    try:
        assert dist.group.WORLD._timeout == timedelta(seconds=3)
    finally:
        dist.destroy_process_group()
    assert dist.group.WORLD is None and dist.GroupMember.WORLD is None


@pytest.mark.usefixtures("world")
def test_bfloat16_and_non_contiguous_tensors_in_one_process():
    t = gradstep.tensor([1.5, 2.5], dtype=gradstep.bfloat16)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.dtype == gradstep.bfloat16 and t.tolist() == [1.5, 2.5]
    out = gradstep.zeros(4, 3).t()  # non-contiguous
    dist.all_to_all_single(out, gradstep.arange(12.0).reshape(3, 4))
    assert out.tolist() == np.arange(12.0).reshape(3, 4).tolist()
    dest = gradstep.zeros(3, 2).t()
    dist.scatter(dest, [gradstep.ones(2, 3)], src=0)
    assert dest.tolist() == [[1.0] * 3] * 2


def test_monitored_barrier_reports_late_ranks_like_gloo():
    assert str(_comm.monitor_failure([1], 0.3)) == \
        "[Rank 0]: Rank 1 failed to pass monitoredBarrier in 300 ms"
    assert str(_comm.monitor_failure([1, 3], 2)) == \
        "[Rank 0]: Ranks 1, 3 failed to pass monitoredBarrier in 2000 ms"


@pytest.mark.usefixtures("world")
def test_object_collectives_on_a_group():
    g = dist.new_group([0])
    got = [None, None]
    dist.gather_object(("x", 1), got, group=g, group_dst=0)
    assert got == [("x", 1), None]
    mine = [None]
    dist.scatter_object_list(mine, [{"k": 2}], group=g, group_src=0)
    assert mine == [{"k": 2}]
    with pytest.raises(ValueError, match="Global rank 1 is not part of group"):
        dist.gather_object(1, [None], dst=1, group=g)


NO_MPI4PY = """
import sys
sys.modules["mpi4py"] = None  # as if not installed
import gradstep, gradstep.distributed as dist
from gradstep.nn.parallel import DistributedDataParallel as DDP
from gradstep.distributed.algorithms.ddp_comm_hooks import default_hooks
dist.init_process_group("gloo")
g = dist.new_group([0])
t = gradstep.arange(4.0)
dist.reduce(t, dst=0, group=g)
out = [gradstep.zeros(4)]
dist.gather(t, out)
dist.all_to_all_single(t, out[0].clone())
w = dist.isend(t, 0)
dist.recv(t, 0)
dist.monitored_barrier()
objs = [None]
dist.gather_object("x", objs)
ddp = DDP(gradstep.nn.Linear(4, 2), gradient_as_bucket_view=True)
ddp.register_comm_hook(None, default_hooks.fp16_compress_hook)
with ddp.join():
    ddp(t.reshape(1, 4)).sum().backward()
assert objs == ["x"] and ddp.module.bias.grad.tolist() == [1.0, 1.0]
print("OK", not dist.is_mpi_available())
"""


def test_a_world_of_one_needs_no_mpi4py():
    """Groups, rooted collectives, messages to self, objects, DDP with a hook, bucket views and
    join, all in a process where mpi4py cannot be imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    proc = subprocess.run([sys.executable, "-c", NO_MPI4PY], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0 and "OK True" in proc.stdout, proc.stdout + proc.stderr

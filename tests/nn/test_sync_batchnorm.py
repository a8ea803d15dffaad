"""SyncBatchNorm: as BatchNorm in one process (against torch's, which does the same
without a process group), convert_sync_batchnorm, and on 2 MPI ranks against one
process running BatchNorm on the whole batch (tests/distributed/mpi_worker.py)."""

from __future__ import annotations

import pytest
import torch

import gradstep
from tests.distributed.mpi import run_scenario, world  # noqa: F401
from tests.helpers import assert_close, check


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 2), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(affine=False),
                                dict(track_running_stats=False)])
def test_single_process_matches_torch(shape, kw):
    ours, theirs = gradstep.nn.SyncBatchNorm(3, **kw), torch.nn.SyncBatchNorm(3, **kw)
    assert repr(ours) == repr(theirs)
    for _ in range(2):
        check(lambda L, x: (ours if L is gradstep else theirs)(x), [shape],
              dtypes=("float32",), scale=10)
    for b, tb in zip(ours.buffers(), theirs.buffers()):
        assert_close(b, tb, "float32", scale=10, what="buffer")
    ours.eval()
    theirs.eval()
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [shape], dtypes=("float32",))


def test_world_of_one_is_batchnorm(world):  # noqa: F811
    ours, theirs = gradstep.nn.SyncBatchNorm(3), torch.nn.SyncBatchNorm(3)
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [(4, 3, 2)], dtypes=("float32",),
          scale=10)


def test_errors():
    for call in (lambda L: L.nn.SyncBatchNorm(3)(L.zeros(3)),
                 lambda L: L.nn.SyncBatchNorm(0)(L.zeros(2, 0))):
        with pytest.raises(ValueError) as theirs:
            call(torch)
        with pytest.raises(ValueError, match=str(theirs.value)[:20]):
            call(gradstep)


def test_convert_sync_batchnorm_shares_parameters():
    def build(L):
        m = L.nn.Sequential(L.nn.Conv2d(2, 3, 1), L.nn.BatchNorm2d(3, momentum=0.3),
                            L.nn.Sequential(L.nn.BatchNorm1d(4, affine=False)))
        m.eval()
        return m

    ours, theirs = build(gradstep), build(torch)
    bn = ours[1]
    conv_o = gradstep.nn.SyncBatchNorm.convert_sync_batchnorm(ours)
    conv_t = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert repr(conv_o) == repr(conv_t)
    assert conv_o[1].weight is bn.weight and conv_o[1].running_mean is bn.running_mean
    assert not conv_o[1].training and isinstance(conv_o[2][0], gradstep.nn.SyncBatchNorm)
    assert list(conv_o.state_dict()) == list(conv_t.state_dict())


def test_two_ranks_equal_whole_batch():
    """Outputs, input grads, all-reduced parameter grads and running statistics on each of 2
    ranks equal single-process BatchNorm over the concatenated batch (float64, 1e-10)."""
    rc, out, err = run_scenario("sync_batchnorm")
    assert rc == 0 and "PASS sync_batchnorm" in out, out + err

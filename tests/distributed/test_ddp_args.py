"""DistributedDataParallel's constructor as torch 2.13's: its arguments and defaults, the
deprecated ``broadcast_buffers`` (a FutureWarning, and ``False`` still skips the first sync),
and the newer options gradstep's MPI backend does not support (refused, not ignored)."""

import inspect
import warnings

import pytest
import torch

from gradstep import nn
from gradstep.nn.parallel import DistributedDataParallel as DDP
from tests.distributed.mpi import world  # noqa: F401 - a process group of one


def test_arguments_and_defaults_are_torchs():
    ours = inspect.signature(DDP.__init__).parameters
    theirs = inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__).parameters
    assert list(ours) == list(theirs)
    assert {k: p.default for k, p in ours.items()} == {k: p.default for k, p in theirs.items()}


def test_broadcast_buffers_is_deprecated_for_forward_sync_buffers(world):  # noqa: F811
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default: no warning
        ddp = DDP(nn.Linear(2, 2))
    assert ddp.forward_sync_buffers is True and ddp.broadcast_buffers is True
    with pytest.warns(FutureWarning, match="`broadcast_buffers` is deprecated. Use `forward_sync_buffers`"):
        ddp = DDP(nn.Linear(2, 2), broadcast_buffers=False)
    assert ddp.forward_sync_buffers is False
    ddp.broadcast_buffers = True  # the old name is a property over the new one
    assert ddp.forward_sync_buffers is True
    with pytest.warns(FutureWarning, match="Both `broadcast_buffers` and `forward_sync_buffers`"):
        ddp = DDP(nn.Linear(2, 2), broadcast_buffers=False, forward_sync_buffers=True)
    assert ddp.forward_sync_buffers is True


@pytest.mark.parametrize("name", ["mixed_precision", "device_mesh", "bucket_cap_mb_list",
                                  "delay_all_reduce_named_params", "param_to_hook_all_reduce"])
def test_options_the_mpi_backend_lacks_are_refused(world, name):  # noqa: F811
    with pytest.raises(NotImplementedError, match=f"{name}=...\\) is not supported"):
        DDP(nn.Linear(2, 2), **{name: object()})
    DDP(nn.Linear(2, 2), skip_all_reduce_unused_params=True, batched_grad_copy=True)  # accepted

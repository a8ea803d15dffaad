"""DistributedSampler: torch's split of a dataset across ranks (2-rank coverage is in the MPI scenario)."""

import pytest
import torch.utils.data as tud

from gradstep.utils.data import DataLoader, DistributedSampler
from tests.distributed.mpi import world  # noqa: F401

CASES = [(10, 3, False), (10, 3, True), (12, 4, False), (12, 4, True), (2, 5, False), (1, 2, True),
         (7, 1, False)]


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_unshuffled_shares_equal_torch(n, replicas, drop_last):
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = tud.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert (len(ours), ours.num_samples, ours.total_size) == \
            (len(theirs), theirs.num_samples, theirs.total_size)


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_shuffled_epoch_covers_dataset_once(n, replicas, drop_last):
    for epoch in range(3):
        shares = []
        for rank in range(replicas):
            s = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=3, drop_last=drop_last)
            s.set_epoch(epoch)
            shares.append(list(s))
            assert len(shares[-1]) == len(s)
        seen = [i for share in shares for i in share]
        if drop_last:  # no repeats; fewer than `replicas` samples left out
            assert len(seen) == len(set(seen)) and n - len(seen) < replicas
        else:  # everything, with only the padding repeated
            assert set(seen) == set(range(n)) and len(seen) == len(shares[0]) * replicas


def test_set_epoch_changes_the_order_and_seed_reproduces_it():
    a = DistributedSampler(range(50), 2, 0, seed=1)
    b = DistributedSampler(range(50), 2, 0, seed=1)
    first = list(a)
    assert first == list(b) == list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(DistributedSampler(range(50), 2, 0, seed=2)) != first


@pytest.mark.usefixtures("world")
def test_defaults_from_process_group_and_errors():
    s = DistributedSampler(range(5))
    assert (s.num_replicas, s.rank, len(s)) == (1, 0, 5) and sorted(s) == list(range(5))
    assert len(DataLoader(range(5), batch_size=2, sampler=s)) == 3
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(5), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(5), num_replicas=2, rank=-1)


def test_needs_a_process_group_for_defaults():
    import gradstep.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(ValueError, match="init_process_group"):
        DistributedSampler(range(5))

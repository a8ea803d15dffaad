"""Scenarios that run on several MPI ranks: ``mpiexec -n 2 python -m mpi4py mpi_worker.py NAME``.

Every rank checks its own results with ``assert``; a failure raises, ``python -m
mpi4py`` aborts the job and the test sees a non-zero exit with the traceback.
Rank 0 prints ``PASS NAME`` at the end. Only gradstep and NumPy are used here.
"""

from __future__ import annotations

import sys

import numpy as np

import gradstep
import gradstep.distributed as dist
from gradstep import nn
from gradstep.nn.parallel import DistributedDataParallel as DDP
from gradstep.utils.data import DistributedSampler

R = dist.ReduceOp
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def rank_values(dtype, r, shape=(3, 4)):
    """Rank ``r``'s input: small values (products fit int8), negatives for signed types."""
    base = np.arange(int(np.prod(shape))).reshape(shape)
    if dtype == "bool":
        return ((base + r) % 3 == 0)
    v = (base * (r + 2)) % 7 + 1
    if dtype.startswith("int") or dtype.startswith("float"):
        v = np.where(base % 2 == 1, -v, v)
    return v.astype(dtype)


def expected(op, arrays, dtype):
    if dtype == "bool":
        if op in (R.SUM, R.MAX, R.BOR):
            return np.logical_or.reduce(arrays)
        if op in (R.PRODUCT, R.MIN, R.BAND):
            return np.logical_and.reduce(arrays)
        return np.logical_xor.reduce(arrays)
    stacked = np.stack(arrays)
    if op is R.SUM:
        return stacked.sum(0, dtype=dtype)
    if op is R.AVG:
        s = stacked.sum(0, dtype=dtype)
        if np.dtype(dtype).kind == "f":
            return s / np.array(len(arrays), dtype=dtype)
        return (np.sign(s) * (np.abs(s) // len(arrays))).astype(dtype)
    if op is R.PRODUCT:
        return stacked.prod(0, dtype=dtype)
    if op is R.MIN:
        return stacked.min(0)
    if op is R.MAX:
        return stacked.max(0)
    f = {R.BAND: np.bitwise_and, R.BOR: np.bitwise_or, R.BXOR: np.bitwise_xor}[op]
    return f.reduce(stacked)


def ops_for(dtype):
    ops = [R.SUM, R.PRODUCT, R.MIN, R.MAX]
    if dtype != "bool":
        ops.append(R.AVG)
    if dtype == "bool" or np.dtype(dtype).kind in "iu":
        ops += [R.BAND, R.BOR, R.BXOR]
    return ops


def check_collectives(rank, size):
    checks = 0
    for dtype in DTYPES:
        mine = rank_values(dtype, rank)
        every = [rank_values(dtype, r) for r in range(size)]
        for op in ops_for(dtype):
            for async_op in (False, True):
                t = gradstep.from_numpy(mine.copy())
                work = dist.all_reduce(t, op=op, async_op=async_op)
                if async_op:
                    assert work.wait() is True and work.is_completed()
                    assert work.result()[0] is t
                np.testing.assert_array_equal(t.numpy(), expected(op, every, dtype), err_msg=f"{dtype} {op}")
                assert t.numpy().dtype == np.dtype(dtype)
                checks += 1
        # a non-contiguous tensor is reduced in place all the same
        t = gradstep.from_numpy(np.ascontiguousarray(mine.T)).t()
        dist.all_reduce(t, op=R.MAX)
        np.testing.assert_array_equal(t.numpy(), expected(R.MAX, every, dtype))
        for src in range(size):
            t = gradstep.from_numpy(mine.copy())
            work = dist.broadcast(t, src=src, async_op=(src % 2 == 1))
            if work is not None:
                work.wait()
            np.testing.assert_array_equal(t.numpy(), every[src])
        outs = [gradstep.from_numpy(np.zeros_like(mine)) for _ in range(size)]
        dist.all_gather(outs, gradstep.from_numpy(mine.copy()))
        for r in range(size):
            np.testing.assert_array_equal(outs[r].numpy(), every[r])
        whole = gradstep.from_numpy(np.zeros((size,) + mine.shape, dtype=dtype))
        dist.all_gather_into_tensor(whole, gradstep.from_numpy(mine.copy()), async_op=True).wait()
        np.testing.assert_array_equal(whole.numpy(), np.stack(every))
        if dtype != "bool":  # reduce_scatter: chunk k of rank r is rank_values(dtype, r) + k
            chunks = [gradstep.from_numpy((mine + k).astype(dtype)) for k in range(size)]
            out = gradstep.from_numpy(np.zeros_like(mine))
            dist.reduce_scatter(out, chunks, op=R.SUM)
            want = np.stack([(e + rank).astype(dtype) for e in every]).sum(0, dtype=dtype)
            np.testing.assert_array_equal(out.numpy(), want)
            out2 = gradstep.from_numpy(np.zeros_like(mine))
            dist.reduce_scatter_tensor(out2, gradstep.stack(chunks), op=R.MAX, async_op=True).wait()
            np.testing.assert_array_equal(out2.numpy(), np.stack([(e + rank).astype(dtype) for e in every]).max(0))
        checks += 4
    dist.barrier()
    dist.barrier(async_op=True).wait()
    return checks + check_objects(rank, size)


def check_objects(rank, size):
    """all_gather_object / broadcast_object_list: objects of different sizes on each rank."""
    gathered = [None] * size
    dist.all_gather_object(gathered, {"rank": rank, "items": list(range(rank * 100))})
    assert gathered == [{"rank": r, "items": list(range(r * 100))} for r in range(size)]
    shared = ["config", {"lr": 0.1}, rank] if rank == 1 else [None, None, None]
    dist.broadcast_object_list(shared, src=1)
    assert shared == ["config", {"lr": 0.1}, 1]
    return 2


def check_sampler(rank, size):
    for n, drop_last in [(23, False), (23, True), (24, False), (1, False)]:
        for epoch in (0, 1):
            s = DistributedSampler(range(n), shuffle=True, seed=5, drop_last=drop_last)
            s.set_epoch(epoch)
            mine = list(s)
            assert len(mine) == len(s)
            everyone = [gradstep.zeros(len(mine), dtype=gradstep.int64) for _ in range(size)]
            dist.all_gather(everyone, gradstep.tensor(mine, dtype=gradstep.int64))
            seen = sorted(i for t in everyone for i in t.tolist())
            if drop_last:
                assert len(seen) == len(set(seen)) == n - n % size
            else:
                assert sorted(set(seen)) == list(range(n)) and len(seen) == len(s) * size
    return 1


def mlp(seed):
    gradstep.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 10))


def batches(steps, batch):
    g = np.random.default_rng(0)
    return [(gradstep.from_numpy(g.standard_normal((batch, 20)).astype(np.float32)),
             gradstep.from_numpy(g.integers(0, 10, batch))) for _ in range(steps)]


def flat(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def check_ddp_equivalence(rank, size, bucket_cap_mb):
    """20 SGD-momentum steps: DDP with 1/size of each batch per rank == one model on whole batches."""
    steps, batch = 20, 16
    data = batches(steps, batch)
    reference = mlp(100)  # rank 0's initial weights (every rank builds it the same)
    model = DDP(mlp(100 + rank), bucket_cap_mb=bucket_cap_mb)  # different on each rank until broadcast
    np.testing.assert_array_equal(flat(model.module), flat(reference))  # broadcast of initial weights
    assert len(model._get_ddp_logging_data()["bucket_sizes"]) >= (3 if bucket_cap_mb else 1)
    loss_fn = nn.CrossEntropyLoss()
    opt_ref = gradstep.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    opt = gradstep.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    share = batch // size
    for x, y in data:
        opt_ref.zero_grad()
        loss_fn(reference(x), y).backward()
        opt_ref.step()
        opt.zero_grad()
        part = slice(rank * share, (rank + 1) * share)
        loss_fn(model(x[part]), y[part]).backward()
        opt.step()
    assert model._get_ddp_logging_data()["reductions"] == steps
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
        a, b = p.detach().numpy(), q.detach().numpy()
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.abs(b).max(), err_msg=name)
    mine = gradstep.from_numpy(flat(model.module))
    everyone = [gradstep.zeros_like(mine) for _ in range(size)]
    dist.all_gather(everyone, mine)
    for t in everyone:  # the replicas are bit-identical
        np.testing.assert_array_equal(t.numpy(), mine.numpy())
    return 1


def local_grads(model, x, y):
    model.zero_grad()
    nn.CrossEntropyLoss()(model(x), y).backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


def check_no_sync(rank, size):
    """Two micro-batches under no_sync stay local; the third backward averages all three."""
    data = batches(3 * size, 4)
    plain = mlp(7)
    per_rank = []  # per rank: the sum of its three micro-batch gradients
    for r in range(size):
        gs = [local_grads(plain, *data[3 * r + k]) for k in range(3)]
        per_rank.append([a + b + c for a, b, c in zip(*gs)])
    model = DDP(mlp(7), bucket_cap_mb=0.001)
    loss_fn = nn.CrossEntropyLoss()
    with model.no_sync():
        for k in range(2):
            loss_fn(model(data[3 * rank + k][0]), data[3 * rank + k][1]).backward()
    first_two = [local_grads(plain, *data[3 * rank + k]) for k in range(2)]
    for p, a, b in zip(model.parameters(), *first_two):  # not averaged: this rank's sum only
        np.testing.assert_allclose(p.grad.numpy(), a + b, rtol=1e-5, atol=1e-6)
    loss_fn(model(data[3 * rank + 2][0]), data[3 * rank + 2][1]).backward()
    for i, p in enumerate(model.parameters()):
        want = sum(g[i] for g in per_rank) / size
        np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-5, atol=1e-6)
    return 1


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 4)
        self.head_a = nn.Linear(4, 2)
        self.head_b = nn.Linear(4, 2)
        self.never = nn.Linear(4, 2)

    def forward(self, x, use_b):
        h = self.body(x)
        return self.head_b(h) if use_b else self.head_a(h)


def check_unused(rank, size):
    """find_unused_parameters: a head used on rank 0 only gets rank 0's grad / size; unused stays None."""
    gradstep.manual_seed(3)
    model = DDP(TwoHeads(), find_unused_parameters=True)
    x = gradstep.randn(5, 6)  # the same on every rank (same seed)
    for _ in range(2):  # twice: the reducer resets between iterations
        model.zero_grad()
        model(x, use_b=(rank == 0)).sum().backward()
        m = model.module
        gradstep.manual_seed(3)
        twin = TwoHeads()
        twin(x, True).sum().backward()
        twin(x, False).sum().backward()
        b_grad = twin.head_b.weight.grad.numpy()
        a_grad = twin.head_a.weight.grad.numpy()
        np.testing.assert_allclose(m.head_b.weight.grad.numpy(), b_grad / size, rtol=1e-6)
        np.testing.assert_allclose(m.head_a.weight.grad.numpy(), a_grad * (size - 1) / size, rtol=1e-6)
        np.testing.assert_allclose(m.body.weight.grad.numpy(), twin.body.weight.grad.numpy() / size,
                                   rtol=1e-5, atol=1e-7)
        assert m.never.weight.grad is None and m.never.bias.grad is None
    return 1


def check_buffers(rank, size):
    """Buffers (BatchNorm statistics) start as rank 0's and are re-broadcast before each forward."""
    gradstep.manual_seed(11 + rank)
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    net[1].running_mean.fill_(float(rank + 1))
    model = DDP(net)
    assert net[1].running_mean.tolist() == [1.0] * 3
    seen = []
    net.register_forward_pre_hook(lambda m, args: seen.append(m[1].running_mean.clone()))
    for step in range(2):
        x = gradstep.randn(6, 4) + rank  # each rank's statistics drift apart in forward
        model(x).sum().backward()
    everyone = [gradstep.zeros(3) for _ in range(size)]
    dist.all_gather(everyone, seen[1])
    assert all(t.tolist() == everyone[0].tolist() for t in everyone)  # synced before forward 2
    mine = [gradstep.zeros(3) for _ in range(size)]
    dist.all_gather(mine, net[1].running_mean)
    assert mine[0].tolist() != mine[1].tolist()  # (the updates after it did differ)
    return 1


def mismatch(rank, size):
    """Ranks wrapping different models: DDP refuses at construction (the job then aborts)."""
    DDP(nn.Linear(3 + rank, 2))
    return 1


def crash(rank, size):
    """Rank 1 fails while rank 0 waits in a collective: the job must end, not hang."""
    if rank == 1:
        raise ValueError("rank 1 failed on purpose")
    t = gradstep.ones(3)
    dist.all_reduce(t)
    return 1


def check_sync_batchnorm(rank, size):
    """SyncBatchNorm on each rank's slice of a batch == BatchNorm on the whole batch in one
    process: outputs, input gradients, summed parameter gradients, running statistics
    (float64; the two-pass statistics differ from the local ones only in summation order)."""
    checks = 0
    for shape in ((4 * size, 3), (2 * size, 3, 5, 4)):
        rng = np.random.default_rng(7)
        full = rng.standard_normal(shape) * 3 + 1
        w_out = rng.standard_normal(shape)
        per = shape[0] // size
        mine = slice(rank * per, (rank + 1) * per)
        ref = nn.BatchNorm1d(3, dtype=gradstep.float64) if len(shape) == 2 else \
            nn.BatchNorm2d(3, dtype=gradstep.float64)
        sync = nn.SyncBatchNorm.convert_sync_batchnorm(
            nn.BatchNorm1d(3, dtype=gradstep.float64) if len(shape) == 2 else
            nn.BatchNorm2d(3, dtype=gradstep.float64))
        with gradstep.no_grad():
            for m in (ref, sync):
                m.weight.copy_(gradstep.tensor([0.5, -1.0, 2.0], dtype=gradstep.float64))
                m.bias.copy_(gradstep.tensor([0.1, 0.2, -0.3], dtype=gradstep.float64))
        for _ in range(2):
            xr = gradstep.tensor(full, requires_grad=True)
            yr = ref(xr)
            (yr * gradstep.tensor(w_out)).sum().backward()
            xs = gradstep.tensor(full[mine], requires_grad=True)
            ys = sync(xs)
            (ys * gradstep.tensor(w_out[mine])).sum().backward()
            np.testing.assert_allclose(ys.detach().numpy(), yr.detach().numpy()[mine], rtol=1e-10,
                                       atol=1e-12)
            np.testing.assert_allclose(xs.grad.numpy(), xr.grad.numpy()[mine], rtol=1e-9,
                                       atol=1e-11)
            checks += 2
        for p_ref, p_sync in zip(ref.parameters(), sync.parameters()):
            g = p_sync.grad.clone()
            dist.all_reduce(g)
            np.testing.assert_allclose(g.numpy(), p_ref.grad.numpy(), rtol=1e-10, atol=1e-11)
            checks += 1
        for b_ref, b_sync in zip(ref.buffers(), sync.buffers()):
            np.testing.assert_allclose(b_sync.numpy(), b_ref.numpy(), rtol=1e-10, atol=1e-12)
            checks += 1
    return checks


SCENARIOS = {
    "sync_batchnorm": check_sync_batchnorm,
    "collectives": lambda r, s: check_collectives(r, s) + check_sampler(r, s),
    "ddp": lambda r, s: check_ddp_equivalence(r, s, 0.001) + check_ddp_equivalence(r, s, None),
    "no_sync": lambda r, s: check_no_sync(r, s) + check_unused(r, s) + check_buffers(r, s),
    "crash": crash,
    "mismatch": mismatch,
}


# ---------------------------------------------------------------- groups, rooted collectives, p2p


def check_groups(rank, size):
    """new_group: a member's ranks, a non-member's -1 and no-op (with torch's warning), an
    unsorted group's rank order, a group made by its members only, destroy."""
    import warnings

    only_1 = dist.new_group([1])
    t = gradstep.full((2,), float(rank))
    if rank == 0:
        assert only_1 == dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(only_1) == dist.get_world_size(only_1) == -1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert dist.all_reduce(t, group=only_1) is None
        assert "does not belong to the given group" in str(caught[0].message)
    else:
        assert (dist.get_rank(only_1), dist.get_world_size(only_1)) == (0, 1)
        assert dist.get_global_rank(only_1, 0) == 1 and dist.get_group_rank(only_1, 1) == 0
        dist.broadcast(t, src=1, group=only_1)
    assert t.tolist() == [float(rank)] * 2
    backwards = dist.new_group([1, 0], sort_ranks=False)
    assert dist.get_process_group_ranks(backwards) == [1, 0]
    assert dist.get_rank(backwards) == 1 - rank
    got = [gradstep.zeros(2) for _ in range(size)]
    dist.all_gather(got, gradstep.full((2,), 10.0 + rank), group=backwards)
    assert [g.tolist()[0] for g in got] == [11.0, 10.0]  # group rank 0 is global rank 1
    b = gradstep.full((3,), float(rank))
    dist.broadcast(b, group_src=0, group=backwards)
    assert b.tolist() == [1.0] * 3
    if rank == 0:  # only the members make a group with use_local_synchronization
        mine = dist.new_group([0], use_local_synchronization=True)
        assert mine.size() == 1
    everyone = dist.new_group(timeout=__import__("datetime").timedelta(seconds=30))
    avg = gradstep.full((2,), 2.0 * rank + 1)
    dist.all_reduce(avg, op=R.AVG, group=everyone)
    assert avg.tolist() == [2.0, 2.0]
    dist.destroy_process_group(everyone)
    try:
        dist.all_reduce(avg, group=everyone)
        raise AssertionError("a destroyed group must be refused")
    except ValueError as e:
        assert "destroyed" in str(e)
    return 6


def check_rooted(rank, size):
    """reduce (each op, both roots, async), gather and scatter (bool, non-contiguous, src 1)."""
    checks = 0
    for dtype in ("float32", "int64", "bool", "float16"):
        every = [rank_values(dtype, r) for r in range(size)]
        for op in ops_for(dtype)[:4]:
            for dst in range(size):
                t = gradstep.from_numpy(every[rank].copy())
                work = dist.reduce(t, dst=dst, op=op, async_op=(dst == 1))
                if work is not None:
                    work.wait()
                want = expected(op, every, dtype) if rank == dst else every[rank]
                np.testing.assert_array_equal(t.numpy(), want, err_msg=f"{dtype} {op} {dst}")
                checks += 1
        out = [gradstep.from_numpy(np.zeros_like(every[0])) for _ in range(size)]
        dist.gather(gradstep.from_numpy(every[rank].copy()), out if rank == 1 else None, dst=1)
        for r in range(size):
            np.testing.assert_array_equal(out[r].numpy(), every[r] if rank == 1 else 0 * every[r])
        scattered = gradstep.from_numpy(np.ascontiguousarray(every[0].T)).t()  # non-contiguous
        pieces = [gradstep.from_numpy(rank_values(dtype, 10 + r)) for r in range(size)]
        dist.scatter(scattered, pieces if rank == 1 else None, src=1, async_op=True).wait()
        np.testing.assert_array_equal(scattered.numpy(), rank_values(dtype, 10 + rank))
        checks += 2
    return checks


def check_all_to_all(rank, size):
    """all_to_all with tensors of other sizes per peer; all_to_all_single even and with splits."""
    send = [gradstep.full((rank + 1, j + 1), float(10 * rank + j)) for j in range(size)]
    recv = [gradstep.zeros(j + 1, rank + 1) for j in range(size)]
    dist.all_to_all(recv, send)
    for j in range(size):
        assert recv[j].tolist() == [[float(10 * j + rank)] * (rank + 1)] * (j + 1)
    x = gradstep.arange(4 * size, dtype=gradstep.int64) + 100 * rank
    y = gradstep.zeros(4 * size, dtype=gradstep.int64)
    dist.all_to_all_single(y, x, async_op=True).wait()
    assert y.tolist() == [100 * j + 4 * rank + k for j in range(size) for k in range(4)]
    # rank r sends r + 1 + j rows to rank j, each row 3 wide
    in_splits = [rank + 1 + j for j in range(size)]
    out_splits = [j + 1 + rank for j in range(size)]
    rows = sum(in_splits)
    x = gradstep.arange(rows * 3, dtype=gradstep.float64).reshape(rows, 3) + 1000 * rank
    y = gradstep.zeros(sum(out_splits), 3, dtype=gradstep.float64)
    dist.all_to_all_single(y, x, out_splits, in_splits)
    want = []
    for j in range(size):  # rank j's split for me starts after its splits for ranks < me
        start = sum(j + 1 + q for q in range(rank))
        want.append(np.arange(start * 3, (start + j + 1 + rank) * 3).reshape(-1, 3) + 1000 * j)
    np.testing.assert_array_equal(y.numpy(), np.concatenate(want))
    return 3


def check_p2p(rank, size):
    """send/recv (the sender's rank returned), tags matched out of order, self-messages,
    batch_isend_irecv around the ring, sends within a group (group ranks)."""
    peer = 1 - rank
    if rank == 0:
        dist.send(gradstep.tensor([1.0, 2.0]), dst=1)
        got = gradstep.zeros(2)
        assert dist.recv(got) == 1 and got.tolist() == [3.0, 4.0]
    else:
        got = gradstep.zeros(2)
        assert dist.recv(got, src=0) == 0
        dist.send(got + 2, 1 - rank)
    a, b = gradstep.zeros(3, dtype=gradstep.int32), gradstep.zeros(3, dtype=gradstep.int32)
    sends = [dist.isend(gradstep.full((3,), 5 + rank, dtype=gradstep.int32), peer, tag=5),
             dist.isend(gradstep.full((3,), 6 + rank, dtype=gradstep.int32), peer, tag=6)]
    w6, w5 = dist.irecv(b, src=peer, tag=6), dist.irecv(a, src=peer, tag=5)
    for w in sends + [w6, w5]:
        w.wait()
    assert a.tolist() == [5 + peer] * 3 and b.tolist() == [6 + peer] * 3
    assert w5._source_rank() == peer
    me = gradstep.zeros(2, dtype=gradstep.bool)
    to_self = dist.isend(gradstep.tensor([True, rank == 1]), dst=rank)
    dist.irecv(me, src=rank).wait()
    to_self.wait()
    assert me.tolist() == [True, rank == 1]
    incoming = gradstep.zeros(4)
    ops = [dist.P2POp(dist.irecv, incoming, (rank - 1) % size),
           dist.P2POp(dist.isend, gradstep.full((4,), float(rank)), (rank + 1) % size)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    assert incoming.tolist() == [float((rank - 1) % size)] * 4
    backwards = dist.new_group([1, 0], sort_ranks=False)
    z = gradstep.zeros(1)
    if rank == 1:  # group rank 0
        dist.send(gradstep.ones(1), group_dst=1, group=backwards)
    else:
        assert dist.recv(z, group=backwards) == 1 and z.tolist() == [1.0]
    return 5


def check_object_collectives(rank, size):
    got = [None] * size if rank == 1 else None
    dist.gather_object({"r": rank, "pad": "x" * (50 * rank)}, got, dst=1)
    if rank == 1:
        assert got == [{"r": r, "pad": "x" * (50 * r)} for r in range(size)]
    out = [None]
    dist.scatter_object_list(out, [["a"] * (r + 3) for r in range(size)] if rank == 1 else None, src=1)
    assert out == [["a"] * (rank + 3)]
    if rank == 0:
        dist.send_object_list([{"lr": 0.5}, "tag", list(range(30))], dst=1)
    else:
        objs = [None, None, None]
        assert dist.recv_object_list(objs) == 0
        assert objs == [{"lr": 0.5}, "tag", list(range(30))]
    return 3


def check_monitored_barrier(rank, size):
    """All ranks arrive: it passes. Rank 1 stays away: rank 0 raises naming it, within the
    timeout. Rank 0 stays away (last): rank 1 raises."""
    from datetime import timedelta

    dist.monitored_barrier(timeout=timedelta(seconds=30))
    short = timedelta(milliseconds=300)
    for wait_all in (False, True):
        if rank == 0:
            try:
                dist.monitored_barrier(timeout=short, wait_all_ranks=wait_all)
                raise AssertionError("rank 1 never came: rank 0 must raise")
            except RuntimeError as e:
                assert str(e) == "[Rank 0]: Rank 1 failed to pass monitoredBarrier in 300 ms", e
        dist.barrier()
    if rank == 1:
        try:
            dist.monitored_barrier(timeout=short)
            raise AssertionError("rank 0 never answered: rank 1 must raise")
        except RuntimeError as e:
            assert "Rank 1 successfully reached monitoredBarrier" in str(e)
    dist.barrier()
    return 3


def check_bfloat16(rank, size):
    """bfloat16 (no MPI datatype): moved as its bits, reduced in rank order on every rank."""
    bf16 = gradstep.bfloat16
    t = gradstep.tensor([1.5, -2.0, 3.0 + rank], dtype=bf16)
    dist.all_reduce(t)
    assert t.dtype == bf16 and t.tolist() == [1.5 * size, -2.0 * size, 3.0 * size + sum(range(size))]
    m = gradstep.tensor([float(rank), -float(rank)], dtype=bf16)
    dist.all_reduce(m, op=R.MAX, async_op=True).wait()
    assert m.tolist() == [size - 1.0, 0.0]
    r = gradstep.tensor([257.0, 1.0 + rank], dtype=bf16)
    dist.reduce(r, dst=1, op=R.AVG)
    if rank == 1:
        assert r.tolist() == [256.0, 1.5]  # 257 is 256 in bfloat16
    b = gradstep.tensor([0.25 * (rank + 1)] * 3, dtype=bf16)
    dist.broadcast(b, src=1)
    assert b.tolist() == [0.5] * 3
    parts = [gradstep.zeros(2, dtype=bf16) for _ in range(size)]
    dist.all_gather(parts, gradstep.full((2,), rank + 0.5, dtype=bf16))
    assert [p.tolist() for p in parts] == [[r_ + 0.5] * 2 for r_ in range(size)]
    return 5


def check_mixed_async(rank, size):
    """One rank passes async_op=True where the other does not (torch allows it; MPI matches
    a blocking collective only with a blocking one, so gradstep posts them all non-blocking)."""
    def call(fn, *args, **kwargs):
        work = fn(*args, async_op=(rank == 0), **kwargs)
        if work is not None:
            work.wait()

    t = gradstep.full((3,), float(rank + 1))
    call(dist.all_reduce, t)
    call(dist.broadcast, t, src=1)
    call(dist.reduce, t, dst=0)
    call(dist.barrier)
    out = [gradstep.zeros(3) for _ in range(size)]
    call(dist.all_gather, out, t)
    assert t.tolist() == [6.0 if rank == 0 else 3.0] * 3
    assert [o.tolist() for o in out] == [[6.0] * 3, [3.0] * 3]
    return 1


SCENARIOS["groups_p2p"] = lambda r, s: (check_groups(r, s) + check_rooted(r, s) + check_all_to_all(r, s)
                                        + check_p2p(r, s) + check_object_collectives(r, s)
                                        + check_bfloat16(r, s) + check_mixed_async(r, s)
                                        + check_monitored_barrier(r, s))


# ---------------------------------------------------------------- DDP communication hooks


def _hooks():
    from gradstep.distributed.algorithms.ddp_comm_hooks import default_hooks

    return default_hooks


def ddp_grads(rank, size, steps=2, **ddp_kwargs):
    """Per step, the grads (copies) of a DDP mlp given this rank's half of each batch; and
    this rank's local (not reduced) grads of the same steps."""
    hook = ddp_kwargs.pop("hook", None)
    model = DDP(mlp(5), **ddp_kwargs)
    if hook is not None:
        model.register_comm_hook(ddp_kwargs.get("process_group"), hook)
    plain = mlp(5)
    share = 8 // size
    reduced, local = [], []
    for k, (x, y) in enumerate(batches(steps, 8)):
        part = slice(rank * share, (rank + 1) * share)
        model.zero_grad(set_to_none=(k == 1))
        nn.CrossEntropyLoss()(model(x[part]), y[part]).backward()
        reduced.append([p.grad.numpy().copy() for p in model.parameters()])
        local.append(local_grads(plain, x[part], y[part]))
    return reduced, local, model


def every_rank(arrays):
    """[rank 0's arrays, rank 1's, ...] of a list of arrays (by all_gather)."""
    out = []
    for a in arrays:
        mine = gradstep.from_numpy(np.ascontiguousarray(a))
        parts = [gradstep.zeros_like(mine) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, mine)
        out.append([p.numpy() for p in parts])
    return [list(x) for x in zip(*out)]


def compressed_average(per_rank, dtype):
    """What the fp16/bf16 hook computes: each rank's grads cast and divided by the world size,
    summed in that dtype (one rounding per addition, rank order), cast back."""
    n = len(per_rank)
    acc = per_rank[0].astype(dtype) / np.array(n, dtype)
    for g in per_rank[1:]:
        acc = acc + g.astype(dtype) / np.array(n, dtype)
    return acc.astype(per_rank[0].dtype)


def check_ddp_hooks(rank, size):
    """allreduce_hook == no hook, bit for bit, with and without bucket views and several buckets;
    fp16/bf16 hooks == the compressed average of every rank's local grads, bit for bit."""
    base, local, _ = ddp_grads(rank, size, bucket_cap_mb=0.001)
    for kwargs in ({"hook": _hooks().allreduce_hook}, {"gradient_as_bucket_view": True},
                   {"hook": _hooks().allreduce_hook, "gradient_as_bucket_view": True}):
        got, _, model = ddp_grads(rank, size, bucket_cap_mb=0.001, **kwargs)
        for step_a, step_b in zip(got, base):
            for a, b in zip(step_a, step_b):
                np.testing.assert_array_equal(a, b, err_msg=str(kwargs))
    assert len(model._get_ddp_logging_data()["bucket_sizes"]) >= 3
    views = [p.grad for p in model.parameters()]  # bucket views: backward wrote into them
    assert all(g._data.base is not None for g in views)
    for name, dtype in (("fp16_compress_hook", np.float16), ("bf16_compress_hook", gradstep.bfloat16.np)):
        got, _, _ = ddp_grads(rank, size, hook=getattr(_hooks(), name))
        for step, step_local in zip(got, local):
            for i, mine in enumerate(step_local):
                per_rank = [r[0] for r in every_rank([mine])]
                np.testing.assert_array_equal(step[i], compressed_average(per_rank, dtype), err_msg=name)
    return 5


def check_custom_hook(rank, size):
    """A hook with state: it sees the buckets in order (index, is_last), undivided, and its
    future's tensor becomes the grads; DDP over a group whose rank 0 is global rank 1."""
    calls = []

    def hook(state, bucket):
        state["n"] += 1
        calls.append((bucket.index(), bucket.is_last(), bucket.buffer().numel()))
        # undivided: the bucket holds this rank's own grads, laid end to end
        flat = np.concatenate([g.numpy().ravel() for g in bucket.gradients()])
        np.testing.assert_array_equal(flat, bucket.buffer().numpy())
        work = dist.all_reduce(bucket.buffer(), op=R.MAX, async_op=True)
        return work.get_future().then(lambda fut: fut.value()[0] * 2)

    state = {"n": 0}
    model = DDP(mlp(5), bucket_cap_mb=0.001)
    model.register_comm_hook(state, hook)
    x, y = batches(1, 8)[0]
    part = slice(rank * 4, rank * 4 + 4)
    nn.CrossEntropyLoss()(model(x[part]), y[part]).backward()
    mine = local_grads(mlp(5), x[part], y[part])
    n_buckets = len(model._get_ddp_logging_data()["bucket_sizes"])
    assert state["n"] == n_buckets and [c[0] for c in calls] == list(range(n_buckets))
    assert [c[1] for c in calls] == [False] * (n_buckets - 1) + [True]
    for p, g in zip(model.parameters(), mine):
        want = np.maximum.reduce([r[0] for r in every_rank([g])]) * 2
        np.testing.assert_array_equal(p.grad.numpy(), want)
    backwards = dist.new_group([1, 0], sort_ranks=False)
    sub = DDP(mlp(50 + rank), process_group=backwards)  # initial weights from group rank 0
    np.testing.assert_array_equal(flat(sub.module), flat(mlp(51)))
    assert sub.world_size == 2 and sub.process_group is backwards
    return 3


class WithUnused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 3)
        self.unused = nn.Linear(4, 3)

    def forward(self, x):
        return self.used(x)


def check_static_graph(rank, size):
    """static_graph: a parameter unused in every iteration is tolerated (torch would need
    find_unused_parameters otherwise), its grad stays None, the others are averaged."""
    gradstep.manual_seed(4)
    model = DDP(WithUnused(), static_graph=True)
    gradstep.manual_seed(4)
    twin = WithUnused()
    for k in range(3):
        x = gradstep.full((2, 4), float(rank + k + 1))
        model.zero_grad()
        model(x).square().sum().backward()
        twin.zero_grad()
        twin(x).square().sum().backward()
        want = every_rank([twin.used.weight.grad.numpy()])
        np.testing.assert_allclose(model.module.used.weight.grad.numpy(),
                                   sum(r[0] for r in want) / size, rtol=1e-6)
        assert model.module.unused.weight.grad is None
    return 1


def check_join(rank, size):
    """join(): rank 1 has two batches more. Alone, its grads are its own divided by the initial
    world size (or by 1); rank 0 shadows its collectives (BatchNorm buffers included); after
    the block both ranks hold rank 1's model. With throw_on_early_termination both raise."""
    for divide_initial in (True, False):
        gradstep.manual_seed(8)
        net = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
        model = DDP(net, bucket_cap_mb=0.0001)
        opt = gradstep.optim.SGD(model.parameters(), lr=0.1)
        mine = [gradstep.randn(3, 6) + rank for _ in range(2 + 2 * rank)]
        with model.join(divide_by_initial_world_size=divide_initial):
            for k, x in enumerate(mine):
                if k >= 2:  # rank 1, alone: its local grads first
                    net.zero_grad()
                    net(x).square().sum().backward()
                    alone = [p.grad.numpy().copy() for p in net.parameters()]
                opt.zero_grad()
                model(x).square().sum().backward()
                if k >= 2:
                    for p, g in zip(net.parameters(), alone):
                        np.testing.assert_array_equal(p.grad.numpy(), g / 2 if divide_initial else g)
                opt.step()
        state = np.concatenate([t.detach().numpy().ravel().astype(np.float64) for t in
                                list(net.parameters()) + list(net.buffers())])
        everyone = every_rank([state])
        assert all(np.array_equal(e[0], everyone[0][0]) for e in everyone)
    model = DDP(mlp(3))
    try:
        with model.join(throw_on_early_termination=True):
            for x, _ in batches(1 + 2 * rank, 4):
                model(x).sum().backward()
        raise AssertionError("join(throw_on_early_termination=True) must raise")
    except RuntimeError as e:
        want = "Rank 0 exhausted all inputs." if rank == 0 else "Detected at least one rank"
        assert str(e).startswith(want), e
    return 3


SCENARIOS["ddp_hooks"] = lambda r, s: (check_ddp_hooks(r, s) + check_custom_hook(r, s)
                                       + check_static_graph(r, s) + check_join(r, s))


if __name__ == "__main__":
    name = sys.argv[1]
    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    assert size > 1, "run this under mpiexec with at least 2 ranks"
    n = SCENARIOS[name](rank, size)
    dist.barrier()
    if rank == 0:
        print(f"PASS {name} ({n} checks on {size} ranks)")
    dist.destroy_process_group()

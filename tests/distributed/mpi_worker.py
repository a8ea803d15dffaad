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

"""Single-process cases run on both libraries: torch (gloo, world of one) and gradstep.

Each case takes the library (``torch`` or ``gradstep``) and returns a dict of named
outcomes: ``("ok", value)`` with plain Python/NumPy values, or ``("raises", type name,
message)``. ``python tests/distributed/torch_cases.py OUT`` runs every case on real torch
in a fresh process (torch's process group and gradstep's never meet) and pickles the
outcomes to OUT; the tests run the same cases on gradstep and compare.
"""

from __future__ import annotations

import importlib
import pickle
import socket
import sys
import warnings
from datetime import timedelta

import numpy as np

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def outcome(fn):
    try:
        return ("ok", _plain(fn()))
    except Exception as e:  # noqa: BLE001 - the outcome records it
        return ("raises", type(e).__name__, str(e))


def _plain(v):
    """Tensors as NumPy arrays, containers element-wise."""
    if hasattr(v, "numpy") and hasattr(v, "dtype"):
        return v.detach().numpy().copy()
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    return v


def _grid(lib, dtype="float32"):
    return lib.tensor(np.arange(12).reshape(3, 4).astype(dtype))


@case
def rooted(lib):
    dist = lib.distributed
    out = {}
    for op in ("SUM", "MAX", "PRODUCT", "MIN"):
        t = _grid(lib)
        out[f"reduce {op}"] = outcome(
            lambda t=t, op=op: (dist.reduce(t, dst=0, op=getattr(dist.ReduceOp, op)), t))
    out["reduce group_dst"] = outcome(lambda: dist.reduce(_grid(lib), group_dst=0))
    out["reduce bad root"] = outcome(lambda: dist.reduce(_grid(lib), dst=1))
    out["reduce dst and group_dst"] = outcome(lambda: dist.reduce(_grid(lib), dst=0, group_dst=0))
    got = [lib.zeros(3, 4)]
    out["gather"] = outcome(lambda: (dist.gather(_grid(lib) + 1, got, dst=0), got))
    out["gather default dst"] = outcome(lambda: (dist.gather(_grid(lib) * 2, got), got))
    out["gather no list"] = outcome(lambda: dist.gather(_grid(lib), None, dst=0))
    out["gather two"] = outcome(lambda: dist.gather(_grid(lib), [lib.zeros(3, 4)] * 2, dst=0))
    out["gather shape"] = outcome(lambda: dist.gather(_grid(lib), [lib.zeros(4)], dst=0))
    out["gather dtype"] = outcome(lambda: dist.gather(_grid(lib), [lib.zeros(3, 4, dtype=lib.int64)]))
    mine = lib.zeros(3, 4)
    out["scatter"] = outcome(lambda: (dist.scatter(mine, [_grid(lib) - 5], src=0), mine))
    out["scatter no list"] = outcome(lambda: dist.scatter(mine, None, src=0))
    out["scatter two"] = outcome(lambda: dist.scatter(mine, [_grid(lib)] * 2))
    out["scatter shape"] = outcome(lambda: dist.scatter(mine, [lib.zeros(2, 2)]))
    b = lib.tensor([True, False, True])
    gb = [lib.zeros(3, dtype=lib.bool)]
    out["gather bool"] = outcome(lambda: (dist.gather(b, gb, dst=0), gb))
    work = dist.reduce(_grid(lib), dst=0, async_op=True)
    out["reduce async"] = outcome(lambda: (work.wait(), work.is_completed()))
    return out


@case
def all_to_all(lib):
    dist = lib.distributed
    out = {}
    o = [lib.zeros(2, 3)]
    out["all_to_all"] = outcome(lambda: (dist.all_to_all(o, [_grid(lib)[:2, :3] + 7]), o))
    o2 = lib.zeros(3, 4)
    out["single"] = outcome(lambda: (dist.all_to_all_single(o2, _grid(lib) * 3), o2))
    out["single splits"] = outcome(lambda: (dist.all_to_all_single(o2, _grid(lib) + 1, [3], [3]), o2))
    out["single bad sum"] = outcome(lambda: dist.all_to_all_single(o2, _grid(lib), [2], [3]))
    out["single bad count"] = outcome(lambda: dist.all_to_all_single(o2, _grid(lib), [1, 2], [3]))
    out["single size"] = outcome(lambda: dist.all_to_all_single(lib.zeros(5), lib.zeros(4)))
    i64 = lib.zeros(3, 4, dtype=lib.int64)
    out["single dtype"] = outcome(lambda: dist.all_to_all_single(i64, _grid(lib)))
    w = dist.all_to_all_single(o2, _grid(lib) - 1, async_op=True)
    out["single async"] = outcome(lambda: (w.wait(), o2))
    return out


@case
def groups(lib):
    dist = lib.distributed
    out = {}
    g = dist.new_group([0])
    out["new_group"] = outcome(lambda: (g.rank(), g.size(), g.group_name, g.name(), dist.get_rank(g),
                                        dist.get_world_size(g), dist.get_process_group_ranks(g),
                                        dist.get_global_rank(g, 0), dist.get_group_rank(g, 0),
                                        dist.get_backend(g)))
    out["world"] = outcome(lambda: (dist.group.WORLD is dist.GroupMember.WORLD,
                                    dist.group.WORLD.group_name, dist.GroupMember.NON_GROUP_MEMBER,
                                    dist.get_process_group_ranks(None),
                                    dist.get_group_rank(dist.group.WORLD, 5),
                                    dist.get_global_rank(dist.group.WORLD, 5)))
    out["group ops"] = outcome(lambda: _group_ops(lib, g))
    out["second group"] = outcome(lambda: dist.new_group(timeout=timedelta(seconds=5)).group_name)
    out["duplicates"] = outcome(lambda: dist.new_group([0, 0]))
    out["out of range"] = outcome(lambda: dist.new_group([1]))
    out["too big"] = outcome(lambda: dist.new_group([0, 1]))
    out["timeout type"] = outcome(lambda: dist.new_group([0], timeout=5))
    out["bad group rank"] = outcome(lambda: dist.get_global_rank(g, 3))
    out["bad global rank"] = outcome(lambda: dist.get_group_rank(g, 3))
    out["not a group"] = outcome(lambda: dist.all_reduce(lib.ones(2), group="other"))
    nm = dist.GroupMember.NON_GROUP_MEMBER
    out["non member"] = outcome(lambda: (dist.get_world_size(nm), dist.get_rank(nm),
                                         dist.destroy_process_group(nm)))
    out["destroy"] = outcome(lambda: dist.destroy_process_group(g))
    out["destroy twice"] = outcome(lambda: dist.destroy_process_group(g))
    return out


def _group_ops(lib, g):
    dist = lib.distributed
    t = _grid(lib)
    dist.all_reduce(t, group=g)
    dist.broadcast(t, src=0, group=g)
    dist.broadcast(t, group_src=0, group=g)
    dist.reduce(t, dst=0, group=g)
    lst = [lib.zeros(3, 4)]
    dist.all_gather(lst, t, group=g)
    dist.barrier(group=g)
    dist.monitored_barrier(group=g)
    objs = [None]
    dist.all_gather_object(objs, {"g": 1}, group=g)
    return t, lst, objs


@case
def point_to_point(lib):
    dist = lib.distributed
    return {"send self": outcome(lambda: dist.send(lib.ones(2), 0)),
            "P2POp op": outcome(lambda: dist.P2POp(dist.send, lib.ones(2), 0)),
            "P2POp tensor": outcome(lambda: dist.P2POp(dist.isend, [1.0], 0)),
            "batch not ops": outcome(lambda: dist.batch_isend_irecv([1])),
            "P2POp fields": outcome(lambda: (lambda p: (p.peer, p.group_peer, p.tag,
                                                        p.group is dist.group.WORLD))(
                dist.P2POp(dist.irecv, lib.ones(2), 0, tag=4)))}


@case
def objects(lib):
    dist = lib.distributed
    out = {}
    got = [None]
    out["gather_object"] = outcome(lambda: (dist.gather_object({"a": [1, 2]}, got, dst=0), got))
    out["gather_object no list"] = outcome(lambda: dist.gather_object(1, None, dst=0))
    mine = [None, "kept"]
    out["scatter_object_list"] = outcome(
        lambda: (dist.scatter_object_list(mine, [("x", 3)], src=0), mine))
    out["scatter_object_list empty"] = outcome(lambda: dist.scatter_object_list([], [1]))
    out["scatter_object_list none"] = outcome(lambda: dist.scatter_object_list([None], None))
    out["send_object_list self"] = outcome(lambda: dist.send_object_list([1], dst=0))
    return out


@case
def barriers_and_flags(lib):
    dist = lib.distributed
    out = {"flags": outcome(lambda: (dist.is_nccl_available(), dist.is_gloo_available(),
                                     dist.is_torchelastic_launched(), dist.is_initialized()))}
    out["monitored"] = outcome(lambda: dist.monitored_barrier(timeout=timedelta(seconds=10),
                                                              wait_all_ranks=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["monitored float"] = outcome(lambda: dist.monitored_barrier(timeout=2.5))
    out["monitored float warns"] = [str(w.message) for w in caught if "timedelta" in str(w.message)]
    out["monitored int"] = outcome(lambda: dist.monitored_barrier(timeout=3))
    return out


@case
def futures(lib):
    F = lib.futures.Future
    out = {}
    f = F()
    child = f.then(lambda fut: fut.value() * 2)
    grand = child.then(lambda fut: fut.value() + 1)
    out["pending"] = (f.done(), child.done())
    f.set_result(20)
    out["chained"] = outcome(lambda: (f.done(), child.wait(), grand.wait(), grand.value()))
    out["set twice"] = outcome(lambda: f.set_result(1))
    g = F()
    failing = g.then(lambda fut: 1 / 0)
    g.set_result(1)
    out["callback error"] = outcome(failing.wait)
    out["callback error value"] = outcome(failing.value)
    h = F()
    h.set_exception(KeyError("boom"))
    out["exception"] = outcome(h.wait)
    out["exception then"] = outcome(h.then(lambda fut: 5).wait)
    out["set_exception non-exception"] = outcome(lambda: F().set_exception(3))
    seen = []
    k = F()
    k.add_done_callback(lambda fut: seen.append(fut.value()))
    k.set_result("x")
    late = []
    k.add_done_callback(lambda fut: late.append(fut.value()))
    out["done callbacks"] = (seen, late)
    a, b = F(), F()
    both = lib.futures.collect_all([a, b])
    a.set_result(1)
    mid = both.done()
    b.set_result(2)
    out["collect_all"] = outcome(lambda: (mid, [x.value() for x in both.wait()]))
    out["wait_all"] = outcome(lambda: lib.futures.wait_all([a, b]))
    t = _grid(lib)
    work = lib.distributed.all_reduce(t, async_op=True)
    out["work future"] = outcome(lambda: work.get_future().then(lambda fut: fut.value()[0] * 2).wait())
    return out


# ------------------------------------------------------------ DDP with communication hooks


def _ddp_model(lib, view=False):
    """A Linear whose gradients are exact integers that float16/bfloat16 must round."""
    lin = lib.nn.Linear(4, 3)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(np.arange(12, dtype=np.float32).reshape(3, 4) - 5))
        lin.bias.copy_(lib.tensor([1.0, -2.0, 3.0]))
    return lib.nn.parallel.DistributedDataParallel(lin, gradient_as_bucket_view=view)


def _ddp_step(lib, ddp, k):
    x = lib.tensor((np.arange(20, dtype=np.float32).reshape(5, 4) * 263 + k * 1001) % 4099)
    w = lib.tensor(np.array([[1.0, -3.0, 2.0]] * 5, dtype=np.float32))
    (ddp(x) * w).sum().backward()


def _hooks(lib):
    return importlib.import_module(lib.__name__ + ".distributed.algorithms.ddp_comm_hooks.default_hooks")


def _through(hook):
    def via(state, bucket):
        return hook(state, bucket)

    return via


@case
def ddp_hooks(lib):
    hooks = _hooks(lib)
    out = {}
    for name in (None, "allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"):
        for view in (False, True):
            ddp = _ddp_model(lib, view)
            if name:  # called through a wrapper: torch refuses bf16_compress_hook by name on CPU
                ddp.register_comm_hook(None, _through(getattr(hooks, name)))
            grads = []
            for k in range(3):
                ddp.zero_grad(set_to_none=(k == 1))
                _ddp_step(lib, ddp, k)
                grads.append([p.grad.clone() for p in ddp.parameters()])
            w, b = ddp.module.weight, ddp.module.bias
            out[f"{name} view={view}"] = ("ok", _plain(grads))
            if view:
                out[f"{name} layout"] = outcome(lambda w=w, b=b: (w.grad.data_ptr() - b.grad.data_ptr(),
                                                                  w.grad.is_contiguous()))
    return out


@case
def ddp_bucket(lib):
    dist = lib.distributed
    seen = []

    def hook(state, bucket):
        seen.append((state, bucket.index(), bucket.is_last(), tuple(bucket.buffer().shape),
                     [tuple(p.shape) for p in bucket.parameters()],
                     [tuple(g.shape) for g in bucket.gradients()],
                     bucket.gradients()[0].data_ptr() - bucket.buffer().data_ptr(),
                     bucket.buffer().clone()))
        fut = lib.futures.Future()
        fut.set_result(bucket.buffer() * 2)
        return fut

    ddp = _ddp_model(lib)
    ddp.register_comm_hook("state", hook)
    grads = []
    for k in range(2):
        ddp.zero_grad()
        _ddp_step(lib, ddp, k)
        grads.append([p.grad.clone() for p in ddp.parameters()])
    out = {"second iteration": outcome(lambda: seen[1]), "grads": outcome(lambda: grads[1])}
    out["register twice"] = outcome(lambda: ddp.register_comm_hook(None, hook))
    fresh = _ddp_model(lib)
    out["not callable"] = outcome(lambda: fresh.register_comm_hook(None, 3))

    def annotated(state, bucket: int):
        return None

    out["bad annotation"] = outcome(lambda: fresh.register_comm_hook(None, annotated))

    def returns_tensor(state, bucket):
        return bucket.buffer()

    fresh.register_comm_hook(None, returns_tensor)
    out["not a future"] = outcome(lambda: _ddp_step(lib, fresh, 0))
    out["bucket type"] = dist.GradBucket.__name__
    bf16 = _ddp_model(lib)
    out["bf16 by name"] = outcome(lambda: bf16.register_comm_hook(None, _hooks(lib).bf16_compress_hook))
    return out


@case
def ddp_static_graph(lib):
    out = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ddp = lib.nn.parallel.DistributedDataParallel(lib.nn.Linear(3, 2), static_graph=True)
        ddp._set_static_graph()
        other = lib.nn.parallel.DistributedDataParallel(lib.nn.Linear(3, 2))
        other._set_static_graph()
    out["flags"] = (ddp.static_graph, other.static_graph)
    out["warnings"] = sorted(str(w.message) for w in caught if "static" in str(w.message))
    return out


def run_all(lib):
    return {name: fn(lib) for name, fn in CASES.items()}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    import torch
    import torch.distributed as torch_dist
    import torch.distributed.algorithms.ddp_comm_hooks.default_hooks  # noqa: F401
    import torch.futures  # noqa: F401

    torch_dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0,
                                  world_size=1)
    results = run_all(torch)
    torch_dist.destroy_process_group()
    with open(sys.argv[1], "wb") as f:
        pickle.dump(results, f)

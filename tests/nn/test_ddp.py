"""DistributedDataParallel: in one process (world of one) and on 2 MPI ranks."""

import numpy as np
import pytest

import gradstep
from gradstep import nn
from gradstep.nn.parallel import DistributedDataParallel as DDP
from gradstep.nn.parallel.distributed import _assign_buckets
from tests.distributed.mpi import run_scenario, world  # noqa: F401


def test_two_ranks_half_batch_each_equals_one_process_whole_batch():
    """20 SGD-momentum steps (small and default buckets): same weights as one process, 1e-6
    relative in float32; rank 0's initial weights broadcast; replicas bit-identical."""
    rc, out, err = run_scenario("ddp")
    assert rc == 0 and "PASS ddp" in out, out + err


def test_two_ranks_no_sync_accumulation_and_unused_parameters():
    rc, out, err = run_scenario("no_sync")
    assert rc == 0 and "PASS no_sync" in out, out + err


def test_two_ranks_with_different_models_are_refused():
    rc, out, err = run_scenario("mismatch", timeout=30)
    assert rc != 0 and "the ranks do not all wrap the same model" in err, out + err


def _mlp(seed=0):
    gradstep.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))


@pytest.mark.usefixtures("world")
def test_world_of_one_gives_the_plain_models_gradients():
    plain, ddp = _mlp(), DDP(_mlp(), bucket_cap_mb=1e-4)
    x = gradstep.randn(4, 5)
    for _ in range(2):  # grads accumulate across backward passes as usual
        plain(x).square().sum().backward()
        ddp(x).square().sum().backward()
        for p, q in zip(plain.parameters(), ddp.parameters()):
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert ddp._get_ddp_logging_data()["reductions"] == 2


@pytest.mark.usefixtures("world")
def test_module_state_dict_and_forward_delegate():
    inner = _mlp()
    ddp = DDP(inner)
    assert ddp.module is inner
    assert list(ddp.state_dict()) == ["module." + k for k in inner.state_dict()]
    x = gradstep.randn(2, 5)
    np.testing.assert_array_equal(ddp(x).detach().numpy(), inner(x).detach().numpy())
    twin = _mlp(1)
    DDP(twin).load_state_dict(ddp.state_dict())
    np.testing.assert_array_equal(twin(x).detach().numpy(), inner(x).detach().numpy())


@pytest.mark.usefixtures("world")
def test_no_sync_skips_the_reducer():
    ddp = DDP(_mlp())
    x = gradstep.randn(3, 5)
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
        ddp(x).sum().backward()
    assert ddp.require_backward_grad_sync
    assert ddp._get_ddp_logging_data()["reductions"] == 0
    ddp(x).sum().backward()
    assert ddp._get_ddp_logging_data()["reductions"] == 1


def test_buckets_like_torch_last_layers_first_small_bucket_for_the_first_layers():
    ps = [gradstep.zeros(100), gradstep.zeros(300), gradstep.zeros(50, dtype=gradstep.float64),
          gradstep.zeros(200), gradstep.zeros(10)]
    # registration order, closed once at least the cap (400 B first, then 1200 B), one dtype each
    assert _assign_buckets(ps, cap_bytes=1200, first_cap_bytes=400) == [[4, 3], [2], [1], [0]]
    assert _assign_buckets(ps, cap_bytes=10**6, first_cap_bytes=10**6) == [[2], [4, 3, 1, 0]]


@pytest.mark.usefixtures("world")
def test_default_bucket_cap_and_first_bucket():
    model = nn.Sequential(nn.Linear(512, 1024), nn.Linear(1024, 512))  # 2 MiB + 2 MiB of float32
    sizes = DDP(model)._get_ddp_logging_data()["bucket_sizes"]
    assert sizes == [4 * (1024 + 512 * 1024 + 512), 4 * 512 * 1024]  # the first weight: its own bucket
    assert DDP(model, bucket_cap_mb=25).bucket_bytes_cap == 25 * 1024 * 1024
    assert len(DDP(model, bucket_cap_mb=25)._get_ddp_logging_data()["bucket_sizes"]) == 1
    assert len(DDP(model, bucket_cap_mb=1)._get_ddp_logging_data()["bucket_sizes"]) == 3


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)

    def forward(self, x):
        return self.a(x)


@pytest.mark.usefixtures("world")
def test_unused_parameter_needs_find_unused_parameters():
    ddp = DDP(Branchy())
    x = gradstep.randn(2, 3)
    ddp(x).sum().backward()
    assert ddp.module.b.weight.grad is None
    with pytest.raises(RuntimeError, match="find_unused_parameters=True.*b.weight, b.bias"):
        ddp(x)


@pytest.mark.usefixtures("world")
def test_find_unused_parameters_leaves_unused_grads_alone():
    ddp = DDP(Branchy(), find_unused_parameters=True)
    x = gradstep.randn(2, 3)
    for _ in range(2):
        ddp(x).sum().backward()
        assert ddp.module.b.weight.grad is None and ddp.module.a.weight.grad is not None
    assert ddp._get_ddp_logging_data()["reductions"] == 2


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)

    def forward(self, x):
        return self.a(x), self.b(x)


@pytest.mark.usefixtures("world")
def test_reduction_follows_the_latest_forward():
    plain, ddp = _mlp(), DDP(_mlp())
    x = gradstep.randn(2, 5)
    ddp(gradstep.randn(2, 5))  # a forward without backward is forgotten by the next one
    ddp(x).sum().backward()
    plain(x).sum().backward()
    for p, q in zip(plain.parameters(), ddp.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    out = ddp(x).sum()
    out.backward(retain_graph=True)
    out.backward()  # after the reduction finished: only accumulates locally, as in torch
    assert ddp._get_ddp_logging_data()["reductions"] == 2


@pytest.mark.usefixtures("world")
def test_parameter_ready_twice_in_one_reduction_is_an_error():
    ddp = DDP(TwoOutputs())
    ya, yb = ddp(gradstep.randn(2, 3))
    ya.sum().backward(retain_graph=True)  # a's parameters ready, b's still pending
    with pytest.raises(RuntimeError, match="mark a variable ready only once: parameter a.(weight|bias)"):
        (ya.sum() + yb.sum()).backward()


@pytest.mark.usefixtures("world")
def test_bad_arguments():
    with pytest.raises(TypeError, match="wraps an nn.Module"):
        DDP(gradstep.ones(2))
    with pytest.raises(ValueError, match="device_ids"):
        DDP(_mlp(), device_ids=[0])
    with pytest.raises(ValueError, match="bucket_cap_mb must be positive"):
        DDP(_mlp(), bucket_cap_mb=0)
    with pytest.raises(ValueError, match="process_group must be a group made by new_group"):
        DDP(_mlp(), process_group="world")


def test_needs_a_process_group():
    import gradstep.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(ValueError, match="init_process_group"):
        DDP(_mlp())


@pytest.mark.usefixtures("world")
def test_frozen_parameters_are_left_out():
    model = _mlp()
    model[0].weight.requires_grad_(False)
    ddp = DDP(model)
    assert sum(ddp._get_ddp_logging_data()["bucket_sizes"]) == 4 * (7 + 7 * 3 + 3)
    ddp(gradstep.randn(2, 5)).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is not None
    assert ddp._get_ddp_logging_data()["reductions"] == 1


@pytest.mark.usefixtures("world")
def test_each_bucket_is_posted_as_soon_as_its_gradients_are_ready():
    """With one bucket per layer, the last layer's all-reduce is posted while backward still has
    the first layer to do (overlap), and the buckets go out last layer first."""
    import gradstep.distributed as dist

    gradstep.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 30, bias=False), nn.Tanh(), nn.Linear(30, 30, bias=False),
                          nn.Tanh(), nn.Linear(30, 30, bias=False))
    ddp = DDP(model, bucket_cap_mb=30 * 30 * 4 / 2**20)  # exactly one weight per bucket
    assert len(ddp._get_ddp_logging_data()["bucket_sizes"]) == 3
    log = []
    backend = dist._get_world()
    post = backend.allreduce

    def logged(buf, op, nonblocking=False):
        log.append(("allreduce", buf.size))
        return post(buf, op, nonblocking)

    backend.allreduce = logged
    try:
        for i, layer in ((0, model[0]), (2, model[2]), (4, model[4])):
            layer.weight.register_post_accumulate_grad_hook(lambda p, i=i: log.append(("grad", i)))
        ddp(gradstep.randn(4, 30)).sum().backward()
    finally:
        del backend.allreduce
    # DDP's hook runs first on each weight (registered first), then the test's
    assert log == [("allreduce", 900), ("grad", 4), ("allreduce", 900), ("grad", 2), ("allreduce", 900),
                   ("grad", 0)]

"""Storages and the storage-level Tensor methods against torch: untyped_storage / storage,
storage_offset and data_ptr through views, set_, is_set_to, resize_ / resize_as_ / resize /
resize_as, share_memory_ / is_shared, and the storage classes."""

import multiprocessing as mp
import warnings

import numpy as np
import pytest
import torch

import gradstep


def _both(fn):
    """``fn(lib)`` for gradstep and torch, torch's deprecation warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(gradstep), fn(torch)


def _same(fn):
    ours, theirs = _both(fn)
    assert ours == theirs, (ours, theirs)
    return ours


# ---------------------------------------------------------------- untyped_storage / storage
def test_untyped_storage_sizes_bytes_and_sharing():
    _same(lambda L: (lambda s: (s.nbytes(), s.size(), len(s), s.element_size()))(
        L.arange(6.0).untyped_storage()))
    _same(lambda L: L.arange(4, dtype=L.int16).untyped_storage().tolist())
    _same(lambda L: L.tensor([1.5, -2.0], dtype=L.float64).untyped_storage().tolist())
    _same(lambda L: (lambda s: (s[0], s[-1], s[1:3].tolist(), list(s)[:2]))(
        L.arange(3, dtype=L.int32).untyped_storage()))
    for L in (gradstep, torch):
        t = L.arange(6.0)
        assert t.untyped_storage().data_ptr() == t.data_ptr()
        assert t[2:].untyped_storage().data_ptr() == t.data_ptr()
        assert t.view(2, 3).t().untyped_storage().nbytes() == 24
        assert not t.untyped_storage().is_shared()
        assert t.untyped_storage().device.type == "cpu"
        with pytest.raises(IndexError, match="index 24 out of range for storage of size 24"):
            t.untyped_storage()[24]


def test_storage_writes_reach_the_tensor():
    def write(L):
        t = L.tensor([1.0, 2.0, 3.0])
        s = t.untyped_storage()
        for i in range(4):
            s[i] = 0  # the first float32 becomes +0.0
        t.storage()[2] = 9.0
        return t.tolist()

    assert _same(write) == [0.0, 2.0, 9.0]

    def write_0d(L):
        t = L.tensor(3.0)
        t.untyped_storage()[3] = 0x41  # the exponent byte: 3.0 becomes 12.0
        return t.item(), t.untyped_storage().data_ptr() == t.data_ptr()

    assert _same(write_0d) == (12.0, True)

    def fill_copy_clone(L):
        t = L.zeros(2, dtype=L.int16)
        s = t.untyped_storage()
        c = s.clone()
        s.fill_(1)
        c[0] = 5
        s2 = L.ones(2, dtype=L.int16).untyped_storage()
        s2.copy_(s)
        return t.tolist(), c.tolist(), s2.tolist()

    _same(fill_copy_clone)


def test_typed_storage():
    _same(lambda L: (lambda s: (s.size(), len(s), s.nbytes(), s.element_size(), s[1], s[-1],
                                s.tolist(), str(s.dtype).split(".")[-1], type(s).__name__))(
        L.arange(3.0).storage()))
    _same(lambda L: L.tensor([True, False]).storage().tolist())
    _same(lambda L: L.arange(2, dtype=L.int64).storage_type().__name__)
    _same(lambda L: L.arange(2.0, dtype=L.bfloat16).storage_type().__name__)
    for L in (gradstep, torch):
        with pytest.raises(IndexError, match="index 5 out of range for storage of size 3"):
            L.arange(3.0).storage()[5]
        with pytest.raises(RuntimeError, match="slices are only supported in UntypedStorage"):
            L.arange(3.0).storage()[0:2]
        base = L.arange(3.0)
        assert base[1:].storage().data_ptr() == base.data_ptr()
    # torch warns that TypedStorage is deprecated, once per process; so does gradstep
    from gradstep import _warn_once

    _warn_once._given.discard("typed-storage")
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        gradstep.zeros(1).storage()


def test_storage_classes():
    for L in (gradstep, torch):
        assert L.UntypedStorage(4).nbytes() == 4
        s = L.FloatStorage(3)
        assert s.size() == 3 and s.dtype == L.float32 and isinstance(s, L.TypedStorage)
        assert L.LongStorage([1, 2]).tolist() == [1, 2]
        assert L.arange(2.0).storage_type() is L.FloatStorage


def test_storage_offset_through_views_and_detach():
    _same(lambda L: [v.storage_offset() for v in (
        L.arange(6.0)[2:], L.arange(6.0)[2:].detach(), L.arange(6.0).view(2, 3)[1],
        L.arange(6.0).view(2, 3)[:, 1], L.arange(6.0)[3:].data, L.arange(6.0).view(2, 3).t(),
        L.arange(6.0).view(2, 3)[1, 1])])
    _same(lambda L: L.arange(6.0)[2:].detach().as_strided((2,), (1,), 0).tolist())
    _same(lambda L: L.arange(6.0).view(2, 3)[1].as_strided((2,), (1,)).tolist())


# ---------------------------------------------------------------- set_ / is_set_to
def test_set_to_tensor_and_storage():
    def run(L):
        a = L.arange(6.0)
        b = L.tensor([])
        b.set_(a[2:])
        c = L.tensor([9.0])
        c.set_(a.untyped_storage(), 1, (2, 2), (1, 2))
        d = L.tensor([9.0])
        d.set_(a.storage())
        e = L.tensor([1.0]).set_()
        b[0] = 42.0
        return (b.tolist(), b.storage_offset(), b._version, b.is_set_to(a[2:]), b.is_set_to(a),
                c.tolist(), c.stride(), c.storage_offset(), d.tolist(), tuple(e.shape),
                a.tolist())

    _same(run)
    _same(lambda L: (lambda a: (a.is_set_to(a), a.is_set_to(a.view(2, 3)), a[1:].is_set_to(a)))(
        L.arange(6.0)))
    _same(lambda L: L.tensor([1, 2]).set_(L.arange(6.0).untyped_storage(), 1, (1,), (1,)).tolist())


def test_set_errors():
    for L in (gradstep, torch):
        with pytest.raises(RuntimeError, match="Could not set tensor of type double to a tensor "
                                               "of type float"):
            L.tensor([1.0]).set_(L.arange(3, dtype=L.float64))
        with pytest.raises(RuntimeError, match="Expected a Storage of type float or an "
                                               "UntypedStorage, but got type Double"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                L.tensor([1.0]).set_(L.arange(3, dtype=L.float64).storage())
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            L.tensor([1.0], requires_grad=True).set_(L.zeros(3))
    with pytest.raises(RuntimeError, match="out of bounds for storage"):  # torch grows it
        gradstep.tensor([1.0]).set_(gradstep.arange(6.0).untyped_storage(), 5, (2,), (1,))
    with gradstep.no_grad():
        x = gradstep.ones(3, requires_grad=True).set_(gradstep.zeros(2))
    assert x.requires_grad and x.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- resize family
RESIZES = [
    lambda L: (lambda a: (a.resize_(3, 2), a.stride()))(L.arange(6.0).view(2, 3).t()),
    lambda L: (lambda a: (a.resize_(2, 2), a.stride()))(L.arange(6.0).view(2, 3).t()),
    lambda L: (lambda w: (w.resize_(2, 2), w.storage_offset(), w.stride()))(L.arange(6.0)[1:]),
    lambda L: (lambda w: (w.resize_(3)[:2], w.storage_offset(), w.untyped_storage().nbytes()))(
        L.arange(6.0)[4:]),
    lambda L: (lambda a: (a.resize_((2, 2)), a.resize_([3]), a.resize_(L.Size([1, 2]))))(
        L.arange(6.0)),
    lambda L: L.zeros(2, 3, 4, 5).resize_(2, 3, 4, 6, memory_format=L.channels_last).stride(),
    lambda L: (lambda a: (a.resize_as_(L.zeros(2, 1)), a.shape))(L.arange(4)),
    lambda L: (lambda a: (a.resize_(0), a.resize_(2)[:0], a._version))(L.arange(3.0)),
    lambda L: (lambda a, v: (v.resize_(2), a._version, v._version))(*(lambda a: (a, a[1:]))(
        L.arange(6.0))),
]


def _plain(x):
    if isinstance(x, (gradstep.Tensor, torch.Tensor)):
        return ("tensor", x.tolist(), tuple(x.shape))
    if isinstance(x, tuple):
        return tuple(_plain(v) for v in x)
    return x


@pytest.mark.parametrize("case", range(len(RESIZES)))
def test_resize_matches_torch(case):
    _same(lambda L: _plain(RESIZES[case](L)))


def test_resize_grows_with_zeros_and_keeps_the_prefix():
    a = gradstep.arange(4.0)
    a.resize_(2, 3)
    np.testing.assert_array_equal(a.numpy(), [[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])


def test_resize_errors():
    for L in (gradstep, torch):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            L.zeros(2, requires_grad=True).resize_(3)
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            with L.no_grad():
                L.zeros(2, requires_grad=True).resize_(2)
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            L.zeros(2, requires_grad=True).resize_as_(L.zeros(3))
        with pytest.raises(TypeError, match="must be tuple of ints"):
            L.zeros(2).resize_(2.0)
        with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
            L.zeros(2, 3).resize_(2, 3, memory_format=L.channels_last)
    with pytest.raises(RuntimeError):
        gradstep.zeros(2).resize_(-1)


def test_resize_out_of_place_is_deprecated_and_differentiable():
    for L in (gradstep, torch):
        x = L.arange(6.0, requires_grad=True)
        with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
            y = (x * 1).resize(2, 3)
        assert tuple(y.shape) == (2, 3) and "ResizeBackward" in y.grad_fn.name()
        (y * L.arange(6.0).view(2, 3)).sum().backward()
        assert x.grad.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
            assert tuple(L.zeros(4).resize_as(L.zeros(2, 2)).shape) == (2, 2)
        with pytest.raises(RuntimeError, match=r"requested resize to 2x2 \(4 elements in total\), "
                                               r"but the given tensor has a size of 6"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                L.arange(6.0).resize(2, 2)


# ---------------------------------------------------------------- shared memory
def test_share_memory_flags_and_views():
    t = gradstep.arange(4.0)
    v = t[1:]
    assert not t.is_shared() and not v.is_shared()
    assert v.share_memory_() is v
    assert t.is_shared() and v.is_shared() and t.untyped_storage().is_shared()
    assert v.storage_offset() == 1 and v.untyped_storage().data_ptr() == t.data_ptr()
    v[0] = 100.0
    assert t.tolist() == [0.0, 100.0, 2.0, 3.0]
    assert t.share_memory_() is t  # already shared: nothing moves
    p = gradstep.nn.Parameter(gradstep.ones(3))
    p.share_memory_()
    assert p.is_shared() and p.requires_grad and isinstance(p, gradstep.nn.Parameter)
    s = gradstep.UntypedStorage(4)
    assert not s.is_shared() and s.share_memory_().is_shared()
    assert torch.ones(2).share_memory_().is_shared()  # the same answers as torch


def _child_writes(t):
    t[1] = 7.0
    t.add_(1.0)


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_shared_memory_is_seen_by_forked_children():
    t = gradstep.zeros(3)
    t.share_memory_()
    proc = mp.get_context("fork").Process(target=_child_writes, args=(t,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert t.tolist() == [1.0, 8.0, 1.0]
    plain = gradstep.zeros(3)  # not shared: the child writes to its own copy
    proc = mp.get_context("fork").Process(target=_child_writes, args=(plain,))
    proc.start()
    proc.join(60)
    assert plain.tolist() == [0.0, 0.0, 0.0]


def _hogwild_train(model, x, y):
    opt = gradstep.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for _ in range(20):
        opt.zero_grad()
        gradstep.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    assert all(p.is_shared() for p in model.parameters())


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
def test_module_share_memory_hogwild_children_train_the_parents_weights(start_method):
    """pytorch/examples' mnist_hogwild: model.share_memory(), then processes step their own
    SGD on it; the parent's weights are the trained ones. Forked children share the pages;
    spawned ones receive the memory's file descriptor with the pickled model, as with torch.
    The optimizer must keep shared parameters where they are (no flat buffer of its own)."""
    rng = np.random.default_rng(0)
    x = gradstep.tensor(rng.standard_normal((64, 4)).astype(np.float32))
    y = x.sum(1, keepdim=True)
    model = gradstep.nn.Linear(4, 1)
    assert model.share_memory() is model
    assert all(p.is_shared() for p in model.parameters())
    before = gradstep.nn.functional.mse_loss(model(x), y).item()
    child = mp.get_context(start_method).Process(target=_hogwild_train, args=(model, x, y))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    after = gradstep.nn.functional.mse_loss(model(x), y).item()
    assert after < 0.01 * before


def _fill_from_queue(inbox, outbox):
    t = inbox.get()
    t[1:] = 7.0
    outbox.put(t.is_shared())


def test_shared_tensor_through_a_queue_is_the_same_memory_and_plain_pickle_copies():
    import pickle

    t = gradstep.zeros(4).share_memory_()
    ctx = mp.get_context("spawn")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    child = ctx.Process(target=_fill_from_queue, args=(inbox, outbox))
    child.start()
    inbox.put(t)
    assert outbox.get(timeout=120) is True
    child.join(120)
    assert child.exitcode == 0 and t.tolist() == [0.0, 7.0, 7.0, 7.0]
    copy = pickle.loads(pickle.dumps(t))  # an ordinary pickle holds the values
    assert copy.tolist() == t.tolist() and not copy.is_shared()


def test_optimizer_steps_shared_parameters_in_place_with_the_flat_paths_numbers():
    rng = np.random.default_rng(1)
    w0, g = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 3))
    results = []
    for share in (False, True):
        w = gradstep.nn.Parameter(gradstep.tensor(w0.copy()))
        if share:
            w.share_memory_()
        storage = w.untyped_storage().data_ptr()
        opt = gradstep.optim.Adam([w], lr=0.1)
        for _ in range(3):
            w.grad = gradstep.tensor(g.astype(np.float32))
            opt.step()
        assert w.is_shared() == share
        if share:
            assert w.untyped_storage().data_ptr() == storage  # updated where it is
        results.append(w.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])


# ---------------------------------------------------------------- UntypedStorage.from_file
# safetensors' load_file maps a checkpoint with from_file, then reads slices with asarray
def test_from_file_private_mapping_reads_the_bytes_and_leaves_the_file(tmp_path):
    path = tmp_path / "eight.bin"
    path.write_bytes(bytes(range(10, 18)))

    def read(lib):
        s = lib.UntypedStorage.from_file(str(path), shared=False, nbytes=8)
        s[0] = 99  # private: the file keeps its bytes
        t = lib.asarray(s[2:6], dtype=lib.uint8).view(dtype=lib.int16)
        return s.size(), s[0], t.tolist(), lib.UntypedStorage.from_file(str(path), False, 0).size()

    assert _same(read)[2] == [13 * 256 + 12, 15 * 256 + 14]
    assert path.read_bytes() == bytes(range(10, 18))


def test_from_file_shared_mapping_creates_and_writes_the_file(tmp_path):
    def write(lib):
        path = tmp_path / f"new_{lib.__name__}.bin"
        s = lib.UntypedStorage.from_file(str(path), shared=True, nbytes=4)
        s[1] = 65
        del s
        return path.read_bytes()

    assert _same(write) == b"\x00A\x00\x00"


def test_from_file_errors_match_torch(tmp_path):
    path = tmp_path / "eight.bin"
    path.write_bytes(b"abcdefgh")

    def error(lib, args):
        try:
            lib.UntypedStorage.from_file(*args)
        except (RuntimeError, TypeError) as e:
            return type(e), str(e)
        return None

    for args in ((str(path), False, 100), (str(tmp_path / "missing.bin"), False, 4),
                 (str(path), False, -1), (path, False, 2)):
        ours, theirs = _both(lambda L, a=args: error(L, a))
        assert theirs is not None and ours == theirs, args

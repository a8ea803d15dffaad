"""Hostile complex storages, sparse tensors and layouts: each is refused with a CheckpointError,
nothing is read out of bounds or allocated past what the file holds, and where torch (with its
sparse invariant checks on) reads the same file, it refuses it too."""

import io

import numpy as np
import pytest
import torch

import gradstep as gs
from gradstep.serialization import CheckpointError, UnsafeCheckpointError

from .craft import Pk, assert_training_works, gs_file, torch_zip

_I64 = 2**63 - 1


@pytest.fixture(autouse=True)
def _still_trains():
    yield
    assert_training_works()


def _longs(*values):
    return np.array(values, dtype=np.int64).tobytes()


def _sparse_pkl(idx_view=(2, 2), vals_view=(2,), size=(3, 3), coalesced=False, layout="torch.sparse_coo",
                idx_numel=4, vals_numel=2, idx_storage="LongStorage", idx_stride=None, vals_stride=None,
                extra=()):
    """``_rebuild_sparse_tensor(_get_layout(layout), (indices, values, size, coalesced, *extra))``
    with indices from storage '0' and values from storage '1'."""
    idx_stride = idx_stride or tuple(int(np.prod(idx_view[i + 1:])) for i in range(len(idx_view)))
    vals_stride = vals_stride or tuple(int(np.prod(vals_view[i + 1:])) for i in range(len(vals_view)))
    pk = Pk().glob("torch._utils", "_rebuild_sparse_tensor")
    pk.glob("torch.serialization", "_get_layout").val((layout,)).reduce()
    pk.mark().tensor("0", idx_storage, idx_numel, 0, idx_view, idx_stride)
    pk.tensor("1", "FloatStorage", vals_numel, 0, vals_view, vals_stride)
    pk.val(size)
    for v in (coalesced, *extra):
        pk.val(v)
    return pk.tuple().op(b"\x86").reduce().bytes()


def _sparse_file(indices=(0, 1, 2, 0), values=(1.0, 2.0), idx_dtype=np.int64, **kw):
    records = {"0": np.array(indices, dtype=idx_dtype).tobytes(), "1": np.array(values, np.float32).tobytes()}
    return torch_zip(_sparse_pkl(**kw), records)


def _torch_refuses(data):
    try:
        with torch.sparse.check_sparse_tensor_invariants():
            torch.load(io.BytesIO(data), weights_only=True)
    except Exception:  # noqa: BLE001 - any refusal counts
        return True
    return False


def test_the_crafted_sparse_file_is_valid():
    data = _sparse_file()
    mine, theirs = gs.load(io.BytesIO(data)), torch.load(io.BytesIO(data), weights_only=True)
    assert mine._indices().tolist() == theirs._indices().tolist() == [[0, 1], [2, 0]]
    assert mine._values().tolist() == [1.0, 2.0] and mine.shape == (3, 3) and not mine.is_coalesced()


@pytest.mark.parametrize("kw,match", [
    (dict(indices=(0, 3, 2, 0)), "for dim 0, size is 3 but found index 3"),
    (dict(indices=(0, 1, 2, 2**40)), "for dim 1, size is 3 but found index 1099511627776"),
    (dict(indices=(0, -1, 2, 0)), "found negative index -1 for dim 0"),
    (dict(indices=(0, 1, -(2**63), 0)), "found negative index"),
    (dict(size=(3, -3)), "negative dimension"),
    (dict(size=(3,)), "len\\(size\\) == sparse_dim \\+ dense_dim"),
    (dict(size=(3, 3, 1)), "len\\(size\\) == sparse_dim \\+ dense_dim"),
    (dict(size=(2**62, 2**62)), "numel: integer multiplication overflow"),
    (dict(size=(2**63, 3)), "out of range"),
    (dict(size=(float("nan"), 3)), "must be an int"),
    (dict(size=(3.0, 3)), "must be an int"),
    (dict(size=None), "must be a tuple of ints"),
    (dict(indices=(1, 1, 2, 0), coalesced=True), "cannot set is_coalesced to true"),
    (dict(indices=(1, 0, 0, 2), coalesced=True), "cannot set is_coalesced to true"),
    (dict(indices=(1, 1, 2, 2), coalesced=True), "cannot set is_coalesced to true"),  # a duplicate
    (dict(idx_view=(4,), idx_numel=4), "indices must be sparse_dim x nnz"),
    (dict(idx_view=(1, 2, 2), idx_numel=4), "indices must be sparse_dim x nnz"),
    (dict(vals_view=(3,), vals_numel=3, values=(1.0, 2.0, 3.0)), "same nnz"),
    (dict(vals_view=(), vals_numel=1, values=(1.0,), size=(3, 3)), "at least one dimension"),
    (dict(vals_view=(2, 1), vals_numel=2, size=(3, 3, 2)), "values has incorrect size"),
    (dict(idx_view=(2, 3), idx_numel=4), "need 6 elements, storage '0' holds 4"),  # indices shorter than nnz
    (dict(vals_view=(3,), vals_numel=2, idx_view=(2, 3), idx_numel=6, indices=(0,) * 6), "need 3 elements"),
])
def test_bad_sparse_tensors_are_refused_like_torch(kw, match):
    data = _sparse_file(**kw)
    with pytest.raises(CheckpointError, match=match):
        gs.load(io.BytesIO(data))
    assert _torch_refuses(data)


@pytest.mark.parametrize("idx_dtype,storage", [(np.int32, "IntStorage"), (np.float32, "FloatStorage"),
                                               (np.uint8, "ByteStorage")])
def test_indices_of_another_dtype_are_refused(idx_dtype, storage):
    """torch.save writes int64 indices; torch's loader converts others, gradstep refuses them."""
    with pytest.raises(CheckpointError, match="must be an int64 tensor"):
        gs.load(io.BytesIO(_sparse_file(idx_dtype=idx_dtype, idx_storage=storage)))


@pytest.mark.parametrize("layout,match", [
    ("torch.sparse_csr", "layout torch.sparse_csr, which gradstep does not support"),
    ("torch.sparse_bsc", "layout torch.sparse_bsc"),
    ("torch.strided", "layout torch.strided"),
    ("torch.jagged", "layout torch.jagged"),
    ("torch.foo", "unknown layout"),
    ("sparse_coo", "unknown layout"),
    ("", "unknown layout"),
])
def test_other_layouts_are_refused_clearly(layout, match):
    data = _sparse_file(layout=layout)
    with pytest.raises(CheckpointError, match=match):
        gs.load(io.BytesIO(data))
    assert _torch_refuses(data)


def test_layout_values_load_as_torch_loads_them():
    for name in ("strided", "sparse_coo", "sparse_csr", "_mkldnn", "jagged"):
        data = torch_zip(Pk().glob("torch.serialization", "_get_layout").val((f"torch.{name}",)).reduce().bytes())
        assert gs.load(io.BytesIO(data)) is getattr(gs._layout, name)
        assert torch.load(io.BytesIO(data), weights_only=True) is getattr(torch, name)


@pytest.mark.parametrize("args", [(), (1,), ("torch.strided", "x"), (b"torch.strided",)])
def test_get_layout_takes_one_string(args):
    data = torch_zip(Pk().glob("torch.serialization", "_get_layout").val(args).reduce().bytes())
    with pytest.raises(CheckpointError, match="_get_layout takes one string"):
        gs.load(io.BytesIO(data))


def test_layouts_are_not_mutable_through_build():
    pkl = Pk().glob("torch.serialization", "_get_layout").val(("torch.strided",)).reduce()
    pkl.val({"_name": "sparse_coo"}).build().bytes()
    with pytest.raises(UnsafeCheckpointError, match="BUILD"):
        gs.load(io.BytesIO(torch_zip(pkl.bytes())))
    assert repr(gs.strided).endswith("strided")


@pytest.mark.parametrize("data_pkl,match", [
    (lambda pk: pk.val((1, 2, 3)), "indices must be a tensor"),
    (lambda pk: pk.val(()), "got 0 items"),
    (lambda pk: pk.val((1, 2, 3, 4, 5)), "got 5 items"),
    (lambda pk: pk.val([1, 2, 3]), "takes a layout and a tuple"),
])
def test_sparse_data_must_be_a_tuple_of_parts(data_pkl, match):
    pk = Pk().glob("torch._utils", "_rebuild_sparse_tensor")
    pk.glob("torch.serialization", "_get_layout").val(("torch.sparse_coo",)).reduce()
    data = torch_zip(data_pkl(pk).op(b"\x86").reduce().bytes())
    with pytest.raises(CheckpointError, match=match):
        gs.load(io.BytesIO(data))


def test_layout_argument_must_be_a_layout():
    data = torch_zip(Pk().glob("torch._utils", "_rebuild_sparse_tensor").val(("torch.sparse_coo", ())).reduce()
                     .bytes())
    with pytest.raises(CheckpointError, match="takes a layout and a tuple"):
        gs.load(io.BytesIO(data))


@pytest.mark.parametrize("coalesced", [1, 0, "yes", (True,)])
def test_is_coalesced_must_be_a_bool_or_none(coalesced):
    with pytest.raises(CheckpointError, match="is_coalesced must be a bool or None"):
        gs.load(io.BytesIO(_sparse_file(coalesced=coalesced)))


def test_is_coalesced_none_follows_torch():
    assert not gs.load(io.BytesIO(_sparse_file(coalesced=None))).is_coalesced()
    one = _sparse_file(coalesced=None, idx_view=(2, 1), idx_stride=(2, 1), vals_view=(1,))
    assert gs.load(io.BytesIO(one)).is_coalesced() and torch.load(io.BytesIO(one)).is_coalesced()


def _nested(where):
    """A sparse tensor whose indices (where=0) or values (where=1) are themselves a sparse tensor."""
    inner = _sparse_pkl()[2:-1]  # the inner sparse tensor's opcodes, without PROTO and STOP
    pk = Pk().glob("torch._utils", "_rebuild_sparse_tensor")
    pk.glob("torch.serialization", "_get_layout").val(("torch.sparse_coo",)).reduce().mark()
    if where == 0:
        pk.op(inner).tensor("1", "FloatStorage", 2, 0, (2,), (1,))
    else:
        pk.tensor("0", "LongStorage", 4, 0, (2, 2), (2, 1)).op(inner)
    pk.val((3, 3)).val(False).tuple().op(b"\x86").reduce()
    return torch_zip(pk.bytes(), {"0": _longs(0, 1, 2, 0), "1": np.ones(2, np.float32).tobytes()})


@pytest.mark.parametrize("where,what", [(0, "indices"), (1, "values")])
def test_sparse_in_sparse_is_refused(where, what):
    data = _nested(where)
    with pytest.raises(CheckpointError, match=f"expected {what} to be a dense tensor"):
        gs.load(io.BytesIO(data))
    assert _torch_refuses(data)


def test_stride_0_indices_cannot_claim_more_than_the_file_holds():
    """Indices (2, 2**40) as a stride-0 view of 2 stored longs: refused by the memory bound at once,
    not checked element by element (torch would read 2**41 indices)."""
    data = _sparse_file(indices=(0, 0), idx_view=(2, 2**40), idx_stride=(1, 0), idx_numel=2,
                        vals_view=(2**40,), vals_stride=(0,), values=(1.0,), vals_numel=1, size=(3, 3))
    with pytest.raises(CheckpointError, match="memory bound"):
        gs.load(io.BytesIO(data))


def test_a_huge_sparse_size_with_one_entry_costs_one_entry():
    data = _sparse_file(indices=(2**31 - 1, 7), idx_view=(2, 1), idx_stride=(1, 1), idx_numel=2, vals_view=(1,),
                        values=(5.0,), vals_numel=1, size=(2**31, 2**31))
    t = gs.load(io.BytesIO(data))
    assert t.shape == (2**31, 2**31) and t._nnz() == 1 and t.is_coalesced() is False
    assert t._values().tolist() == [5.0]


# ---------------------------------------------------------------- complex storages
def _complex_file(stype="ComplexFloatStorage", numel=2, raw=None, size=(2,), stride=(1,), offset=0, rg=False):
    raw = np.arange(2 * numel, dtype=np.float32).tobytes() if raw is None else raw
    return torch_zip(Pk().tensor("0", stype, numel, offset, size, stride, rg).bytes(), {"0": raw})


def test_crafted_complex_file_is_valid():
    t = gs.load(io.BytesIO(_complex_file(rg=True)))
    assert t.dtype is gs.complex64 and t.tolist() == [1j, 2 + 3j] and t.requires_grad


@pytest.mark.parametrize("kw,match", [
    (dict(raw=np.arange(3, dtype=np.float32).tobytes()), "is 12 bytes, the pickle says 16"),  # truncated
    (dict(raw=b"\0" * 15), "is 15 bytes, the pickle says 16"),  # odd byte count
    (dict(raw=b"\0" * 17), "is 17 bytes"),
    (dict(raw=b""), "is 0 bytes"),
    (dict(stype="ComplexDoubleStorage", raw=b"\0" * 24), "is 24 bytes, the pickle says 32"),
    (dict(stype="ComplexDoubleStorage", numel=2**60, raw=b"\0" * 16), "out of range"),  # numel * 16 past int64
    (dict(size=(3,)), "need 3 elements, storage '0' holds 2"),
    (dict(offset=2, size=(1,)), "need 3 elements"),
    (dict(size=(2, 2), stride=(1, -1)), "negative stride"),
])
def test_bad_complex_storages_are_refused(kw, match):
    data = _complex_file(**kw)
    with pytest.raises(CheckpointError, match=match):
        gs.load(io.BytesIO(data))
    assert _torch_refuses(data)


@pytest.mark.parametrize("name", ["complex32", "chalf", "ComplexHalfStorage"])
def test_complex32_is_still_refused_clearly(name):
    data = torch_zip(Pk().glob("torch", name).bytes())
    with pytest.raises(CheckpointError, match="gradstep lacks|not supported|refusing"):
        gs.load(io.BytesIO(data))


def test_complex_dtypes_load_as_values():
    data = torch_zip(Pk().glob("torch", "complex64").glob("torch", "complex128").op(b"\x86").bytes())
    assert gs.load(io.BytesIO(data)) == (gs.complex64, gs.complex128)


# ---------------------------------------------------------------- the native format
_IDX = np.array([[1, 0], [2, 0]], np.int64).tobytes()  # 32 bytes at 0
_VALS = np.array([1.0, 2.0], np.float32).tobytes()  # 8 bytes at 32
_BLOB = _IDX + _VALS


def _gs_sparse(**kw):
    entry = {"t": "sparse", "indices": {"t": "ndarray", "dtype": "<i8", "shape": [2, 2], "at": 0, "n": 32},
             "values": {"t": "tensor", "dtype": "float32", "shape": [2], "at": 32, "n": 8,
                        "requires_grad": False, "param": False, "id": 1},
             "size": [3, 3], "coalesced": False, "id": 0}
    entry.update(kw)
    return {k: v for k, v in entry.items() if v is not ...}


def _gs_load(header, blob=_BLOB):
    return gs.load(io.BytesIO(gs_file(header, blob)))


def test_crafted_native_sparse_entry_loads():
    t = _gs_load(_gs_sparse())
    assert t._indices().tolist() == [[1, 0], [2, 0]] and t._values().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("kw,match", [
    (dict(size=[1, 3]), "size is 1 but found index 1"),
    (dict(size=[3, -1]), "out of range|negative dimension"),
    (dict(size=[2**62, 2**62]), "numel: integer multiplication overflow"),
    (dict(size=[3, 3.5]), "must be an int"),
    (dict(size="3x3"), "'size' must be list"),
    (dict(coalesced=True), "cannot set is_coalesced to true"),
    (dict(coalesced=None), "'coalesced' must be bool"),
    (dict(id=1), "id 1 appears twice"),
    (dict(id=...), "no 'id' field"),
    (dict(indices={"t": "ndarray", "dtype": "<i4", "shape": [2, 4], "at": 0, "n": 32}), "int64"),
    (dict(indices={"t": "ndarray", "dtype": "<f8", "shape": [2, 2], "at": 0, "n": 32}), "int64"),
    (dict(indices={"t": "ndarray", "dtype": "<i8", "shape": [4], "at": 0, "n": 32}), "sparse_dim x nnz"),
    (dict(indices={"t": "ndarray", "dtype": "<i8", "shape": [2, 3], "at": 0, "n": 48}), "outside"),
    (dict(indices={"t": "ref", "v": 1}), "not defined before"),
    (dict(values={"t": "ref", "v": 0}), "not defined before"),
    (dict(values={"t": "ndarray", "dtype": "<f4", "shape": [2], "at": 32, "n": 8}), "dense tensor entry"),
    (dict(values=7), "must be dict"),
])
def test_bad_native_sparse_entries_are_refused(kw, match):
    with pytest.raises(CheckpointError, match=match):
        _gs_load(_gs_sparse(**kw))


def test_native_sparse_in_sparse_is_refused():
    header = {"t": "list", "v": [_gs_sparse(), _gs_sparse(id=2, values={"t": "ref", "v": 0})]}
    with pytest.raises(CheckpointError, match="dense tensor entry"):
        _gs_load(header, _BLOB * 2)

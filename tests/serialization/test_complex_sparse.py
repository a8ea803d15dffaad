"""Complex and sparse COO tensors and layouts in checkpoints, both ways with real torch.

Values are compared exactly: both sides hold the same stored numbers, nothing is computed.
"""

import io
import warnings

import numpy as np
import pytest
import torch

import gradstep as gs

from .craft import gs_saved, torch_saved


def _torch_load(data):
    with torch.sparse.check_sparse_tensor_invariants():  # torch validates what it loads, as gradstep does
        return torch.load(io.BytesIO(data), weights_only=True)


def _same_dense(mine, theirs):
    assert str(mine.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert tuple(mine.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(mine.detach().numpy(), theirs.detach().numpy())
    assert mine.requires_grad == theirs.requires_grad
    assert (type(mine).__name__ == "Parameter") == (type(theirs).__name__ == "Parameter")


def _same_sparse(mine, theirs):
    assert mine.layout is gs.sparse_coo and theirs.layout is torch.sparse_coo
    assert tuple(mine.shape) == tuple(theirs.shape)
    assert mine.is_coalesced() == theirs.is_coalesced()
    assert mine.requires_grad == theirs.requires_grad
    np.testing.assert_array_equal(mine._indices().numpy(), theirs._indices().numpy())
    _same_dense(mine._values().detach(), theirs._values().detach())


def _same(mine, theirs):
    if isinstance(theirs, dict):
        assert list(mine) == list(theirs)
        for k in theirs:
            _same(mine[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            _same(a, b)
    elif isinstance(theirs, torch.Tensor) and theirs.layout is torch.sparse_coo:
        _same_sparse(mine, theirs)
    elif isinstance(theirs, torch.Tensor):
        _same_dense(mine, theirs)
    elif isinstance(theirs, torch.layout):
        assert mine is getattr(gs, str(theirs).split(".")[-1])
    else:
        assert mine == theirs


# ---------------------------------------------------------------- complex
def _complex_sample():
    torch.manual_seed(0)
    base = torch.randn(4, 6, dtype=torch.complex64)
    return {"plain": base, "view": base[1:, ::2], "t": base.t(), "offset": base.reshape(-1)[5:11],
            "double": torch.randn(3, dtype=torch.complex128) * 1e300,
            "special": torch.tensor([complex(float("inf"), float("nan")), -0.0 + 0j], dtype=torch.complex128),
            "param": torch.nn.Parameter(torch.randn(2, 2, dtype=torch.complex64)),
            "frozen": torch.nn.Parameter(torch.randn(2, dtype=torch.complex128), requires_grad=False),
            "grad": torch.randn(3, dtype=torch.complex64).requires_grad_(), "scalar": 1 + 2j}


def test_torch_complex_tensors_load_equal():
    data = torch_saved(_complex_sample())
    mine, theirs = gs.load(io.BytesIO(data)), _torch_load(data)
    _same(mine, theirs)
    assert mine["view"]._data.base is not None  # a view of the loaded storage, as torch's


def test_torch_complex_state_dicts_load_equal():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2, dtype=torch.complex64)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(4, 3, dtype=torch.complex64)).abs().sum().backward()
    opt.step()
    state = {"model": model.state_dict(), "optim": opt.state_dict()}
    assert state["optim"]["state"][0]["exp_avg"].dtype == torch.complex64  # Adam keeps complex moments
    data = torch_saved(state)
    _same(gs.load(io.BytesIO(data)), _torch_load(data))


def test_torch_big_endian_complex_storages_are_byteswapped():
    data = _with_big_endian(torch_saved(torch.tensor([1.5 - 2j, 3 + 0.25j], dtype=torch.complex128)))
    mine, theirs = gs.load(io.BytesIO(data)), _torch_load(data)
    _same(mine, theirs)
    assert mine.tolist() == [1.5 - 2j, 3 + 0.25j]


def _with_big_endian(data):
    """``data`` as a big-endian machine would write it: byteorder 'big', each 8-byte half swapped."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for info in src.infolist():
            raw = src.read(info)
            if info.filename.endswith("/byteorder"):
                raw = b"big"
            elif "/data/" in info.filename and not info.filename.endswith("serialization_id"):
                raw = np.frombuffer(raw, "<f8").astype(">f8").tobytes()
            zf.writestr(info.filename, raw)
    return out.getvalue()


def test_gradstep_complex_tensors_load_in_torch():
    gs.manual_seed(0)
    base = gs.randn(4, 6, dtype=gs.complex64)
    obj = {"plain": base, "view": base[1:, ::2], "param": gs.nn.Parameter(gs.randn(3, dtype=gs.complex128)),
           "grad": gs.randn(2, dtype=gs.complex64).requires_grad_(), "scalar": 2 - 1j}
    theirs = _torch_load(gs_saved(obj))
    _same(obj, theirs)


def test_gradstep_complex_optimizer_state_loads_in_torch():
    gs.manual_seed(0)
    w = gs.nn.Parameter(gs.randn(3, dtype=gs.complex64))
    state = {"state": {0: {"step": gs.tensor(1.0), "exp_avg": w.detach() * 0.1,
                           "exp_avg_sq": gs.zeros(3, dtype=gs.float32)}},
             "param_groups": [{"lr": 0.1, "params": [0]}], "w": w}
    _same(state, _torch_load(gs_saved(state)))


def test_native_format_keeps_complex_tensors():
    gs.manual_seed(0)
    obj = {"z": gs.randn(3, 2, dtype=gs.complex128), "p": gs.nn.Parameter(gs.randn(2, dtype=gs.complex64)),
           "g": gs.randn(2, dtype=gs.complex64).requires_grad_()}
    back = gs.load(io.BytesIO(gs_saved(obj, "gradstep")))
    for k in obj:
        assert back[k].dtype is obj[k].dtype and back[k].requires_grad == obj[k].requires_grad
        assert type(back[k]) is type(obj[k])
        np.testing.assert_array_equal(back[k].detach().numpy(), obj[k].detach().numpy())


# ---------------------------------------------------------------- sparse
def _sparse_sample():
    torch.manual_seed(0)
    idx = torch.tensor([[2, 0, 1, 2], [1, 3, 0, 1]])
    uncoalesced = torch.sparse_coo_tensor(idx, torch.randn(4), (3, 4))
    leaf = torch.sparse_coo_tensor(idx, torch.randn(4, dtype=torch.float64), (3, 4)).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"uncoalesced": uncoalesced, "coalesced": uncoalesced.coalesce(), "leaf": leaf,
                "hybrid": torch.sparse_coo_tensor(idx[:1], torch.randn(4, 2), (3, 2)),
                "empty": torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (5, 5)),
                "one": torch.sparse_coo_tensor(torch.tensor([[4]]), torch.tensor([1.0]), (5,)),
                "big": torch.sparse_coo_tensor(torch.tensor([[2**31 - 1], [5]]), torch.tensor([2.0]),
                                               (2**31, 2**31)),
                "dense_dims": torch.sparse_coo_tensor(torch.zeros(0, 1, dtype=torch.long), torch.ones(1, 3), (3,)),
                "layouts": [torch.strided, torch.sparse_coo, torch.sparse_csr]}


def test_torch_sparse_tensors_load_equal():
    data = torch_saved(_sparse_sample())
    mine, theirs = gs.load(io.BytesIO(data)), _torch_load(data)
    _same(mine, theirs)
    assert mine["big"].shape == (2**31, 2**31) and mine["big"]._nnz() == 1  # never densified
    assert not mine["leaf"].requires_grad  # torch writes a sparse tensor's values without requires_grad


def test_shared_sparse_tensor_loads_as_one_object():
    s = torch.sparse_coo_tensor(torch.tensor([[0, 1]]), torch.tensor([1.0, 2.0]), (3,))
    mine = gs.load(io.BytesIO(torch_saved({"a": s, "b": s})))
    assert mine["a"] is mine["b"]
    back = _torch_load(gs_saved(mine))
    assert back["a"] is back["b"]


def test_gradstep_sparse_tensors_load_in_torch():
    idx = gs.tensor([[1, 0, 1], [2, 2, 0]])
    s = gs.sparse_coo_tensor(idx, gs.tensor([1.0, -2.0, 3.5]), (2, 3))
    obj = {"s": s, "c": s.coalesce(), "d": gs.sparse_coo_tensor(idx, gs.ones(3, 2, dtype=gs.float64), (2, 3, 2)),
           "dense": s.to_dense(), "layouts": (gs.strided, gs.sparse_coo),
           "big": gs.sparse_coo_tensor(gs.tensor([[3], [2**31 - 2]]), gs.tensor([1.0]), (2**31, 2**31))}
    theirs = _torch_load(gs_saved(obj))
    _same(obj, theirs)
    np.testing.assert_array_equal(theirs["c"].to_dense().numpy(), s.to_dense().numpy())
    again = gs.load(io.BytesIO(torch_saved(theirs)))  # and back: what torch re-saves loads equal
    _same(again, theirs)


def test_native_format_keeps_sparse_tensors():
    s = gs.sparse_coo_tensor(gs.tensor([[1, 0], [2, 2]]), gs.tensor([1.0, 2.0]), (2, 3), requires_grad=True)
    obj = {"s": s, "again": s, "c": s.detach().coalesce(), "layout": gs.sparse_coo}
    with pytest.raises(TypeError, match="layout"):
        gs.save(obj, io.BytesIO(), format="gradstep")  # the native format has no layout entries
    del obj["layout"]
    back = gs.load(io.BytesIO(gs_saved(obj, "gradstep")))
    assert back["s"] is back["again"] and back["s"].requires_grad and back["s"].is_leaf
    for k in ("s", "c"):
        assert back[k].shape == obj[k].shape and back[k].is_coalesced() == obj[k].is_coalesced()
        np.testing.assert_array_equal(back[k]._indices().numpy(), obj[k]._indices().numpy())
        np.testing.assert_array_equal(back[k]._values().detach().numpy(), obj[k]._values().detach().numpy())
    back["s"].to_dense().sum().backward()  # the loaded leaf trains
    assert back["s"].grad is not None


def test_sparse_parameter_is_refused_clearly():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = torch.nn.Parameter(torch.sparse_coo_tensor(torch.tensor([[0]]), torch.tensor([1.0]), (2,)))
    data = torch_saved(p)
    assert _torch_load(data).layout is torch.sparse_coo  # torch reads it; gradstep has no sparse Parameter
    with pytest.raises(gs.serialization.CheckpointError, match="sparse nn.Parameter"):
        gs.load(io.BytesIO(data))

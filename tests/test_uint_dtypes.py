"""torch's limited dtypes (uint16/32/64, float8): ~150 ops probed against torch 2.13, plus
creation, conversion, promotion, printing, checkpoints and collate."""

import io
import math

import numpy as np
import pytest
import torch

import gradstep

LIMITED = ["uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
           "float8_e5m2fnuz"]
# outcomes gradstep does not match yet (each asserted still different)
KNOWN = {
    ("float8", "not"): "gradstep's ~ message for floating tensors is its own (all float dtypes)",
    ("float8", "mm"): "a 2-d float8 matmul gives float32, torch's is float8",
    ("float8_e5m2", "diag"): "NumPy's as_strided cannot take ml_dtypes' float8_e5m2 (kind 'f')",
    ("float8_e5m2", "unfold"): "NumPy's as_strided cannot take ml_dtypes' float8_e5m2 (kind 'f')",
}


PROBE_SOURCE = r'''
def cases(torch, dt):
    F = torch.nn.functional
    if dt.is_floating_point:
        a = torch.tensor([3., 1, 2, 5]).to(dt)
        b = torch.tensor([1., 2, 2, 4]).to(dt)
    else:
        a = torch.tensor([3, 1, 2, 5], dtype=dt)
        b = torch.tensor([1, 2, 2, 4], dtype=dt)
    m = a.reshape(2, 2)
    i64 = torch.tensor([1, 2, 3, 4])
    idx = torch.tensor([0, 1])
    return {
        "add": lambda: a + b, "add_s": lambda: a + 1, "radd_s": lambda: 1 + a, "sub": lambda: a - b,
        "rsub_s": lambda: 1 - a, "add_fn": lambda: torch.add(a, b), "add_": lambda: a.clone().add_(b),
        "iadd": lambda: a.clone().__iadd__(b),
        "mul": lambda: a * b, "mul_s": lambda: a * 2, "rmul_s": lambda: 2 * a, "mul_": lambda: a.clone().mul_(2),
        "div": lambda: a / b, "div_s": lambda: a / 2, "floordiv": lambda: a // b, "rem": lambda: a % b,
        "fmod": lambda: torch.fmod(a, b), "pow": lambda: a ** 2, "neg": lambda: -a, "abs": lambda: a.abs(),
        "abs_fn": lambda: torch.abs(a), "eq": lambda: a == b, "ne": lambda: a != b, "eq_s": lambda: a == 1,
        "lt": lambda: a < b, "gt": lambda: a > b, "le": lambda: a <= b, "ge": lambda: a >= b,
        "lt_s": lambda: a < 2, "gt_fn": lambda: torch.gt(a, b),
        "max": lambda: a.max(), "min": lambda: a.min(), "max_dim": lambda: a.max(0), "min_dim": lambda: a.min(0),
        "max_fn": lambda: torch.max(a), "maximum": lambda: torch.maximum(a, b), "minimum": lambda: torch.minimum(a, b),
        "argmax": lambda: a.argmax(), "argmin": lambda: a.argmin(), "amax": lambda: a.amax(),
        "sum": lambda: a.sum(), "sum_dim": lambda: a.sum(0), "sum_fn": lambda: torch.sum(a), "prod": lambda: a.prod(),
        "mean": lambda: a.mean(), "cumsum": lambda: a.cumsum(0),
        "and": lambda: a & b, "or": lambda: a | b, "xor": lambda: a ^ b, "not": lambda: ~a,
        "lshift": lambda: a << 1, "rshift": lambda: a >> 1,
        "sort": lambda: a.sort(), "sort_fn": lambda: torch.sort(a), "argsort": lambda: a.argsort(),
        "topk": lambda: a.topk(2), "unique": lambda: torch.unique(a), "unique_m": lambda: a.unique(),
        "unique_counts": lambda: torch.unique(a, return_counts=True),
        "gather": lambda: a.gather(0, idx), "index_select": lambda: a.index_select(0, idx),
        "getitem_idx": lambda: a[torch.tensor([0, 2])], "getitem_mask": lambda: a[a == a],
        "getitem_slice": lambda: a[1:3], "bincount": lambda: a.bincount(), "clamp": lambda: a.clamp(0, 2),
        "where": lambda: torch.where(a == b, a, b),
        "flip": lambda: a.flip(0), "roll": lambda: a.roll(1), "repeat": lambda: a.repeat(2),
        "cat": lambda: torch.cat([a, b]), "stack": lambda: torch.stack([a, b]), "split": lambda: a.split(2),
        "chunk": lambda: a.chunk(2), "clone": lambda: a.clone(), "copy_": lambda: a.clone().copy_(b),
        "fill_": lambda: a.clone().fill_(7), "zero_": lambda: a.clone().zero_(),
        "setitem": lambda: _setitem(a.clone()),
        "add_i64": lambda: a + i64, "mul_i64": lambda: a * i64, "eq_i64": lambda: a == i64,
        "add_f": lambda: a + 1.5, "mul_f": lambda: a * 1.5, "add_ft": lambda: a + torch.ones(4),
        "cat_i64": lambda: torch.cat([a, i64]),
        "long": lambda: a.long(), "float": lambda: a.float(), "to_u8": lambda: a.to(torch.uint8),
        "bool": lambda: a.bool(), "double": lambda: a.double(), "half": lambda: a.half(),
        "tolist": lambda: a.tolist(), "item": lambda: a[0].item(),
        "matmul": lambda: a @ b, "mm": lambda: m @ m, "sqrt": lambda: a.sqrt(), "exp": lambda: a.exp(),
        "sign": lambda: a.sign(), "nonzero": lambda: a.nonzero(), "any": lambda: a.any(), "all": lambda: a.all(),
        "count_nonzero": lambda: a.count_nonzero(), "masked_fill": lambda: a.masked_fill(a == b, 0),
        "scatter": lambda: a.clone().scatter_(0, torch.tensor([0]), b),
        "reshape": lambda: a.reshape(2, 2), "view": lambda: a.view(2, 2), "t": lambda: m.t(),
        "contig": lambda: m.t().contiguous(), "isnan": lambda: a.isnan(), "equal": lambda: torch.equal(a, b),
        "tril": lambda: m.tril(), "diag": lambda: a.diag(), "narrow": lambda: a.narrow(0, 1, 2),
        "unfold": lambda: a.unfold(0, 2, 1), "expand": lambda: a[:1].expand(3), "permute": lambda: m.permute(1, 0),
        "zeros_like": lambda: torch.zeros_like(a), "ones_like": lambda: torch.ones_like(a),
        "full_like": lambda: torch.full_like(a, 3), "zeros": lambda: torch.zeros(2, dtype=dt),
        "ones": lambda: torch.ones(2, dtype=dt), "full": lambda: torch.full((2,), 3, dtype=dt),
        "empty": lambda: torch.empty(2, dtype=dt).shape,
        "arange": lambda: torch.arange(5, dtype=dt), "tensor_list": lambda: torch.tensor([1, 2], dtype=dt),
        "as_tensor": lambda: torch.as_tensor([1, 2], dtype=dt),
        "div_floor": lambda: torch.div(a, b, rounding_mode="floor"),
        "relu": lambda: F.relu(a), "softmax": lambda: a.softmax(0), "floor": lambda: a.floor(),
        "round": lambda: a.round(), "median": lambda: a.median(), "kthvalue": lambda: a.kthvalue(1),
        "cummax": lambda: a.cummax(0), "msort": lambda: torch.msort(a), "type": lambda: a.type(),
        "str": lambda: str(a), "repr_empty": lambda: repr(a[:0]), "str_2d": lambda: str(m),
        "is_fp": lambda: a.is_floating_point(), "is_signed": lambda: a.is_signed(),
        "element_size": lambda: a.element_size(), "to_self": lambda: a.float().to(dt),
        "std": lambda: a.std(), "norm": lambda: a.norm(), "logical_and": lambda: torch.logical_and(a, b),
        "index_put": lambda: a.clone().index_put_((torch.tensor([0]),), b[:1]),
        "masked_scatter": lambda: a.clone().masked_scatter_(a == a, b),
    }


def _setitem(t):
    t[0] = 2
    t[1:3] = t[2:4].clone()
    return t

'''


def _close(a, b):
    """Floats in a result may differ by float32 rounding of libm (exp of an int: NumPy's
    float32 exp and torch's SLEEF one differ by an ulp), everything else exactly."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=2 ** -22) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def _outcome(lib, f):
    try:
        r = f()
    except Exception as e:  # noqa: BLE001 - the outcome is the exception
        return ("ERR", type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    return ("OK", _show(lib, r))


def _show(lib, r):
    if isinstance(r, lib.Tensor):
        vals = r.float().tolist() if r.dtype.is_floating_point else r.tolist()
        return (str(r.dtype).split(".")[-1], tuple(r.shape), vals)
    if isinstance(r, (tuple, list)):
        return tuple(_show(lib, x) for x in r)
    return repr(r).replace("gradstep", "torch")


def _cases():
    ns = {}
    exec(PROBE_SOURCE, ns)  # noqa: S102 - the probe's op table, shared by both libraries
    return ns["cases"]


CASES = _cases()
NAMES = list(CASES(torch, torch.uint16))


@pytest.mark.parametrize("dt", LIMITED)
def test_op_outcomes_match_torch(dt):
    """Every probed op: torch's error (type and message) or torch's dtype, shape and values."""
    family = "float8" if dt.startswith("float8") else "uint"
    t_cases, g_cases = CASES(torch, getattr(torch, dt)), CASES(gradstep, getattr(gradstep, dt))
    wrong, fixed = [], []
    for name in NAMES:
        want, got = _outcome(torch, t_cases[name]), _outcome(gradstep, g_cases[name])
        same = got[0] == want[0] and (got[1:] == want[1:] if got[0] == "ERR" else _close(got[1], want[1]))
        known = (dt, name) in KNOWN or (family, name) in KNOWN
        if not same and not known:
            wrong.append((name, got, want))
        if same and known:
            fixed.append(name)
    assert not wrong, wrong
    assert not fixed, f"now matching torch, drop from KNOWN: {fixed}"


@pytest.mark.parametrize("dt", ["uint16", "uint32", "uint64"])
def test_dtype_properties_and_iinfo(dt):
    g, t = getattr(gradstep, dt), getattr(torch, dt)
    assert repr(g) == f"gradstep.{dt}" and (g.is_signed, g.is_floating_point, g.itemsize) == (
        t.is_signed, t.is_floating_point, t.itemsize)
    gi, ti = gradstep.iinfo(g), torch.iinfo(t)
    assert (gi.bits, gi.min, gi.max, gi.dtype, repr(gi)) == (ti.bits, ti.min, ti.max, ti.dtype, repr(ti))


@pytest.mark.parametrize("a", ["uint16", "uint32", "uint64", "float8_e4m3fn"])
@pytest.mark.parametrize("b", ["bool", "uint8", "int64", "float16", "bfloat16", "float32",
                               "float64", "complex64", "uint16", "uint32", "float8_e5m2"])
def test_promote_types_matches_torch(a, b):
    def run(lib):
        try:
            return str(lib.promote_types(getattr(lib, a), getattr(lib, b))).split(".")[-1]
        except RuntimeError as e:
            return str(e)
    assert run(gradstep) == run(torch)


def test_token_loader_idioms():
    arr = np.arange(60000, 60010, dtype=np.uint16)
    t = gradstep.from_numpy(arr)
    assert t.dtype is gradstep.uint16 and t.type() == "torch.UInt16Tensor"
    assert t.long().tolist() == arr.astype(np.int64).tolist() and t.long().dtype is gradstep.int64
    assert gradstep.tensor(arr[2:5]).tolist() == [60002, 60003, 60004]
    assert gradstep.as_tensor(arr).numpy().dtype == np.uint16
    assert type(t[0].item()) is int and t[0].item() == 60000
    from gradstep.utils.data import default_collate

    batch = default_collate([arr[:3], arr[3:6]])
    assert batch.dtype is gradstep.uint16 and batch.shape == (2, 3)
    assert str(t[:2]) == "tensor([60000, 60001], dtype=gradstep.uint16)"
    big = gradstep.tensor([2**64 - 1], dtype=gradstep.uint64)
    assert big.item() == 2**64 - 1 == torch.tensor([2**64 - 1], dtype=torch.uint64).item()


@pytest.mark.parametrize("dt", LIMITED)
def test_checkpoints_both_directions(dt, tmp_path):
    src = torch.tensor([1, 2, 100, 7]).to(getattr(torch, dt))[1:]  # a view with an offset
    buf = io.BytesIO()
    torch.save({"x": src, "y": [src[:1]]}, buf)
    got = gradstep.load(io.BytesIO(buf.getvalue()))
    assert got["x"].dtype is getattr(gradstep, dt)
    assert got["x"].float().tolist() == src.float().tolist()
    out = io.BytesIO()
    gradstep.save(got, out, format="torch")
    back = torch.load(io.BytesIO(out.getvalue()))
    assert back["x"].dtype == src.dtype
    assert torch.equal(back["x"].view(torch.uint8), src.contiguous().view(torch.uint8))
    gradstep.save(got, tmp_path / "c.gs")  # gradstep's own format too
    assert gradstep.load(tmp_path / "c.gs")["y"][0].dtype is getattr(gradstep, dt)


def test_limited_dtypes_leave_hot_paths_unwrapped_until_used():
    """The refusal table is installed on first use; a fresh process that never names one of
    these dtypes keeps Tensor.__add__ unwrapped."""
    import subprocess
    import sys

    code = ("import gradstep as g; a = g.ones(2) + 1; "
            "print(getattr(g.Tensor.__add__, '_limited_guard', False), g.backend._limited_active)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_sparse_tensors_pass_the_refusal_checks():
    """Once the checks are on, ops on sparse COO tensors (whose ``_data`` raises) still run."""
    _ = gradstep.uint16  # switches the checks on
    i = gradstep.tensor([[0, 1, 1], [2, 0, 2]])
    s = gradstep.sparse_coo_tensor(i, gradstep.tensor([3.0, 4.0, 5.0]), (2, 3))
    d = gradstep.ones(3, 2)
    assert gradstep.mm(s, d).tolist() == [[3.0, 3.0], [9.0, 9.0]]
    assert (s * 2).to_dense().tolist() == [[0.0, 0.0, 6.0], [8.0, 0.0, 10.0]]

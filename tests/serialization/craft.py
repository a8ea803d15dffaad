"""Hand-built hostile checkpoints: pickles opcode by opcode, torch zips, .gs files with a valid SHA."""

import collections
import contextlib
import hashlib
import io
import json
import pickle
import pickletools
import struct
import zipfile

import numpy as np

import gradstep as gs


class Pk:
    """A protocol-2 pickle written opcode by opcode."""

    def __init__(self, proto=2):
        self.b = bytearray(b"\x80" + bytes([proto]))

    def op(self, raw):
        self.b += raw
        return self

    def glob(self, module, name):
        return self.op(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def val(self, v):
        """A plain value (ints, strs, tuples of them, ...) as pickle writes it, without memo puts."""
        body = pickletools.optimize(pickle.dumps(v, protocol=2))
        return self.op(body[2:-1])

    def mark(self):
        return self.op(b"(")

    def tuple(self):
        return self.op(b"t")

    def reduce(self):
        return self.op(b"R")

    def build(self):
        return self.op(b"b")

    def odict(self):
        return self.glob("collections", "OrderedDict").op(b")R")

    def storage(self, key="0", stype="FloatStorage", numel=4, location="cpu"):
        self.mark().val("storage").glob("torch", stype).val(key).val(location).val(numel)
        return self.tuple().op(b"Q")

    def tensor(self, key="0", stype="FloatStorage", numel=4, offset=0, size=(4,), stride=(1,), rg=False):
        self.glob("torch._utils", "_rebuild_tensor_v2").mark()
        self.storage(key, stype, numel).val(offset).val(tuple(size)).val(tuple(stride)).val(rg)
        return self.odict().tuple().reduce()

    def bytes(self):
        return bytes(self.b + b".")


def torch_zip(pkl, records=None, prefix="archive", byteorder=b"little", compress=zipfile.ZIP_STORED):
    """A zip laid out like torch.save's: ``prefix/data.pkl``, ``prefix/data/<key>``, ..."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as zf:
        zf.writestr(f"{prefix}/data.pkl", pkl)
        if byteorder is not None:
            zf.writestr(f"{prefix}/byteorder", byteorder)
        for key, raw in (records or {}).items():
            zf.writestr(f"{prefix}/data/{key}", raw)
        zf.writestr(f"{prefix}/version", "3\n")
    return buf.getvalue()


def float_records(n=4, key="0"):
    return {key: np.arange(n, dtype=np.float32).tobytes()}


def gs_file(header, blob=b"", version=1, hlen=None):
    """A .gs file whose SHA-256 is right, so the header checks are what decides."""
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    body = b"GRADSTEP" + struct.pack("<IQ", version, len(raw) if hlen is None else hlen) + raw + blob
    return body + hashlib.sha256(body).digest()


def state_dict_sample():
    """A torch state dict with a view sharing storage, a Parameter, ints and bools."""
    import torch

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    sd = m.state_dict()
    base = torch.arange(12, dtype=torch.float64)
    sd["view"] = base[2:10:3]
    sd["base"] = base
    sd["expanded"] = torch.tensor([1.5]).expand(3, 2)
    sd["param"] = torch.nn.Parameter(torch.ones(2, 2))
    sd["flags"] = torch.tensor([True, False])
    sd["extra"] = {"lr": 0.1, "steps": [1, 2], "name": "x", "t": (1, None)}
    return sd


def gradstep_sample():
    return collections.OrderedDict(
        w=gs.randn(3, 4), b=gs.zeros(4, dtype=gs.float64), idx=gs.arange(5),
        p=gs.nn.Parameter(gs.ones(2)), meta={"epoch": 3, "lr": 0.5, "betas": (0.9, 0.99), "flag": True},
        raw=np.arange(6, dtype=np.int32).reshape(2, 3), name="run", none=None, big=2**70, blob=b"\x00\x01",
        inf=float("inf"), dtype=gs.float16,
    )


def _content(arr):
    """The bytes of an array, or of a sample of its elements for huge (stride-0) views."""
    if arr.size <= 1 << 16:
        return np.ascontiguousarray(arr).tobytes()
    idx = np.linspace(0, arr.size - 1, 64).astype(np.int64)
    sample = np.array([arr[np.unravel_index(i, arr.shape)] for i in idx], dtype=arr.dtype)
    return ("sample", arr.size, sample.tobytes())


def canon(obj, depth=0):
    """A comparable form of loaded data, for gradstep's and torch's objects alike."""
    if depth > 50:
        return "<deep>"
    mod = type(obj).__module__
    if mod.split(".")[0] in ("torch", "gradstep") and str(getattr(obj, "layout", "")).endswith("sparse_coo"):
        return ("SP", tuple(obj.shape), obj.is_coalesced(), bool(obj.requires_grad),
                canon(obj._indices(), depth + 1), canon(obj._values().detach(), depth + 1))
    if hasattr(obj, "detach") and hasattr(obj, "shape") and mod.split(".")[0] in ("torch", "gradstep"):
        return ("T", str(obj.dtype).split(".")[-1], tuple(obj.shape), _content(obj.detach().numpy()),
                bool(obj.requires_grad), type(obj).__name__ == "Parameter")
    if isinstance(obj, np.ndarray):
        return ("A", obj.dtype.str, obj.shape, _content(obj))
    if isinstance(obj, np.generic):
        return ("S", obj.dtype.str, obj.tobytes())
    if isinstance(obj, dict):
        return ("D", type(obj).__name__, [(canon(k, depth + 1), canon(v, depth + 1)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple)):
        return ("L" if isinstance(obj, list) else "U", [canon(v, depth + 1) for v in obj])
    if isinstance(obj, (set, frozenset)):
        return ("Z", sorted(repr(canon(v, depth + 1)) for v in obj))
    if mod.split(".")[0] in ("torch", "gradstep"):
        return ("O", str(obj).replace("torch.", "").replace("gradstep.", ""))
    if isinstance(obj, float) and obj != obj:
        return ("nan",)
    return ("V", type(obj).__name__, obj)


def global_state():
    """What a hostile load must not change: gradstep's dtypes and the objects the loader can name."""
    import gradstep._checkpoint_sparse as cs
    import gradstep._layout as lay
    import gradstep._pickle_globals as pg
    import gradstep._torch_format as tf
    import gradstep._torch_unpickler as tu
    import gradstep.backend as B

    # a load of a uint16/float8 tensor switches on the limited dtypes once (their names, the
    # refusal table): legitimate shared state, made before the snapshot
    B._activate_limited()
    dtypes = tuple((d.name, d.np, d.is_floating_point, d.is_signed, d.itemsize, d._category)
                   for d in B.ALL_DTYPES)
    named = (gs.float32, gs.float64, gs.int64, gs.int32, gs.bool, gs.float16, gs.half, gs.long)
    modules = {m.__name__: dict(vars(m)) for m in (tf, tu, pg, cs, lay, B, collections)}
    layouts = tuple((name, id(v), v._name) for name, v in lay.LAYOUTS.items())
    classes = {c.__name__: dict(vars(c)) for c in (collections.OrderedDict, collections.Counter, gs.Tensor,
                                                   gs.nn.Parameter, gs.Size, gs.device, np.ndarray, np.dtype)}
    return dtypes, tuple(map(id, named)), modules, classes, layouts, B.get_default_dtype(), tu.get_safe_globals()


def assert_training_works():
    lin = gs.nn.Linear(3, 2)
    x = gs.randn(4, 3)
    lin(x).sum().backward()
    assert lin.weight.grad is not None and lin.weight.grad.shape == (2, 3)
    assert gs.zeros(2).dtype is gs.float32 and gs.float32.np == np.float32


@contextlib.contextmanager
def leaves_no_trace():
    """What a load must never do: change gradstep's shared state, or break training after it."""
    before = global_state()
    yield
    assert global_state() == before, "a load changed gradstep's shared state"
    assert_training_works()


def torch_saved(obj):
    """The bytes real torch's ``torch.save`` writes for ``obj``."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def gs_saved(obj, fmt="torch"):
    """The bytes ``gradstep.save`` writes for ``obj`` in format ``fmt``."""
    buf = io.BytesIO()
    gs.save(obj, buf, format=fmt)
    return buf.getvalue()

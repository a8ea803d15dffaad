"""Mutation fuzzer for checkpoints: pickle opcodes, zip structure, raw bytes and .gs headers.

Each mutator takes a ``random.Random`` and a seed file and returns ``(bytes, keeps_valid, what)``;
``keeps_valid`` marks mutations that leave the file's content intact (its load must then equal the
seed's), every other result must load or raise ``CheckpointError``.
"""

import hashlib
import io
import json
import pickletools
import struct
import warnings
import zipfile

MARKER = "/tmp/gradstep_fuzz_marker"

_DANGEROUS = [("os", "system"), ("posix", "system"), ("builtins", "exec"), ("builtins", "eval"),
              ("builtins", "getattr"), ("builtins", "__import__"), ("subprocess", "check_output"),
              ("subprocess", "Popen"), ("gradstep.serialization", "atomic_write"), ("torch", "load"),
              ("numpy", "load"), ("sys", "exit"), ("builtins", "open"), ("copyreg", "_reconstructor"),
              ("gradstep", "set_default_dtype"), ("gradstep._torch_unpickler", "add_safe_globals")]
_ALLOWED = [("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
            ("collections", "OrderedDict"), ("collections", "Counter"), ("torch", "FloatStorage"),
            ("torch", "LongStorage"), ("torch", "float32"), ("torch", "Size"), ("torch", "device"),
            ("numpy", "dtype"), ("numpy", "ndarray"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"), ("builtins", "set"),
            ("builtins", "bytearray"), ("torch._tensor", "_rebuild_from_type_v2")]
_INTS = [0, 1, -1, 2, 3, 4, 7, 255, 256, 2**31 - 1, -(2**31), 2**32, 2**40, 2**62, 2**63 - 1, -(2**63), 2**64]


def _global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _int(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def _str(s):
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _payload(rng):
    """A marker-file write: proves nothing executes if the marker never appears."""
    how = rng.randrange(4)
    if how == 0:
        return _global("os", "system") + _str(f"touch {MARKER}") + b"\x85R"
    if how == 1:
        return _global("builtins", "exec") + _str(f"open({MARKER!r}, 'w').close()") + b"\x85R"
    if how == 2:
        return _global("subprocess", "call") + b"]" + _str("touch") + b"a" + _str(MARKER) + b"a\x85R"
    return b"\x80\x04" + b"\x8c\x02os\x8c\x06system\x93" + _str(f"touch {MARKER}") + b"\x85R"  # STACK_GLOBAL


def _random_op(rng):
    pick = rng.randrange(12)
    if pick == 0:
        return _global(*rng.choice(_DANGEROUS))
    if pick in (1, 2):
        return _global(*rng.choice(_ALLOWED))
    if pick == 3:
        return _int(rng.choice(_INTS))
    if pick == 4:
        return _str(rng.choice(["storage", "0", "1", "cpu", "cuda:0", "../x", "_metadata", "latin1", "f4", ""]))
    if pick == 5:
        return b"}" + _str(rng.choice(["_metadata", "np", "name", "__class__", "x"])) + _int(1) + b"sb"  # BUILD
    if pick == 6:
        return _payload(rng)
    if pick == 7:
        return rng.choice([b"h", b"q"]) + bytes([rng.randrange(256)])  # BINGET / BINPUT
    return bytes([rng.choice(b"bsuaeR\x81(t02})]NQ\x85\x86\x87.\x88\x89\x90\x91\x8f")])


def _ops(pkl):
    """(start, end) byte spans of each opcode."""
    spans, pos = [], None
    for _op, _arg, p in pickletools.genops(pkl):
        if pos is not None:
            spans.append((pos, p))
        pos = p
    spans.append((pos, len(pkl)))
    return spans


def mutate_pickle(rng, pkl):
    spans = _ops(pkl)
    i = rng.randrange(len(spans))
    a, b = spans[i]
    kind = rng.randrange(6)
    if kind == 0:
        return pkl[:a] + pkl[b:], f"delete op at {a}"
    if kind == 1:
        return pkl[:b] + pkl[a:b] + pkl[b:], f"duplicate op at {a}"
    if kind == 2 and i + 1 < len(spans):
        c, d = spans[i + 1]
        return pkl[:a] + pkl[c:d] + pkl[a:b] + pkl[d:], f"swap ops at {a}"
    op = _random_op(rng)
    if kind in (3, 2):
        return pkl[:a] + op + pkl[a:], f"insert {op[:40]!r} at {a}"
    if kind == 4:
        return pkl[:a] + op + pkl[b:], f"replace op at {a} with {op[:40]!r}"
    ints = [(s, e) for s, e in spans if pkl[s:s + 1] in (b"K", b"J", b"M", b"\x8a")]
    if not ints:
        return pkl[:a] + op + pkl[a:], f"insert {op[:40]!r} at {a}"
    s, e = rng.choice(ints)
    v = rng.choice(_INTS)
    return pkl[:s] + _int(v) + pkl[e:], f"int at {s} -> {v}"


def _records(data):
    zf = zipfile.ZipFile(io.BytesIO(data))
    return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _zip(records, compress=zipfile.ZIP_STORED, comment=b"", extra=None):
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", compression=compress) as zf:
        warnings.simplefilter("ignore")  # duplicate names are one of the mutations
        zf.comment = comment
        for name, raw in records:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = compress
            if extra is not None and extra[0] == name:
                info.extra = extra[1]
            zf.writestr(info, raw)
    return buf.getvalue()


def mutate_torch(rng, data):
    """A pickle, zip-structure or byte-level mutation of a torch zip."""
    records = _records(data)
    pkl_at = next(i for i, (n, _) in enumerate(records) if n.endswith("/data.pkl"))
    kind = rng.randrange(14)
    if kind < 6:
        pkl, what = mutate_pickle(rng, records[pkl_at][1])
        records[pkl_at] = (records[pkl_at][0], pkl)
        return _zip(records), False, "pickle: " + what
    if kind == 6:  # content-preserving zip rewrites
        choice = rng.randrange(4)
        if choice == 0:
            return _zip(records, zipfile.ZIP_DEFLATED), True, "zip: deflate every record"
        if choice == 1:
            rng.shuffle(records)
            return _zip(records), True, "zip: reorder records"
        if choice == 2:
            prefix = records[pkl_at][0].split("/")[0]
            return _zip(records + [(f"{prefix}/data/999", bytes(1 << 16))], zipfile.ZIP_DEFLATED), True, \
                "zip: unreferenced compressed record"
        name = rng.choice(records)[0]
        return _zip(records, comment=b"c" * 100, extra=(name, b"\xfe\xca\x04\x00abcd")), True, \
            "zip: comment and an unknown extra field"
    if kind == 7:  # names
        i = rng.randrange(len(records))
        name = rng.choice(["../x", "/abs", "a\\b", records[0][0], records[-1][0], "archive/data/0",
                           "x/data.pkl", "archive/data/../data/0", "", "archive/data/"])
        records[i] = (name, records[i][1])
        try:
            return _zip(records), False, f"zip: rename record {i} to {name!r}"
        except Exception:  # noqa: BLE001 - zipfile refuses some names itself; use the bytes as they are
            return data, True, "zip: unwritable rename (seed unchanged)"
    if kind == 8:  # record contents
        i = rng.randrange(len(records))
        n, raw = records[i]
        raw = rng.choice([raw[: rng.randrange(len(raw) + 1)], raw + b"\0" * rng.randrange(1, 9), b""])
        records[i] = (n, raw)
        return _zip(records), False, f"zip: resize record {n}"
    if kind == 9:  # drop a record
        i = rng.randrange(len(records))
        return _zip(records[:i] + records[i + 1:]), False, f"zip: drop record {records[i][0]}"
    if kind == 10:  # header fields: sizes, CRCs, offsets, counts, flags
        out = bytearray(data)
        sig = rng.choice([b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06"])
        at = [i for i in range(len(out) - 4) if out[i:i + 4] == sig]
        if at:
            base = rng.choice(at)
            off = base + rng.randrange(4, 30)
            width = rng.choice((1, 2, 4))
            value = rng.choice([0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, rng.randrange(1 << 32)]) & ((1 << (8 * width)) - 1)
            if off + width <= len(out):
                out[off:off + width] = value.to_bytes(width, "little")
        return bytes(out), False, f"zip: header field in a {sig!r} set"
    return mutate_bytes(rng, data), False, "bytes"


def mutate_bytes(rng, data):
    out = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randrange(1, 9)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del out[rng.randrange(len(out)):]
    elif kind == 2:
        at = rng.randrange(len(out))
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
    else:
        a = rng.randrange(len(out))
        out[a:a] = out[a:a + rng.randrange(1, 64)]
    return bytes(out)


# ---------------------------------------------------------------- .gs headers
_GS_VALUES = [-1, 0, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 1.5, 1e308, "x", "float32", "int64", "|O", "<f8",
              None, True, [], {}, [-1], [2**62, 2**62], {"t": "ref", "v": 0}, {"t": "bytes", "at": 0, "n": 8}]


def _nodes(obj, path=()):
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _nodes(v, path + (i,))


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _seal(header_raw, blob, version=1):
    body = b"GRADSTEP" + struct.pack("<IQ", version, len(header_raw)) + header_raw + blob
    return body + hashlib.sha256(body).digest()


def mutate_gs(rng, data):
    """A structure-aware header mutation (SHA recomputed so the header checks are reached), or bytes."""
    hlen = struct.unpack_from("<Q", data, 12)[0]
    header, blob = json.loads(data[20:20 + hlen]), data[20 + hlen:-32]
    kind = rng.randrange(8)
    if kind == 7:
        return mutate_bytes(rng, data), False, "bytes"
    if kind == 6:
        return _seal(json.dumps(header).encode(), blob, rng.choice([0, 2, 2**32 - 1])), False, "version"
    nodes = [(p, v) for p, v in _nodes(header) if p]
    path, value = rng.choice(nodes)
    if kind < 3:
        new = rng.choice(_GS_VALUES)
        _set(header, path, json.loads(json.dumps(new)))
        what = f"{path} = {new!r}"
    elif kind == 3 and isinstance(value, dict) and value:
        key = rng.choice(list(value))
        del value[key]
        what = f"delete {path + (key,)}"
    elif kind == 4 and isinstance(value, list) and value:
        value.append(value[rng.randrange(len(value))])  # duplicates an entry (and so a tensor id)
        what = f"duplicate an item of {path}"
    else:
        deep = {"t": "list", "v": []}
        for _ in range(rng.choice([5, 250])):
            deep = {"t": "list", "v": [deep]}
        _set(header, path, deep)
        what = f"nest at {path}"
    return _seal(json.dumps(header).encode(), blob), False, "gs header: " + what


def cases(seeds, n, seed=0):
    """``n`` mutated files from ``seeds`` (name, kind, bytes): yields (index, bytes, keeps_valid, description)."""
    import random

    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        name, kind, data = seeds[i % len(seeds)]
        if kind == "gs":
            out, valid, what = mutate_gs(rng, data)
        else:
            out, valid, what = mutate_torch(rng, data)
        yield i, name, out, valid, what

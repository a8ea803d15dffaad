"""Zip-level amplification and format checks: inflation bound, overlapping records, format version,
and the .gs header budget."""

import io
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
import torch

import gradstep as gs
import gradstep._torch_format as tf
from gradstep.serialization import CheckpointError

from .craft import Pk, gs_file, torch_zip
from .test_zip_hostile import _patch_sizes


def _peak(fn):
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            fn()
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- finding 5: deflated storages
def _float_tensor_pkl(numel, key="0"):
    return Pk().tensor(key=key, numel=numel, size=(numel,)).bytes()


def test_a_deflated_storage_may_not_inflate_past_the_bound(monkeypatch):
    monkeypatch.setattr(tf, "_INFLATE_SLACK", 0)  # the bound is 64x the file (+64 MiB): drop the allowance
    numel = 1 << 20  # 4 MiB of zeros, ~4 KiB deflated
    data = torch_zip(_float_tensor_pkl(numel), {"0": bytes(4 * numel)}, compress=zipfile.ZIP_DEFLATED)
    assert 64 * len(data) < 4 * numel
    error, peak = _peak(lambda: gs.load(io.BytesIO(data)))
    assert "inflate" in str(error) and "re-save" in str(error)
    assert peak < 1 << 20, f"peak {peak} bytes: the record was inflated"


def test_the_inflation_bound_covers_all_records_together(monkeypatch):
    monkeypatch.setattr(tf, "_INFLATE_SLACK", 300_000)
    pkl = Pk().mark().tensor(key="a", numel=50_000, size=(50_000,)).tensor(key="b", numel=50_000, size=(50_000,))
    records = {"a": bytes(200_000), "b": bytes(200_000)}  # each fits the bound, both do not
    with pytest.raises(CheckpointError, match="inflate"):
        gs.load(io.BytesIO(torch_zip(pkl.tuple().bytes(), records, compress=zipfile.ZIP_DEFLATED)))
    one = Pk().tensor(key="a", numel=50_000, size=(50_000,)).bytes()
    assert gs.load(io.BytesIO(torch_zip(one, records, compress=zipfile.ZIP_DEFLATED))).shape == (50_000,)


def test_a_gigabyte_claim_in_a_tiny_file_is_refused_before_inflating():
    numel = 1 << 28  # the pickle and the zip both claim 1 GiB; the record holds 16 bytes
    data = torch_zip(_float_tensor_pkl(numel), {"0": bytes(16)}, compress=zipfile.ZIP_DEFLATED)
    error, peak = _peak(lambda: gs.load(io.BytesIO(_patch_sizes(data, "archive/data/0", 4 * numel))))
    assert "inflate" in str(error)
    assert peak < 1 << 20, f"peak {peak} bytes"


def test_a_re_zipped_torch_checkpoint_still_loads():
    sd = {"w": torch.randn(64, 128), "b": torch.zeros(128), "n": torch.tensor(3)}
    buf = io.BytesIO()
    torch.save(sd, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, src.read(info))
    back = gs.load(io.BytesIO(out.getvalue()))
    for k, v in sd.items():
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())


# ---------------------------------------------------------------- finding 6: records that share bytes
def _local(name, crc, size):
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, size, size, len(name), 0) + name


def _central(name, crc, size, offset):
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, size, size, len(name),
                       0, 0, 0, 0, 0, offset) + name


def _overlapping_zip(k, block, same_header=False):
    """``k`` storage records, each running from its own local header over the later ones and ``block``."""
    names = [f"archive/data/{i:03d}".encode() for i in range(k)]  # of one length
    head = 30 + len(names[0])
    sizes = [len(block) if same_header else (k - 1 - i) * head + len(block) for i in range(k)]
    tail, crcs = block, [0] * k
    for i in reversed(range(1 if same_header else k)):  # each header's CRC covers the later headers
        crcs[i] = zlib.crc32(tail)
        tail = _local(names[i], crcs[i], sizes[i]) + tail
    out = bytearray(tail)
    central = b"".join(_central(names[i], crcs[0 if same_header else i], sizes[i], 0 if same_header else i * head)
                       for i in range(k))
    pkl = Pk().mark()
    for i in range(k):
        pkl.tensor(key=f"{i:03d}", stype="ByteStorage", numel=sizes[i], size=(sizes[i],))
    for name, raw in ((b"archive/data.pkl", pkl.tuple().bytes()), (b"archive/version", b"3\n")):
        central += _central(name, zlib.crc32(raw), len(raw), len(out))
        out += _local(name, zlib.crc32(raw), len(raw)) + raw
    at = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, k + 2, k + 2, len(central), at, 0)
    return bytes(out)


@pytest.mark.parametrize("same_header", [False, True], ids=["chained headers", "one header"])
def test_records_that_share_bytes_are_refused(same_header):
    data = _overlapping_zip(50, bytes(range(256)) * 64, same_header)  # 50 storages of ~16 KiB over one block
    error, peak = _peak(lambda: gs.load(io.BytesIO(data)))
    assert "overlap" in str(error)
    assert peak < 256 << 10, f"peak {peak} bytes"


def test_one_record_over_the_block_loads():
    back = gs.load(io.BytesIO(_overlapping_zip(1, bytes(range(256)))))
    assert back[0].numpy().tobytes() == bytes(range(256))


# ---------------------------------------------------------------- finding 13: format version, as torch
def _versioned(version=None, data_version=None):
    pkl = Pk().val({"a": 1}).bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "little")
        if version is not None:
            zf.writestr("archive/version", version)
        if data_version is not None:
            zf.writestr("archive/.data/version", data_version)
    return buf.getvalue()


@pytest.mark.parametrize("version,data_version,match", [
    (None, None, "without a version record"),
    ("999", None, "maximum supported version for reading is 10"),
    ("11", None, "maximum supported version for reading is 10"),
    ("0", None, "minimum supported version for reading is 1"),
    ("-1", None, "minimum supported version for reading is 1"),
    ("abc", None, "couldn't parse"),
    ("", None, "couldn't parse"),
    ("3", "999", "maximum supported version for reading is 10"),  # .data/version wins, as in torch
    ("1", None, None),
    ("10", None, None),
    (" 3", None, None),
    ("3\n", None, None),
    ("+3", None, None),
    ("999", "3", None),
])
def test_format_version_is_checked_like_torch(version, data_version, match):
    data = _versioned(version, data_version)
    try:
        torch.load(io.BytesIO(data), weights_only=True)
        torch_loads = True
    except RuntimeError:
        torch_loads = False
    assert torch_loads == (match is None)
    if match is None:
        assert gs.load(io.BytesIO(data)) == {"a": 1}
    else:
        with pytest.raises(CheckpointError, match=match):
            gs.load(io.BytesIO(data))
        with pytest.raises(CheckpointError, match=match):
            gs.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))


# ---------------------------------------------------------------- finding 11: the .gs JSON header
def test_a_gs_header_that_builds_far_more_than_the_file_is_refused():
    header = b"[" + b"{}," * 499_999 + b"{}]"  # 1.5 MB of JSON: ~35 MiB of empty dicts and list slots
    data = gs_file(header)
    error, peak = _peak(lambda: gs.load(io.BytesIO(data)))
    assert "memory bound" in str(error)
    assert peak < 4 * len(data), f"peak {peak} bytes"  # refused before json.loads


def test_honest_large_gs_headers_load():
    values = {"history": [{"epoch": i, "loss": 0.5 / (i + 1), "acc": 0.9} for i in range(20_000)],
              "floats": [i / 7 for i in range(100_000)], "names": [f"layer{i}.weight" for i in range(20_000)]}
    buf = io.BytesIO()
    gs.save(values, buf)
    assert gs.load(io.BytesIO(buf.getvalue())) == values

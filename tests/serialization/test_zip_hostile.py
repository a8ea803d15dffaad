"""Hostile zip structure: only referenced records are read, each bounded by the pickle's claim."""

import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import gradstep as gs
from gradstep.serialization import CheckpointError

from .craft import Pk, float_records, torch_zip

_PKL = Pk().tensor().bytes()  # a float32 tensor of 4 elements from record "0"


def _load(data):
    return gs.load(io.BytesIO(data))


def _patch_sizes(data, name, size):
    """Set the uncompressed size of record ``name`` in its local header and the central directory."""
    data = bytearray(data)
    raw = name.encode()
    local = data.index(b"PK\x03\x04")
    while True:  # walk the local headers to the one for ``name``
        nlen, xlen = struct.unpack_from("<HH", data, local + 26)
        if bytes(data[local + 30: local + 30 + nlen]) == raw:
            struct.pack_into("<I", data, local + 22, size)
            break
        csize = struct.unpack_from("<I", data, local + 18)[0]
        local += 30 + nlen + xlen + csize
    central = data.index(b"PK\x01\x02")
    while True:
        nlen, xlen, clen = struct.unpack_from("<HHH", data, central + 28)
        if bytes(data[central + 46: central + 46 + nlen]) == raw:
            struct.pack_into("<I", data, central + 24, size)
            return bytes(data)
        central += 46 + nlen + xlen + clen


def test_a_valid_file_loads():
    np.testing.assert_array_equal(_load(torch_zip(_PKL, float_records())).numpy(), np.arange(4.0))


def test_unreferenced_records_are_never_decompressed():
    records = dict(float_records(), bomb=bytes(64 << 20))  # 64 MiB of zeros, ~64 KiB deflated
    data = torch_zip(_PKL, records, compress=zipfile.ZIP_DEFLATED)
    assert len(data) < 1 << 20
    tracemalloc.start()
    try:
        _load(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak} bytes"


def test_a_compressed_record_is_bounded_by_the_claim():
    records = {"0": np.arange(4, dtype=np.float32).tobytes() + bytes(64 << 20)}
    data = torch_zip(_PKL, records, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="the pickle says 16"):
        _load(data)  # the zip says 64 MiB, the pickle 16 bytes
    lying = _patch_sizes(data, "archive/data/0", 16)  # now the zip agrees with the pickle
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="CRC|corrupted"):
            _load(lying)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak} bytes"


def test_a_claimed_size_larger_than_the_data_allocates_nothing():
    data = _patch_sizes(torch_zip(Pk().tensor(numel=1 << 38, size=(4,)).bytes(), float_records()),
                        "archive/data/0", (1 << 32) - 1)
    with pytest.raises(CheckpointError):
        _load(data)  # a stored record claiming 4 GiB in a tiny file: refused before any allocation
    deflated = torch_zip(_PKL, {"0": bytes(16)}, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError):
        _load(_patch_sizes(deflated, "archive/data/0", (1 << 32) - 1))


def test_crc_mismatch():
    data = bytearray(torch_zip(_PKL, float_records()))
    at = bytes(data).index(np.arange(4, dtype=np.float32).tobytes())
    data[at + 5] ^= 0x40
    with pytest.raises(CheckpointError, match="CRC"):
        _load(bytes(data))


@pytest.mark.parametrize("name", ["archive/../data/0", "/archive/data/0", "archive\\data\\x", "C:/x"])
def test_path_like_names_are_refused(name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", _PKL)
        zf.writestr("archive/data/0", float_records()["0"])
        zf.writestr(name, b"x")
    with pytest.raises(CheckpointError, match="plain relative path"):
        _load(buf.getvalue())


def test_duplicate_names_are_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("archive/data.pkl", _PKL)
        zf.writestr("archive/data/0", float_records()["0"])
        zf.writestr("archive/data/0", bytes(16))
    with pytest.raises(CheckpointError, match="twice"):
        _load(buf.getvalue())


def test_truncated_archives():
    data = torch_zip(_PKL, float_records())
    for cut in range(2, len(data), max(1, len(data) // 60)):
        with pytest.raises(CheckpointError):
            _load(data[:cut])


def _with_zip64_central(data, name, extra_values):
    """Move record ``name``'s sizes into a ZIP64 extra field of the central directory."""
    data = bytearray(data)
    raw = name.encode()
    central = data.index(b"PK\x01\x02")
    while bytes(data[central + 46: central + 46 + len(raw)]) != raw:
        nlen, xlen, clen = struct.unpack_from("<HHH", data, central + 28)
        central += 46 + nlen + xlen + clen
    nlen, xlen = struct.unpack_from("<HH", data, central + 28)
    assert xlen == 0
    extra = struct.pack("<HH", 1, 8 * len(extra_values)) + b"".join(struct.pack("<Q", v) for v in extra_values)
    struct.pack_into("<II", data, central + 20, 0xFFFFFFFF, 0xFFFFFFFF)
    struct.pack_into("<H", data, central + 30, len(extra))
    at = central + 46 + nlen
    data[at:at] = extra
    eocd = data.rindex(b"PK\x05\x06")
    struct.pack_into("<I", data, eocd + 12, struct.unpack_from("<I", data, eocd + 12)[0] + len(extra))
    return bytes(data)


def test_zip64_fields_are_read_and_checked():
    data = torch_zip(_PKL, float_records())
    good = _with_zip64_central(data, "archive/data/0", [16, 16])
    np.testing.assert_array_equal(_load(good).numpy(), np.arange(4.0))
    for values in ([16], [], [1 << 62, 16], [16, 1 << 62], [1 << 40, 1 << 40]):
        with pytest.raises(CheckpointError):
            _load(_with_zip64_central(data, "archive/data/0", values))


def test_encrypted_and_unsupported_compression_are_refused():
    data = bytearray(torch_zip(_PKL, float_records()))
    central = data.index(b"PK\x01\x02")
    while central >= 0:  # set the "encrypted" flag of every record
        data[central + 8] |= 1
        central = data.find(b"PK\x01\x02", central + 4)
    with pytest.raises(CheckpointError, match="encrypted"):
        _load(bytes(data))
    with pytest.raises(CheckpointError, match="compression method"):
        _load(torch_zip(_PKL, float_records(), compress=zipfile.ZIP_BZIP2))


def test_archive_layout_errors():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/data.pkl", _PKL)
        zf.writestr("b/data.pkl", _PKL)
    with pytest.raises(CheckpointError, match="2 <archive>/data.pkl"):
        _load(buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.txt", b"hello")
    with pytest.raises(CheckpointError, match="0 <archive>/data.pkl"):
        _load(buf.getvalue())
    with pytest.raises(CheckpointError, match="byteorder"):
        _load(torch_zip(_PKL, float_records(), byteorder=b"middle"))


def test_a_pickle_bomb_is_refused_before_it_is_inflated():
    pkl = b"\x80\x02" + b"N0" * (40 << 20) + b"N."  # 80 MiB of NONE/POP, deflates to ~80 KiB
    data = torch_zip(pkl, {}, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="data.pkl claims"):
        _load(data)


def test_a_big_endian_file_is_byteswapped_like_torch():
    import torch

    pkl = Pk().mark().tensor().tensor("1", "LongStorage", 3, size=(3,)).tensor("2", "BoolStorage", 2, size=(2,))
    records = {"0": np.arange(4, dtype=">f4").tobytes(), "1": np.array([1, -2, 2**40], ">i8").tobytes(),
               "2": b"\x01\x00"}
    data = torch_zip(pkl.tuple().bytes(), records, byteorder=b"big")
    mine = _load(data)
    theirs = torch.load(io.BytesIO(data), weights_only=True)
    assert [t.tolist() for t in mine] == [t.tolist() for t in theirs] == [[0.0, 1.0, 2.0, 3.0], [1, -2, 2**40],
                                                                          [True, False]]


def test_a_big_endian_complex_storage_swaps_each_half_like_torch():
    import torch

    if "complex64" not in gs.backend._BY_NAME:
        pytest.skip("gradstep has no complex dtypes")
    pkl = Pk().tensor("0", "ComplexFloatStorage", 2, size=(2,)).bytes()
    data = torch_zip(pkl, {"0": np.array([1 + 2j, -3j], ">c8").tobytes()}, byteorder=b"big")
    assert _load(data).numpy().tolist() == torch.load(io.BytesIO(data), weights_only=True).tolist() == [1 + 2j, -3j]

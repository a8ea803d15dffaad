"""Protocol-buffer wire encoding, by hand: just what TensorBoard's messages need.

Every message here is built as ``bytes`` from fields in field-number order, the way protobuf
itself serializes them. proto3 rules: a plain scalar field equal to its default (0, "", b"")
is left out; a field inside a ``oneof`` (or a sub-message that was set) is written even when
it holds the default, since its presence is what the reader sees. ``field_*`` helpers take
``keep_default=True`` for those.

Wire types: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit.
"""

from __future__ import annotations

import struct

import numpy as np

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as their 64-bit two's complement (10 bytes)."""
    value = int(value)
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


def field_varint(number, value, keep_default=False) -> bytes:
    """int32/int64/uint32/enum/bool fields."""
    if value is None or (not value and not keep_default):
        return b""
    return key(number, VARINT) + varint(int(value))


def field_double(number, value, keep_default=False) -> bytes:
    if value is None or (value == 0 and not keep_default and not _negative_zero(value)):
        return b""
    return key(number, FIXED64) + struct.pack("<d", float(value))


def field_float(number, value, keep_default=False) -> bytes:
    """A float32 field: the value is rounded to float32 as protobuf does (overflow gives inf)."""
    if value is None or (value == 0 and not keep_default and not _negative_zero(value)):
        return b""
    return key(number, FIXED32) + float32_bytes([value])


def field_bytes(number, value, keep_default=False) -> bytes:
    """string/bytes fields, and sub-messages given as their encoded bytes."""
    if value is None or (not value and not keep_default):
        return b""
    if isinstance(value, str):
        value = value.encode("utf-8")
    return key(number, LENGTH) + varint(len(value)) + bytes(value)


def field_message(number, encoded) -> bytes:
    """A sub-message that was set: written even when empty (``None`` means not set)."""
    return field_bytes(number, encoded, keep_default=True)


def field_repeated_bytes(number, values) -> bytes:
    return b"".join(field_bytes(number, v, keep_default=True) for v in values)


def field_packed_doubles(number, values) -> bytes:
    data = np.asarray(values, dtype="<f8").reshape(-1)
    return _packed(number, data.tobytes()) if data.size else b""


def field_packed_floats(number, values) -> bytes:
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    return _packed(number, float32_bytes(data)) if data.size else b""


def field_packed_varints(number, values) -> bytes:
    values = [int(v) for v in np.asarray(values).reshape(-1).tolist()]
    return _packed(number, b"".join(varint(v) for v in values)) if values else b""


def float32_bytes(values) -> bytes:
    """Little-endian float32s, rounded to nearest; values beyond float32's range become inf."""
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64).astype("<f4").tobytes()


def _packed(number, payload: bytes) -> bytes:
    return key(number, LENGTH) + varint(len(payload)) + payload


def _negative_zero(value) -> bool:
    """-0.0 is not the default 0.0 bit for bit: protobuf writes it."""
    return isinstance(value, (float, np.floating)) and np.signbit(value)

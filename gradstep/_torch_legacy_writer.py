"""Writing torch's legacy (non-zip) checkpoint format: ``torch.save(obj, f, _use_new_zipfile_serialization=False)``.

The layout (read by :mod:`gradstep._torch_legacy_format`, and by every torch since 0.4): the magic
number, the protocol version and a ``sys_info`` dict, each its own protocol-2 pickle; the object
pickle, as the zip writer (:class:`~gradstep._torch_writer._PickleWriter`) emits it except that a
storage's persistent id has a sixth item, its view metadata (always ``None``, as torch >= 1.6 writes);
the pickled list of storage keys; then each storage's element count (8 bytes, little-endian)
and its bytes, in the order of that list.
"""

from __future__ import annotations

import pickle
import struct
import sys

from ._torch_writer import STORAGE_DTYPES, _PickleWriter

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
# what torch 2.13 writes on every machine it runs on (its SHORT_SIZE, INT_SIZE, LONG_SIZE constants)
_SYS_INFO = {"protocol_version": PROTOCOL_VERSION, "little_endian": sys.byteorder == "little",
             "type_sizes": {"short": 2, "int": 4, "long": 4}}


class _LegacyPickleWriter(_PickleWriter):
    PID_END = b"NtQ"  # view metadata None, TUPLE, BINPERSID

    def __init__(self):
        super().__init__()
        self.counts = {}  # record name -> the element count its persistent id declares

    def _storage(self, t):
        key, nelem, offset, strides = super()._storage(t)
        # uint16/32/64 and the float8s are written untyped: counted in bytes, as in their persistent id
        untyped = t.dtype.name not in STORAGE_DTYPES.values()
        self.counts.setdefault(key, nelem * t._data.itemsize if untyped else nelem)
        return key, nelem, offset, strides


def legacy_bytes(obj):
    """``obj`` in torch's legacy format (little-endian data, as torch writes on any machine)."""
    writer = _LegacyPickleWriter()
    body = writer.dump(obj)
    keys = [str(i) for i in range(len(writer.storages))]
    parts = [pickle.dumps(MAGIC_NUMBER, protocol=2), pickle.dumps(PROTOCOL_VERSION, protocol=2),
             pickle.dumps(_SYS_INFO, protocol=2), body, pickle.dumps(keys, protocol=2)]
    for key, arr in zip(keys, writer.storages):
        parts.append(struct.pack("<q", writer.counts[key]))
        parts.append(arr.tobytes() if sys.byteorder == "little" else arr.byteswap().tobytes())
    return b"".join(parts)

"""TensorBoard event files: TFRecord framing with masked CRC32C, buffered writes.

A file is a sequence of records, each::

    uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

(little-endian), where data is one serialized ``Event`` and the first event carries
``file_version: "brain.Event:2"``. The mask is TensorFlow's: rotate right by 15, add
0xa282ead8.

Writes are buffered in memory and go to disk when ``max_queue`` records are waiting, when
``flush_secs`` have passed since the first waiting record (a timer thread, started only
while something waits), on ``flush()``/``close()``, and at interpreter exit (an ``atexit``
hook closes every writer still open), so a program that never calls ``close()`` loses
nothing on a normal exit.
"""

from __future__ import annotations

import atexit
import os
import socket
import struct
import sys
import threading
import time

import numpy as np

from . import _proto

# ---------------------------------------------------------------------------- CRC32C


def _crc32c_table():
    """The byte table of the reflected Castagnoli polynomial 0x82f63b78."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_TABLE = _crc32c_table()
_TABLE_NP = np.array(_TABLE, dtype=np.uint32)
_CHUNK = 1024  # bytes per lane of the vectorized path
_VECTOR_MIN = 16 * _CHUNK  # below this the plain loop is as fast
_shift_tables: list | None = None  # four byte tables of "advance the register by _CHUNK zeros"


def _advance(register: int, data) -> int:
    """The raw CRC register after feeding ``data`` (no initial/final inversion)."""
    table = _TABLE
    for byte in data:
        register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
    return register


def _lane_registers(lanes: np.ndarray) -> np.ndarray:
    """Registers, each started at 0, after feeding each row of ``lanes`` (all rows at once)."""
    registers = np.zeros(lanes.shape[0], dtype=np.uint32)
    for column in lanes.T:
        registers = _TABLE_NP[(registers ^ column) & 0xFF] ^ (registers >> 8)
    return registers


def _chunk_shift_tables():
    """The CRC register update over ``_CHUNK`` zero bytes is linear over GF(2): tabulate it
    per byte of the register, so shifting a register is four lookups."""
    global _shift_tables
    if _shift_tables is None:
        basis = np.array([1 << bit for bit in range(32)], dtype=np.uint32)
        for _ in range(_CHUNK):
            basis = _TABLE_NP[basis & 0xFF] ^ (basis >> 8)
        images = [int(v) for v in basis]
        tables = []
        for byte_index in range(4):
            table = []
            for value in range(256):
                out = 0
                for bit in range(8):
                    if value >> bit & 1:
                        out ^= images[8 * byte_index + bit]
                table.append(out)
            tables.append(table)
        _shift_tables = tables
    return _shift_tables


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``.

    Long inputs are cut into lanes of ``_CHUNK`` bytes whose registers are computed side by
    side with NumPy, then chained: the register over A+B is the register over A shifted
    across len(B) zero bytes, xor the register of B started at zero (the CRC is linear).
    """
    register = 0xFFFFFFFF
    if len(data) < _VECTOR_MIN:
        return _advance(register, data) ^ 0xFFFFFFFF
    n_lanes = len(data) // _CHUNK
    body = np.frombuffer(data, dtype=np.uint8, count=n_lanes * _CHUNK)
    lanes = _lane_registers(body.reshape(n_lanes, _CHUNK).astype(np.uint32)).tolist()
    t0, t1, t2, t3 = _chunk_shift_tables()
    for lane in lanes:
        register = (t0[register & 0xFF] ^ t1[register >> 8 & 0xFF] ^ t2[register >> 16 & 0xFF]
                    ^ t3[register >> 24]) ^ lane
    return _advance(register, data[n_lanes * _CHUNK:]) ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, the data, the data's masked CRC."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


class RecordWriter:
    """Writes TFRecords to a binary file object (torch re-exports tensorboard's class of
    this name from ``torch.utils.tensorboard``)."""

    def __init__(self, writer):
        self._writer = writer

    def write(self, data: bytes):
        self._writer.write(frame_record(data))

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()

    @property
    def closed(self):
        return self._writer.closed


# ---------------------------------------------------------------------------- events

FILE_VERSION = "brain.Event:2"
WRITER_NAME = "gradstep.utils.tensorboard"
SESSION_LOG_START = 1


def encode_event(wall_time: float, step=None, *, file_version=None, summary=None,
                 session_log_status=None, source_writer=None) -> bytes:
    """An ``Event`` message. ``summary`` is an encoded ``Summary``; the payload fields
    (file_version, summary, session_log) form a oneof, so a set one is always written."""
    parts = [_proto.field_double(1, wall_time), _proto.field_varint(2, step)]
    if file_version is not None:
        parts.append(_proto.field_bytes(3, file_version, keep_default=True))
    if summary is not None:
        parts.append(_proto.field_message(5, summary))
    if session_log_status is not None:
        parts.append(_proto.field_message(7, _proto.field_varint(1, session_log_status)))
    if source_writer is not None:
        parts.append(_proto.field_message(10, _proto.field_bytes(1, source_writer)))
    return b"".join(parts)


class _UniqueCounter:
    """The trailing number in event file names: distinct within the process."""

    def __init__(self):
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            value, self._next = self._next, self._next + 1
            return value


_file_counter = _UniqueCounter()
_open_writers: set = set()  # EventFileWriters not yet closed; closed at interpreter exit
_registry_lock = threading.Lock()


class EventFileWriter:
    """One event file in ``logdir``, written from an in-memory buffer (see module doc)."""

    def __init__(self, logdir, max_queue=10, flush_secs=120, filename_suffix=""):
        logdir = os.fspath(logdir)
        if "://" in logdir:
            raise NotImplementedError(
                f"SummaryWriter: log_dir {logdir!r} names a remote filesystem; gradstep writes "
                "event files to local directories only")
        os.makedirs(logdir, exist_ok=True)
        self._logdir = logdir
        self._max_queue = max(int(max_queue), 1)
        self._flush_secs = float(flush_secs)
        name = "events.out.tfevents.%010d.%s.%s.%s" % (  # noqa: UP031 (torch's own format)
            time.time(), socket.gethostname(), os.getpid(), _file_counter.take())
        self._path = os.path.join(logdir, name) + filename_suffix
        self._file = open(self._path, "wb")  # kept open until close()
        self._pending: list[bytes] = []
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._closed = False
        with _registry_lock:
            _open_writers.add(self)
        self.add_event(encode_event(time.time(), file_version=FILE_VERSION,
                                    source_writer=WRITER_NAME))
        self.flush()

    def get_logdir(self):
        return self._logdir

    @property
    def path(self):
        """The event file's path."""
        return self._path

    def add_event(self, event: bytes):
        """Queue one encoded ``Event``."""
        record = frame_record(event)
        with self._lock:
            if self._closed:
                raise OSError("Writer is closed")
            self._pending.append(record)
            if len(self._pending) >= self._max_queue:
                self._write_pending()
            elif self._timer is None:
                self._start_timer()

    def flush(self):
        with self._lock:
            if self._closed:
                raise OSError("Writer is closed")
            self._write_pending()
            self._file.flush()

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._write_pending()
            self._file.close()
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        with _registry_lock:
            _open_writers.discard(self)

    @property
    def closed(self):
        return self._closed

    def _write_pending(self):
        if self._pending:
            self._file.write(b"".join(self._pending))
            self._pending.clear()
            self._file.flush()

    def _start_timer(self):
        self._timer = threading.Timer(self._flush_secs, self._on_timer)
        self._timer.daemon = True
        self._timer.start()

    def _on_timer(self):
        with self._lock:
            self._timer = None
            if not self._closed:
                self._write_pending()


@atexit.register
def _close_open_writers():
    """Interpreter exit: write out what every unclosed writer still holds."""
    with _registry_lock:
        writers = list(_open_writers)
    for writer in writers:
        try:
            writer.close()
        except Exception as e:  # a broken file must not stop the others
            print(f"SummaryWriter: could not write the last events to {writer.path}: {e}",
                  file=sys.stderr)

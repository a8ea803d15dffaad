"""torch's legacy (non-zip) checkpoint format, read without torch and without running code.

What ``torch.save(obj, f, _use_new_zipfile_serialization=False)`` writes (and every ``torch.save``
of torch 0.4 to 1.5) is five pickles back to back, then the storages' bytes:

1. the magic number ``0x1950a86a20f9469cfc6c``;
2. the protocol version, ``1001``;
3. a ``sys_info`` dict (byte order and C type sizes of the writer; torch ignores it, as gradstep);
4. the object, whose storages are persistent ids
   ``('storage', storage_type, key, location, numel, view_metadata)``;
5. the list of storage keys, in the order their data follows;

then, for each key of that list, an 8-byte little-endian element count and the storage's bytes
(always little-endian: torch swaps on a big-endian machine when it writes and when it reads).

The data follows the pickle that rebuilds tensors on it, so this reader does what torch does:
the object pickle runs first, each storage it names gets a zero-filled buffer, and the data
fills the buffers afterwards. Every pickle runs in the same
:class:`~gradstep._torch_unpickler.RestrictedUnpickler`, with the same allowlist, memory and work
bounds as the zip format's ``data.pkl`` (:mod:`gradstep._torch_format`). Before a buffer is
allocated, its declared size (plus its 8-byte count) must fit in the bytes that follow the
pickles, with every storage allocated before it: a file can never make the loader allocate
more storage than it holds. After the pickle, each key of the list must name a storage the
pickle used, exactly once; each count must equal the size the pickle declared; the data must
end exactly at the end of the file (trailing bytes are refused: a torch file has none).

Two things the zip loader does while it rebuilds need the data already there, so a legacy file
holding them is refused with a message that says how to convert it: sparse tensors (their
invariants are checked as they are built) and tensors with torch's lazy conjugate or negative
bit (resolved into a copy as they are built).

The tar format of torch < 0.4 is refused (:data:`TAR_MESSAGE`): its tensors are described
outside any pickle, and torch's own ``weights_only`` load refuses it too.
"""

from __future__ import annotations

import io
import pickletools
import sys
import warnings

import numpy as np

from . import _torch_unpickler
from ._brief import brief, printable
from ._checkpoint_location import CallerError, location_target
from ._pickle_globals import Token, check_int, describe
from ._torch_format import (
    _I64,
    _MEMORY_SLACK,
    _STORAGE_DTYPES,
    _UNTYPED,
    _many_views_hint,
    _rebuild,
    _Storage,
    _torch_globals,
)
from ._torch_unpickler import RestrictedUnpickler
from .backend import _BY_NAME
from .serialization import CheckpointError, UnsafeCheckpointError

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
_CONVERT = ("re-save it in torch's default (zip) format with torch: "
            "torch.save(torch.load(old, weights_only=True), new)")
TAR_MESSAGE = ("a torch checkpoint in the tar format of torch < 0.4, which gradstep does not read (torch's "
               "weights_only load refuses it too). Convert it once with a torch that reads it: "
               "torch.save(torch.load(old, weights_only=False), new), only if you trust the file")
_INT_OPS = ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4")
_HEADER_SCAN = 64  # bytes in which the magic number's pickle must end


# ---------------------------------------------------------------- telling the format
def is_legacy(data):
    """Whether ``data`` (starting with a pickle's PROTO) is meant as a legacy torch checkpoint: its first
    pickle is a lone int (the magic number, or a damaged one), or the file is cut inside that pickle."""
    magic = _magic_pickle()
    if len(data) < len(magic) and magic.startswith(bytes(data)) and len(data) >= 3:
        return True
    try:
        ops = [op.name for op, _, _ in pickletools.genops(io.BytesIO(bytes(data[:_HEADER_SCAN])))]
    except Exception:  # noqa: BLE001 - any parse failure: not the lone int a legacy file starts with
        return False
    ops = [n for n in ops if n not in ("PROTO", "FRAME", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT")]
    return len(ops) == 2 and ops[0] in _INT_OPS and ops[1] == "STOP"


def _magic_pickle():
    return b"\x80\x02\x8a\x0a" + MAGIC_NUMBER.to_bytes(10, "little") + b"."


# ---------------------------------------------------------------- the pickles
def _pickle_end(data, start, name, what):
    """The offset just past the STOP of the pickle starting at ``start``, found by parsing its opcodes
    (not running them): each opcode takes at least a byte, so this is linear in the file's size."""
    if start >= len(data):
        raise CheckpointError(f"{name}: truncated legacy torch checkpoint: it ends before {what} (at byte "
                              f"{start})")
    f = io.BytesIO(data)
    f.seek(start)
    try:
        with warnings.catch_warnings():  # a protocol 0 string's bad escape: the unpickler warns of it once, later
            warnings.simplefilter("ignore", DeprecationWarning)
            for _ in pickletools.genops(f):
                pass
    except Exception as e:  # noqa: BLE001 - pickletools raises ValueError, struct.error, UnicodeError, ...
        raise CheckpointError(f"{name}: legacy torch checkpoint with a truncated or corrupted {what} (from byte "
                              f"{start}): {type(e).__name__}: {printable(str(e), 200)}") from None
    return f.tell()


class _Pickles:
    """Runs the pickles of one file in the restricted unpickler, with bounds that follow the file's size."""

    def __init__(self, data, name, encoding, errors):
        self.data, self.name, self.text = data, name, (encoding, errors)
        self.budget = 16 * len(data) + _MEMORY_SLACK
        self.work = _torch_unpickler.WORK_PER_BYTE * len(data) + _torch_unpickler.WORK_SLACK
        self.pos = 0

    def next(self, what, allowed=None, persistent_load=None):
        start = self.pos
        end = _pickle_end(self.data, start, self.name, what)
        u = RestrictedUnpickler(bytes(self.data[start:end]), self.name, allowed or {}, persistent_load,
                                self.budget, self.work, *self.text)
        try:
            value = u.load()
        except CheckpointError as e:  # the unpickler names zip's data.pkl: name this pickle, and where it starts
            raise type(e)(str(e).replace("data.pkl", f"the legacy file's {what} (which starts at byte {start})", 1)) from None
        self.budget, self.work, self.pos = u.budget, u.work, end
        return value


def _header(p):
    """The magic number, protocol version and sys_info pickles, checked as torch checks them."""
    name = p.name
    magic = p.next("magic number")
    if type(magic) is not int or magic != MAGIC_NUMBER:
        raise CheckpointError(f"{name}: invalid magic number {brief(magic)} (a legacy torch checkpoint starts "
                              f"with {MAGIC_NUMBER:#x}); the file is corrupt or not a torch checkpoint")
    version = p.next("protocol version")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise CheckpointError(f"{name}: invalid protocol version {brief(version)} of a legacy torch checkpoint "
                              f"(torch writes and reads {PROTOCOL_VERSION}); the file is corrupt")
    sys_info = p.next("sys_info")
    if type(sys_info) is not dict:
        raise CheckpointError(f"{name}: the legacy checkpoint's sys_info is {describe(sys_info)}, not a dict")


# ---------------------------------------------------------------- storages
class _LegacyLoader:
    """The object pickle's persistent ids: storages, allocated within the data the file holds."""

    def __init__(self, name, map_location, keys, data_bytes):
        self.name, self.map_location = name, map_location
        self.listed = set(keys)
        self.free = data_bytes  # bytes after the pickles not yet promised to a storage
        self.storages = {}  # key -> _Storage (roots and views)
        self.roots = {}  # key -> _Storage whose data the file holds

    def persistent_load(self, pid):
        if type(pid) is tuple and len(pid) == 4 and type(pid[0]) in (str, bytes) and pid[0] in ("module", b"module") \
                and isinstance(pid[1], Token):
            # torch.save(model): a module class as ('module', class, source file, source). The class came from
            # a GLOBAL the allowlist resolved; torch only compares the source (and warns), gradstep ignores it
            return pid[1]
        if type(pid) is not tuple or len(pid) != 6 or type(pid[0]) not in (str, bytes) \
                or pid[0] not in ("storage", b"storage"):
            raise UnsafeCheckpointError(f"unsupported persistent id {describe(pid)}; only storages are allowed "
                                        "(a legacy checkpoint's are 6-tuples)")
        _, stype, key, location, numel, view = pid
        dt = _storage_dtype(stype)
        key = _key(key, "storage key")
        location = _location(location)
        check_int(numel, f"element count of storage {key!r}", 0, _I64 // dt.itemsize)
        root = self.storages.get(key)
        if root is None:
            root = self._allocate(key, dt, numel, location)
        elif root.dtype is not dt or root.array.size != numel:
            raise CheckpointError(f"storage {key!r} is used with two dtypes or sizes ({root.dtype.name} x "
                                  f"{root.array.size}, {dt.name} x {numel})")
        return root if view is None else self._view(root, view)

    def _allocate(self, key, dt, numel, location):
        if key not in self.listed:
            raise CheckpointError(f"storage {key!r} is not in the checkpoint's list of storages, so the file "
                                  "holds no data for it (a truncated or crafted file)")
        need = 8 + numel * dt.itemsize
        if need > self.free:
            raise CheckpointError(f"storage {key!r} declares {numel} {dt.name} elements ({need - 8} bytes), but "
                                  f"only {self.free} bytes of storage data that no other storage claims follow "
                                  "the pickles (a truncated or crafted file)")
        self.free -= need
        s = _Storage(key, dt, np.zeros(numel * dt.itemsize, np.uint8).view(dt.np))
        location_target(location, self.map_location, s)  # the data comes later, as in torch
        if not s.array.flags.writeable or not s.array.flags.c_contiguous:
            s.array = s.array.copy()
        self.storages[key] = self.roots[key] = s
        return s

    def _view(self, root, view):
        """Old torch's storage views: ``(view_key, offset, size)`` elements of the root storage."""
        if type(view) is not tuple or len(view) != 3:
            raise CheckpointError(f"storage view metadata must be (key, offset, size), got {describe(view)}")
        key = _key(view[0], "storage view key")
        offset = check_int(view[1], f"offset of storage view {key!r}", 0, _I64)
        size = check_int(view[2], f"size of storage view {key!r}", 0, _I64)
        if offset + size > root.array.size:
            raise CheckpointError(f"storage view {key!r} of {size} elements at offset {offset} reaches past its "
                                  f"storage {root.key!r} of {root.array.size}")
        s = self.storages.get(key)
        if s is None:
            s = self.storages[key] = _Storage(key, root.dtype, root.array[offset:offset + size])
        elif s.dtype is not root.dtype or s.array.size != size or s is root:
            raise CheckpointError(f"storage view {key!r} is declared twice, differently")
        return s

    def fill(self, data, pos, keys):
        """Read each listed storage's count and bytes into its buffer; the data must end with the file."""
        for key in keys:
            s = self.roots.get(key)
            if s is None:
                raise CheckpointError(f"{self.name}: the list of storages names {key!r}, which the pickle never "
                                      "uses (a corrupted or crafted file)")
            if pos + 8 > len(data):
                raise CheckpointError(f"{self.name}: truncated legacy checkpoint: storage {key!r} has no element "
                                      f"count (at byte {pos})")
            count = int.from_bytes(data[pos:pos + 8], "little", signed=True)
            if count != s.array.size:
                raise CheckpointError(f"{self.name}: storage {key!r} has the wrong size: the pickle says "
                                      f"{s.array.size} elements, the data {count} (at byte {pos})")
            n = s.array.nbytes
            pos += 8
            if pos + n > len(data):  # _allocate checked the sum; a count cannot grow it, but be exact
                raise CheckpointError(f"{self.name}: truncated legacy checkpoint: storage {key!r} needs {n} "
                                      f"bytes at byte {pos}, the file holds {len(data) - pos}")
            _copy_little_endian(s, np.frombuffer(data, np.uint8, n, pos))
            pos += n
        if pos != len(data):
            raise CheckpointError(f"{self.name}: {len(data) - pos} bytes of trailing data after the last storage "
                                  "of a legacy torch checkpoint (a corrupted file, or two files joined)")


def _copy_little_endian(s, raw):
    out = s.array.view(np.uint8)
    out[:] = raw
    width = s.array.itemsize // 2 if s.array.dtype.kind == "c" else s.array.itemsize
    if sys.byteorder != "little" and width > 1:  # torch writes the data little-endian wherever it runs
        out.reshape(-1, width)[:] = out.reshape(-1, width)[:, ::-1].copy()
    if s.dtype.name == "bool":
        np.minimum(out, 1, out=out)  # NumPy bools must be 0 or 1


def _storage_dtype(stype):
    if not isinstance(stype, Token) or (stype.name[len("torch."):] not in _STORAGE_DTYPES
                                        and stype.name not in _UNTYPED):
        raise UnsafeCheckpointError(f"storage of type {describe(stype)} is not supported")
    return _BY_NAME[_STORAGE_DTYPES.get(stype.name[len("torch."):], "uint8")]  # untyped: bytes


def _key(key, what):
    if type(key) is bytes:  # encoding='bytes' keeps a Python 2 str as bytes; torch decodes it as ASCII
        key = key.decode("ascii", "replace")
    if type(key) is not str or not key or len(key) > 64 or not key.isprintable():
        raise CheckpointError(f"{what} {brief(key)} is not a short printable string")
    return key


def _location(location):
    if type(location) is bytes:
        location = location.decode("ascii", "replace")
    if type(location) is not str or len(location) > 64:
        raise CheckpointError("storage location must be a short string")
    return location


def _storage_keys(keys, name):
    if type(keys) is not list or any(type(k) not in (str, bytes) for k in keys):
        raise CheckpointError(f"{name}: the legacy checkpoint's list of storage keys is {describe(keys)}, "
                              "not a list of strings")
    keys = [_key(k, "storage key") for k in keys]
    if len(set(keys)) != len(keys):
        raise CheckpointError(f"{name}: the legacy checkpoint's list of storage keys names a storage twice")
    return keys


# ---------------------------------------------------------------- the allowlist
def _refuse_lazy_bits(u, args):
    """``_rebuild_tensor_v2`` without the conj/neg bits, which need the data (it comes after the pickle)."""
    if len(args) not in (6, 7):  # torch's signature (the zip loader also takes _rebuild_tensor's 4)
        raise CheckpointError(f"torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, got {len(args)}")
    meta = args[6] if len(args) > 6 else None
    if type(meta) is dict and (meta.get("conj") or meta.get("neg")):
        raise CheckpointError("this legacy-format checkpoint holds a tensor with torch's lazy conjugate or "
                              "negative bit (x.conj()), which gradstep resolves as it rebuilds, before this "
                              f"format's data is read; {_CONVERT} (or save x.resolve_conj())")
    return _rebuild(u, args)


def _refuse_sparse(u, args):
    raise CheckpointError("this legacy-format checkpoint holds a sparse tensor, whose invariants gradstep checks "
                          f"as it rebuilds, before this format's data is read; {_CONVERT}")


def _legacy_globals():
    g = _torch_globals()
    g["torch._utils._rebuild_tensor_v2"] = _refuse_lazy_bits
    g["torch._utils._rebuild_sparse_tensor"] = _refuse_sparse
    return g


# ---------------------------------------------------------------- loading
def load_torch_legacy(data, name, map_location=None, encoding="utf-8", errors="strict"):
    """Load a legacy-format ``torch.save`` file; see the module docstring for what is checked."""
    if len(data) < len(_magic_pickle()) and _magic_pickle().startswith(bytes(data)):
        raise CheckpointError(f"{name}: truncated legacy torch checkpoint ({len(data)} bytes, cut inside its "
                              "magic number)")
    p = _Pickles(data, name, encoding, errors)
    _header(p)
    obj_start = p.pos
    obj_end = _pickle_end(data, obj_start, name, "object pickle")
    p.pos = obj_end
    keys = _storage_keys(p.next("list of storage keys"), name)
    data_start = p.pos
    loader = _LegacyLoader(name, map_location, keys, len(data) - data_start)
    p.pos = obj_start
    try:
        result = p.next("object pickle", _legacy_globals(), loader.persistent_load)
    except CallerError as e:
        raise e.error from None
    except CheckpointError as e:
        hint = _many_views_hint(loader.roots.values(), str(e))
        if hint:
            raise type(e)(f"{e}. {hint}") from None
        raise
    loader.fill(data, data_start, keys)
    return result

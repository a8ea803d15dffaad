"""``gradstep.save`` / ``gradstep.load``: checkpoints that never run code on load.

Two formats:

* gradstep's native ``.gs`` (see :mod:`gradstep._gs_format`): a JSON header and a
  data blob, nothing pickled.
* torch's zip format (see :mod:`gradstep._torch_format`), which ``torch.load``
  reads with its default ``weights_only=True``; and torch's legacy non-zip format
  (:mod:`gradstep._torch_legacy_format`), read, and written for
  ``_use_new_zipfile_serialization=False``.

``save`` picks the format from ``format=`` if given, else from the file name:
``.pt``, ``.pth`` and ``.bin`` get torch's format, every other name (``.gs``,
unknown extensions, and file objects without such a ``.name``) the native one.
``load`` tells the two apart by content.

Loading treats the file as hostile: torch pickles run in a restricted
interpreter that only builds tensors, containers, plain values and NumPy data
(plus classes you approve with :func:`add_safe_globals`), every tensor view and
zip record is bounds-checked, and every malformed file raises
:class:`CheckpointError` (a ``RuntimeError``). ``weights_only=False`` reads the file
the same way: gradstep never runs the code in a pickle.

What a load may cost follows the file's size, so a small file cannot take
gigabytes or hours: the Python objects a pickle or a ``.gs`` header builds
(16x the file, +64 MiB), the pickle's work (opcodes and hashing, a few steps
per byte), and what deflated zip records inflate to (64x, +64 MiB); zip
records may not share bytes. Containers may nest 1000 deep, and data that
contains itself is refused (torch loads it, but gradstep's code that walks
state dicts recurses). Running out of memory is a :class:`CheckpointError` too.

NumPy arrays, dtypes and scalars in a torch file load as torch loads them: with
``weights_only=False``, or by default once each of their names is approved with
``add_safe_globals``; otherwise the load refuses them with torch's message
(:mod:`gradstep._weights_only`). Either way gradstep never calls NumPy's unpickling
functions; it checks the dtype (plain numeric only), shape and byte count and copies
the bytes, so they are data, not code.
Others are NumPy's limits: a stride-0 view with more bytes than a NumPy array
can address (``numel * itemsize >= 2**63``) or with more than 64 dimensions is
refused, where torch keeps it; so is an empty tensor whose nonzero sizes come to
``2**63`` bytes or more (``(0, 2**62)`` float32; ``(0, 2**62)`` int8 loads). A device
index outside torch's int8 (0 to 127) is refused (torch refuses some, wraps others).
The memory bound charges a tensor view ~2.7 KB, so a file of many small views of
one storage (``torch.save([base[i] for i in range(100_000)])``) can exceed it where
torch loads it; the error says so and to save the base tensor instead.

Writes are atomic: the bytes go to a temporary file in the target's folder
(created with the process umask, like any other file), which is flushed,
fsync'ed and renamed over the target, so a process killed while saving leaves
the previous file intact; the next save of the same target removes the
temporary file such a killed process left behind.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import secrets
import stat
import sys

__all__ = ["CheckpointError", "UnsafeCheckpointError", "add_safe_globals", "atomic_write",
           "clear_safe_globals", "get_safe_globals", "get_unsafe_globals_in_checkpoint", "load",
           "safe_globals", "save"]

TORCH_EXTENSIONS = (".pt", ".pth", ".bin")


class CheckpointError(RuntimeError):
    """A file that is not a valid checkpoint: truncated, corrupted, malformed, or of an unknown format."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A pickle that asks for something other than tensors, containers and plain values.

    Also a ``pickle.UnpicklingError``: what torch's weights_only load raises, and what programs
    catch before retrying with ``weights_only=False``."""


from ._module_pickle import holds_module  # noqa: E402 - it needs the errors above
from ._torch_unpickler import (  # noqa: E402 - they need the errors above
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)


# ---------------------------------------------------------------- atomic writes
def _stale_temp_files(folder, base):
    """``.BASE.<pid>-<hex>.tmp`` files whose writing process no longer exists."""
    prefix = "." + base + "."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    out = []
    for n in names:
        if not (n.startswith(prefix) and n.endswith(".tmp")):
            continue
        pid = n[len(prefix):-len(".tmp")].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            out.append(os.path.join(folder, n))
        except (PermissionError, OverflowError, OSError):
            pass
    return out


def atomic_write(path, data: bytes):
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    The file gets the permissions of any new file (``0o666`` less the umask).
    Temporary files of earlier saves to ``path`` whose process died are removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    for stale in _stale_temp_files(folder, base):
        with contextlib.suppress(OSError):
            os.unlink(stale)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---------------------------------------------------------------- save
def _format_for(f):
    if sys.modules.get("torch") is sys.modules.get("gradstep"):
        return "torch"  # a torch program (gradstep run): torch's format whatever the name
    return "torch" if _name_ext(f) in TORCH_EXTENSIONS else "gradstep"


def _name_ext(f):
    """The lower-case extension of the path or named file ``f`` ('' for an unnamed stream)."""
    name = f if not hasattr(f, "write") else getattr(f, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.path.splitext(os.fsdecode(os.fspath(name)))[1].lower()
    return ""


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False, *, format=None):  # noqa: A002
    """Save ``obj`` (nested dicts/lists/tuples of tensors, arrays, plain values, modules) to ``f``.

    ``f`` is a path or a binary file object. ``format="torch"`` writes torch's zip
    format (what ``torch.load(f, weights_only=True)`` reads), ``format="gradstep"``
    the native one; by default ``.pt``/``.pth``/``.bin`` names get torch's format
    and everything else (including unnamed file objects) the native one, except under the
    torch hook (``gradstep run``), where a torch program's ``torch.save`` always writes
    torch's format (``checkpoint.pth.tar`` included), as real torch would. A whole module
    (``torch.save(model, f)``, alone or inside the object) goes in torch's format unless the
    name is ``.gs``: the native format holds data only (``_module_pickle``).
    torch's keyword arguments are accepted: ``pickle_protocol`` (2 to 5; torch
    files are always written with protocol 2, which every torch reads),
    ``_use_new_zipfile_serialization`` (``False`` writes torch's legacy non-zip format, which
    every torch reads, whatever the name, unless ``format="gradstep"``) and
    ``pickle_module`` (only the standard ``pickle``).
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise TypeError("gradstep.save writes its own pickle opcodes; pickle_module must be None or pickle")
    if type(pickle_protocol) is not int or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle_protocol must be an int from 2 to {pickle.HIGHEST_PROTOCOL}, "
                         f"got {pickle_protocol!r}")
    if format is not None:
        fmt = format
    else:
        fmt = "torch" if not _use_new_zipfile_serialization else _format_for(f)
        if fmt == "gradstep" and _name_ext(f) != ".gs" and holds_module(obj):
            fmt = "torch"  # the native format holds data only; a whole module is pickled, as torch.save does
    if fmt == "gradstep":
        from ._gs_format import native_bytes

        data = native_bytes(obj)
    elif fmt == "torch" and not _use_new_zipfile_serialization:
        from ._torch_legacy_writer import legacy_bytes

        data = legacy_bytes(obj)
    elif fmt == "torch":
        from ._torch_format import torch_bytes

        data = torch_bytes(obj, _archive_name(f), byteorder=not _disable_byteorder_record)
    else:
        raise ValueError(f"unknown format {fmt!r}; expected 'gradstep' or 'torch'")
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write(f, data)


def _archive_name(f):
    if hasattr(f, "write"):
        return "archive"
    base = os.path.splitext(os.path.basename(os.fsdecode(os.fspath(f))))[0]
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in base) or "archive"


# ---------------------------------------------------------------- load
def _read(f):
    if hasattr(f, "read"):
        data, name = f.read(), str(getattr(f, "name", "<stream>"))
    else:
        name = os.fsdecode(os.fspath(f))
        if not os.path.exists(name):
            raise FileNotFoundError(f"No such checkpoint file: '{name}'")
        with open(name, "rb") as fh:
            if stat.S_ISCHR(os.fstat(fh.fileno()).st_mode):  # /dev/zero, /dev/urandom: reading never ends
                raise CheckpointError(f"{name}: a character device, not a checkpoint file")
            data = fh.read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"load() needs a binary file, got {type(data).__name__} from read()")
    return data, name


def get_unsafe_globals_in_checkpoint(f):
    """The classes/functions a torch checkpoint names that ``load`` would refuse (torch's API).

    Found by reading the pickle's GLOBAL opcodes without running it; approve the
    ones you trust with :func:`add_safe_globals`. A native ``.gs`` file names none.
    """
    data, name = _read(f)
    if data.startswith(b"GRADSTEP"):
        return []
    if not data.startswith(b"PK"):
        raise CheckpointError(f"{name}: not a torch zip checkpoint")
    from ._torch_format import unsafe_globals

    try:
        return unsafe_globals(data, name)
    except MemoryError:
        raise CheckpointError(f"{name}: ran out of memory reading the checkpoint's pickle") from None


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Load what ``save`` (or ``torch.save``) wrote; never executes code from the file.

    ``map_location`` (``'cpu'``, a device, a dict of locations or a callable)
    maps saved storage locations; only the CPU exists, so a storage that ends
    up elsewhere (e.g. a CUDA one without ``map_location='cpu'``) raises, as in
    torch on a CPU-only machine. ``weights_only=False`` (what torch >= 2.6 programs pass
    to load their own checkpoints) reads the file as ``True`` does, except that NumPy data
    loads without approval (as in torch): gradstep never runs code from a file, so a
    checkpoint holding other objects than tensors, containers, plain values and NumPy data
    raises :class:`UnsafeCheckpointError`, naming the class to approve with
    :func:`add_safe_globals` if you trust it. ``mmap`` is accepted and the file is
    read into memory; as in torch, ``mmap=True`` refuses a file in torch's legacy (non-zip) format. ``encoding`` (default ``'utf-8'``, as torch) and ``errors`` decode the
    protocol 0/1 strings of a torch pickle (``'bytes'`` keeps them as bytes); ``torch.save``
    writes none, and native ``.gs`` files hold no pickle, so both matter only for crafted or
    re-pickled files. Raises :class:`CheckpointError` for anything that is not a valid
    checkpoint.
    """
    if weights_only is False:
        from ._weights_only import numpy_as_data

        try:
            with numpy_as_data():
                return load(f, map_location, pickle_module, mmap=mmap, **pickle_load_args)
        except UnsafeCheckpointError as e:
            raise UnsafeCheckpointError(
                f"{e}\n(gradstep's weights_only=False loads NumPy data too, but it never runs "
                "code from a file)") from None
    if pickle_module is not None and pickle_module is not pickle:
        raise TypeError("gradstep.load reads pickles itself; pickle_module must be None or pickle")
    unknown = set(pickle_load_args) - {"encoding", "errors"}
    if unknown:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(unknown)}")
    text = _text_args(**pickle_load_args)
    from ._checkpoint_location import check_map_location_type

    check_map_location_type(map_location)
    data, name = _read(f)
    if mmap and not data.startswith((b"PK", b"GRADSTEP")):  # torch's refusal of mmap for a legacy file
        raise RuntimeError("mmap can only be used with files saved with `torch.save("
                           f"{f + ', ' if isinstance(f, str) else ''}_use_new_zipfile_serialization=True), "
                           "please torch.save your checkpoint with this option in order to use mmap.")
    try:
        return _load_bytes(data, name, map_location, text)
    except MemoryError:
        raise CheckpointError(f"{name}: ran out of memory loading the checkpoint (it holds more data than "
                              "this machine has free memory for, or is crafted to claim so)") from None


def _text_args(encoding="utf-8", errors="strict"):
    """``encoding`` / ``errors`` for a torch pickle's protocol 0/1 strings (pickle's meaning: a codec
    name, or ``'bytes'`` to keep them as bytes); checked before the file is read."""
    import codecs

    for what, v in (("encoding", encoding), ("errors", errors)):
        if type(v) is not str:
            raise TypeError(f"load(): argument '{what}' must be str, not {type(v).__name__}")
    if encoding != "bytes":
        codecs.lookup(encoding)  # LookupError: unknown encoding, as pickle raises it
    return encoding, errors


def _load_bytes(data, name, map_location, text=("utf-8", "strict")):
    if data.startswith(b"GRADSTEP"):
        from ._checkpoint_location import check_map_location
        from ._gs_format import parse_native

        check_map_location(map_location)
        return parse_native(data, name, map_location)
    if data.startswith(b"PK"):
        from ._torch_format import load_torch_zip

        return load_torch_zip(data, name, map_location, *text)
    if data[257:262] == b"ustar":
        from ._torch_legacy_format import TAR_MESSAGE

        raise CheckpointError(f"{name}: {TAR_MESSAGE}")
    if data[:1] == b"\x80":
        from ._torch_legacy_format import is_legacy, load_torch_legacy

        if is_legacy(data):  # torch.save(..., _use_new_zipfile_serialization=False), torch < 1.6's default
            return load_torch_legacy(data, name, map_location, *text)
        raise UnsafeCheckpointError(
            f"{name}: a bare pickle, not a torch checkpoint; gradstep refuses to unpickle it (it reads "
            "torch.save's zip format and its legacy one, _use_new_zipfile_serialization=False)"
        )
    raise CheckpointError(f"{name}: not a gradstep or torch checkpoint (unrecognised header {bytes(data[:8])!r})")

"""``device`` objects, and the one rule of where data lives: on the CPU.

gradstep behaves like a CPU-only build of torch 2.13. A ``device('cuda:0')`` object
can be made, compared and printed (programs build one before asking whether a GPU
exists), but putting data on any device other than the CPU raises
:class:`DeviceUnavailableError`. That includes ``'meta'``: gradstep has no shape-only
tensors, so deferred initialisation on the meta device is refused rather than
silently allocating real memory.
"""

from __future__ import annotations

import re

# torch's device types, in the order its error message lists them
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")
_pytype = type  # the builtin, shadowed by device()'s argument name
_DEVICE_RE = re.compile(r"([a-zA-Z_]+)(?::(0|[1-9][0-9]*))?")

_HINT = ("gradstep runs on the CPU only; write "
         "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu') "
         "and move data with .to(device)")


class DeviceUnavailableError(RuntimeError, AssertionError):
    """Data was sent to a device this CPU-only build does not have.

    A RuntimeError, and also an AssertionError because that is what torch raises for
    ``.cuda()`` on a build without CUDA, so ``except AssertionError`` code still works.
    """


def _no_accelerator():
    return DeviceUnavailableError(f"Cannot access accelerator device when none is available. {_HINT}")


def _not_compiled(kind):
    name = {"cuda": "CUDA", "xpu": "XPU", "mps": "MPS", "meta": "meta tensors"}.get(kind, kind)
    return DeviceUnavailableError(f"Torch not compiled with {name} enabled: {_HINT}")


def _parse(text):
    if not text:
        raise RuntimeError("Device string must not be empty")
    m = _DEVICE_RE.fullmatch(text)
    if m is None:
        raise RuntimeError(f"Invalid device string: '{text}'")
    if m.group(1) not in DEVICE_TYPES:
        raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of "
                           f"device string: {m.group(1)}")
    return m.group(1), None if m.group(2) is None else int(m.group(2))


class device:
    """``torch.device``: a device type (``'cpu'``, ``'cuda'``, ...) and an optional index.

    ``device('cuda:1')``, ``device('cuda', 1)``, ``device(type='cpu', index=0)`` or
    ``device(other_device)``. Equal only to another device with the same type and
    index (``device('cpu') != 'cpu'``, as in torch). Usable as a context manager
    like torch's, which for gradstep only accepts the CPU.
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):  # noqa: A002 - torch's keyword names
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): argument 'type' (position 1) must be str, not device")
            type, index = type.type, type.index  # noqa: A001
        elif isinstance(type, int) and not isinstance(type, bool):
            raise _no_accelerator()  # torch reads a bare int as an accelerator index
        elif isinstance(type, bytes):
            type = type.decode()  # noqa: A001
        if not isinstance(type, str):
            raise TypeError(f"device(): argument 'type' (position 1) must be str, not "
                            f"{_pytype(type).__name__}")
        kind, parsed = _parse(type)
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"device(): argument 'index' (position 2) must be int, not "
                                f"{_pytype(index).__name__}")
            if parsed is not None:
                raise RuntimeError("type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            if index < 0:
                raise RuntimeError("Device index must not be negative")
            parsed = index
        object.__setattr__(self, "_type", kind)
        object.__setattr__(self, "_index", parsed)

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'torch.device' objects is not writable")

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self):
        return hash((self._type, self._index))

    def __reduce__(self):
        return (device, (self._type,) if self._index is None else (self._type, self._index))

    def __enter__(self):
        check_device(self)
        return self

    def __exit__(self, *exc):
        return False



def check_device(d):
    """Raise unless ``d`` (None, a string, an int or a device) names the CPU."""
    if d is None:
        return
    if isinstance(d, int) and not isinstance(d, bool):
        raise _no_accelerator()
    kind = d.type if isinstance(d, device) else device(d).type
    if kind != "cpu":
        raise _not_compiled(kind)


def cuda_unavailable():
    """The error for ``.cuda()``: torch's message on a build without CUDA, plus what to do."""
    return _not_compiled("cuda")


def get_default_device():
    return device("cpu")


def set_default_device(d):
    """Only the CPU (or None, meaning the CPU) can be the default device."""
    check_device(d)

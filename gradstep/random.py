"""Random number generation: ``Generator``, ``manual_seed`` and the default generator.

A generator is torch's CPU generator: an mt19937 engine (NumPy's ``MT19937`` bit
generator holds its words) plus torch's cached second Box-Muller value, seeded as torch
seeds it. ``rand``, ``randn``, ``randint``, ``randperm``, the in-place samplers, dropout
and ``nn.init`` draw through ``gradstep._mt19937`` and give torch's numbers for the same
seed. Other distributions draw from a NumPy ``Generator`` over the same engine: seeded and
repeatable, but not torch's numbers. ``get_state``/``set_state`` use torch's 5056-byte
layout, so a state saved by torch restores here and the other way round.
"""

from __future__ import annotations

import contextlib
import os
import struct

from . import _mt19937
from .backend import xp

DEFAULT_SEED = 67280421310721  # what a new torch.Generator starts from
_STATE_BYTES = 5056  # torch's CPUGeneratorImplState
_HEAD = struct.Struct("<QiiQ")  # seed, left, seeded, next (torch's legacy mt19937 pod)
_TAIL = struct.Struct("<dddi4xf?3x")  # normal_x, normal_y (the cached double), normal_rho,
#                                       its validity, the cached float and its validity


class Generator:
    """A random number generator with torch's interface (``manual_seed``, ``get_state``...)."""

    def __init__(self, device="cpu"):
        from ._tensor import _check_device
        from ._tensor import device as _device

        _check_device(device)
        self.device = _device(device)
        self._bg = xp.random.MT19937()
        self._rng = xp.random.Generator(self._bg)  # the other distributions, same engine
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            seed += 2**64
        self._seed = seed
        self._seeded_key = _mt19937.seeded_key(seed)  # what get_state compares against
        self._bg.state = {"bit_generator": "MT19937",
                          "state": {"key": self._seeded_key, "pos": _mt19937.MT_N}}
        self._next_double_normal = None
        self._next_float_normal = None
        return self

    def seed(self):
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """torch's state tensor: uint8, 5056 bytes (it saves without pickle)."""
        from ._tensor import Tensor

        st = self._bg.state["state"]
        pos = int(st["pos"])
        left, nxt = (1, pos) if pos == _mt19937.MT_N else (_mt19937.MT_N + 1 - pos, pos)
        if pos == _mt19937.MT_N and xp.array_equal(st["key"], self._key_of_seed()):
            nxt = 0  # seeded and not drawn from: torch writes next = 0
        raw = _HEAD.pack(self._seed & (2**64 - 1), left, 1, nxt)
        raw += xp.asarray(st["key"], dtype=xp.uint64).astype("<u8").tobytes()
        d, f = self._next_double_normal, self._next_float_normal
        raw += _TAIL.pack(0.0, d or 0.0, 0.0, d is not None, f or 0.0, f is not None)
        return Tensor._make(xp.frombuffer(raw, dtype=xp.uint8).copy())

    def set_state(self, new_state):
        from ._tensor import Tensor

        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype.name != "uint8":
            raise TypeError("RNG state must be a torch.ByteTensor")
        data = new_state._data.tobytes()
        if len(data) != _STATE_BYTES:  # torch 2.13 no longer reads the legacy 5048-byte state
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but found the "
                               f"input RNG state size to be {len(data)}")
        seed, left, _, nxt = _HEAD.unpack_from(data)
        key = xp.frombuffer(data, dtype="<u8", count=_mt19937.MT_N, offset=_HEAD.size)
        if left < 1 or left > _mt19937.MT_N or nxt > _mt19937.MT_N or (key >> 32).any():
            raise RuntimeError("Invalid mt19937 state")
        _, d, _, d_ok, f, f_ok = _TAIL.unpack_from(data, _HEAD.size + 8 * _mt19937.MT_N)
        pos = _mt19937.MT_N if left == 1 else nxt
        self._bg.state = {"bit_generator": "MT19937",
                          "state": {"key": key.astype(xp.uint32), "pos": pos}}
        self._seed = seed
        self._seeded_key = None  # made on demand: checkpointing restores states often
        self._next_double_normal = d if d_ok else None
        self._next_float_normal = f if f_ok else None
        return self

    def _key_of_seed(self):
        """The engine's words right after ``manual_seed(initial_seed())``: a state still equal
        to them has not been drawn from, which torch writes as ``next = 0``."""
        if self._seeded_key is None:
            self._seeded_key = _mt19937.seeded_key(self._seed)
        return self._seeded_key


default_generator = Generator()
default_generator.seed()  # like torch, each process starts from a fresh random seed


def _gen(generator=None):
    """The NumPy generator behind ``generator`` (or the default one)."""
    return (generator or default_generator)._rng


def manual_seed(seed):
    """Seed the default generator; returns it, like torch."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Run the block with the global generator's state saved and restored afterwards, so the
    draws inside do not change the ones after (torch.random.fork_rng; the CPU only here)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)

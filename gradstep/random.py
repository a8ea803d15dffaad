"""Random number generation: ``Generator``, ``manual_seed`` and the default generator.

gradstep draws from NumPy's PCG64, so its random streams differ from torch's
(mt19937 with torch's own transforms); what matches is the API and the
distributions, and that the same seed gives the same numbers every run.
"""

from __future__ import annotations

import contextlib
import os

from .backend import xp


class Generator:
    """A random number generator with torch's interface (``manual_seed``, ``get_state``...)."""

    def __init__(self, device="cpu"):
        from ._tensor import _check_device
        from ._tensor import device as _device

        _check_device(device)
        self.device = _device(device)
        self._seed = 67280421310721  # torch's default seed value
        self._rng = xp.random.Generator(xp.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            seed += 2**64
        self._seed = seed
        self._rng = xp.random.Generator(xp.random.PCG64(seed))
        return self

    def seed(self):
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor (so it saves without pickle)."""
        from ._tensor import Tensor

        st = self._rng.bit_generator.state
        words = [st["state"]["state"], st["state"]["inc"]]
        raw = b"".join(w.to_bytes(16, "little") for w in words)
        raw += bytes([st["has_uint32"]]) + int(st["uinteger"]).to_bytes(4, "little")
        raw += int(self._seed).to_bytes(8, "little")
        return Tensor._make(xp.frombuffer(raw, dtype=xp.uint8).copy())

    def set_state(self, new_state):
        data = bytes(xp.asarray(new_state._data if hasattr(new_state, "_data") else new_state,
                                dtype=xp.uint8).tolist())
        if len(data) != 45:
            raise RuntimeError(f"Generator state must be 45 bytes, got {len(data)}")
        state = int.from_bytes(data[0:16], "little")
        inc = int.from_bytes(data[16:32], "little")
        bg = xp.random.PCG64()
        bg.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                    "has_uint32": data[32], "uinteger": int.from_bytes(data[33:37], "little")}
        self._rng = xp.random.Generator(bg)
        self._seed = int.from_bytes(data[37:45], "little")
        return self


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

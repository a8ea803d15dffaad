"""Versions: gradstep's own, and the torch API version it implements.

``gradstep.__version__`` is gradstep's release (``"0.1.0"``). Under
``install_as_torch()`` programs read it as ``torch.__version__`` and compare it with
torch releases, so the hook sets it to :data:`torch_version` -- ``"2.13.0+gradstep.0.1.0"``,
a valid PEP 440 version (torch 2.13.0 with gradstep's release as the local label,
like ``"2.13.0+cpu"``) -- and restores it when uninstalled. It is a
:class:`TorchVersion`, a ``str`` that also compares by release numbers with strings
and tuples (``torch.__version__ >= "2.2"``, ``>= (1, 12)``), as torch's does.
``cuda`` and ``hip`` are None: there is no GPU build.
"""

from __future__ import annotations

import re

gradstep_version = "0.1.0"
torch_api = "2.13.0"
cuda = None
hip = None
debug = False
git_version = None


class TorchVersion(str):
    """A version string that compares by its release numbers (``2.13.0 > 2.2``)."""

    @staticmethod
    def _key(v):
        """Release numbers, then whether there is a local label (``2.13.0+x`` > ``2.13.0``)."""
        if isinstance(v, (tuple, list)):
            return tuple(int(x) for x in v), False
        m = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(v))
        if m is None:
            raise ValueError(f"not a version: {v!r}")
        return tuple(int(x) for x in m.group(1).split(".")), "+" in str(v)

    def _cmp(self, other):
        (a, la), (b, lb) = self._key(self), self._key(other)
        n = max(len(a), len(b))
        a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
        return ((a, la) > (b, lb)) - ((a, la) < (b, lb))

    def __lt__(self, other):
        return self._cmp(other) < 0

    def __le__(self, other):
        return self._cmp(other) <= 0

    def __gt__(self, other):
        return self._cmp(other) > 0

    def __ge__(self, other):
        return self._cmp(other) >= 0

    # == and hash stay str's: equal only to the same text, as torch's (by PEP 440) is
    __eq__ = str.__eq__
    __hash__ = str.__hash__


torch_version = TorchVersion(f"{torch_api}+gradstep.{gradstep_version}")
__version__ = torch_version

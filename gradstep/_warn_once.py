"""torch's ``TORCH_WARN_ONCE``: a warning given once per process, whichever caller reaches it
first (the deprecated scalar-first overloads, ``float()`` of a tensor that requires grad,
``backward(create_graph=True)``)."""

from __future__ import annotations

import warnings

_given: set[str] = set()  # keys of the warnings already given in this process


def warn_once(key, message, category=UserWarning, stacklevel=2):
    """``warnings.warn(message, category)`` the first time ``key`` comes, nothing after;
    ``message`` may be a function making the text (only called then); ``stacklevel`` counts
    from the caller of ``warn_once``."""
    if key in _given:
        return
    _given.add(key)
    warnings.warn(message() if callable(message) else message, category,
                  stacklevel=stacklevel + 1)

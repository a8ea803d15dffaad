"""torch's ``TORCH_WARN_ONCE``: a warning given once per process, whichever caller reaches it
first (the deprecated scalar-first overloads, ``float()`` of a tensor that requires grad,
``backward(create_graph=True)``).

torch raises these from C++, so Python shows them at the innermost Python frame: the user's
line. gradstep reaches them through a varying number of its own frames (a method may be
wrapped for keyword renames, then for the deprecated overloads), so the warning is placed
at the first frame outside the gradstep package rather than at a fixed depth."""

from __future__ import annotations

import os
import sys
import warnings

_given: set[str] = set()  # keys of the warnings already given in this process
_always = [False]  # torch.set_warn_always(True): every warn-once warning, every time
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel(skip=1):
    """The ``stacklevel`` that makes ``warnings.warn``, called ``skip`` frames above this
    function's caller (1: the caller itself), name the first frame outside gradstep."""
    frame = sys._getframe(skip)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def warn_once(key, message, category=UserWarning, stacklevel=None):
    """``warnings.warn(message, category)`` the first time ``key`` comes, nothing after;
    ``message`` may be a function making the text (only called then). The warning names
    the user's line, or ``stacklevel`` frames up from the caller of ``warn_once`` if given."""
    if key in _given and not _always[0]:
        return
    _given.add(key)
    level = user_stacklevel() if stacklevel is None else stacklevel + 1
    warnings.warn(message() if callable(message) else message, category, stacklevel=level)


def set_warn_always(b: bool) -> None:
    """``torch.set_warn_always``: give the warn-once warnings every time (for debugging)."""
    _always[0] = bool(b)


def is_warn_always_enabled() -> bool:
    """``torch.is_warn_always_enabled``."""
    return _always[0]

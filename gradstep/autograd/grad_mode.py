"""Grad mode: whether operations record a graph for backward."""

from __future__ import annotations

import functools


class _GradState:
    enabled = True


def is_grad_enabled() -> bool:
    return _GradState.enabled


class _GradModeContext:
    """Base for the grad-mode context managers; each also works as a decorator."""

    _target: bool = True

    def __enter__(self):
        self._prev = _GradState.enabled
        _GradState.enabled = self._target
        return self

    def __exit__(self, *exc):
        _GradState.enabled = self._prev
        return False

    def __call__(self, fn):
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradModeContext()._configured(target):
                return fn(*args, **kwargs)

        return wrapper

    def _configured(self, target: bool):
        self._target = target
        return self


class _NoParamDecorator(_GradModeContext):
    """Allows both ``@no_grad()`` and bare ``@no_grad``, as torch does."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):
    """Disable graph recording inside the block (or the decorated function)."""

    def __init__(self, orig_func=None):
        self._target = False


class enable_grad(_NoParamDecorator):
    """Enable graph recording inside the block, even under ``no_grad``."""

    def __init__(self, orig_func=None):
        self._target = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``. Takes effect at once, like torch's, and also as a context."""

    def __init__(self, mode: bool):
        self._prev = _GradState.enabled
        self._target = bool(mode)
        _GradState.enabled = self._target

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _GradState.enabled = self._prev
        return False

    def __call__(self, fn):
        _GradState.enabled = self._prev  # used as a decorator: undo the eager switch
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """Like ``no_grad`` (gradstep has no separate inference tensors)."""

    def __init__(self, mode: bool = True):
        self._target = not mode

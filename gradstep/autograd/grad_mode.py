"""Grad mode: whether operations record a graph for backward.

Grad mode and inference mode are per thread, as in torch: ``no_grad()`` in one thread leaves
every other thread recording, and a new thread starts with grad enabled and inference mode off
whatever the thread that started it had. ``_GradState`` is a ``threading.local`` whose class
attributes are those defaults, so the hot path (``Node.apply``) reads one attribute.
"""

from __future__ import annotations

import functools
import inspect
import threading


class _GradLocal(threading.local):
    enabled = True  # the defaults every thread starts with
    inference = False
    multithreading = True  # set_multithreading_enabled: kept (gradstep's backward has one thread)


_GradState = _GradLocal()


def is_grad_enabled() -> bool:
    return _GradState.enabled


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside ``inference_mode()``."""
    return _GradState.inference


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
        return _decorate(fn, lambda: _GradModeContext()._configured(target))

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
    """Like ``no_grad``, and the tensors made inside are inference tensors (``is_inference()``,
    see ``_inference``); ``mode=False`` enables grad."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # bare ``@inference_mode``, as torch allows

    def __init__(self, mode: bool = True):
        self._target = not mode

    def __enter__(self):
        self._prev_inference = _GradState.inference
        _GradState.inference = not self._target
        if not self._target:
            _inference.enter()
        return super().__enter__()

    def __exit__(self, *exc):
        _GradState.inference = self._prev_inference
        if not self._target:
            _inference.leave()
        return super().__exit__(*exc)

    def __call__(self, fn):
        mode = not self._target
        return _decorate(fn, lambda: inference_mode(mode))


class set_multithreading_enabled(_GradModeContext):
    """Enable or disable multithreaded backward for this thread (takes effect at once, and
    as a context). gradstep's backward always runs on the calling thread; the flag is kept."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError("set_multithreading_enabled(): argument 'enabled' (position 1) must "
                            f"be bool, not {type(mode).__name__}")
        self.prev = _GradState.multithreading
        _GradState.multithreading = mode
        self.mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _GradState.multithreading = self.prev

    def __call__(self, fn):
        return _decorate(fn, self.clone)

    def clone(self) -> set_multithreading_enabled:
        """A copy of this context (a decorator enters a fresh one per call)."""
        return self.__class__(self.mode)


def _is_multithreading_enabled() -> bool:
    return _GradState.multithreading


from . import _inference  # noqa: E402  (it reads _GradState, defined above)


def _decorate(fn, context):
    """``fn`` run inside ``context()``; a generator function has the mode around each step of
    the generator (torch's rule: ``@no_grad`` on a sampling loop that yields)."""
    if inspect.isgeneratorfunction(fn):
        return _decorate_generator(fn, context)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with context():
            return fn(*args, **kwargs)

    return wrapper


def _decorate_generator(fn, context):
    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with context():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with context():
                        gen.close()
                    raise
                except BaseException as e:  # noqa: BLE001 - thrown into the generator, as torch does
                    with context():
                        response = gen.throw(e)
                else:
                    with context():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return generator

"""``torch.futures``: ``Future``, the handle of a result that may not be there yet.

DDP communication hooks return one (``Work.get_future()`` of an ``async_op=True``
collective, often chained with ``then``), and user code can make and complete one
itself (``Future()`` + ``set_result``).

A future made by gradstep for a posted MPI operation carries a *driver*: MPI moves
a non-blocking collective along only inside MPI calls, so ``done()`` tests the
request and ``wait()`` waits on it, and completing it runs the callbacks. A future
without a driver (made by user code) is completed by ``set_result`` or
``set_exception``, possibly from another thread; ``wait()`` blocks until then.
"""

from __future__ import annotations

import logging
import threading
from typing import Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
_log = logging.getLogger(__name__)


class Future(Generic[T]):
    """The eventual result of an asynchronous operation (torch.futures.Future)."""

    def __init__(self, *, devices=None):
        self._done = False
        self._value = None
        self._error = None
        self._callbacks = []
        self._cond = threading.Condition()
        self._drive = None  # driver(block): makes progress; completes this future when it is done

    # ------------------------------------------------------------ state
    def done(self) -> bool:
        """True once the result (or an error) is set; never blocks."""
        self._settle(block=False)
        return self._done

    def wait(self) -> T:
        """Block until the future is completed; its value, or its error raised."""
        self._settle(block=True)
        if self._error is not None:
            raise self._error
        return self._value

    def value(self) -> T:
        """The value of a completed future (raises its error, if it has one)."""
        if not self._done:
            raise RuntimeError("Future.value() called on a future that is not completed yet: call "
                               "wait() first, or read the value inside a then() callback")
        if self._error is not None:
            raise self._error
        return self._value

    def _settle(self, block):
        """Make progress (``block``: until completed) without raising the future's error."""
        drive = self._drive
        if not self._done and drive is not None:
            drive(block)
        if block and not self._done:
            with self._cond:
                self._cond.wait_for(lambda: self._done)

    # ------------------------------------------------------------ completing
    def set_result(self, result: T) -> None:
        """Complete the future with ``result``: wakes waiters and runs the callbacks."""
        self._complete(result, None)

    def set_exception(self, result) -> None:
        """Complete the future with an error: ``wait()`` and ``value()`` raise it."""
        if not isinstance(result, BaseException):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def _complete(self, value, error):
        with self._cond:
            if self._done:
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note "
                                   "that a Future can only be marked completed once.")
            self._value, self._error, self._done = value, error, True
            self._drive = None
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for callback in callbacks:
            callback(self)

    # ------------------------------------------------------------ chaining
    def then(self, callback) -> Future:
        """A new future holding ``callback(self)``, run once this one is completed.

        An error raised by ``callback`` completes the new future with a RuntimeError
        naming it (as torch does).
        """
        child = Future()
        child._drive = self._settle

        def run(fut):
            try:
                result = callback(fut)
            except Exception as e:  # noqa: BLE001 - handed to the child future, as torch does
                err = RuntimeError(f"Got the following error when running the callback: "
                                   f"{type(e).__name__}: {e}")
                err.__cause__ = e
                child._complete(None, err)
            else:
                child._complete(result, None)

        self._add_callback(run)
        return child

    def add_done_callback(self, callback) -> None:
        """Run ``callback(self)`` once completed; an error it raises is logged and ignored."""

        def run(fut):
            try:
                callback(fut)
            except Exception:  # noqa: BLE001 - torch logs and drops it too
                _log.exception("Got the following error when running the callback")

        self._add_callback(run)

    def _add_callback(self, run):
        with self._cond:
            if not self._done:
                self._callbacks.append(run)
                return
        run(self)

    def __repr__(self):
        return f"<gradstep.futures.Future {'done' if self._done else 'pending'}>"


def _completed(value) -> Future:
    """A future that already holds ``value``."""
    fut = Future()
    fut.set_result(value)
    return fut


def collect_all(futures) -> Future:
    """A future completed once every one of ``futures`` is; its value is the list of them."""
    futures = list(futures)
    out = Future()

    def drive(block):
        for f in futures:
            f._settle(block)

    out._drive = drive
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_):
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            out._complete(futures, None)

    if not futures:
        out._complete([], None)
    for f in futures:
        f._add_callback(one_done)
    return out


def wait_all(futures) -> list:
    """Wait for every future; the list of their values (the first error is raised)."""
    return [f.wait() for f in futures]

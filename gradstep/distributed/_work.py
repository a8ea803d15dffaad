"""``Work``: the handle an ``async_op=True`` collective (or ``isend``/``irecv``) returns."""

from __future__ import annotations

from ..futures import Future


class Work:
    """Handle of a collective: ``wait()`` blocks until it is done; then the tensors hold the result."""

    def __init__(self, request, finish=None, outputs=()):
        self._request = request
        self._finish = finish
        self._outputs = list(outputs)
        self._done = False

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def is_completed(self):
        """True once the operation has finished (never blocks)."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed()

    def wait(self, timeout=None):
        """Block until the operation has finished; returns True."""
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def result(self):
        """The output tensors of the operation."""
        return list(self._outputs)

    def get_future(self):
        """A ``torch.futures.Future`` completed with ``result()`` once the operation is done.

        Waiting on the future (or on a future chained to it with ``then``) waits on this work.
        """
        fut = Future()

        def drive(block):
            if (self.wait() if block else self.is_completed()) and not fut._done:
                fut.set_result(self.result())

        fut._drive = drive
        return fut

    def _source_rank(self):
        """The rank (of the group) that sent the message a receive got."""
        source = getattr(self._request, "source", None)
        if source is None:
            raise RuntimeError("_source_rank() is only defined for a completed recv or irecv")
        return source

"""Inference tensors: the tensors ``inference_mode()`` makes, marked as torch marks them.

A tensor made inside ``inference_mode()`` gets an ``InferenceVersion`` as its version counter
(``_vc``); a view shares its source's counter, so a view of an inference tensor is one too, and
``Tensor.is_inference()`` is a type check. torch keeps no version for these tensors, and its two
refusals come from that, as here:

* writing the version (every in-place change bumps ``_vc[0]``) outside inference mode raises
  torch's "Inplace update to inference tensor outside InferenceMode" error. As in torch, the
  data has already changed when it raises;
* reading it to save the tensor for backward (``Node._record`` and ``Function.apply`` read a
  saved tensor's version as ``_vc[-1]``; every other reader uses ``_vc[0]``) outside inference
  mode raises "Inference tensors cannot be saved for backward".

Nothing here runs for normal tensors: their counter stays a plain list. While some thread is in
inference mode, ``Tensor._make`` and ``Tensor._init`` are wrapped to mark what they make when the
calling thread is in inference mode (one thread-local read per tensor made, only then).
"""

from __future__ import annotations

import threading

from .grad_mode import _GradState

SAVE_MESSAGE = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`."
)
INPLACE_MESSAGE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)
VERSION_MESSAGE = "Inference tensors do not track version counter."


class InferenceVersion(list):
    """The version counter of an inference tensor (a one-element list, see the module doc)."""

    def __getitem__(self, i):
        if i == -1 and not _GradState.inference:  # read to save for backward
            raise RuntimeError(SAVE_MESSAGE)
        return list.__getitem__(self, i)

    def __setitem__(self, i, value):
        if not _GradState.inference:
            raise RuntimeError(INPLACE_MESSAGE)
        list.__setitem__(self, i, value)


def is_inference(t) -> bool:
    return type(t._vc) is InferenceVersion


def check_requires_grad():
    """torch refuses ``requires_grad_()`` on an inference tensor outside inference mode."""
    if not _GradState.inference:
        raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode "
                           "is not allowed.")


def version(t):
    """``t._version``: torch refuses it for an inference tensor."""
    if type(t._vc) is InferenceVersion:
        raise RuntimeError(VERSION_MESSAGE)
    return t._vc[0]


_lock = threading.Lock()
_active = 0  # threads inside inference_mode(True), over all threads
_plain = None  # Tensor's own (_make, _init) while wrapped


def enter():
    """A thread enters inference mode: mark what it makes from now on."""
    global _active, _plain
    with _lock:
        _active += 1
        if _active == 1:
            _plain = _wrap_constructors()


def leave():
    global _active, _plain
    with _lock:
        _active -= 1
        if _active == 0 and _plain is not None:
            _restore_constructors(_plain)
            _plain = None


def _wrap_constructors():
    from . import function

    tensor_cls = function._Tensor
    make, init = tensor_cls.__dict__["_make"], tensor_cls.__dict__["_init"]
    plain_make = make.__func__

    def _make(cls, data, rg=False, grad_fn=None):
        t = plain_make(cls, data, rg, grad_fn)
        if _GradState.inference:
            t._vc = InferenceVersion(t._vc)
        return t

    def _init(self, data, rg, grad_fn):
        init(self, data, rg, grad_fn)
        if _GradState.inference:
            self._vc = InferenceVersion(self._vc)

    tensor_cls._make = classmethod(_make)
    tensor_cls._init = _init
    return tensor_cls, make, init


def _restore_constructors(plain):
    tensor_cls, make, init = plain
    tensor_cls._make = make
    tensor_cls._init = init

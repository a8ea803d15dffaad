"""What ``load(weights_only=True)`` (torch's default) refuses beyond what every load refuses, and
torch's wording for it.

gradstep never runs code from a file, whatever ``weights_only`` says. NumPy arrays, dtypes and
scalars, ``argparse.Namespace``, ``frozenset``, ``slice``, ``range`` and ``Ellipsis`` it builds
itself (NumPy data from checked bytes, never through NumPy's unpickling functions), so it can load
them safely; torch's
weights_only unpickler refuses them until each name is approved with ``add_safe_globals``, and
so does gradstep under ``weights_only=True`` or the default, with torch's message: a program
that catches that error and retries with ``weights_only=False`` (the usual way to resume a
checkpoint holding ``np.random.get_state()`` or the run's ``args``) takes the same path as
under torch. ``load(weights_only=False)`` runs inside :func:`numpy_as_data`.
"""

from __future__ import annotations

import contextlib
import contextvars

# the names NumPy's pickles use (numpy 1.x's ``numpy.core`` ones are renamed to these before lookup)
NUMPY_GLOBALS = frozenset({"numpy.dtype", "numpy.ndarray", "numpy._core.multiarray._reconstruct",
                           "numpy._core.multiarray.scalar", "numpy._core.numeric._frombuffer"})
# what gradstep builds as data but torch's weights_only refuses by default
REFUSED_BY_DEFAULT = NUMPY_GLOBALS | {"argparse.Namespace", "builtins.frozenset", "builtins.slice",
                                      "builtins.range", "builtins.Ellipsis"}

_weights_only = contextvars.ContextVar("gradstep_weights_only", default=True)

_UNSAFE = ("In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
           "from `False` to `True`. ")
_DOCS = ("\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
         "weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


@contextlib.contextmanager
def numpy_as_data():
    """The loads inside the block are ``weights_only=False`` ones: NumPy data loads."""
    token = _weights_only.set(False)
    try:
        yield
    finally:
        _weights_only.reset(token)


def weights_only():
    return _weights_only.get()


def refused_by_default(full, user):
    """Whether this load refuses the global ``full``, which gradstep builds as data (NumPy's and a
    few others), as torch's weights_only unpickler does until the user approves it."""
    return full in REFUSED_BY_DEFAULT and _weights_only.get() and full not in user


def refuses_numpy_build(cls, user):
    """Whether this load refuses to BUILD a NumPy dtype of class ``cls`` (torch asks for its class)."""
    return _weights_only.get() and not any(obj is cls for obj in user.values())


def unsupported_global(full, note):
    """torch's refusal of a GLOBAL under weights_only (``full`` already printable); ``note`` says what
    ``weights_only=False`` does here, which is not always what torch's text says."""
    if full.startswith("builtins."):  # torch names builtins bare: GLOBAL frozenset
        full = full[len("builtins."):]
    return ("Weights only load failed. This file can still be loaded, to do so you have two options, "
            "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
            f"\n\t(1) {_UNSAFE}{note}\n\t(2) Alternatively, to load with `weights_only=True` please check "
            "the recommended steps in the following error message.\n\tWeightsUnpickler error: "
            f"Unsupported global: GLOBAL {full} was not an allowed global by default. Please use "
            f"`torch.serialization.add_safe_globals([{full}])` or the "
            f"`torch.serialization.safe_globals([{full}])` context manager to allowlist this global "
            f"if you trust this class/function.{_DOCS}")


DATA_NOTE = ("Re-running `torch.load` with `weights_only` set to `False` will succeed: gradstep builds "
              "this object itself, as data, and never runs code from a file.")


def other_note(refusal):
    return (f"gradstep never runs code from a file, so `weights_only=False` does not load it either "
            f"({refusal}).")


def cannot_build(cls):
    """torch's refusal to BUILD an object of a class nobody approved, under weights_only."""
    return (f"Weights only load failed. {_UNSAFE}Re-running `torch.load` with `weights_only` set to "
            "`False` will succeed: gradstep builds NumPy dtypes itself.\nPlease file an issue with the "
            "following so that we can make `weights_only=True` compatible with your use case: "
            "WeightsUnpickler error: \n\nCan only build Tensor, Parameter, OrderedDict or types "
            f"allowlisted via `add_safe_globals`, but got {cls}{_DOCS}")

"""How a view was made, and torch's refusal of in-place changes that autograd cannot follow.

torch marks each differentiable view with a "creation meta" and refuses, when the change would
be recorded (grad mode on and the view, its base or an operand requiring grad), to modify in
place:

- an output of a function that returns several views (``unbind``, ``split``, ``chunk``,
  ``split_with_sizes``): their gradients are put together by one node, which an in-place change
  of one output cannot rewrite;
- a view made under ``no_grad()`` modified with grad mode on: whether the change should be
  recorded is ambiguous.

A view of such a view inherits its mark (torch's ``propagate_creation_meta``). A mark is
``(kind, output_nr, named)``: ``kind`` is ``MULTI`` or ``NO_GRAD``; ``named`` whether torch's
message names the view's node ("Output 0 of Unbind", from ``UnbindBackward0``), False for a
view made without a graph ("A view was created in no_grad mode"). Tensors carry one in
``Tensor._view_meta`` (None for every other tensor).
"""

from __future__ import annotations

import re

from .grad_mode import _GradState

MULTI = "multi"
NO_GRAD = "no_grad"

# torch's view functions with several outputs (``chunk`` is ``split`` there; ``tensor_split``,
# ``hsplit``, ``unsafe_split``... are not marked: their outputs are plain views or copies)
MULTI_OUTPUT_VIEWS = ("UnbindBackward0", "SplitBackward0", "SplitWithSizesBackward0")

_SUFFIX = {
    MULTI: (" This view is the output of a function that returns multiple views. Such functions "
            "do not allow the output views to be modified inplace. You should replace the inplace "
            "operation by an out-of-place one."),
    NO_GRAD: (" Given that this use case is ambiguous and error-prone, it is forbidden. You can "
              "clarify your code by moving both the view and the inplace either both inside the "
              "no_grad block (if you don't want the inplace to be tracked) or both outside (if "
              "you want the inplace to be tracked)."),
}


def short_name(node_name):
    """torch's name of a view's node in these messages: ``SliceBackward0`` -> ``Slice``."""
    return re.sub(r"Backward\d*$", "", node_name)


MADE_UNDER_NO_GRAD = (NO_GRAD, 0, False)  # the mark of any view made with grad mode off


def inherited(src, node, view):
    """The mark of ``view``, made by ``node`` with grad mode on from ``src``, a marked view."""
    return (src._view_meta[0], 0, view._rg)


def mark_multi_output(views):
    """Mark the outputs of a multi-output view function (made with grad mode on)."""
    if not _GradState.enabled:
        return views  # made under no_grad: already marked so by ``Node.apply``
    for i, v in enumerate(views):
        if v._base is not None:
            v._view_meta = (MULTI, i, v.grad_fn is not None)
    return views


def unmarked(views):
    """``views`` without their marks: torch's ``unsafe_split``/``unsafe_chunk`` outputs, which
    autograd does not treat as views (changing them in place is the caller's risk)."""
    for v in views:
        v._view_meta = None
    return views


def recorded(t, others=()):
    """Whether an in-place change of view ``t`` (with tensor ``others``) would be recorded."""
    if not _GradState.enabled:
        return False
    if t._rg or t._base._rg:
        return True
    return any(getattr(o, "_rg", False) for o in others)


def check(t, others=(), name=None):
    """Raise torch's error if ``t`` (a marked view) may not be changed in place now."""
    if t._view_meta is not None and recorded(t, others):
        raise inplace_error(t, name)


def inplace_error(t, name=None):
    """torch's RuntimeError for an in-place change of marked view ``t``; ``name`` overrides the
    view's node name (``t[0] = v`` modifies a ``Select`` view of ``t`` in torch)."""
    kind, out_nr, named = t._view_meta
    if name is not None:
        out_nr = 0
    elif named and t.grad_fn is not None:
        name = short_name(t.grad_fn.name())
    if kind == NO_GRAD or name is None:
        prefix = (f"Output {out_nr} of {name} is a view of a view which was created in"
                  if name is not None else "A view was created in")
        msg = f"{prefix} no_grad mode and is being modified inplace with grad mode enabled."
    else:
        msg = f"Output {out_nr} of {name} is a view and is being modified inplace."
    return RuntimeError(msg + _SUFFIX[kind])

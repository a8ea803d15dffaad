"""torch's argument checks for ``conv1d``/``conv2d``/``conv3d`` (its two signatures: padding
as ints or as a string), on the slow path only.

``_conv`` runs ``refuse`` when its arguments are not the plain kinds (an int ``groups``, int or
tuple/list geometry) or when reading them failed; ``refuse`` raises torch's error for a bad
argument and returns for good ones (the original error then stands). torch lists the call's
own arguments in "invalid combination": the ``F.conv*d`` wrappers reword it for the call
(``gradstep._signatures.reworded``).
"""

from __future__ import annotations

from ..._argparse import int_list_arg, invalid_combination, is_index, is_int

_GEOMETRY = "tuple of ints stride = 1, {} padding = {}, tuple of ints dilation = 1, int groups = 1"
SIGNATURES = tuple(f"Tensor input, Tensor weight, Tensor bias = None, {_GEOMETRY.format(*p)}"
                   for p in (("tuple of ints", "0"), ("str", '"valid"')))
PLAIN = (int, tuple, list)  # the kinds the fast path takes as they are
PLAIN_PADDING = (*PLAIN, str)


def _matches_ints(v):
    """Does ``v`` match a ``tuple of ints`` parameter (its first element decides)?"""
    if is_int(v):
        return True
    return isinstance(v, (tuple, list)) and (not v or is_index(v[0]))


def refuse(name, x, w, b, stride, padding, dilation, groups):
    from ..._tensor import Tensor

    geometry = (("stride", stride), ("padding", padding), ("dilation", dilation))
    ok = isinstance(x, Tensor) and isinstance(w, Tensor) and is_int(groups) and \
        (b is None or isinstance(b, Tensor)) and \
        all(_matches_ints(v) or (arg == "padding" and isinstance(v, str)) for arg, v in geometry)
    if not ok:
        raise invalid_combination(name, (x, w), SIGNATURES)
    for pos, (arg, v) in enumerate(geometry, 4):  # a later element that is not an index
        if isinstance(v, (tuple, list)):
            int_list_arg(v, name, arg, pos)

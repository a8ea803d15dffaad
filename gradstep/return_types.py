"""Named-tuple results of ops that return (values, indices), as in ``torch.return_types``."""

from __future__ import annotations

from typing import NamedTuple


class max(NamedTuple):  # noqa: A001, N801
    values: object
    indices: object


class min(NamedTuple):  # noqa: A001, N801
    values: object
    indices: object


class topk(NamedTuple):  # noqa: N801
    values: object
    indices: object


class sort(NamedTuple):  # noqa: N801
    values: object
    indices: object


def max_min_result(values, indices, name):
    return (max if name == "max" else min)(values, indices)

"""``torch.nn.utils.rnn``: ``pad_sequence`` and ``unpad_sequence``.

PackedSequence and ``pack_padded_sequence``/``pad_packed_sequence`` are not implemented:
the recurrent layers take padded batches only.
"""

from __future__ import annotations

from collections.abc import Iterable

from ... import _creation
from ...ops.shape import cat, stack

__all__ = ["pad_sequence", "unpad_sequence"]


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack ``L_i x *`` tensors into ``T x B x *`` (``B x T x *`` if ``batch_first``), padding
    each to the longest length ``T`` with ``padding_value`` on ``padding_side``.

    The result has the first sequence's dtype (the others are cast, as torch copies them).
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    first = sequences[0]
    trail, dtype = tuple(first.shape[1:]), first.dtype
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        _check_trailing(s, trail)
        s = s.to(dtype)
        short = longest - s.shape[0]
        if short:
            pad = _creation.full((short, *trail), padding_value, dtype=dtype)
            s = cat([s, pad] if padding_side == "right" else [pad, s])
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def _check_trailing(s, trail):
    shape = tuple(s.shape[1:])
    if len(shape) != len(trail):
        raise RuntimeError(f"pad_sequence: every sequence needs {len(trail) + 1} dimensions, "
                           f"got {s.ndim}")
    for d, (a, b) in enumerate(zip(shape, trail), start=1):
        if a != b:
            raise RuntimeError(f"The size of tensor a ({b}) must match the size of tensor b ({a}) "
                               f"at non-singleton dimension {d}")


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Undo ``pad_sequence`` (right padding): a list of the first ``lengths[i]`` steps of each."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if hasattr(lengths, "tolist") else list(lengths)
    return [seq[:int(n)] for seq, n in zip(padded_sequences, lengths)]

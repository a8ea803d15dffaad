"""``torch.nn.utils.rnn``: ``PackedSequence`` and the functions that pack, pad and unpack batches
of variable-length sequences.

A ``PackedSequence`` stores the steps of a batch sorted by length (longest first) time-major:
``data`` holds step 0 of every sequence, then step 1 of those at least 2 long, and so on;
``batch_sizes[t]`` counts the sequences still running at step t. Packing and padding are one
``index_select`` each, so gradients flow through them like torch's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ... import _creation
from ..._tensor import Tensor
from ...backend import xp
from ...ops.shape import cat, stack

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def bind(optional, fn):
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    """The data and ``batch_sizes`` of a packed batch; made by ``pack_padded_sequence`` and
    ``pack_sequence``, taken and returned by ``RNN``, ``LSTM`` and ``GRU``."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """``data.to(...)``; the index tensors follow data's device (batch_sizes stays)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = lambda t: t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, bind(self.sorted_indices, move),
                          bind(self.unsorted_indices, move))

    def cpu(self, *args, **kwargs):
        return self.to(*args, **kwargs)

    def cuda(self, *args, **kwargs):
        kwargs.setdefault("device", "cuda")
        return self.to(*args, **kwargs)

    def pin_memory(self):
        return type(self)(self.data.pin_memory(), self.batch_sizes,
                          bind(self.sorted_indices, lambda t: t.pin_memory()),
                          bind(self.unsorted_indices, lambda t: t.pin_memory()))

    def double(self):
        return self.to(dtype=_dtype("float64"))

    def float(self):
        return self.to(dtype=_dtype("float32"))

    def half(self):
        return self.to(dtype=_dtype("float16"))

    def long(self):
        return self.to(dtype=_dtype("int64"))

    def int(self):
        return self.to(dtype=_dtype("int32"))

    def short(self):
        return self.to(dtype=_dtype("int16"))

    def char(self):
        return self.to(dtype=_dtype("int8"))

    def byte(self):
        return self.to(dtype=_dtype("uint8"))

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return self.data.is_pinned()


def _dtype(name):
    from ... import backend

    return getattr(backend, name)


def _index(arr):
    return Tensor._make(xp.asarray(arr, dtype=xp.int64))


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None stays None)."""
    if permutation is None:
        return None
    perm = xp.asarray(permutation._data)
    out = xp.empty_like(perm)
    out[perm] = xp.arange(perm.size, dtype=perm.dtype)
    return Tensor._make(out)


def _lengths_list(lengths):
    if isinstance(lengths, Tensor):
        return [int(n) for n in lengths._data.reshape(-1)]
    return [int(n) for n in lengths]


def _steps_index(lengths, batch):
    """Row indices of a (T, B) time-major padded layout (row t*B + b) in packed order."""
    T = lengths[0] if lengths else 0
    bs = [sum(1 for n in lengths if n > t) for t in range(T)]
    rows = [t * batch + b for t in range(T) for b in range(bs[t])]
    return rows, bs


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Pack a ``T x B x *`` (``B x T x *`` if ``batch_first``) padded batch with the given
    sequence lengths; ``enforce_sorted=False`` sorts the batch by decreasing length first."""
    lens = _lengths_list(lengths)
    batch_dim = 0 if batch_first else 1
    B = input.shape[batch_dim]
    if len(lens) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={B})")
    if enforce_sorted:
        sorted_indices = None
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
    else:
        order = xp.argsort(-xp.asarray(lens, dtype=xp.int64), kind="stable")
        sorted_indices = _index(order)
        lens = [lens[i] for i in order]
        input = input.index_select(batch_dim, sorted_indices)
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if batch_first:
        input = input.transpose(0, 1)
    T = input.shape[0]
    if lens and lens[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {lens[0]} exceeds the padded "
                           f"sequence length {T}")
    rows, bs = _steps_index(lens, B)
    flat = input.reshape(T * B, *input.shape[2:])
    data = flat.index_select(0, _index(rows))
    return PackedSequence(data, _index(bs), sorted_indices, None)


def _batch_sizes(sequence):
    return [int(n) for n in sequence.batch_sizes._data.reshape(-1)]


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: the padded batch (original order) and the lengths
    (an int64 tensor)."""
    bs = _batch_sizes(sequence)
    T = len(bs)
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
        T = total_length
    data = sequence.data
    B = bs[0] if bs else 0
    lens = [sum(1 for n in bs if n > b) for b in range(B)]
    pad_row = data.shape[0]  # an extra row of padding_value appended to data
    where = [pad_row] * (T * B)
    off = 0
    for t, n in enumerate(bs):
        where[t * B:t * B + n] = range(off, off + n)
        off += n
    filler = _creation.full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    padded = cat([data, filler]).index_select(0, _index(where)).reshape(T, B, *data.shape[1:])
    if batch_first:
        padded = padded.transpose(0, 1)
    lengths = _index(lens)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = _index(xp.asarray(lens, dtype=xp.int64)[sequence.unsorted_indices._data])
    return padded, lengths


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of ``L_i x *`` tensors (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [v.shape[0] for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Undo ``pack_sequence``: the list of sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


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

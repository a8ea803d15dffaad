"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the single-step ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Parameter names, shapes, order and initialisation follow torch, so a state_dict
moves between the two by name. The layers run one fused graph node per (layer,
direction); a ``PackedSequence`` input runs them once per group of equal lengths (see ``nn/_functional/rnn.py``): no double backward through them.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ... import _creation
from ..._device import check_device
from ..._tensor import Tensor
from ...amp._policy import casts
from ...autograd.grad_mode import no_grad
from ...backend import get_default_dtype
from ...ops.shape import cat, stack
from .._functional.dropout import dropout
from .._functional.rnn import gru_cell, lstm_cell, rnn_layer, rnn_relu_cell, rnn_tanh_cell
from ..parameter import Parameter
from ..utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _empty(shape, dtype):
    return _creation.empty(tuple(shape), dtype=dtype or get_default_dtype())


def _check_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")


class RNNBase(Module):
    """Shared parameters, checks and the layer/direction loop of RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        check_device(device)  # the CPU only (gradstep/_device.py)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        for name, flag in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(flag).__name__}")
        _check_int("input_size", input_size)
        _check_int("hidden_size", hidden_size)
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}", stacklevel=2)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        real_hidden = proj_size or hidden_size  # the width of h (and of each layer's output)
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    self.register_parameter(name, Parameter(_empty(shape, dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), like torch."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        with no_grad():
            for p in self.parameters():
                p.uniform_(-stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def __getstate__(self):
        """The attribute dict with the weight list torch's pickled RNNs carry (its
        ``__setstate__`` reads ``_flat_weights``), so that torch loads ``torch.save(rnn)``."""
        return dict(self.__dict__, _flat_weights=self._flat_weights)

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self):
        """No-op (torch uses it to compact weights for cuDNN)."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------ checks
    def _check_input(self, input):  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._get_name()}: input must be a Tensor or a PackedSequence, got "
                            f"{type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._get_name()}: Expected input to be 2D or 3D, got {input.ndim}D "
                             "tensor instead")
        wdt = self.weight_ih_l0.dtype
        if input.dtype is not wdt and not casts(self.mode.lower()):  # autocast unifies them
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({wdt}). Convert "
                f"input: input.to({wdt}), or convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _expected_hidden(self, batch, what):
        width = self.hidden_size if what == "c0" else (self.proj_size or self.hidden_size)
        return (self.num_layers * (2 if self.bidirectional else 1), batch, width)

    def _prepare_state(self, hx, batched, batch, dtype, what="hx"):
        """hx as a 3-D (layers*directions, N, H) tensor; zeros when None."""
        want = self._expected_hidden(batch, what)
        label = {"hx": "hidden", "h0": "hidden[0]", "c0": "hidden[1]"}[what]
        if hx is None:
            return _creation.zeros(*want, dtype=dtype)
        if batched and hx.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, {what} should also be 3-D but got {hx.ndim}-D tensor")
        if not batched:
            if hx.ndim != 2:
                raise RuntimeError(f"For unbatched 2-D input, {what} should also be 2-D but got "
                                   f"{hx.ndim}-D tensor")
            hx = hx.unsqueeze(1)
        if tuple(hx.shape) != want:
            raise RuntimeError(f"Expected {label} size {want}, got {list(hx.shape)}")
        if hx.dtype is not dtype:
            raise RuntimeError(f"Expected {label} dtype {dtype} (the input's), got {hx.dtype}")
        return hx

    # ------------------------------------------------------------ forward
    def _run(self, input, h0, c0):  # noqa: A002
        """The stacked, optionally bidirectional recurrence over a (T, N, I) input."""
        num_directions = 2 if self.bidirectional else 1
        x = input
        h_n, c_n = [], []
        weights = self.all_weights
        for layer in range(self.num_layers):
            outs = []
            for d in range(num_directions):
                k = layer * num_directions + d
                c = c0[k] if c0 is not None else None
                out, h, c = rnn_layer(self.mode, x, h0[k], c, weights[k], reverse=d == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if num_directions == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout)
        return x, stack(h_n), (stack(c_n) if c0 is not None else None)

    def _run_packed(self, x, lengths, h0, c0):
        """The recurrence over a padded (T, B, I) batch sorted by decreasing ``lengths``.

        Each run of equal lengths goes through ``_run`` truncated to its length, so every
        sequence's steps, and its final states, are exactly those of its own true length.
        """
        T = x.shape[0]
        outs, hs, cs = [], [], []
        start = 0
        while start < len(lengths):
            n = lengths[start]
            stop = start
            while stop < len(lengths) and lengths[stop] == n:
                stop += 1
            c = c0[:, start:stop] if c0 is not None else None
            out, h, c = self._run(x[:n, start:stop], h0[:, start:stop], c)
            if n < T:
                out = cat([out, _creation.zeros(T - n, *out.shape[1:], dtype=out.dtype)])
            outs.append(out)
            hs.append(h)
            cs.append(c)
            start = stop
        c_n = cat(cs, dim=1) if c0 is not None else None
        return cat(outs, dim=1), cat(hs, dim=1), c_n

    def _forward_packed(self, packed, hx, cx):
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        self._check_input(data)
        if data.ndim != 2:
            raise ValueError(f"{self._get_name()}: Expected packed input data to be 2D, got "
                             f"{data.ndim}D")
        x, lengths = pad_packed_sequence(PackedSequence(data, batch_sizes))
        lengths = [int(n) for n in lengths.tolist()]
        batch = x.shape[1]
        is_lstm = self.mode == "LSTM"
        states = []
        for s, what in ((hx, "h0" if is_lstm else "hx"), (cx, "c0")):
            if what == "c0" and not is_lstm:
                states.append(None)
                continue
            s = self._prepare_state(s, True, batch, data.dtype, what)
            states.append(s.index_select(1, sorted_indices) if sorted_indices is not None else s)
        out, h_n, c_n = self._run_packed(x, lengths, *states)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if c_n is not None else None
        out = pack_padded_sequence(out, lengths).data
        return PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), h_n, c_n

    def _forward(self, input, hx, cx):  # noqa: A002
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, cx)
        self._check_input(input)
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1 if not self.batch_first else 0)
        if self.batch_first:
            input = input.transpose(0, 1)
        batch = input.shape[1]
        is_lstm = self.mode == "LSTM"
        h0 = self._prepare_state(hx, batched, batch, input.dtype, "h0" if is_lstm else "hx")
        c0 = self._prepare_state(cx, batched, batch, input.dtype, "c0") if is_lstm else None
        out, h_n, c_n = self._run(input, h0, c0)
        if self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return out, h_n, c_n


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):  # noqa: A002
        out, h_n, _ = self._forward(input, hx, None)
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory; gates (i, f, g, o) stacked in that order in the weights."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):  # noqa: A002
        if hx is None:
            h0 = c0 = None
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
            h0, c0 = hx
            batched = isinstance(input, PackedSequence) or input.ndim == 3
            if (h0.ndim, c0.ndim) != ((3, 3) if batched else (2, 2)):
                kind, n = ("batched 3-D", 3) if batched else ("unbatched 2-D", 2)
                raise RuntimeError(f"For {kind} input, hx and cx should also be {n}-D but got "
                                   f"({h0.ndim}-D, {c0.ndim}-D) tensors")
        out, h_n, c_n = self._forward(input, h0, c0)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit; gates (r, z, n) stacked in that order in the weights."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):  # noqa: A002
        out, h_n, _ = self._forward(input, hx, None)
        return out, h_n


# ---------------------------------------------------------------- cells
class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        check_device(device)  # the CPU only (gradstep/_device.py)
        _check_int("input_size", input_size)
        _check_int("hidden_size", hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(_empty((g, input_size), dtype))
        self.weight_hh = Parameter(_empty((g, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(_empty((g,), dtype))
            self.bias_hh = Parameter(_empty((g,), dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        with no_grad():
            for p in self.parameters():
                p.uniform_(-stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _check(self, input, hx, name):  # noqa: A002
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        for h in hx:
            if h is None:
                continue
            if h.ndim != input.ndim:
                raise ValueError(f"{name}: Expected hidden to be {input.ndim}D to match the "
                                 f"{input.ndim}D input, got {h.ndim}D instead")
            want = tuple(input.shape[:-1]) + (self.hidden_size,)
            if tuple(h.shape) != want:
                raise RuntimeError(f"{name}: Expected hidden of shape {list(want)}, got {list(h.shape)}")

    def _batch(self, input, hx):  # noqa: A002
        """2-D input and states (zeros when missing), and whether input was batched."""
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        out = []
        for h in hx:
            if h is None:
                h = _creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
            elif not batched:
                h = h.unsqueeze(0)
            out.append(h)
        return input, out, batched


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        self._check(input, (hx,), "RNNCell")
        x, (h,), batched = self._batch(input, (hx,))
        cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        h = cell(x, h, *self._weights())
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        states = (None, None) if hx is None else tuple(hx)
        self._check(input, states, "LSTMCell")
        x, (h, c), batched = self._batch(input, states)
        h, c = lstm_cell(x, (h, c), *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        self._check(input, (hx,), "GRUCell")
        x, (h,), batched = self._batch(input, (hx,))
        h = gru_cell(x, h, *self._weights())
        return h if batched else h.squeeze(0)

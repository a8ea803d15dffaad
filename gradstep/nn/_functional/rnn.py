"""Fused recurrent layers: one graph node per (layer, direction) of RNN, LSTM and GRU.

Each node runs the whole time loop on raw arrays. The input projection of every
time step is one matmul up front; each step is then one matmul (``h @ W_hh^T``)
plus elementwise gate math. Backward runs the recurrence in reverse on arrays and
finishes with one matmul per weight over all steps at once.

Because backward works on arrays, these nodes have no double backward: with
``create_graph=True`` the gradients they return carry a node that raises if it is
differentiated again (like torch's ``once_differentiable``), instead of silently
giving wrong second derivatives. The cell functions at the end
(``rnn_tanh_cell`` ...) are written in Tensor ops and do support double backward.

Node output layout: the node has a single output array that packs the per-step
outputs and the final state(s) along the time axis, ``(T + 1, N, H)`` for RNN and
GRU (last slot: h_n) and ``(T + 2, N, H)`` for LSTM (h_n, then c_n). The
Python-level ``rnn_layer`` slices it apart; the slices' gradients meet again in
the node's backward.
"""

from __future__ import annotations

from ...amp._policy import autocast_args, cast_value, casts
from ...autograd.function import Node
from ...autograd.grad_mode import _GradState
from ...backend import promote_types, xp
from ...ops._lowp import float32_compute
from ...ops.elementwise import _sigmoid
from .linear import linear


def _tensor_cls():
    from ..._tensor import Tensor

    return Tensor


class _NoDoubleBackward(Node):
    """Carries a gradient computed on arrays; differentiating it again raises."""

    def forward(self, *inputs):
        return self.value

    def backward(self, g):
        raise RuntimeError(
            f"{self.layer} has no double backward: the fused RNN/LSTM/GRU layers compute their "
            "gradients on arrays. Use the cells (nn.LSTMCell, ...) in a loop if you need "
            "gradients of gradients."
        )


class _LayerBase(Node):
    """Shared plumbing. Inputs: x (T, N, I), h0 (N, H), [c0], w_ih, w_hh, [b_ih, b_hh]."""

    def _run_backward(self, grads):
        res = super()._run_backward(grads)
        if not _GradState.enabled:  # create_graph=False: plain constants are right
            return res
        inputs = [t for t in self.saved_tensors if t.requires_grad]
        return tuple(None if g is None else
                     _NoDoubleBackward.apply(*inputs, value=g._data, layer=self.name())
                     for g in res)

    def _steps(self, T):
        return range(T - 1, -1, -1) if self.reverse else range(T)

    def _needs(self, i):
        return self._next[i] is not None

    def _param_grads(self, x, hprev, dgx, dgh, w_ih, first):
        """dx, dW_ih, dW_hh, db_ih, db_hh from the pre-activation grads of all steps.

        ``dgx`` is the gradient w.r.t. the input-side pre-activations and ``dgh``
        w.r.t. the hidden-side ones (they differ only for GRU). ``first`` is the
        index of w_ih among the node's inputs.
        """
        T, N, _ = x.shape
        G = dgx.shape[-1]
        dgx2 = dgx.reshape(T * N, G)
        dgh2 = dgh.reshape(T * N, G)
        dx = (dgx2 @ w_ih).reshape(x.shape) if self._needs(0) else None
        dw_ih = dgx2.T @ x.reshape(T * N, x.shape[-1]) if self._needs(first) else None
        dw_hh = dgh2.T @ hprev.reshape(T * N, hprev.shape[-1]) if self._needs(first + 1) else None
        grads = [dx, dw_ih, dw_hh]
        if self.has_bias:
            grads += [dgx2.sum(axis=0), dgh2.sum(axis=0)]
        return grads


def _wrap(arrays):
    Tensor = _tensor_cls()
    return tuple(None if a is None else Tensor._make(a) for a in arrays)


def _sigmoid_(a):
    """In-place logistic function, 1 / (1 + exp(-a)) like torch (call under errstate(over=...))."""
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)


@float32_compute  # bfloat16: the recurrence in float32, outputs and gradients rounded once
class LSTMLayer(_LayerBase):
    """LSTM layer; with ``has_proj`` the last input is W_hr (P x H) and h = (o * tanh(c)) W_hr^T.

    With a projection, h has P < H columns: the packed output keeps width H and
    the h rows use only their first P columns.
    """

    _name = "LSTMLayerBackward"

    def forward(self, x, h, c, w_ih, w_hh, *rest):
        w_hr = rest[-1] if self.has_proj else None
        b_ih, b_hh = rest[:2] if self.has_bias else (None, None)
        T, N, _ = x.shape
        H, P = c.shape[1], h.shape[1]
        gx = (x.reshape(T * N, x.shape[-1]) @ w_ih.T).reshape(T, N, 4 * H)
        if b_ih is not None:
            gx += b_ih + b_hh
        out = xp.zeros((T + 2, N, H), x.dtype) if w_hr is not None else xp.empty((T + 2, N, H), x.dtype)
        self.gates = gates = xp.empty((T, N, 4 * H), x.dtype)  # activated i, f, g, o
        self.hprev = xp.empty((T, N, P), x.dtype)
        self.cprev = xp.empty((T, N, H), x.dtype)
        self.tanh_c = xp.empty((T, N, H), x.dtype)
        self.h_raw = xp.empty((T, N, H), x.dtype) if w_hr is not None else None  # o * tanh(c)
        w_hhT = w_hh.T
        with xp.errstate(over="ignore"):  # exp overflow gives inf, and 1/(1+inf) = 0 is right
            for t in self._steps(T):
                self.hprev[t] = h
                self.cprev[t] = c
                g = gates[t]
                xp.matmul(h, w_hhT, out=g)
                g += gx[t]
                _sigmoid_(g[:, :2 * H])
                xp.tanh(g[:, 2 * H:3 * H], out=g[:, 2 * H:3 * H])
                _sigmoid_(g[:, 3 * H:])
                c = g[:, H:2 * H] * c
                c += g[:, :H] * g[:, 2 * H:3 * H]
                tc = xp.tanh(c, out=self.tanh_c[t])
                if w_hr is None:
                    h = xp.multiply(g[:, 3 * H:], tc, out=out[t])
                else:
                    hr = xp.multiply(g[:, 3 * H:], tc, out=self.h_raw[t])
                    h = out[t, :, :P] = hr @ w_hr.T
        out[T, :, :P] = h
        out[T + 1] = c
        return out

    def backward(self, grad):
        saved = self.saved_tensors
        x, w_ih, w_hh = saved[0]._data, saved[3]._data, saved[4]._data
        w_hr = saved[-1]._data if self.has_proj else None
        g = grad._data
        T, N, _ = x.shape
        H, P = self.cprev.shape[2], self.hprev.shape[2]
        gates = self.gates
        # local derivatives of all gates at all steps in one pass: s(1-s), and 1-tanh^2 for g
        slope = gates * (1 - gates)
        gg_all = gates[:, :, 2 * H:3 * H]
        slope[:, :, 2 * H:3 * H] = 1 - gg_all * gg_all
        dh, dc = g[T, :, :P].copy(), g[T + 1].copy()
        da = xp.empty((T, N, 4 * H), x.dtype)
        dh_all = xp.empty((T, N, P), x.dtype) if w_hr is not None else None
        tmp = xp.empty((N, H), x.dtype)
        for t in reversed(self._steps(T)):
            gt, st, d = gates[t], slope[t], da[t]
            i, gg, o = gt[:, :H], gt[:, 2 * H:3 * H], gt[:, 3 * H:]
            tc = self.tanh_c[t]
            dh += g[t, :, :P]
            if w_hr is not None:
                dh_all[t] = dh
                dh = dh @ w_hr  # gradient w.r.t. o * tanh(c)
            xp.multiply(tc, tc, out=tmp)
            xp.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            xp.multiply(dc, gg, out=d[:, :H])
            xp.multiply(dc, self.cprev[t], out=d[:, H:2 * H])
            xp.multiply(dc, i, out=d[:, 2 * H:3 * H])
            xp.multiply(dh, tc, out=d[:, 3 * H:])
            d *= st
            dc *= gt[:, H:2 * H]
            dh = d @ w_hh
        rest = self._param_grads(x, self.hprev, da, da, w_ih, 3)
        if w_hr is not None:
            dw_hr = dh_all.reshape(T * N, P).T @ self.h_raw.reshape(T * N, H)
            rest.append(dw_hr if self._needs(len(saved) - 1) else None)
        return _wrap([rest[0], dh, dc] + rest[1:])

    def release(self):
        super().release()
        self.gates = self.hprev = self.cprev = self.tanh_c = self.h_raw = None


@float32_compute
class GRULayer(_LayerBase):
    _name = "GRULayerBackward"

    def forward(self, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
        T, N, _ = x.shape
        H = w_hh.shape[1]
        gx = (x.reshape(T * N, x.shape[-1]) @ w_ih.T).reshape(T, N, 3 * H)
        if b_ih is not None:
            gx += b_ih
        out = xp.empty((T + 1, N, H), x.dtype)
        self.rz = xp.empty((T, N, 2 * H), x.dtype)
        self.n = xp.empty((T, N, H), x.dtype)
        self.hn = xp.empty((T, N, H), x.dtype)  # W_hn h + b_hn, which r multiplies
        self.hprev = xp.empty((T, N, H), x.dtype)
        w_hhT = w_hh.T
        for t in self._steps(T):
            self.hprev[t] = h
            gh = h @ w_hhT
            if b_hh is not None:
                gh += b_hh
            rz = self.rz[t] = _sigmoid(gx[t, :, :2 * H] + gh[:, :2 * H])
            self.hn[t] = gh[:, 2 * H:]
            n = self.n[t] = xp.tanh(gx[t, :, 2 * H:] + rz[:, :H] * gh[:, 2 * H:])
            h = out[t] = n + rz[:, H:] * (h - n)
        out[T] = h
        return out

    def backward(self, grad):
        x, _, w_ih, w_hh = self.saved_tensors[:4]
        x, w_ih, w_hh = x._data, w_ih._data, w_hh._data
        g = grad._data
        T, N, _ = x.shape
        H = w_hh.shape[1]
        dh = g[T].copy()
        dgx = xp.empty((T, N, 3 * H), x.dtype)
        dgh = xp.empty((T, N, 3 * H), x.dtype)
        for t in reversed(self._steps(T)):
            r, z, n = self.rz[t, :, :H], self.rz[t, :, H:], self.n[t]
            dh_t = dh + g[t]
            dn = dh_t * (1 - z) * (1 - n * n)
            dx_t, dh_pre = dgx[t], dgh[t]
            dx_t[:, :H] = dn * self.hn[t] * r * (1 - r)
            dx_t[:, H:2 * H] = dh_t * (self.hprev[t] - n) * z * (1 - z)
            dx_t[:, 2 * H:] = dn
            dh_pre[:, :2 * H] = dx_t[:, :2 * H]
            dh_pre[:, 2 * H:] = dn * r
            dh = dh_t * z + dh_pre @ w_hh
        rest = self._param_grads(x, self.hprev, dgx, dgh, w_ih, 2)
        return _wrap([rest[0], dh] + rest[1:])

    def release(self):
        super().release()
        self.rz = self.n = self.hn = self.hprev = None


@float32_compute
class RNNLayer(_LayerBase):
    """Elman RNN layer; ``nonlinearity`` is "tanh" or "relu"."""

    _name = "RNNLayerBackward"

    def forward(self, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
        T, N, _ = x.shape
        H = w_hh.shape[1]
        gx = (x.reshape(T * N, x.shape[-1]) @ w_ih.T).reshape(T, N, H)
        if b_ih is not None:
            gx += b_ih + b_hh
        out = xp.empty((T + 1, N, H), x.dtype)
        self.hprev = xp.empty((T, N, H), x.dtype)
        w_hhT = w_hh.T
        relu = self.nonlinearity == "relu"
        for t in self._steps(T):
            self.hprev[t] = h
            a = gx[t] + h @ w_hhT
            h = out[t] = xp.maximum(a, 0) if relu else xp.tanh(a)
        out[T] = h
        self.h = out[:T].copy()
        return out

    def backward(self, grad):
        x, _, w_ih, w_hh = self.saved_tensors[:4]
        x, w_ih, w_hh = x._data, w_ih._data, w_hh._data
        g = grad._data
        T, N, _ = x.shape
        dh = g[T].copy()
        da = xp.empty(self.h.shape, x.dtype)
        relu = self.nonlinearity == "relu"
        for t in reversed(self._steps(T)):
            h = self.h[t]
            dh_t = dh + g[t]
            da[t] = dh_t * (h > 0) if relu else dh_t * (1 - h * h)
            dh = da[t] @ w_hh
        rest = self._param_grads(x, self.hprev, da, da, w_ih, 2)
        return _wrap([rest[0], dh] + rest[1:])

    def release(self):
        super().release()
        self.h = self.hprev = None


def rnn_layer(mode, x, h0, c0, weights, reverse=False):
    """Run one (layer, direction) over x of shape (T, N, I).

    ``mode`` is "LSTM", "GRU", "RNN_TANH" or "RNN_RELU"; ``weights`` is
    (w_ih, w_hh) or (w_ih, w_hh, b_ih, b_hh), plus a trailing w_hr for an LSTM
    with a projection. Returns (output (T, N, H), h_n, c_n),
    c_n being None except for LSTM.
    """
    if mode != "GRU":  # LSTM and RNN: on autocast's lower-precision list
        x, h0, c0, *weights = autocast_args(mode.lower(), x, h0, c0, *weights)
    elif casts("gru"):  # torch's GRU under autocast keeps the input's and state's type
        dt = promote_types(x.dtype, h0.dtype)
        x, h0, *weights = (cast_value(t, dt) for t in (x, h0, *weights))
    T = x.shape[0]
    attrs = dict(reverse=reverse, has_bias=len(weights) in (4, 5))
    if mode == "LSTM":
        inputs = (x, h0, c0) + tuple(weights)
        packed = LSTMLayer.apply(*inputs, saves=tuple(range(len(inputs))),
                                 has_proj=len(weights) in (3, 5), **attrs)
        if packed.shape[2] != h0.shape[1]:  # projected: h uses the first P columns
            P = h0.shape[1]
            return packed[:T, :, :P], packed[T, :, :P], packed[T + 1]
        return packed[:T], packed[T], packed[T + 1]
    inputs = (x, h0) + tuple(weights)
    if mode == "GRU":
        packed = GRULayer.apply(*inputs, saves=tuple(range(len(inputs))), **attrs)
    else:
        nl = "tanh" if mode == "RNN_TANH" else "relu"
        packed = RNNLayer.apply(*inputs, saves=tuple(range(len(inputs))), nonlinearity=nl, **attrs)
    return packed[:T], packed[T], None


# ---------------------------------------------------------------- single cells (Tensor ops)
def rnn_tanh_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    return (linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)).tanh()


def rnn_relu_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    return (linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)).relu()


def lstm_cell(x, hc, w_ih, w_hh, b_ih=None, b_hh=None):
    h, c = hc
    i, f, g, o = (linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)).chunk(4, dim=1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    xr, xz, xn = linear(x, w_ih, b_ih).chunk(3, dim=1)
    hr, hz, hn = linear(h, w_hh, b_hh).chunk(3, dim=1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


__all__ = ["rnn_layer", "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]

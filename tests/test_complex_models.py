"""Public complex-tensor programs against torch: LLaMA's rotary embeddings and a Fourier
Neural Operator spectral layer trained a few Adam steps on its complex weights."""

from __future__ import annotations

import numpy as np
import torch

import gradstep

# float32 throughout; each compared value is a short chain (a few products, one FFT of
# <= 16 points, one einsum over 3 channels) of float32 roundings: 1e-5 relative plus an
# absolute floor of 1e-5 times the data's scale (O(1) here) covers it with margin.
RTOL, ATOL = 1e-5, 1e-5


def _np(t):
    return t.detach().numpy()


def llama_rope(m, xq, xk, dim, end, theta=10000.0):
    """Meta's LLaMA ``precompute_freqs_cis`` + ``reshape_for_broadcast`` + ``apply_rotary_emb``."""
    freqs = 1.0 / (theta ** (m.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = m.arange(end, device=freqs.device)
    freqs = m.outer(t, freqs).float()
    freqs_cis = m.polar(m.ones_like(freqs), freqs)  # complex64
    xq_ = m.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = m.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    ndim = xq_.ndim
    shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(xq_.shape)]
    freqs_cis = freqs_cis[: xq.shape[1]].view(*shape)
    xq_out = m.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = m.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk), freqs_cis


def test_llama_rotary_embedding_forward_and_backward():
    rng = np.random.default_rng(0)
    bsz, seqlen, heads, head_dim = 2, 5, 3, 8
    q = rng.standard_normal((bsz, seqlen, heads, head_dim)).astype(np.float32)
    k = rng.standard_normal((bsz, seqlen, heads, head_dim)).astype(np.float32)
    w = rng.standard_normal((bsz, seqlen, heads, head_dim)).astype(np.float32)
    outs = {}
    for m in (torch, gradstep):
        xq = m.tensor(q, requires_grad=True)
        xk = m.tensor(k, requires_grad=True)
        oq, ok, fc = llama_rope(m, xq, xk, head_dim, 16)
        assert oq.dtype == m.float32 and fc.dtype == m.complex64
        ((oq * m.tensor(w)).sum() + (ok * ok).sum()).backward()
        outs[m.__name__] = [_np(oq), _np(ok), _np(fc), _np(xq.grad), _np(xk.grad)]
    for ours, theirs in zip(outs["gradstep"], outs["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


class _SpectralConv2d:
    """The FNO layer (Li et al.): modes kept in two corners of the rfft2 spectrum, mixed by
    complex weights; parameters built from shared numpy values so both sides start equal."""

    def __init__(self, m, w1, w2, modes1, modes2):
        self.m, self.modes1, self.modes2 = m, modes1, modes2
        self.weights1 = m.nn.Parameter(m.tensor(w1))
        self.weights2 = m.nn.Parameter(m.tensor(w2))
        self.out_channels = w1.shape[1]

    def compl_mul2d(self, input, weights):  # noqa: A002 - the FNO code's name
        return self.m.einsum("bixy,ioxy->boxy", input, weights)

    def __call__(self, x):
        m, m1, m2 = self.m, self.modes1, self.modes2
        batchsize = x.shape[0]
        x_ft = m.fft.rfft2(x)
        out_ft = m.zeros(batchsize, self.out_channels, x.size(-2), x.size(-1) // 2 + 1,
                         dtype=m.cfloat, device=x.device)
        out_ft[:, :, :m1, :m2] = self.compl_mul2d(x_ft[:, :, :m1, :m2], self.weights1)
        out_ft[:, :, -m1:, :m2] = self.compl_mul2d(x_ft[:, :, -m1:, :m2], self.weights2)
        return m.fft.irfft2(out_ft, s=(x.size(-2), x.size(-1)))


def test_fno_spectral_conv_forward_backward_and_adam():
    rng = np.random.default_rng(1)
    cin, cout, m1, m2 = 3, 2, 3, 3
    scale = 1 / (cin * cout)
    w1 = (scale * (rng.random((cin, cout, m1, m2)) + 1j * rng.random((cin, cout, m1, m2))))
    w2 = (scale * (rng.random((cin, cout, m1, m2)) + 1j * rng.random((cin, cout, m1, m2))))
    x = rng.standard_normal((2, cin, 8, 10)).astype(np.float32)
    target = rng.standard_normal((2, cout, 8, 10)).astype(np.float32)
    results = {}
    for m in (torch, gradstep):
        layer = _SpectralConv2d(m, w1.astype(np.complex64), w2.astype(np.complex64), m1, m2)
        opt = m.optim.Adam([layer.weights1, layer.weights2], lr=1e-2)
        xin = m.tensor(x, requires_grad=True)
        losses = []
        for step in range(4):
            opt.zero_grad()
            out = layer(xin)
            loss = ((out - m.tensor(target)) ** 2).mean() + m.fft.fft(out).abs().mean()
            loss.backward()
            if step == 0:
                first = [_np(out), _np(xin.grad), _np(layer.weights1.grad),
                         _np(layer.weights2.grad)]
                assert layer.weights1.grad.dtype == m.complex64
            opt.step()
            losses.append(loss.item())
        results[m.__name__] = first + [np.array(losses), _np(layer.weights1), _np(layer.weights2)]
    for ours, theirs in zip(results["gradstep"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)

"""Generative recipes, shrunk, taking everything from torch.manual_seed (no --init): a VQ-VAE
with the Sonnet-port quantizer (``|z|^2 + |e|^2 - 2 z e^T``, ``argmin``, one-hot ``scatter_``,
straight-through ``z + (zq - z).detach()``, perplexity) and its EMA variant (``cdist``, codebook
sums by ``index_add_`` and ``scatter_add_``, parameters replaced each step); a PixelCNN whose
masked convolutions write ``self.weight.data *= self.mask`` and that samples pixel by pixel with
``multinomial``; an affine-coupling flow with an invertible 1x1 layer (``slogdet``) under a
``MultivariateNormal`` prior.
"""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import MultivariateNormal

parser = argparse.ArgumentParser()
parser.add_argument("--save-init")  # the harness passes these; this program ignores them
parser.add_argument("--init")
parser.parse_args()

torch.manual_seed(0)


class VectorQuantizer(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, commitment_cost):
        super().__init__()
        self._embedding_dim = embedding_dim
        self._num_embeddings = num_embeddings
        self._embedding = nn.Embedding(self._num_embeddings, self._embedding_dim)
        self._embedding.weight.data.uniform_(-1 / self._num_embeddings, 1 / self._num_embeddings)
        self._commitment_cost = commitment_cost

    def forward(self, inputs):
        inputs = inputs.permute(0, 2, 3, 1).contiguous()
        input_shape = inputs.shape
        flat_input = inputs.view(-1, self._embedding_dim)
        distances = (torch.sum(flat_input ** 2, dim=1, keepdim=True)
                     + torch.sum(self._embedding.weight ** 2, dim=1)
                     - 2 * torch.matmul(flat_input, self._embedding.weight.t()))
        encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
        encodings = torch.zeros(encoding_indices.shape[0], self._num_embeddings, device=inputs.device)
        encodings.scatter_(1, encoding_indices, 1)
        quantized = torch.matmul(encodings, self._embedding.weight).view(input_shape)
        e_latent_loss = F.mse_loss(quantized.detach(), inputs)
        q_latent_loss = F.mse_loss(quantized, inputs.detach())
        loss = q_latent_loss + self._commitment_cost * e_latent_loss
        quantized = inputs + (quantized - inputs).detach()
        avg_probs = torch.mean(encodings, dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encodings


class VectorQuantizerEMA(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, commitment_cost, decay, epsilon=1e-5):
        super().__init__()
        self._embedding_dim = embedding_dim
        self._num_embeddings = num_embeddings
        self._embedding = nn.Embedding(self._num_embeddings, self._embedding_dim)
        self._embedding.weight.data.normal_()
        self._commitment_cost = commitment_cost
        self.register_buffer("_ema_cluster_size", torch.zeros(num_embeddings))
        self._ema_w = nn.Parameter(torch.Tensor(num_embeddings, self._embedding_dim))
        self._ema_w.data.normal_()
        self._decay = decay
        self._epsilon = epsilon

    def forward(self, inputs):
        inputs = inputs.permute(0, 2, 3, 1).contiguous()
        input_shape = inputs.shape
        flat_input = inputs.view(-1, self._embedding_dim)
        dist = torch.cdist(flat_input, self._embedding.weight)
        encoding_indices = torch.argmin(dist, dim=1)
        encodings = F.one_hot(encoding_indices, self._num_embeddings).type(flat_input.dtype)
        quantized = self._embedding(encoding_indices).view(input_shape)
        if self.training:
            self._ema_cluster_size = self._ema_cluster_size * self._decay + (1 - self._decay) * torch.sum(encodings, 0)
            n = torch.sum(self._ema_cluster_size.data)
            self._ema_cluster_size = ((self._ema_cluster_size + self._epsilon) / (n + self._num_embeddings * self._epsilon) * n)
            dw = torch.zeros_like(self._ema_w).index_add_(0, encoding_indices, flat_input.detach())
            dw2 = torch.zeros_like(self._ema_w).scatter_add_(0, encoding_indices[:, None].expand(-1, self._embedding_dim), flat_input.detach())
            assert torch.allclose(dw, dw2, atol=1e-5)
            self._ema_w = nn.Parameter(self._ema_w * self._decay + (1 - self._decay) * dw)
            self._embedding.weight = nn.Parameter(self._ema_w / self._ema_cluster_size.unsqueeze(1))
        e_latent_loss = F.mse_loss(quantized.detach(), inputs)
        loss = self._commitment_cost * e_latent_loss
        quantized = inputs + (quantized - inputs).detach()
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), encoding_indices


class VQVAE(nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.ReLU(), nn.Conv2d(8, 4, 3, 1, 1))
        self.vq = vq
        self.dec = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 2, 1), nn.ReLU(), nn.Conv2d(8, 1, 3, 1, 1))

    def forward(self, x):
        z = self.enc(x)
        out = self.vq(z)
        return out[0], self.dec(out[1]), out[2]


data = torch.rand(16, 1, 8, 8)
for vq in [VectorQuantizer(16, 4, 0.25), VectorQuantizerEMA(16, 4, 0.25, 0.99)]:
    m = VQVAE(vq)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, amsgrad=False)
    for step in range(4):
        vq_loss, recon, extra = m(data)
        recon_error = F.mse_loss(recon, data)
        loss = recon_error + vq_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        ex = extra.item() if extra.dim() == 0 else len(torch.unique(extra))
        print(f"vq {type(vq).__name__} {step} loss {loss.item():.6g} recon {recon_error.item():.6g} extra {ex:.6g}")


class MaskedConv2d(nn.Conv2d):
    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assert mask_type in {"A", "B"}
        self.register_buffer("mask", self.weight.data.clone())
        _, _, kH, kW = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B"):] = 0
        self.mask[:, :, kH // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


fm = 16
net = nn.Sequential(
    MaskedConv2d("A", 1, fm, 7, 1, 3, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConv2d("B", fm, fm, 7, 1, 3, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    nn.Conv2d(fm, 256, 1))
opt = torch.optim.Adam(net.parameters())
img = (torch.rand(4, 1, 8, 8) > 0.5).float()
for step in range(3):
    target = (img[:, 0] * 255).long()
    loss = F.cross_entropy(net(img), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"pixelcnn {step} loss {loss.item():.6g}")
net.eval()
sample = torch.zeros(2, 1, 4, 4)
with torch.no_grad():
    for i in range(4):
        for j in range(4):
            out = net(sample)
            probs = F.softmax(out[:, :, i, j], dim=1)
            sample[:, :, i, j] = torch.multinomial(probs, 1).float() / 255.
print("sample", f"{sample.sum().item():.6g}")


class AffineCoupling(nn.Module):
    def __init__(self, dim, parity):
        super().__init__()
        self.parity = parity
        self.net = nn.Sequential(nn.Linear(dim // 2, 16), nn.Tanh(), nn.Linear(16, dim))

    def forward(self, x):
        x0, x1 = x[:, ::2], x[:, 1::2]
        if self.parity:
            x0, x1 = x1, x0
        s, t = self.net(x0).chunk(2, dim=1)
        z1 = torch.exp(s) * x1 + t
        z = torch.cat([x0, z1], dim=1) if not self.parity else torch.cat([z1, x0], dim=1)
        return z, torch.sum(s, dim=1)


class Invertible1x1(nn.Module):
    def __init__(self, dim):
        super().__init__()
        Q = torch.nn.init.orthogonal_(torch.randn(dim, dim))
        self.W = nn.Parameter(Q)

    def forward(self, x):
        return x @ self.W, torch.slogdet(self.W)[1].expand(x.size(0))


class Flow(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.prior = MultivariateNormal(torch.zeros(dim), torch.eye(dim))
        self.flows = nn.ModuleList([AffineCoupling(dim, i % 2) for i in range(2)] + [Invertible1x1(dim)])

    def forward(self, x):
        log_det = torch.zeros(x.shape[0])
        for f in self.flows:
            x, ld = f(x)
            log_det += ld
        return x, self.prior.log_prob(x), log_det


x = torch.randn(64, 4) @ torch.tensor([[1.0, 0.5, 0, 0], [0, 1, 0.3, 0], [0, 0, 1, 0.2], [0, 0, 0, 0.5]])
flow = Flow(4)
opt = torch.optim.Adam(flow.parameters(), lr=1e-3, weight_decay=1e-5)
for step in range(5):
    zs, prior_logprob, log_det = flow(x)
    logprob = prior_logprob + log_det
    loss = -torch.sum(logprob)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"flow {step} loss {loss.item():.6g} logdet {log_det.mean().item():.6g}")
cov = torch.tensor([[2.0, 0.3], [0.3, 1.0]])
mvn = MultivariateNormal(torch.zeros(2), covariance_matrix=cov)
mvn2 = MultivariateNormal(torch.ones(2), scale_tril=torch.linalg.cholesky(cov))
s = mvn.rsample((5,))
print("mvn", f"{mvn.log_prob(s).sum().item():.6g}", f"{mvn.entropy().item():.6g}",
      f"{torch.distributions.kl_divergence(mvn, mvn2).item():.6g}", tuple(s.shape))
sign, logabsdet = torch.linalg.slogdet(cov)
print("slogdet", sign.item(), f"{logabsdet.item():.6g}", f"{torch.logdet(cov).item():.6g}")

# ruff: noqa: UP008, UP031  (as their authors wrote them)
"""Normalizing flows as their public notebooks write them, from torch.manual_seed and np.random.seed
alone: senya-ashukha's RealNVP on two moons (masks as an nn.Parameter(requires_grad=False), a
MultivariateNormal prior sampled with a (batch, 1) shape, ``x.new_zeros`` log-det bookkeeping,
``'loss = %.3f' % loss`` on a 0-d tensor, backward(retain_graph=True)); rosinality's Glow pieces
(ActNorm's data-dependent init through a uint8 buffer, the LU-decomposed invertible 1x1 conv from
torch.linalg.qr + torch.lu_unpack(*torch.linalg.lu_factor(...)), the plain one with torch.slogdet
and its inverse by .inverse(), checked against torch.logdet); and a TransformedDistribution with
AffineTransform/SigmoidTransform, Independent and a scale_tril MultivariateNormal.
"""

import argparse
from math import log, pi

import numpy as np
import torch
import torch.nn.functional as F
from torch import distributions, nn

parser = argparse.ArgumentParser()
parser.add_argument("--save-init")  # the harness passes these; this program ignores them
parser.add_argument("--init")
parser.parse_args()

torch.manual_seed(0)
np.random.seed(0)


def make_moons(n_samples=100, noise=None):
    """sklearn.datasets.make_moons, without sklearn."""
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    outer_x, outer_y = np.cos(np.linspace(0, np.pi, n_out)), np.sin(np.linspace(0, np.pi, n_out))
    inner_x, inner_y = 1 - np.cos(np.linspace(0, np.pi, n_in)), 1 - np.sin(np.linspace(0, np.pi, n_in)) - .5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    if noise is not None:
        X += np.random.normal(scale=noise, size=X.shape)
    return X, y


class RealNVP(nn.Module):
    def __init__(self, nets, nett, mask, prior):
        super(RealNVP, self).__init__()
        self.prior = prior
        self.mask = nn.Parameter(mask, requires_grad=False)
        self.t = torch.nn.ModuleList([nett() for _ in range(len(masks))])
        self.s = torch.nn.ModuleList([nets() for _ in range(len(masks))])

    def g(self, z):
        x = z
        for i in range(len(self.t)):
            x_ = x * self.mask[i]
            s = self.s[i](x_) * (1 - self.mask[i])
            t = self.t[i](x_) * (1 - self.mask[i])
            x = x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)
        return x

    def f(self, x):
        log_det_J, z = x.new_zeros(x.shape[0]), x
        for i in reversed(range(len(self.t))):
            z_ = self.mask[i] * z
            s = self.s[i](z_) * (1 - self.mask[i])
            t = self.t[i](z_) * (1 - self.mask[i])
            z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
            log_det_J -= s.sum(dim=1)
        return z, log_det_J

    def log_prob(self, x):
        z, logp = self.f(x)
        return self.prior.log_prob(z) + logp

    def sample(self, batchSize):
        z = self.prior.sample((batchSize, 1))
        logp = self.prior.log_prob(z)
        x = self.g(z)
        return x, logp


nets = lambda: nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64), nn.LeakyReLU(), nn.Linear(64, 2), nn.Tanh())  # noqa: E731
nett = lambda: nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64), nn.LeakyReLU(), nn.Linear(64, 2))  # noqa: E731
masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float32))
prior = distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
flow = RealNVP(nets, nett, masks, prior)
optimizer = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad == True], lr=1e-3)  # noqa: E712
for t in range(41):
    noisy_moons = make_moons(n_samples=100, noise=.05)[0].astype(np.float32)
    loss = -flow.log_prob(torch.from_numpy(noisy_moons)).mean()
    optimizer.zero_grad()
    loss.backward(retain_graph=True)
    optimizer.step()
    if t % 5 == 0:
        print('iter %s:' % t, 'loss = %.3f' % loss)
x, logp = flow.sample(200)
x = x.detach().numpy()
print('samples', x.shape, 'mean %.4f %.4f' % tuple(x.reshape(-1, 2).mean(0)), 'logp %.4f' % logp.mean())
z, _ = flow.f(torch.from_numpy(noisy_moons))
print('round trip error', (flow.g(z) - torch.from_numpy(noisy_moons)).abs().max().item() < 1e-4)

# ---- Glow (rosinality/glow-pytorch model.py)
logabs = lambda x: torch.log(torch.abs(x))  # noqa: E731


class ActNorm(nn.Module):
    def __init__(self, in_channel, logdet=True):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, in_channel, 1, 1))
        self.scale = nn.Parameter(torch.ones(1, in_channel, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))
        self.logdet = logdet

    def initialize(self, input):
        with torch.no_grad():
            flatten = input.permute(1, 0, 2, 3).contiguous().view(input.shape[1], -1)
            mean = (flatten.mean(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3))
            std = (flatten.std(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3))
            self.loc.data.copy_(-mean)
            self.scale.data.copy_(1 / (std + 1e-6))

    def forward(self, input):
        _, _, height, width = input.shape
        if self.initialized.item() == 0:
            self.initialize(input)
            self.initialized.fill_(1)
        log_abs = logabs(self.scale)
        logdet = height * width * torch.sum(log_abs)
        if self.logdet:
            return self.scale * (input + self.loc), logdet
        else:
            return self.scale * (input + self.loc)

    def reverse(self, output):
        return output / self.scale - self.loc


class InvConv2d(nn.Module):
    def __init__(self, in_channel):
        super().__init__()
        weight = torch.randn(in_channel, in_channel)
        q, _ = torch.linalg.qr(weight)
        weight = q.unsqueeze(2).unsqueeze(3)
        self.weight = nn.Parameter(weight)

    def forward(self, input):
        _, _, height, width = input.shape
        out = F.conv2d(input, self.weight)
        logdet = (height * width * torch.slogdet(self.weight.squeeze().double())[1].float())
        return out, logdet

    def reverse(self, output):
        return F.conv2d(output, self.weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))


class InvConv2dLU(nn.Module):
    def __init__(self, in_channel):
        super().__init__()
        weight = np.random.randn(in_channel, in_channel)
        q, _ = torch.linalg.qr(torch.from_numpy(weight))
        w_p, w_l, w_u = torch.lu_unpack(*torch.linalg.lu_factor(q.float()))
        w_s = torch.diag(w_u)
        w_u = torch.triu(w_u, 1)
        u_mask = torch.triu(torch.ones_like(w_u), 1)
        l_mask = u_mask.T
        self.register_buffer("w_p", w_p)
        self.register_buffer("u_mask", u_mask)
        self.register_buffer("l_mask", l_mask)
        self.register_buffer("s_sign", torch.sign(w_s))
        self.register_buffer("l_eye", torch.eye(l_mask.shape[0]))
        self.w_l = nn.Parameter(w_l)
        self.w_s = nn.Parameter(logabs(w_s))
        self.w_u = nn.Parameter(w_u)

    def forward(self, input):
        _, _, height, width = input.shape
        weight = self.calc_weight()
        out = F.conv2d(input, weight)
        logdet = height * width * torch.sum(self.w_s)
        return out, logdet

    def calc_weight(self):
        weight = (self.w_p @ (self.w_l * self.l_mask + self.l_eye)
                  @ ((self.w_u * self.u_mask) + torch.diag(self.s_sign * torch.exp(self.w_s))))
        return weight.unsqueeze(2).unsqueeze(3)

    def reverse(self, output):
        weight = self.calc_weight()
        return F.conv2d(output, weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))


def gaussian_log_p(x, mean, log_sd):
    return -0.5 * log(2 * pi) - log_sd - 0.5 * (x - mean) ** 2 / torch.exp(2 * log_sd)


class TinyGlow(nn.Module):
    def __init__(self, c, lu):
        super().__init__()
        self.actnorm = ActNorm(c)
        self.invconv = InvConv2dLU(c) if lu else InvConv2d(c)
        self.prior = nn.Conv2d(c, 2 * c, 3, padding=1)
        self.prior.weight.data.zero_()
        self.prior.bias.data.zero_()

    def forward(self, x):
        out, logdet = self.actnorm(x)
        out, det1 = self.invconv(out)
        logdet = logdet + det1
        mean, log_sd = self.prior(torch.zeros_like(out)).chunk(2, 1)
        log_p = gaussian_log_p(out, mean, log_sd).view(x.shape[0], -1).sum(1)
        return out, logdet, log_p

    def reverse(self, z):
        return self.actnorm.reverse(self.invconv.reverse(z))


def calc_loss(log_p, logdet, image_size, n_bins):
    n_pixel = image_size * image_size * 3
    loss = -log(n_bins) * n_pixel
    loss = loss + logdet + log_p
    return ((-loss / (log(2) * n_pixel)).mean(), (log_p / (log(2) * n_pixel)).mean(),
            (logdet / (log(2) * n_pixel)).mean())


n_bits = 5
n_bins = 2.0 ** n_bits
for lu in (False, True):
    model = TinyGlow(3, lu)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.from_numpy(np.random.rand(8, 3, 4, 4).astype(np.float32))
    for i in range(6):
        image = images * 255
        image = torch.floor(image / 2 ** (8 - n_bits))
        image = image / n_bins - 0.5
        z, logdet, log_p = model(image + torch.rand_like(image) / n_bins)
        logdet = logdet.mean()
        loss, log_p, log_det = calc_loss(log_p, logdet, 4, n_bins)
        model.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"lu={lu} Loss: {loss.item():.5f}; logP: {log_p.item():.5f}; logdet: {log_det.item():.5f}")
    w = model.invconv.calc_weight().squeeze() if lu else model.invconv.weight.squeeze()
    with torch.no_grad():
        z = model(image)[0]
    print('logdet check %.5f %.5f' % (torch.logdet(w.double()).item(), torch.slogdet(w)[1].item()),
          'reverse error', (model.reverse(z) - image).abs().max().item() < 1e-3,
          'initialized', model.actnorm.initialized)

# ---- torch.distributions bookkeeping: a logistic-style flow and a full-covariance Gaussian
base = distributions.Normal(torch.zeros(3), torch.ones(3))
loc = nn.Parameter(torch.zeros(3))
log_scale = nn.Parameter(torch.zeros(3))
tril = nn.Parameter(torch.eye(3) + 0.1 * torch.randn(3, 3).tril(-1))
opt = torch.optim.SGD([loc, log_scale, tril], lr=0.05)
data = torch.from_numpy(np.random.beta(2, 5, size=(64, 3)).astype(np.float32))
for step in range(10):
    flow_dist = distributions.TransformedDistribution(
        base, [distributions.AffineTransform(loc, log_scale.exp()), distributions.SigmoidTransform()])
    ind = distributions.Independent(flow_dist, 1)
    mvn = distributions.MultivariateNormal(loc, scale_tril=torch.tril(tril))
    loss = -ind.log_prob(data).mean() - mvn.log_prob(data).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.5f} entropy {mvn.entropy().item():.5f} "
          f"batch {tuple(ind.batch_shape)} event {tuple(ind.event_shape)}")
s = ind.rsample((5,))
print('rsample', tuple(s.shape), 'in (0,1):', bool(((s > 0) & (s < 1)).all()), 'mean %.5f' % s.mean().item())
